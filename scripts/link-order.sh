#!/usr/bin/env bash
# Writes Sources/cloister-full/link-order.txt: the functions a scan and a check execute, in the
# order the release link lays them out first (lld's --symbol-ordering-file, Package.swift).
#
#   scripts/link-order.sh [CLOISTER_FULL]    (default: build release and use its cloister-full)
#
# Why: the kernel maps an executable's code in whole blocks around each page a run touches
# (fault-around, 64 KiB here, and whole large folios on ext4), so code executed once but spread
# over a 110 MB binary kept 12 MB of it resident during a 200-container scan, more than a third
# of the scan's peak RSS. The 1.7 MB of functions a scan runs, laid out together, keep about
# 7 MB resident. Functions missing from the list (new or renamed since it was written) are laid
# out after the listed ones, as before: a stale list costs memory, never correctness.
#
# How: valgrind's callgrind runs cloister-full (debug information stripped from a copy, which
# callgrind cannot read) on `--version`, `scan`, `scan --format json` and `check` of the shipped
# Kubernetes manifests, and lists every function of the executable that ran. Run it on a host
# with containers running (scripts/bench-scan.sh's or any), as root, so the scan walks real
# workloads; the list is sorted so that a new one diffs cleanly against the old.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
command -v valgrind >/dev/null || { echo "link-order.sh: valgrind missing (apt-get install valgrind)" >&2; exit 1; }

if [[ $# -ge 1 ]]; then
    binary=$1
else
    swift build -c release --product cloister-full >&2
    binary="$(swift build -c release --show-bin-path)/cloister-full"
fi
[[ -x "$binary" ]] || { echo "link-order.sh: no executable at $binary" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/cloister-link-order.XXXXXX")
trap 'rm -rf "$work"' EXIT
objcopy --strip-debug "$binary" "$work/cloister-full"
export CLOISTER_RULES="$ROOT/rules"

run() {
    local name=$1
    shift
    valgrind --tool=callgrind --callgrind-out-file="$work/$name.out" --compress-strings=no \
        --compress-pos=no --demangle=no "$work/cloister-full" "$@" >/dev/null 2>"$work/$name.err" || true
    [[ -s "$work/$name.out" ]] || { echo "link-order.sh: callgrind wrote nothing for $name:" >&2; tail -5 "$work/$name.err" >&2; exit 1; }
}
run version --version
run scan scan
run scan-json scan --format json
run check check deploy/kubernetes --format json

# Every `fn=` of the executable's own object: callgrind names a function by its symbol, adds
# `'N` when one name has several bodies, and writes a bare address where there is no symbol.
out="$ROOT/Sources/cloister-full/link-order.txt"
awk -v object="$work/cloister-full" '
    /^ob=/ { current = substr($0, 4) }
    /^fn=/ { name = substr($0, 4); if (current == object && name !~ /^0x/ && name !~ /\047/) print name }
' "$work"/*.out | LC_ALL=C sort -u >"$out.new"
mv "$out.new" "$out"
echo "link-order.sh: $(wc -l <"$out") functions in $out" >&2
