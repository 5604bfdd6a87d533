#!/usr/bin/env bash
# Scale benchmark: a whole-host scan with thousands of namespaced workloads (issue 22: the
# seeds' 6,000 containers on one host).
#
#   scripts/bench-scan-scale.sh [N …]        (default: 1000 3000 6000)
#   BENCH_RUNS (5), CLOISTER_BIN (skip the build, time this executable),
#   CLOISTER_SCRATCH_PATH (build directory, default .build)
#
# Each workload is a sandbox made by util-linux `unshare`: its own PID, mount, UTS and IPC
# namespaces and a private /proc, running `sleep` (two processes: unshare and its child).
# They are what the scan walks for a container (a process table entry per process, a mount
# namespace, a cgroup, namespaces to compare) without an engine's minutes of start-up for
# thousands. Counts are reached in ascending order; the first sandbox that cannot start ends
# the climb, and the largest N the host held is reported with the limit that stopped it
# (user.max_mnt_namespaces, kernel.pid_max, kernel.threads-max, memory). Every sandbox is
# killed on exit.
# Printed per N: processes on the host, the scan's median wall and CPU time, peak RSS, the
# workloads it reported (all N must be there), the cost per workload, and the read floor
# (scripts/scan-read-floor.c) in the same runs. Targets: 6,000 workloads scanned in under 2 s
# with peak RSS under 60 MB, every workload reported, cost linear in processes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"

