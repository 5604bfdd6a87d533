#!/usr/bin/env bash
# Fuzzes every parser of untrusted input (Fuzz/, one libFuzzer executable a parser) for a
# bounded time each, and prints per target the executions run and the crashes found.
#
#   scripts/fuzz.sh [SECONDS] [TARGET…]     # default 60 s a target, every target
#
# Environment:
#   FUZZ_RUNS=N        stop a target after N executions even when time is left (libFuzzer -runs)
#   FUZZ_MAX_LEN=N     longest input libFuzzer makes (default: the longest seed); smaller is faster
#   FUZZ_JOBS=N        targets fuzzed at once (default 1; the hosts share two cores)
#   FUZZ_SANITIZE=LIST sanitizers (default fuzzer,address; `fuzzer` alone runs about twice as
#                      fast: Swift traps on bounds and overflow errors without ASan)
#   FUZZ_SCRATCH=DIR   build directory (default .build-fuzz, .build-fuzz-LIST for other sanitizers)
#   FUZZ_WORK=DIR      corpora and crash artifacts (default $FUZZ_SCRATCH/work); a corpus grows
#                      across runs, seeded each time from the fixtures
#
# Before fuzzing, each target replays Fuzz/Regressions/TARGET/*, the inputs of crashes already
# fixed. Exit status 1 when any target crashed (its input is under $FUZZ_WORK/artifacts/TARGET/),
# so CI fails on a finding; turn the input into a regression test and a fix.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"

