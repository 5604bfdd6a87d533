#!/usr/bin/env bash
# Tightness benchmark for `cloister learn` + `cloister profile`: for three real workloads, learn
# the syscalls, make the tightest profile from the record, run the workload again under that
# profile (compiled by libseccomp, loaded by `cloister seccomp-exec`) and check its result, then
# print how many syscalls the profile allows beside moby's default profile.
# Target: each learned profile allows at most a quarter of moby's count, and each check passes.
#
# Then the same records, made into profiles for a container runtime (`--runtime runc`: the
# calls runc's init makes after loading the filter), run the same workloads in containers:
# podman with runc and Docker's engine (containerd and dockerd started here, in a private
# directory, stopped by PID), the busybox rootfs of test-assets/ with the host's /usr bound
# read-only so the same binaries run. Each row prints its check and the allowed count beside
# podman's own default (/usr/share/containers/seccomp.json, counted here: allowed names without
# added capabilities that libseccomp resolves on x86_64) and moby's. BENCH_ENGINES=none skips.
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

# Sets `command` to the named workload's argv.
select_workload() {
    case $1 in
        shell-script) command=("${shell_script[@]}") ;;
        http-server) command=("${http_server[@]}") ;;
        compression) command=("${compression[@]}") ;;
        *) echo "bench-profile.sh: no workload '$1'" >&2; exit 2 ;;
    esac
}

count_allowed() {
    python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(len({n for r in p["syscalls"] if r["action"]=="SCMP_ACT_ALLOW" for n in r["names"]}))' "$1"
}

status=0
printf '%-22s %8s %8s %8s %7s %s\n' workload learned moby ratio target check
for name in ${BENCH_WORKLOADS:-shell-script http-server compression}; do
    select_workload "$name"
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

# --- under the engines ---------------------------------------------------------------------
engines=${BENCH_ENGINES:-podman docker}
[[ $engines == none ]] && exit $status
rootfs="$root/test-assets/rootfs"
if [[ ! -d $rootfs || $(id -u) -ne 0 ]]; then
    echo "engines: skipped (needs root and test-assets/rootfs: scripts/test-assets.sh)" >&2
    exit $status
fi
podman_default=$(python3 - <<'PY'
import ctypes, json
try:
    lib = ctypes.CDLL("libseccomp.so.2")
    profile = json.load(open("/usr/share/containers/seccomp.json"))
except OSError:
    print("?"); raise SystemExit
lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
names = set()
for rule in profile["syscalls"]:
    includes = rule.get("includes", {})
    if rule["action"] != "SCMP_ACT_ALLOW" or includes.get("caps"):
        continue
    if includes.get("arches") and not set(includes["arches"]) & {"amd64", "x86_64"}:
        continue
    names.update(n for n in rule["names"] if lib.seccomp_syscall_resolve_name(n.encode()) >= 0)
print(len(names))
PY
)
# The host's /usr (merged-/usr Debian: /bin, /lib and /lib64 live there) read-only over the
# busybox rootfs, and the scratch directory, at the same paths as on the host.
binds=(-v /usr:/usr:ro -v /usr/lib:/lib:ro -v /usr/lib64:/lib64:ro -v "$work:$work" -e PATH=/usr/local/bin:/usr/bin:/bin)
engine_dir=""
stop_engines() {
    [[ -n ${dockerd_pid:-} ]] && kill "$dockerd_pid" 2>/dev/null && wait "$dockerd_pid" 2>/dev/null
    [[ -n ${containerd_pid:-} ]] && kill "$containerd_pid" 2>/dev/null && wait "$containerd_pid" 2>/dev/null
    if [[ -n $engine_dir ]]; then
        grep -o " $engine_dir[^ ]*\| /var/lib/docker/${engine_dir##*/}[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
        rm -rf "$engine_dir" "/var/lib/docker/${engine_dir##*/}"
    fi
    [[ -n "${BENCH_KEEP:-}" ]] || rm -rf "$work"
}
trap stop_engines EXIT
start_docker() {
    engine_dir=$(mktemp -d /tmp/cloister-bench-docker.XXXXXX)
    containerd --address "$engine_dir/containerd.sock" --root "$engine_dir/containerd-root" \
        --state "$engine_dir/containerd-state" > "$engine_dir/containerd.log" 2>&1 &
    containerd_pid=$!
    for _ in $(seq 1 100); do [[ -S $engine_dir/containerd.sock ]] && break; sleep 0.1; done
    mkdir -p "/var/lib/docker/${engine_dir##*/}"
    dockerd --iptables=false --ip-masq=false --bridge=none --containerd="$engine_dir/containerd.sock" \
        --host="unix://$engine_dir/docker.sock" --data-root="/var/lib/docker/${engine_dir##*/}" \
        --exec-root="$engine_dir/exec" --pidfile="$engine_dir/dockerd.pid" > "$engine_dir/dockerd.log" 2>&1 &
    dockerd_pid=$!
    docker_cli=$([[ -x /usr/bin/docker ]] && echo /usr/bin/docker || echo docker)
    for _ in $(seq 1 300); do "$docker_cli" -H "unix://$engine_dir/docker.sock" version >/dev/null 2>&1 && break; sleep 0.2; done
    tar -C "$rootfs" -c . | "$docker_cli" -H "unix://$engine_dir/docker.sock" import - cloister-bench-busybox >/dev/null
}

echo
printf '%-22s %-12s %8s %8s %8s %7s %s\n' workload engine profile podman moby ratio check
for engine in $engines; do
    case $engine in
        podman) command -v podman >/dev/null && command -v runc >/dev/null || { echo "podman: not installed, skipped" >&2; continue; } ;;
        docker) command -v dockerd >/dev/null && command -v containerd >/dev/null || { echo "docker: not installed, skipped" >&2; continue; }
                start_docker ;;
    esac
    for name in ${BENCH_WORKLOADS:-shell-script http-server compression}; do
        select_workload "$name"
        "$CLOISTER_BIN" profile --learned "$work/$name.json" --runtime runc -o "$work/$name.runc.json" --policies "$root/policies" 2>/dev/null
        allowed=$(count_allowed "$work/$name.runc.json")
        exit_status=0
        case $engine in
            podman)
                timeout 180 podman --runtime runc --cgroup-manager cgroupfs --events-backend file run --rm --network none \
                    --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --security-opt "seccomp=$work/$name.runc.json" \
                    "${binds[@]}" --rootfs "$rootfs" "${command[@]}" > "$work/$name.$engine.out" 2> "$work/$name.$engine.err" || exit_status=$? ;;
            docker)
                timeout 180 "$docker_cli" -H "unix://$engine_dir/docker.sock" run --rm --network none \
                    --security-opt "seccomp=$work/$name.runc.json" "${binds[@]}" cloister-bench-busybox "${command[@]}" \
                    > "$work/$name.$engine.out" 2> "$work/$name.$engine.err" || exit_status=$? ;;
        esac
        check=fail
        if [[ $exit_status -eq 0 ]] && grep -qx ok "$work/$name.$engine.out"; then check=pass; fi
        ratio=$(python3 -c "print(f'{$allowed/$MOBY_DEFAULT_X86_64:.2f}')")
        printf '%-22s %-12s %8s %8s %8s %7s %s\n' "$name" "$engine+runc" "$allowed" "$podman_default" "$MOBY_DEFAULT_X86_64" "$ratio" "$check"
        if [[ $check != pass ]]; then
            echo "  $name under $engine: exit $exit_status: $(head -c 400 "$work/$name.$engine.out") $(head -c 600 "$work/$name.$engine.err")" >&2
            status=1
        fi
    done
done
exit $status