COUNTS=("$@")
((${#COUNTS[@]})) || COUNTS=(1000 3000 6000)
mapfile -t COUNTS < <(printf '%s\n' "${COUNTS[@]}" | sort -n -u)
RUNS=${BENCH_RUNS:-5}
TARGET_SECONDS=2
TARGET_PEAK_MB=60
MARK=$((900000 + $$ % 90000))  # `sleep MARK`: how this run's sandboxes are found again
WORK=$(mktemp -d /tmp/cloister-bench-scale.XXXXXX)

log() { echo "bench-scan-scale.sh: $*" >&2; }
die() { log "$*"; exit 1; }

cleanup() {
    pkill -KILL -f "^sleep $MARK\$" 2>/dev/null || true
    pkill -KILL -f "^unshare .* sleep $MARK\$" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $(id -u) -eq 0 ]] || die "must run as root (namespaces for thousands of sandboxes)"
for tool in unshare jq cc; do command -v "$tool" >/dev/null || die "$tool missing: run scripts/install-deps.sh"; done
[[ -x /usr/bin/time ]] || die "/usr/bin/time missing: run scripts/install-deps.sh (package time)"

if [[ -n "${CLOISTER_BIN:-}" ]]; then
    CLOISTER=$CLOISTER_BIN
else
    log "building cloister (release)"
    SCRATCH=(--scratch-path "${CLOISTER_SCRATCH_PATH:-.build}")
    swift build -c release "${SCRATCH[@]}" >&2
    CLOISTER="$(swift build -c release "${SCRATCH[@]}" --show-bin-path)/cloister"
fi
[[ -x "$CLOISTER" ]] || die "no cloister executable at $CLOISTER"
FLOOR="$WORK/scan-read-floor"
cc -O2 -o "$FLOOR" scripts/scan-read-floor.c

running() { pgrep -c -f "^sleep $MARK\$" || true; }

# Starts sandboxes until `running` reaches $1; prints what stopped it, if anything did.
grow_to() {
    local want=$1 batch have
    while (( (have = $(running)) < want )); do
        batch=$((want - have < 200 ? want - have : 200))
        for _ in $(seq "$batch"); do
            setsid unshare --fork --pid --mount --uts --ipc --mount-proc sleep "$MARK" </dev/null >/dev/null 2>>"$WORK/start.err" &
        done
        # Let the batch land; a batch that adds nothing means the host said no.
        sleep 0.5
        if (($(running) <= have)); then
            sleep 2
            if (($(running) <= have)); then
                echo "stopped at $have: $(tail -n 1 "$WORK/start.err" 2>/dev/null)"
                return 1
            fi
        fi
    done
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

rows=()
limit_note=""
for count in "${COUNTS[@]}"; do
    log "starting sandboxes up to $count"
    started=$(date +%s)
    if ! note=$(grow_to "$count"); then
        limit_note=$note
        count=$(running)
        log "$note"
    fi
    log "$(running) sandboxes running ($(($(date +%s) - started)) s)"
    processes=$(ls /proc | grep -c '^[0-9]' || true)
    "$CLOISTER" scan --no-seccomp-filters --format json >"$WORK/scan.json" 2>"$WORK/scan.err" || (($? == 1)) || die "scan failed: $(head -c 2000 "$WORK/scan.err")"
    # A sandbox is the workload whose leader is one of this run's `sleep` processes' parents
    # or the sleep itself (discovery names the process that made the namespaces).
    pids=$(pgrep -f "^sleep $MARK\$" | tr '\n' ' ')
    parents=$(for pid in $pids; do awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null; done | tr '\n' ' ')
    seen=$(jq --arg pids " $pids $parents " '[.workloads[] | select(.pid != null) | select(. as $w | $pids | contains(" \($w.pid) "))] | length' "$WORK/scan.json")
    walls=() cpus=() peaks=()
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" "$CLOISTER" scan --no-seccomp-filters --format json >/dev/null 2>&1 || true
        read -r e u s m <"$WORK/time"
        walls+=("$e"); cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')"); peaks+=("$m")
    done
    floors=()
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f '%e' -o "$WORK/time" "$FLOOR" 2>/dev/null
        floors+=("$(cat "$WORK/time")")
    done
    wall=$(printf '%s\n' "${walls[@]}" | median)
    cpu=$(printf '%s\n' "${cpus[@]}" | median)
    peak=$(printf '%s\n' "${peaks[@]}" | sort -n | tail -n 1)
    floor=$(printf '%s\n' "${floors[@]}" | median)
    rows+=("$count $processes $seen $wall $cpu $peak $floor")
done

echo
echo "whole-host scan (--no-seccomp-filters: unshare sandboxes have no filter) with N sandboxes; median of $RUNS"
printf '%8s %10s %9s %9s %9s %10s %14s %10s %12s\n' N processes reported "wall s" "cpu s" "peak MB" "µs/workload" "floor s" "scan/floor"
verdict=0
for row in "${rows[@]}"; do
    read -r count processes seen wall cpu peak floor <<<"$row"
    per=$(awk -v w="$wall" -v n="$count" 'BEGIN { printf "%.0f", (n > 0 ? w * 1e6 / n : 0) }')
    ratio=$(awk -v w="$wall" -v f="$floor" 'BEGIN { printf "%.1f", (f > 0 ? w / f : 0) }')
    printf '%8s %10s %9s %9s %9s %10.1f %14s %10s %11sx\n' "$count" "$processes" "$seen" "$wall" "$cpu" \
        "$(awk -v k="$peak" 'BEGIN { print k / 1024 }')" "$per" "$floor" "$ratio"
    ((seen >= count)) || verdict=1
done
read -r count _ _ wall _ peak _ <<<"${rows[-1]}"
[[ -n $limit_note ]] && echo "the host held $count sandboxes: $limit_note"
echo "limits: user.max_mnt_namespaces=$(cat /proc/sys/user/max_mnt_namespaces) kernel.pid_max=$(cat /proc/sys/kernel/pid_max) kernel.threads-max=$(cat /proc/sys/kernel/threads-max)"
if ((count >= 6000)); then
    awk -v w="$wall" -v t=$TARGET_SECONDS 'BEGIN { exit !(w < t) }' || verdict=1
    awk -v k="$peak" -v t=$TARGET_PEAK_MB 'BEGIN { exit !(k / 1024 < t) }' || verdict=1
    echo "target: 6,000 workloads in < $TARGET_SECONDS s, peak < $TARGET_PEAK_MB MB, all reported: $([[ $verdict == 0 ]] && echo met || echo MISSED)"
else
    echo "target: 6,000 workloads not reached (largest N: $count); per-workload cost above"
    verdict=1
fi
exit "$verdict"