SECONDS_EACH=${1:-60}
shift || true
SANITIZE=${FUZZ_SANITIZE:-fuzzer,address}
DEFAULT_SCRATCH=.build-fuzz
[[ $SANITIZE = fuzzer,address ]] || DEFAULT_SCRATCH=".build-fuzz-${SANITIZE//,/-}"
SCRATCH=${FUZZ_SCRATCH:-$DEFAULT_SCRATCH}
[[ $SCRATCH = /* ]] || SCRATCH="$ROOT/$SCRATCH"
WORK=${FUZZ_WORK:-$SCRATCH/work}
JOBS=${FUZZ_JOBS:-1}
PROC_FIXTURES=Tests/CloisterInspectTests/Fixtures
CHECK_FIXTURES=Tests/CloisterCheckTests/Fixtures

ALL_TARGETS=(
    proc-status id-map ns-link cmdline mountinfo cgroup mac-label socket-table fdinfo passwd
    runc-state libvirt-status engine-state json-document oci-config firecracker qemu-cmdline
    qemu-options kubernetes compose libvirt-xml rule-file exposure-policy baseline
    workload-description safe-text admission-review libvirt-qemu-conf seccomp-bpf
)
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=("${ALL_TARGETS[@]}")

# The fixture files that seed each target: captured /proc trees for the /proc parsers, the
# `check` fixtures for configuration formats, the shipped rules and policies for those files.
seeds() {
    local proc=() check=() repo=()
    case $1 in
    proc-status) proc=('proc/*/status' 'proc/*/task/*/status') ;;
    id-map) proc=('proc/*/uid_map' 'proc/*/gid_map') ;;
    ns-link) ;;
    cmdline | safe-text) proc=('proc/*/cmdline' 'proc/*/comm') ;;
    mountinfo) proc=('proc/*/mountinfo') ;;
    cgroup) proc=('proc/*/cgroup' 'sys/fs/cgroup/**/devices.list' 'sys/fs/cgroup/**/memory.max' 'sys/fs/cgroup/**/cpu.max') ;;
    mac-label) proc=('proc/*/attr/current' 'proc/*/attr/apparmor/current') ;;
    socket-table) proc=('proc/*/net/tcp' 'proc/*/net/tcp6') ;;
    fdinfo) proc=('proc/*/fdinfo/*') ;;
    passwd) proc=('etc/passwd' 'etc/group') ;;
    runc-state) proc=('run/runc/*/state.json') ;;
    libvirt-status) proc=('run/libvirt/qemu/*.xml') repo=('Fuzz/Seeds/libvirt-status/*.xml') ;;
    engine-state) proc=('run/crun/*/status' 'run/containerd/**/config.json') ;;
    json-document) check=('oci/*.json' 'firecracker/*.json' 'bad/*.json') ;;
    oci-config) check=('oci/*.json') repo=('Fuzz/Seeds/oci-config/*.json') ;;
    firecracker) check=('firecracker/*.json') ;;
    qemu-cmdline) check=('qemu/*' 'libvirt-pairs/*.qemu') proc=('proc/*/cmdline') ;;
    qemu-options) check=('qemu/*' 'libvirt-pairs/*.qemu') ;;
    kubernetes) check=('kubernetes/*.yaml' 'bad/*.yaml') ;;
    compose) check=('compose/*.yaml') ;;
    libvirt-xml) check=('libvirt/*.xml' 'libvirt-pairs/*.xml' 'bad/*.xml') ;;
    libvirt-qemu-conf) check=('libvirt/*.conf' 'libvirt-pairs/*.conf') ;;
    rule-file) repo=('rules/*.yaml') ;;
    exposure-policy) repo=('policies/exposure.yaml') ;;
    baseline) repo=('policies/baseline.example.yaml') ;;
    workload-description) repo=('policies/scenarios/*.yaml') ;;
    admission-review) repo=('Fuzz/Seeds/admission-review/*.json') ;;
    seccomp-bpf) repo=('Fuzz/Seeds/seccomp-bpf/*.bpf') ;;
    *) echo "fuzz.sh: no target $1 (targets: ${ALL_TARGETS[*]})" >&2; return 2 ;;
    esac
    (
        shopt -s nullglob globstar
        for host in "$PROC_FIXTURES"/*/; do for g in "${proc[@]}"; do for f in $host$g; do [[ -f $f ]] && echo "$f"; done; done; done
        for g in "${check[@]}"; do for f in $CHECK_FIXTURES/$g; do [[ -f $f ]] && echo "$f"; done; done
        for g in "${repo[@]}"; do for f in $g; do [[ -f $f ]] && echo "$f"; done; done
    )
}

for target in "${TARGETS[@]}"; do seeds "$target" >/dev/null; done

echo "fuzz.sh: building ${#TARGETS[@]} targets with -sanitize=$SANITIZE in $SCRATCH"
(cd Fuzz && swift build -c release --scratch-path "$SCRATCH" \
    -Xswiftc -sanitize="$SANITIZE" -Xswiftc -parse-as-library -Xswiftc -use-ld=lld 2>&1 | tail -n 3)
BIN=$(cd Fuzz && swift build -c release --scratch-path "$SCRATCH" --show-bin-path \
    -Xswiftc -sanitize="$SANITIZE" -Xswiftc -parse-as-library -Xswiftc -use-ld=lld)

fuzz_one() {
    local target=$1 corpus="$WORK/corpus/$1" artifacts="$WORK/artifacts/$1/" log="$WORK/logs/$1.log"
    # Artifacts are this run's findings only; a fixed crash lives on in Fuzz/Regressions/.
    rm -rf "$artifacts"
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    local index=0
    while read -r seed; do
        index=$((index + 1))
        cp "$seed" "$corpus/seed-$index-$(basename "$seed")"
    done < <(seeds "$target")
    local status=0
    # Fixed crashes first: each must now pass.
    if compgen -G "Fuzz/Regressions/$target/*" >/dev/null; then
        SWIFT_BACKTRACE=enable=no "$BIN/fuzz-$target" -artifact_prefix="$artifacts" Fuzz/Regressions/"$target"/* \
            >"$log.regressions" 2>&1 || status=1
    fi
    local runs=()
    [[ -n ${FUZZ_RUNS:-} ]] && runs=(-runs="$FUZZ_RUNS")
    [[ -n ${FUZZ_MAX_LEN:-} ]] && runs+=(-max_len="$FUZZ_MAX_LEN")
    # SWIFT_BACKTRACE off: Swift's own crash handler would take a trap before libFuzzer's does,
    # and libFuzzer's is the one that saves the crashing input.
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 nice -n 10 "$BIN/fuzz-$target" \
        -max_total_time="$SECONDS_EACH" "${runs[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts" "$corpus" >"$log" 2>&1 || status=1
    echo "$status" >"$log.status"
}

mkdir -p "$WORK/logs"
running=0
for target in "${TARGETS[@]}"; do
    fuzz_one "$target" &
    running=$((running + 1))
    if ((running >= JOBS)); then wait -n || true; running=$((running - 1)); fi
done
wait

failed=0
printf '\n%-22s %12s %10s %8s %8s  %s\n' target executions exec/s seconds crashes status
for target in "${TARGETS[@]}"; do
    log="$WORK/logs/$target.log"
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    elapsed=$(sed -n 's/.*Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    crashes=$(find "$WORK/artifacts/$target" -type f | wc -l)
    status=ok
    if [[ $(cat "$log.status") != 0 || $crashes -gt 0 ]]; then
        status="FAILED (see $log)"
        failed=1
    fi
    printf '%-22s %12s %10s %8s %8s  %s\n' "$target" "${executions:-?}" "${rate:-?}" "${elapsed:-?}" "$crashes" "$status"
done
exit "$failed"
