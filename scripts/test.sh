#!/usr/bin/env bash
# The project's test command: builds everything (the cloister executable that the integration
# tests run, and the test bundles), then runs the whole suite with `swift test`.
# On a fresh Debian 12: `sudo scripts/install-deps.sh`, then `scripts/test.sh`.
# Extra arguments go to `swift test` (e.g. `scripts/test.sh --filter PodmanScanTests`).
# CLOISTER_SCRATCH_PATH picks the build directory (default .build), so parallel worktrees
# do not share one build lock.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
SCRATCH=(--scratch-path "${CLOISTER_SCRATCH_PATH:-.build}")

# The integration tests start real workloads from test-assets/; building it is cached and
# cheap once done, but the first time needs root for apt-get download.
if [[ $(id -u) -eq 0 ]]; then
    scripts/test-assets.sh
elif [[ ! -d test-assets/rootfs ]]; then
    echo "test.sh: test-assets/ missing and not root: integration tests needing it will skip" >&2
fi

echo "test.sh: swift build --build-tests"
swift build "${SCRATCH[@]}" --build-tests
echo "test.sh: swift test"
swift test "${SCRATCH[@]}" "$@"
