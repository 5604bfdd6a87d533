#!/usr/bin/env python3
"""Capture the parts of /proc, /sys, /run and /etc that `cloister scan` reads, for the given
PIDs, into a directory that `cloister scan --root DIR` can scan. Used to build the fixture
trees under Tests/CloisterInspectTests/Fixtures from real hosts (run it on an AppArmor or
SELinux host to capture their labels in their real formats).

    scripts/capture-proc-fixture.py OUT PID [PID ...]

Magic links (ns/*, fd/*, exe) become plain symlinks with the same target text. Device nodes
inside a workload's root are not captured (git cannot store them).
"""
import os
import shutil
import sys

PROC_FILES = ["status", "cmdline", "uid_map", "gid_map", "mountinfo", "cgroup", "attr/current",
              "attr/apparmor/current", "net/tcp", "net/tcp6"]
SYSCTLS = ["kernel/cap_last_cap", "kernel/osrelease", "kernel/hostname", "kernel/version",
           "kernel/unprivileged_userns_clone", "user/max_user_namespaces",
           "kernel/unprivileged_bpf_disabled", "kernel/yama/ptrace_scope", "kernel/kptr_restrict",
           "kernel/perf_event_paranoid", "kernel/seccomp/actions_avail"]
CGROUP_FILES = ["memory.max", "memory.swap.max", "pids.max", "cpu.max", "cpu.weight",
                "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "cpu.cfs_quota_us",
                "cpu.cfs_period_us", "cpu.shares", "devices.list"]


def copy(src, dst):
    try:
        with open(src, "rb") as f:
            data = f.read(1 << 20)
    except OSError:
        return False
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, "wb") as f:
        f.write(data)
    return True


def link(src, dst):
    try:
        target = os.readlink(src)
    except OSError:
        return
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.lexists(dst):
        os.remove(dst)
    os.symlink(target, dst)


def capture_pid(out, pid):
    base = f"/proc/{pid}"
    dest = f"{out}/proc/{pid}"
    if not copy(f"{base}/status", f"{dest}/status"):
        print(f"skip {pid}: gone", file=sys.stderr)
        return
    for name in PROC_FILES[1:]:
        copy(f"{base}/{name}", f"{dest}/{name}")
    for ns in os.listdir(f"{base}/ns") if os.access(f"{base}/ns", os.R_OK) else []:
        link(f"{base}/ns/{ns}", f"{dest}/ns/{ns}")
    try:
        for fd in os.listdir(f"{base}/fd"):
            link(f"{base}/fd/{fd}", f"{dest}/fd/{fd}")
            copy(f"{base}/fdinfo/{fd}", f"{dest}/fdinfo/{fd}")
    except OSError:
        pass
    try:
        for tid in os.listdir(f"{base}/task"):
            copy(f"{base}/task/{tid}/status", f"{dest}/task/{tid}/status")
    except OSError:
        pass
    os.makedirs(f"{dest}/root", exist_ok=True)
    # cgroup limit files for every hierarchy the process is in.
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, opts, point = fields[sep + 1], fields[sep + 3].split(","), fields[4]
            if fstype == "cgroup2":
                mounts.setdefault("", point)
            elif fstype == "cgroup":
                for opt in opts:
                    mounts.setdefault(opt, point)
    try:
        with open(f"{base}/cgroup") as f:
            for line in f:
                hid, controllers, path = line.rstrip("\n").split(":", 2)
                for controller in (controllers.split(",") if controllers else [""]):
                    point = mounts.get(controller)
                    if point is None:
                        continue
                    for name in CGROUP_FILES:
                        copy(f"{point}{path}/{name}", f"{out}{point}{path}/{name}")
    except OSError:
        pass


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = sys.argv[1]
    pids = [int(p) for p in sys.argv[2:]]
    # The host references and their parents, so discovery can group and compare.
    wanted = set(pids) | {1, 2}
    for pid in list(pids):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("PPid:"):
                        wanted.add(int(line.split()[1]))
        except OSError:
            pass
    for pid in sorted(wanted):
        capture_pid(out, pid)
    for name in SYSCTLS:
        copy(f"/proc/sys/{name}", f"{out}/proc/sys/{name}")
    copy("/sys/kernel/security/lsm", f"{out}/sys/kernel/security/lsm")
    copy("/sys/module/apparmor/parameters/enabled", f"{out}/sys/module/apparmor/parameters/enabled")
    copy("/sys/fs/selinux/enforce", f"{out}/sys/fs/selinux/enforce")
    for root, _dirs, files in os.walk("/run/runc"):
        for name in files:
            if name == "state.json":
                copy(f"{root}/{name}", f"{out}{root}/{name}")
    with open("/etc/passwd") as f, open(os.devnull) as _:
        users = [l for l in f if l.split(":")[2] in ("0", "65534", "100000")]
    os.makedirs(f"{out}/etc", exist_ok=True)
    with open(f"{out}/etc/passwd", "w") as f:
        f.writelines(users)


if __name__ == "__main__":
    main()
