#!/usr/bin/env bash
# Scan benchmark: cloister scan against podman inspect, on the same N running containers.
#
#   scripts/bench-scan.sh [N …]        (default: 50 100 200)
#   BENCH_RUNS (7), BENCH_PARALLEL (8), CLOISTER_BIN (skip the build, time this executable),
#   CLOISTER_SCRATCH_PATH (build directory, default .build), BASELINE_BIN (also time this
#   other cloister executable in the same runs, e.g. the previous commit's, for before/after)
#
# Builds cloister in release, starts N podman containers (busybox rootfs from test-assets/,
# `sleep`) in parallel, then in one hyperfine run times `cloister scan --format json` (the
# whole host) and `podman inspect` of the N containers, and measures each one's peak RSS with
# GNU time. Container counts are reached in ascending order, adding containers to the ones
# already running. Every container it started is removed on exit, whatever happens.
# The same hyperfine runs time the read floor (scripts/scan-read-floor.c: the bare /proc reads
# a scan cannot skip, no parsing, one thread) and `scan --no-seccomp-filters`. Then, per N:
# each phase's wall time (CLOISTER_DEBUG_TIMINGS, median of BENCH_RUNS scans), and the cost of
# a rescan that reuses what did not change (`scan --watch`, the ScanMemory `serve` uses) beside
# the full scan in the same process.
# Targets (issue 22), at 200 containers: the scan within 1.5x the floor and at least 3x faster
# than podman inspect; peak memory under 30 MB; rules and rendering under 15 % of the scan; an
# unchanged host's rescan under 10 % of a full scan. Reading and decoding every container's
# seccomp filter (a ptrace stop each; one decode per distinct filter) must add under 10 %.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"

