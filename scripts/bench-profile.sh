#!/usr/bin/env bash
# Tightness benchmark for `cloister learn` + `cloister profile`: for three real workloads, learn
# the syscalls, make the tightest profile from the record, run the workload again under that
# profile (compiled by libseccomp, loaded by `cloister seccomp-exec`) and check its result, then
# print how many syscalls the profile allows beside moby's default profile.
# Target: each learned profile allows at most a quarter of moby's count, and each check passes.
#
#   scripts/bench-profile.sh [SCRATCH_PATH]
#
# moby's figure is counted, not fetched: moby/moby profiles/seccomp/default.json at commit
# 00f3d189e420d485e42d15fe494f96d272284e0e allows, for an x86_64 container without added
# capabilities, its 351-name unconditional list plus ptrace, process_vm_readv,
# process_vm_writev (kernel >= 4.8), socket, personality, arch_prctl, modify_ldt and clone
# (argument-filtered): 357 names, of which 297 are x86_64 syscalls (the rest are i386, ARM,
# or 32-bit time variants that libseccomp does not resolve on x86_64). clone3 answers ENOSYS.
set -euo pipefail

MOBY_DEFAULT_X86_64=297
RECORDINGS=${BENCH_RECORDINGS:-3}
scratch=${1:-${CLOISTER_SCRATCH_PATH:-.build}}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
if [[ -z "${CLOISTER_BIN:-}" ]]; then
    swift build -c release --scratch-path "$scratch" >&2
    CLOISTER_BIN="$root/$scratch/release/cloister"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/cloister-tightness.XXXXXX")
server_pid=""
[[ -n "${BENCH_KEEP:-}" ]] || trap 'rm -rf "$work"' EXIT

busybox=$(command -v busybox)
port=$((20000 + RANDOM % 20000))

# Each workload prints "ok" on success; the check is that line.
shell_script=("$busybox" sh -c 'cd "$0"; for i in 3 1 2; do echo "line $i"; done | sort > sorted; grep -c line sorted > count; [ "$(cat count)" = 3 ] && head -n1 sorted | grep -q "line 1" && echo ok' "$work")
http_server=(sh -c '
python3 -m http.server "$1" --bind 127.0.0.1 --directory "$0" >/dev/null 2>&1 &
server=$!
python3 - "$1" <<PY
import sys, time, urllib.request
# Waits before every attempt, the first too: whether the server is up at the first attempt is
# a race, and the path not taken while learning (sleep) would be missing from the profile.
for attempt in range(100):
    time.sleep(0.1)
    try:
        body = urllib.request.urlopen("http://127.0.0.1:%s/" % sys.argv[1], timeout=5).read()
        break
    except OSError:
        pass
else:
    sys.exit("server never answered")
print("ok" if b"Directory listing" in body else "bad")
PY
kill $server; wait $server 2>/dev/null; true' "$work" "$port")
compression=(sh -c 'cd "$0"; head -c 4000000 /dev/urandom > data; seq 1 200000 >> data; gzip -9 -c data > data.gz; gzip -dc data.gz | cmp -s - data && echo ok' "$work")

count_allowed() {
    python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(len({n for r in p["syscalls"] if r["action"]=="SCMP_ACT_ALLOW" for n in r["names"]}))' "$1"
}

status=0
printf '%-22s %8s %8s %8s %7s %s\n' workload learned moby ratio target check
for name in ${BENCH_WORKLOADS:-shell-script http-server compression}; do
    case $name in
        shell-script) command=("${shell_script[@]}") ;;
        http-server) command=("${http_server[@]}") ;;
        compression) command=("${compression[@]}") ;;
    esac
    # A single run only shows the paths it happened to take (the client may or may not wait
    # for the server to come up), so each workload is recorded $RECORDINGS times and merged.
    for ((run = 1; run <= RECORDINGS; run++)); do
        timeout 120 "$CLOISTER_BIN" learn --merge -o "$work/$name.json" -- "${command[@]}" \
            >> "$work/$name.learn.out" 2>> "$work/$name.learn.err" || true
    done
    "$CLOISTER_BIN" profile --learned "$work/$name.json" --no-runtime-init -o "$work/$name.profile.json" --policies "$root/policies"
    allowed=$(count_allowed "$work/$name.profile.json")
    check=fail
    exit_status=0
    timeout 120 "$CLOISTER_BIN" seccomp-exec "$work/$name.profile.json" -- "${command[@]}" > "$work/$name.out" 2> "$work/$name.err" \
        || exit_status=$?
    if [[ $exit_status -eq 0 ]] && grep -qx ok "$work/$name.out"; then
        check=pass
    fi
    ratio=$(python3 -c "print(f'{$allowed/$MOBY_DEFAULT_X86_64:.2f}')")
    target=$(python3 -c "print('met' if $allowed * 4 <= $MOBY_DEFAULT_X86_64 else 'missed')")
    printf '%-22s %8s %8s %8s %7s %s\n' "$name" "$allowed" "$MOBY_DEFAULT_X86_64" "$ratio" "$target" "$check"
    if [[ $check != pass ]]; then
        echo "  $name under its profile: exit $exit_status: $(head -c 400 "$work/$name.out") $(head -c 400 "$work/$name.err")" >&2
        status=1
    fi
    [[ $target == met ]] || status=1
done
exit $status
