#!/usr/bin/env bash
# Launch benchmark: `cloister launch` of /bin/true with full hardening, beside bwrap, runc,
# firejail and podman starting the same program, in interleaved hyperfine rounds.
#
#   scripts/bench-launch.sh
#   BENCH_RUNS (30), BENCH_ROUNDS (5), CLOISTER_BIN (skip the build, time this executable),
#   CLOISTER_SCRATCH_PATH (build directory, default .build)
#
# What each one applies (stated, so the ratios compare like with like):
#   cloister   user namespace (root -> 100000:65536), pid/net/mnt/ipc/uts/cgroup namespaces,
#              tmpfs root + host /usr read-only, pivot_root, proc, minimal /dev, tmpfs /tmp,
#              cgroup memory and pids limits, no capabilities in any set, no_new_privs,
#              Landlock, seccomp filter. Timed twice: with --no-verify (the launch alone: the
#              small static `cloister` front runs it, Sources/CloisterLaunchCore/FastLaunch.swift),
#              and with the post-start scan (the front execs cloister-full, which launches and
#              scans; for /bin/true the scan finds the workload already gone).
#   bwrap      --unshare-all (user, pid, net, ipc, uts, cgroup), the same /usr view, proc, dev,
#              tmpfs, --cap-drop ALL, no_new_privs (always); no seccomp, Landlock or cgroups.
#   runc       `runc run` of a busybox bundle (runc spec defaults: namespaces without user,
#              default caps, no seccomp), through `sh -c` for a unique container id.
#   firejail   --noprofile (pid, mnt, ipc, uts namespaces only).
#   podman     run --rm --rootfs (runc, cgroupfs).
#   unshare    the kernel floor: util-linux unshare creating the same seven namespaces (root
#              mapped) and running /bin/true, with no mounts, limits or filters at all.
# Targets: cloister (no verify) no slower than bwrap, and at least 10x faster than runc.
# A second run times what the front costs every other command: `cloister --version` (front,
# then execv of cloister-full) against `cloister-full --version` directly.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
command -v swift >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
RUNS=${BENCH_RUNS:-30}
ROUNDS=${BENCH_ROUNDS:-5}
PER_ROUND=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
WORK=$(mktemp -d /tmp/cloister-bench-launch.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

die() { echo "bench-launch.sh: $*" >&2; exit 1; }
for tool in hyperfine bwrap runc firejail podman python3; do
    command -v "$tool" >/dev/null || die "$tool missing: run scripts/install-deps.sh"
done
[[ $(id -u) -eq 0 ]] || die "must run as root (uid map 100000:65536, cgroups, runc)"
scripts/test-assets.sh >&2
ROOTFS="$ROOT/test-assets/rootfs"

if [[ -n "${CLOISTER_BIN:-}" ]]; then
    CLOISTER=$CLOISTER_BIN
else
    SCRATCH=${CLOISTER_SCRATCH_PATH:-.build}
    swift build -c release --scratch-path "$SCRATCH" >&2
    CLOISTER="$ROOT/$SCRATCH/release/cloister"
fi
"$CLOISTER" launch -- /bin/true || die "cloister launch of /bin/true failed"

# A runc bundle: the busybox rootfs, /bin/true, no terminal, NOFILE 1024 (docs/testing.md).
# runc refuses a symlinked rootfs: root.path names the directory itself.
mkdir -p "$WORK/bundle"
(cd "$WORK/bundle" && runc spec)
python3 - "$WORK/bundle/config.json" "$ROOTFS" <<'PY'
import json, sys
path = sys.argv[1]
config = json.load(open(path))
config["root"]["path"] = sys.argv[2]
config["process"]["terminal"] = False
config["process"]["args"] = ["/bin/true"]
config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
json.dump(config, open(path, "w"))
PY

USR_VIEW="--ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/sbin /sbin --symlink usr/lib /lib --symlink usr/lib64 /lib64"
# In BENCH_ROUNDS rounds (default 5) of RUNS/ROUNDS runs each, so that load from other jobs on a
# shared host drifts over every launcher alike instead of over whichever hyperfine ran then.
# -i: a peer's failed run (firejail races podman's /run/netns mounts here) is counted and
# reported below rather than aborting the whole comparison; a failed cloister run fails it.
for round in $(seq "$ROUNDS"); do
    hyperfine -i --warmup 1 --runs "$PER_ROUND" -N --export-json "$WORK/round-$round.json" \
        -n cloister "$CLOISTER launch --no-verify -- /bin/true" \
        -n cloister-verify "$CLOISTER launch -- /bin/true" \
        -n bwrap "bwrap --unshare-all --die-with-parent $USR_VIEW --proc /proc --dev /dev --tmpfs /tmp --cap-drop ALL /bin/true" \
        -n runc "sh -c 'runc run --bundle $WORK/bundle bench-\$\$'" \
        -n firejail "firejail --noprofile --quiet /bin/true" \
        -n unshare "unshare --user --map-root-user --pid --net --mount --ipc --uts --cgroup --fork /bin/true" \
        -n podman "podman --runtime runc --cgroup-manager cgroupfs --events-backend file run --rm --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --network none --rootfs $ROOTFS /bin/true" \
        >&2
done

status=0
python3 - "$WORK"/round-*.json <<'PY' || status=$?
import json, statistics, sys
times, failures = {}, {}
for path in sys.argv[1:]:
    for result in json.load(open(path))["results"]:
        times.setdefault(result["command"], []).extend(result["times"])
        failed = sum(1 for code in result.get("exit_codes", []) if code != 0)
        failures[result["command"]] = failures.get(result["command"], 0) + failed
median = {name: statistics.median(values) * 1000 for name, values in times.items()}
least = {name: min(values) * 1000 for name, values in times.items()}
base = median["cloister"]
# Minimums beside medians: on a shared, loaded host they are the closest to a quiet run.
print(f"{'launcher':<16}{'median ms':>10}{'vs cloister':>13}{'min ms':>9}")
for name, value in sorted(median.items(), key=lambda item: item[1]):
    print(f"{name:<16}{value:>10.2f}{value / base:>12.1f}x{least[name]:>9.2f}")
bwrap_ok = base <= median["bwrap"]
runc_ok = median["runc"] / base >= 10
print(f"target: no slower than bwrap: {'met' if bwrap_ok else 'MISSED'} "
      f"({base:.2f} ms vs {median['bwrap']:.2f} ms)")
print(f"target: >= 10x faster than runc: {'met' if runc_ok else 'MISSED'} ({median['runc'] / base:.1f}x)")
for name, count in sorted(failures.items()):
    if count:
        print(f"failed runs: {name} {count} of {len(times[name])}")
cloister_ok = failures.get("cloister", 0) == 0 and failures.get("cloister-verify", 0) == 0
sys.exit(0 if bwrap_ok and runc_ok and cloister_ok else 1)
PY

# What the front adds to every other command: one more execve of a small static binary.
for round in $(seq "$ROUNDS"); do
    hyperfine --warmup 1 --runs "$PER_ROUND" -N --export-json "$WORK/front-$round.json" \
        -n "cloister --version" "$CLOISTER --version" \
        -n "cloister-full --version" "$(dirname "$CLOISTER")/cloister-full --version" >&2
done
python3 - "$WORK"/front-*.json <<'PY'
import json, statistics, sys
times = {}
for path in sys.argv[1:]:
    for result in json.load(open(path))["results"]:
        times.setdefault(result["command"], []).extend(result["times"])
median = {name: statistics.median(values) * 1000 for name, values in times.items()}
least = {name: min(values) * 1000 for name, values in times.items()}
front, full = "cloister --version", "cloister-full --version"
# Minimums too: on a loaded host the medians' difference is mostly noise, the minimums show
# the extra execve itself.
print(f"front overhead on other commands: median {median[front]:.2f} ms vs {median[full]:.2f} ms direct "
      f"({median[front] - median[full]:+.2f} ms); minimum {least[front]:.2f} vs {least[full]:.2f} "
      f"({least[front] - least[full]:+.2f} ms)")
PY
exit $status
