#!/usr/bin/env bash
# Benchmark for the audit reports at N workloads (default 200): `cloister check` saves the
# JSON of N Kubernetes pods (a third privileged DaemonSets, the rest plain or hardened pods),
# then `cloister report` renders it as HTML, Markdown and the table, and Debian's headless
# chromium loads the HTML beside a one-workload page, timed by the page's own clock (parse,
# load, first paint, the first frame after load) with the renderer's CPU time, so the
# difference is the page's own cost. Target: a 200-workload report rendered, and loaded by
# the browser, each in under a second.
#
#   scripts/bench-report.sh [WORKLOADS] [SCRATCH_PATH]
#
# Environment: CLOISTER_BIN (skip the build, time this executable).
set -euo pipefail

workloads=${1:-200}
scratch=${2:-.build-rel}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/cloister-bench-report.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [[ -n "${CLOISTER_BIN:-}" ]]; then
    binary=$CLOISTER_BIN
else
    (cd "$root" && swift build -c release --scratch-path "$scratch" >/dev/null)
    binary="$root/$scratch/release/cloister"
fi

make_tree() {
    local count=$1 dir=$2
    mkdir -p "$dir"
    for ((i = 0; i < count; i++)); do
        case $((i % 3)) in
        0) printf 'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent-%d, namespace: kube-system}\nspec:\n  selector: {matchLabels: {app: agent}}\n  template:\n    metadata: {labels: {app: agent}}\n    spec:\n      hostPID: true\n      hostNetwork: true\n      containers:\n      - name: agent\n        image: example.org/agent:1\n        securityContext: {privileged: true}\n' "$i" ;;
        1) printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: job-%d}\nspec:\n  containers:\n  - name: main\n    image: busybox:1.36\n' "$i" ;;
        2) printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: web-%d}\nspec:\n  securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}\n  containers:\n  - name: app\n    image: example.org/web:1\n    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}\n' "$i" ;;
        esac > "$dir/pod-$i.yaml"
    done
}

make_tree "$workloads" "$work/tree"
make_tree 1 "$work/one"
# check exits 1 when its gate fails; the saved report is what matters here.
"$binary" check --rules "$root/rules" --format json --output "$work/saved.json" "$work/tree" || [[ $? -eq 1 ]]
"$binary" check --rules "$root/rules" --format json --output "$work/one.json" "$work/one" || [[ $? -eq 1 ]]
"$binary" report --rules "$root/rules" --format html --output "$work/report.html" "$work/saved.json"
"$binary" report --rules "$root/rules" --format html --output "$work/one.html" "$work/one.json"
echo "bench-report: $workloads workloads, $(jq '.workloads | length' "$work/saved.json") read back, HTML $(wc -c < "$work/report.html") bytes"

hyperfine --warmup 1 --runs 10 -N \
    -n "report html ($workloads)" "$binary report --rules $root/rules --format html --output $work/out.html $work/saved.json" \
    -n "report markdown ($workloads)" "$binary report --rules $root/rules --format markdown --output $work/out.md $work/saved.json" \
    -n "report table ($workloads)" "$binary report --rules $root/rules --output $work/out.txt $work/saved.json"

# The browser's own clock, without its start-up (scripts/browser-timing.py: DevTools over a
# pipe, ten navigations each after a warm-up): the one-workload page is the floor, what any
# page costs in this browser; the 200-workload page's "rendered" is the target's figure.
# Its rendererCPU is what the wall time would be on an idle machine.
python3 "$root/scripts/browser-timing.py" --runs 10 "$work/one.html" "$work/report.html"
