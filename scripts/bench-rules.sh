#!/usr/bin/env bash
# Benchmark for the rule pack: builds cloister in release and runs the hidden
# `cloister rules benchmark`, which evaluates every rule in rules/ (and the exposure weights in
# policies/exposure.yaml) over synthetic postures of every kind, median of BENCH_RUNS runs.
# Target: 1,000 postures against the whole pack in under 50 ms. CPU time of the evaluating
# thread is the figure held to the target (the CI and development hosts share two cores, so
# wall-clock time measures the neighbours too); wall-clock time is printed beside it.
#
#   scripts/bench-rules.sh [POSTURES]
#
# Environment: BENCH_RUNS (9), CLOISTER_BIN (skip the build, time this executable),
# CLOISTER_SCRATCH_PATH (build directory, default .build).
# Exit status: 0 when the CPU-time median meets the target, 1 when it misses, 2 on errors.
set -euo pipefail

postures=${1:-1000}
runs=${BENCH_RUNS:-9}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"

if [[ -n "${CLOISTER_BIN:-}" ]]; then
    CLOISTER=$CLOISTER_BIN
else
    SCRATCH=(--scratch-path "${CLOISTER_SCRATCH_PATH:-.build}")
    echo "bench-rules.sh: swift build -c release" >&2
    swift build -c release "${SCRATCH[@]}" >&2 || exit 2
    CLOISTER="$(swift build -c release "${SCRATCH[@]}" --show-bin-path)/cloister"
fi
[[ -x $CLOISTER ]] || { echo "bench-rules.sh: $CLOISTER is not executable" >&2; exit 2; }

# The pack must be sound before it is timed: a broken rule would time an error path.
"$CLOISTER" rules lint --rules rules >&2 || exit 2

echo "cloister rules benchmark: $postures postures, $runs runs, rules/ and policies/exposure.yaml"
echo "host: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $("$CLOISTER" --version 2>/dev/null || echo 'version unknown')"
output=$("$CLOISTER" rules benchmark --rules rules --policy policies/exposure.yaml \
    --postures "$postures" --runs "$runs") || exit 2
echo "$output"

cpu=$(grep '^\[CPU time\] rule evaluation' <<<"$output" || true)
[[ -n $cpu ]] || { echo "bench-rules.sh: no CPU-time figure in the benchmark's output" >&2; exit 2; }
if grep -q 'MISSED' <<<"$cpu"; then
    echo "bench-rules.sh: target missed (CPU time)" >&2
    exit 1
fi
echo "bench-rules.sh: target met (CPU time)"