COUNTS=("$@")
((${#COUNTS[@]})) || COUNTS=(50 200 1000)
mapfile -t COUNTS < <(printf '%s\n' "${COUNTS[@]}" | sort -n -u)
RUNS=${BENCH_RUNS:-7}
PARALLEL=${BENCH_PARALLEL:-8}
TARGET_SPEEDUP=3
TARGET_FLOOR_RATIO=1.5
TARGET_PEAK_MB=30
TARGET_FILTER_OVERHEAD=10
TARGET_JUDGE_SHARE=15
TARGET_RESCAN_SHARE=10

PODMAN=(podman --runtime runc --cgroup-manager cgroupfs --events-backend file)
# Podman's default nofile/nproc limits exceed the hard limits allowed here (see docs/testing.md).
RUN_FLAGS=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
PREFIX="cloister-bench-$$-"
WORK=$(mktemp -d /tmp/cloister-bench.XXXXXX)

die() { echo "bench-scan.sh: $*" >&2; exit 1; }
log() { echo "bench-scan.sh: $*" >&2; }

cleanup() {
    local names
    names=$("${PODMAN[@]}" ps -a --format '{{.Names}}' | grep "^$PREFIX" || true)
    if [[ -n "$names" ]]; then
        log "removing $(wc -l <<<"$names") benchmark containers"
        xargs -r -n 20 -P "$PARALLEL" "${PODMAN[@]}" rm -f -t 0 <<<"$names" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in podman runc hyperfine jq; do
    command -v "$tool" >/dev/null || die "$tool missing: run scripts/install-deps.sh"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time missing: run scripts/install-deps.sh (package time)"
[[ $(id -u) -eq 0 ]] || die "must run as root (podman with runc and cgroupfs)"
scripts/test-assets.sh >&2
ROOTFS="$ROOT/test-assets/rootfs"

if [[ -n "${CLOISTER_BIN:-}" ]]; then
    CLOISTER=$CLOISTER_BIN  # a given build, e.g. to compare two versions
else
    log "building cloister (release)"
    SCRATCH=(--scratch-path "${CLOISTER_SCRATCH_PATH:-.build}")
    swift build -c release "${SCRATCH[@]}" >&2
    CLOISTER="$(swift build -c release "${SCRATCH[@]}" --show-bin-path)/cloister"
fi
[[ -x "$CLOISTER" ]] || die "no cloister executable at $CLOISTER"
FLOOR="$WORK/scan-read-floor"
cc -O2 -o "$FLOOR" scripts/scan-read-floor.c || die "cannot build scripts/scan-read-floor.c (cc missing?)"
# --- seccomp filter reading floor (scripts/seccomp-read-floor.c) ---
# Only the ptrace work of reading every filtered thread's filters, timed by the program itself
# (the /proc reads that find the threads are the scan floor's); its median over BENCH_RUNS runs
# is put beside what filter reading adds to the scan (scan minus scan --no-seccomp-filters).
SECCOMP_FLOOR="$WORK/seccomp-read-floor"
cc -O2 -o "$SECCOMP_FLOOR" scripts/seccomp-read-floor.c || die "cannot build scripts/seccomp-read-floor.c"
seccomp_floor_rows=()
seccomp_floor_median() {  # "median_ptrace_ms threads filters failed" of BENCH_RUNS runs
    for _ in $(seq "$RUNS"); do "$SECCOMP_FLOOR"; done >"$WORK/seccomp-floor.txt"
    local last
    last=$(tail -n 1 "$WORK/seccomp-floor.txt")
    echo "$(sed -n 's/^ptrace_ms=\([0-9.]*\) .*/\1/p' "$WORK/seccomp-floor.txt" | median)" \
        "$(sed -n 's/.* threads=\([0-9]*\) .*/\1/p' <<<"$last")" \
        "$(sed -n 's/.* filters=\([0-9]*\) .*/\1/p' <<<"$last")" \
        "$(sed -n 's/.* failed=\([0-9]*\)$/\1/p' <<<"$last")"
}
# --- end of the seccomp filter reading floor ---
BASELINE=${BASELINE_BIN:-}
[[ -z "$BASELINE" || -x "$BASELINE" ]] || die "no executable at BASELINE_BIN=$BASELINE"

process_count() { ls /proc | grep -c '^[0-9]' || true; }

start_containers() {  # start containers numbered $1..$2
    seq "$1" "$2" | xargs -P "$PARALLEL" -I{} \
        "${PODMAN[@]}" run -d --name "$PREFIX{}" "${RUN_FLAGS[@]}" --rootfs "$ROOTFS" sleep 86400 \
        >"$WORK/start.log" 2>&1 || { tail -n 5 "$WORK/start.log" >&2; die "podman run failed"; }
}

# Peak RSS in KiB of one run of the command (the highest of three runs).
peak_kib() {
    local peak=0 kib
    for _ in 1 2 3; do
        /usr/bin/time -f %M -o "$WORK/time" "$@" >/dev/null 2>&1 || true
        kib=$(tail -n 1 "$WORK/time")
        ((kib > peak)) && peak=$kib
    done
    echo "$peak"
}

results=()
baselines=()
filter_rows=()
floor_rows=()
phase_rows=()
rescan_rows=()

# Median wall time of each phase over BENCH_RUNS scans (CLOISTER_DEBUG_TIMINGS lines:
# "cloister: timing: PHASE: wall X ms, …"), as "phase=ms" words.
phase_medians() {
    for _ in $(seq "$RUNS"); do
        CLOISTER_DEBUG_TIMINGS=1 "$CLOISTER" scan --format json 2>&1 >/dev/null | sed -n 's/^cloister: timing: \([^:]*\): wall \([0-9.]*\) ms.*/\1\t\2/p'
    done >"$WORK/phases.tsv"
    local phase
    cut -f1 "$WORK/phases.tsv" | awk '!seen[$0]++' | while IFS= read -r phase; do
        printf '%s=%s ' "${phase// /_}" "$(awk -F'\t' -v p="$phase" '$1 == p { print $2 }' "$WORK/phases.tsv" | median)"
    done
    echo
}

# The median of numbers, one a line.
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : "?") }'; }

# A full scan then unchanged-host rescans in one `scan --watch` process: "full_ms median_rescan_ms".
rescan_cost() {
    local scans=$((RUNS + 1))
    "$CLOISTER" scan --watch 0.2 --full-scan-every 100000 --format json >/dev/null 2>"$WORK/watch.err" &
    local watcher=$!
    for _ in $(seq 600); do
        (($(grep -c '^cloister: scan ' "$WORK/watch.err" || true) >= scans)) && break
        sleep 0.1
    done
    kill -TERM "$watcher" 2>/dev/null || true
    wait "$watcher" 2>/dev/null || true
    sed -n 's/^cloister: scan \([0-9]*\): .* \([0-9]*\) ms$/\1 \2/p' "$WORK/watch.err" >"$WORK/scans.txt"
    echo "$(awk '$1 == 1 { print $2 }' "$WORK/scans.txt") $(awk '$1 > 1 { print $2 }' "$WORK/scans.txt" | median)"
}

running=0
for count in "${COUNTS[@]}"; do
    if ((count > running)); then
        log "starting containers $((running + 1))..$count ($PARALLEL in parallel)"
        start=$(date +%s)
        start_containers $((running + 1)) "$count"
        running=$count
        log "started in $(($(date +%s) - start)) s"
    fi
    names=()
    for i in $(seq 1 "$count"); do names+=("$PREFIX$i"); done
    up=$("${PODMAN[@]}" ps --format '{{.Names}}' | grep -c "^$PREFIX" || true)
    ((up >= count)) || die "only $up of $count benchmark containers are running"
    processes=$(process_count)

    # The scan must work before it is timed: exit 0 (clean) or 1 (findings), a v1 report, and
    # every benchmark container in it.
    set +e
    "$CLOISTER" scan --format json >"$WORK/scan.json" 2>"$WORK/scan.err"
    status=$?
    set -e
    if ((status > 1)) || ! jq -e '.schema == "cloister.scan/v1"' "$WORK/scan.json" >/dev/null 2>&1; then
        echo "bench-scan.sh: \`cloister scan --format json\` failed (exit $status):" >&2
        head -c 2000 "$WORK/scan.err" >&2
        head -c 500 "$WORK/scan.json" >&2
        exit 1
    fi
    if [[ -n "$BASELINE" ]]; then
        # A baseline that fails (say, on rule files newer than it) would be timed doing less.
        set +e
        "$BASELINE" scan --format json >"$WORK/baseline.json" 2>"$WORK/baseline.err"
        status=$?
        set -e
        if ((status > 1)) || ! jq -e '.schema == "cloister.scan/v1"' "$WORK/baseline.json" >/dev/null 2>&1; then
            echo "bench-scan.sh: the baseline's scan failed (exit $status; CLOISTER_RULES picks the rules it reads):" >&2
            head -c 2000 "$WORK/baseline.err" >&2
            exit 1
        fi
    fi
    seen=$(jq --arg p "$PREFIX" '[.workloads[] | select(.runtime == "podman" and (.name | startswith($p)))] | length' "$WORK/scan.json")
    ((seen == count)) || log "WARNING: the scan reported $seen of the $count benchmark containers"

    log "N=$count: timing ($RUNS runs each, $processes host processes)"
    baseline_command=()
    [[ -n "$BASELINE" ]] && baseline_command=(--command-name baseline "$BASELINE scan --format json")
    hyperfine --style basic --runs "$RUNS" --warmup 1 --ignore-failure -N \
        --export-json "$WORK/hyperfine-$count.json" \
        --command-name scan "$CLOISTER scan --format json" \
        --command-name no-filters "$CLOISTER scan --no-seccomp-filters --format json" \
        --command-name floor "$FLOOR" \
        "${baseline_command[@]}" \
        --command-name inspect "${PODMAN[*]} inspect ${names[*]}" >&2
    scan_ms=$(jq '.results[] | select(.command == "scan") | .median * 1000' "$WORK/hyperfine-$count.json")
    inspect_ms=$(jq '.results[] | select(.command == "inspect") | .median * 1000' "$WORK/hyperfine-$count.json")
    nofilter_ms=$(jq '.results[] | select(.command == "no-filters") | .median * 1000' "$WORK/hyperfine-$count.json")
    filtered=$(jq '[.workloads[] | select(.seccomp.source == "kernel")] | length' "$WORK/scan.json")
    filter_rows+=("$count $scan_ms $nofilter_ms $filtered")
    seccomp_floor_rows+=("$count $scan_ms $nofilter_ms $(seccomp_floor_median)")  # seccomp filter reading floor
    floor_ms=$(jq '.results[] | select(.command == "floor") | .median * 1000' "$WORK/hyperfine-$count.json")
    floor_rows+=("$count $floor_ms $scan_ms $inspect_ms")
    log "N=$count: phases ($RUNS scans) and rescans"
    phase_rows+=("$count $(phase_medians)")
    rescan_rows+=("$count $(rescan_cost)")
    scan_kib=$(peak_kib "$CLOISTER" scan --format json)
    inspect_kib=$(peak_kib "${PODMAN[@]}" inspect "${names[@]}")
    results+=("$count $processes $scan_ms $inspect_ms $scan_kib $inspect_kib")
    if [[ -n "$BASELINE" ]]; then
        baseline_ms=$(jq '.results[] | select(.command == "baseline") | .median * 1000' "$WORK/hyperfine-$count.json")
        baseline_kib=$(peak_kib "$BASELINE" scan --format json)
        baselines+=("$count $baseline_ms $baseline_kib")
    fi
done

echo
echo "cloister scan vs podman inspect (median of $RUNS runs; peak RSS, highest of 3)"
printf '%10s %10s %12s %15s %9s %13s %16s\n' containers processes "scan ms" "inspect ms" speedup "scan peak MB" "inspect peak MB"
verdict=0
measured_200=no
for row in "${results[@]}"; do
    read -r count processes scan_ms inspect_ms scan_kib inspect_kib <<<"$row"
    speedup=$(awk -v s="$scan_ms" -v i="$inspect_ms" 'BEGIN { printf "%.1f", (s > 0 ? i / s : 0) }')
    scan_mb=$(awk -v k="$scan_kib" 'BEGIN { printf "%.1f", k / 1024 }')
    inspect_mb=$(awk -v k="$inspect_kib" 'BEGIN { printf "%.1f", k / 1024 }')
    printf '%10s %10s %12.1f %15.1f %8sx %13s %16s\n' "$count" "$processes" "$scan_ms" "$inspect_ms" "$speedup" "$scan_mb" "$inspect_mb"
    if ((count == 200)); then
        measured_200=yes
        awk -v x="$speedup" -v t=$TARGET_SPEEDUP 'BEGIN { exit !(x >= t) }' || verdict=1
    fi
    awk -v m="$scan_mb" -v t=$TARGET_PEAK_MB 'BEGIN { exit !(m < t) }' || verdict=1
done
echo
echo "seccomp filter reading: scan vs scan --no-seccomp-filters (median of $RUNS runs)"
printf '%10s %12s %17s %10s %20s\n' containers "scan ms" "no-filters ms" "added" "filters decoded"
for row in "${filter_rows[@]}"; do
    read -r count scan_ms nofilter_ms filtered <<<"$row"
    added=$(awk -v s="$scan_ms" -v n="$nofilter_ms" 'BEGIN { printf "%.1f", (n > 0 ? (s - n) * 100 / n : 0) }')
    printf '%10s %12.1f %17.1f %9s%% %20s\n' "$count" "$scan_ms" "$nofilter_ms" "$added" "$filtered"
    if ((count == 200)); then
        awk -v a="$added" -v t=$TARGET_FILTER_OVERHEAD 'BEGIN { exit !(a < t) }' || verdict=1
    fi
done
# --- seccomp filter reading floor (scripts/seccomp-read-floor.c) ---
for row in "${seccomp_floor_rows[@]}"; do
    read -r count scan_ms nofilter_ms floor_ms threads filters failed <<<"$row"
    printf 'N=%s filter reading: floor %.1f ms vs cloister'"'"'s added %.1f ms (%s threads, %s filters read by the floor, %s failed)\n' \
        "$count" "$floor_ms" "$(awk -v s="$scan_ms" -v n="$nofilter_ms" 'BEGIN { print s - n }')" "$threads" "$filters" "$failed"
done
# --- end of the seccomp filter reading floor ---
echo
echo "against the read floor (scripts/scan-read-floor.c, one thread, no parsing; median of $RUNS runs)"
printf '%10s %10s %10s %12s %14s %14s\n' containers "floor ms" "scan ms" "scan/floor" "inspect ms" "inspect/scan"
for row in "${floor_rows[@]}"; do
    read -r count floor_ms scan_ms inspect_ms <<<"$row"
    ratio=$(awk -v s="$scan_ms" -v f="$floor_ms" 'BEGIN { printf "%.2f", (f > 0 ? s / f : 0) }')
    speedup=$(awk -v s="$scan_ms" -v i="$inspect_ms" 'BEGIN { printf "%.2f", (s > 0 ? i / s : 0) }')
    printf '%10s %10.1f %10.1f %11sx %14.1f %13sx\n' "$count" "$floor_ms" "$scan_ms" "$ratio" "$inspect_ms" "$speedup"
    if ((count == 200)); then
        awk -v x="$ratio" -v t=$TARGET_FLOOR_RATIO 'BEGIN { exit !(x <= t) }' || verdict=1
    fi
done
echo
echo "phases (CLOISTER_DEBUG_TIMINGS, wall ms, median of $RUNS scans; each ends where the next begins)"
for row in "${phase_rows[@]}"; do
    read -r count phases <<<"$row"
    echo "  N=$count: ${phases//_/ }"
    judge_share=$(awk -v p="$phases" 'BEGIN {
        n = split(p, kv, " "); total = 0; judge = 0
        for (i = 1; i <= n; i++) { split(kv[i], a, "="); total += a[2]; if (a[1] ~ /^(rules_evaluated|report_rendered)/) judge += a[2] }
        printf "%.1f", (total > 0 ? judge * 100 / total : 0) }')
    echo "    rules evaluated + report rendered: $judge_share % of the phases' sum (target < $TARGET_JUDGE_SHARE %)"
    if ((count == 200)); then
        awk -v x="$judge_share" -v t=$TARGET_JUDGE_SHARE 'BEGIN { exit !(x < t) }' || verdict=1
    fi
done
echo
echo "rescans of an unchanged host (scan --watch: the first scan full, then ScanMemory; median of $RUNS)"
printf '%10s %14s %16s %10s\n' containers "full scan ms" "rescan ms" "share"
for row in "${rescan_rows[@]}"; do
    read -r count full_ms rescan_ms <<<"$row"
    share=$(awk -v r="$rescan_ms" -v f="$full_ms" 'BEGIN { printf "%.1f", (f > 0 ? r * 100 / f : 0) }')
    printf '%10s %14s %16s %9s%%\n' "$count" "$full_ms" "$rescan_ms" "$share"
    if ((count == 200)); then
        awk -v x="$share" -v t=$TARGET_RESCAN_SHARE 'BEGIN { exit !(x < t) }' || verdict=1
    fi
done
if ((${#baselines[@]})); then
    echo
    echo "baseline $BASELINE, timed in the same runs:"
    printf '%10s %12s %15s %9s %13s\n' containers "baseline ms" "inspect ms" speedup "peak MB"
    for index in "${!baselines[@]}"; do
        read -r count baseline_ms baseline_kib <<<"${baselines[$index]}"
        read -r _ _ _ inspect_ms _ _ <<<"${results[$index]}"
        printf '%10s %12.1f %15.1f %8sx %13s\n' "$count" "$baseline_ms" "$inspect_ms" \
            "$(awk -v s="$baseline_ms" -v i="$inspect_ms" 'BEGIN { printf "%.1f", (s > 0 ? i / s : 0) }')" \
            "$(awk -v k="$baseline_kib" 'BEGIN { printf "%.1f", k / 1024 }')"
    done
fi
echo "targets at 200 containers: scan <= ${TARGET_FLOOR_RATIO}x the floor and >= ${TARGET_SPEEDUP}x faster than podman inspect; rules + rendering < ${TARGET_JUDGE_SHARE} %; unchanged rescan < ${TARGET_RESCAN_SHARE} % of a full scan; filter reading adds < ${TARGET_FILTER_OVERHEAD} %; at every N scan peak memory < ${TARGET_PEAK_MB} MB"
[[ $measured_200 == yes ]] || echo "targets: the N=200 ones not judged (N=200 not measured)"
if ((verdict == 0)); then echo "targets: met"; else echo "targets: MISSED (see table)"; fi
