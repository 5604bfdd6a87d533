#!/usr/bin/env bash
# The guest lab: a Debian 12 guest with a kernel this host cannot run itself (AppArmor or SELinux
# active, cgroup v2 only), booted under qemu TCG, where cloister scans real containers and the results
# come back over the serial console.
#
#   scripts/guest-lab.sh image              build (or reuse) the guest image
#   scripts/guest-lab.sh run SCENARIO OUT   boot it, run SCENARIO (a shell script) inside, write
#                                           the console log to OUT; exit 0 when the guest
#                                           reached the end marker. LAB_LSM=selinux boots
#                                           SELinux (enforcing) instead of AppArmor;
#                                           LAB_SELINUX_ENFORCING=0 boots it permissive (to
#                                           collect every denial of a run at once).
#
# Inputs (all from Debian's archive, as test-assets/ are):
# - root image: `debootstrap --variant=minbase` of bookworm with podman, crun, runc, apparmor,
#   selinux-policy-default, busybox-static and the libraries cloister links (libseccomp2, libcap2,
#   libselinux1, libapparmor1, libxml2), plus the modules of test-assets/vmlinuz's kernel
#   package; every file labelled by setfiles (in a chroot, with /proc mounted there for the
#   time it runs); made into an ext4 image with `mke2fs -d`. Cached in test-assets/guest-lab/ by the
#   hash of its inputs (the package list, build_image below with the init it writes, and the
#   kernel package); rebuilt only when they change. Booted with snapshot=on: a run never changes it.
# - payload image: the cloister build under test laid out as deploy/Containerfile lays it out
#   (/usr/local/bin/cloister and cloister-full, /usr/local/share/cloister/{rules,policies}),
#   the Swift runtime libraries the debug build links (at their toolchain path), the busybox
#   rootfs of test-assets/ for containers, and the scenario. Made fresh every run.
#
# The guest's /init mounts proc, sys, devtmpfs, cgroup2 (every controller enabled for
# children), securityfs, loads the SELinux policy when SELinux is the LSM, copies the payload's
# install/ tree over /, runs /lab/scenario.sh and powers off. The scenario prints its results
# between CLOISTER-LAB-BEGIN NAME and CLOISTER-LAB-END NAME lines (base64, one line), and the
# init prints CLOISTER-LAB-DONE at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ASSETS="$ROOT/test-assets"
LAB="$ASSETS/guest-lab"
log() { printf 'guest-lab: %s\n' "$*" >&2; }
die() { printf 'guest-lab: %s\n' "$*" >&2; exit 2; }

# python3: scripts/capture-proc-fixture.py captures fixture trees inside the guest.
# selinux-policy-default (with policycoreutils: load_policy, setfiles, semodule): the SELinux
# boot (LAB_LSM=selinux) loads Debian's reference policy, enforcing.
PACKAGES=podman,crun,runc,conmon,containernetworking-plugins,apparmor,busybox-static,libseccomp2,libcap2,libselinux1,libapparmor1,libxml2,iproute2,procps,python3,selinux-policy-default
IMAGE_VERSION=4   # bump when the image's layout or /init below changes
IMAGE_INPUTS="v$IMAGE_VERSION bookworm $PACKAGES"

kernel_pkg() { awk '{print $1}' "$ASSETS/vmlinuz.source"; }

build_image() {
    [[ -s $ASSETS/vmlinuz && -s $ASSETS/vmlinuz.source ]] || die "test-assets/vmlinuz missing: run scripts/test-assets.sh"
    command -v debootstrap >/dev/null || die "debootstrap missing: run scripts/install-deps.sh"
    local stamp
    # This function is an input (the init it writes, how it labels): any change to it rebuilds;
    # a change elsewhere in the script (how a scenario is booted) does not.
    stamp=$(printf '%s %s %s' "$IMAGE_INPUTS" "$(cat "$ASSETS/vmlinuz.source")" \
        "$(sed -n '/^build_image() {$/,/^}$/p' "${BASH_SOURCE[0]}" | sha256sum)" \
        | sha256sum | cut -c1-16)
    if [[ -s $LAB/root.img && "$(cat "$LAB/root.stamp" 2>/dev/null)" == "$stamp" ]]; then
        log "root.img up to date ($stamp)"
        return
    fi
    mkdir -p "$LAB"
    local work
    work=$(mktemp -d "$LAB/build.XXXXXX")
    chmod 0755 "$work"   # apt-get download drops to _apt, which must reach the kernel directory
    trap 'umount "$work/root/proc" 2>/dev/null; rm -rf --one-file-system "$work"' EXIT
    local started=$SECONDS
    log "debootstrap bookworm ($PACKAGES)"
    debootstrap --variant=minbase --include="$PACKAGES" bookworm "$work/root" http://deb.debian.org/debian \
        >"$work/debootstrap.log" 2>&1 || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
    log "debootstrap took $((SECONDS - started)) s"
    # The modules of the very kernel the guest boots (overlay, veth, …), from its package.
    mkdir -p "$work/kernel" && chmod 0777 "$work/kernel"
    (cd "$work/kernel" && apt-get download -qq "$(kernel_pkg)" >/dev/null) || die "apt-get download $(kernel_pkg) failed"
    dpkg-deb -x "$work"/kernel/*.deb "$work/kernel/x"
    cp -a "$work/kernel/x/lib/modules" "$work/root/lib/"
    rm -rf "$work/root/var/cache/apt/archives"/*.deb "$work/kernel"
    # SELinux: enforcing (the kernel's enforcing= says the same, and load_policy -i takes that),
    # and every file labelled as the policy's file_contexts says, so exec transitions and file
    # types are the policy's own; mke2fs -d copies the security.selinux attributes into the image.
    sed -i 's/^SELINUX=.*/SELINUX=enforcing/' "$work/root/etc/selinux/config"
    # (setfiles sets each label through /proc/self/fd, so the chroot needs a /proc.)
    mount -t proc proc "$work/root/proc"
    local labelled=0
    chroot "$work/root" setfiles -F /etc/selinux/default/contexts/files/file_contexts / >"$work/setfiles.log" 2>&1 || labelled=$?
    umount "$work/root/proc"
    [[ $labelled == 0 ]] || { tail -n 20 "$work/setfiles.log" >&2; die "setfiles failed"; }
    # Where the payload disk is mounted, and the guest's only process.
    mkdir -p "$work/root/lab"
    cat >"$work/root/sbin/lab-init" <<'INIT'
#!/bin/sh
# cloister guest lab init: mount what a container host needs, run the scenario, power off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t securityfs securityfs /sys/kernel/security
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# Booted with security=selinux: load the policy first, as an init does (load_policy mounts
# selinuxfs and keeps the mode enforcing= gives), so that what is mounted next is labelled as
# on a real host; then label the nodes devtmpfs made before the policy was there.
selinux=0
if grep -qw selinux /sys/kernel/security/lsm; then
    selinux=1
    load_policy -i || echo "CLOISTER-LAB-NOTE load_policy failed $?"
    restorecon -R /dev
fi
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /var/lib/containers && mount -t tmpfs tmpfs /var/lib/containers
# A new tmpfs is tmpfs_t; the policy's types for these directories are var_run_t, tmp_t, …
[ $selinux = 1 ] && restorecon /run /tmp /var/lib/containers /dev/shm
modprobe overlay 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# Containers' cgroups need the controllers delegated below the root.
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; done
hostname cloister-lab
mount -o ro /dev/nvme1n1 /lab
# The build under test, laid out as deploy/Containerfile lays it out.
cp -a /lab/install/. /
echo "CLOISTER-LAB-UP $(uname -r) lsm=$(cat /sys/kernel/security/lsm) cgroup=$(stat -fc %T /sys/fs/cgroup)"
sh /lab/scenario.sh 2>&1
echo "CLOISTER-LAB-DONE"
sync
echo o > /proc/sysrq-trigger
sleep 10
INIT
    chmod 0755 "$work/root/sbin/lab-init"
    log "mke2fs root.img"
    mke2fs -q -t ext4 -L cloister-lab -d "$work/root" "$work/root.img" 1200M
    mv "$work/root.img" "$LAB/root.img"
    echo "$stamp" >"$LAB/root.stamp"
    rm -rf "$work"
    trap - EXIT
    log "root.img built in $((SECONDS - started)) s"
}

build_payload() {
    local scenario=$1 out=$2
    local bin=${CLOISTER_BIN:-}
    if [[ -z $bin ]]; then bin="$ROOT/${CLOISTER_SCRATCH_PATH:-.build}/debug/cloister"; fi
    local dir
    dir=$(dirname "$bin")
    [[ -x $dir/cloister && -x $dir/cloister-full ]] || die "no cloister build at $dir (swift build first)"
    local work
    work=$(mktemp -d "${TMPDIR:-/tmp}/cloister-lab-payload.XXXXXX")
    local install=$work/install
    mkdir -p "$install/usr/local/bin" "$install/usr/local/share/cloister"
    install -m 0755 "$dir/cloister" "$dir/cloister-full" "$install/usr/local/bin/"
    cp -a "$ROOT/rules" "$ROOT/policies" "$install/usr/local/share/cloister/"
    # The Swift runtime libraries the build links, at the path its RUNPATH names.
    ldd "$dir/cloister-full" | awk '$3 ~ /^\// {print $3}' | while read -r lib; do
        case $lib in
            /lib/*|/usr/lib/*) ;;   # Debian's own: the guest has them
            *) mkdir -p "$install$(dirname "$lib")"; cp -L "$lib" "$install$lib" ;;
        esac
    done
    cp -a "$ASSETS/rootfs" "$work/busybox"
    install -m 0755 "$ROOT/scripts/capture-proc-fixture.py" "$work/capture-proc-fixture.py"
    install -m 0644 "$scenario" "$work/scenario.sh"
    mke2fs -q -t ext4 -d "$work" "$out" 600M
    rm -rf "$work"
}

run_scenario() {
    local scenario=$1 console=$2
    [[ -f $scenario ]] || die "$scenario: no such scenario"
    build_image
    local payload
    payload=$(mktemp "${TMPDIR:-/tmp}/cloister-lab.XXXXXX.img")
    build_payload "$scenario" "$payload"
    local started=$SECONDS
    # The major LSM: AppArmor (Debian's default), or SELinux with Debian's reference policy,
    # enforcing (LAB_SELINUX_ENFORCING=0: permissive).
    local lsm="apparmor=1 security=apparmor"
    case ${LAB_LSM:-apparmor} in
        apparmor) ;;
        selinux) lsm="selinux=1 security=selinux enforcing=${LAB_SELINUX_ENFORCING:-1}" ;;
        *) die "LAB_LSM: apparmor or selinux" ;;
    esac
    local attempt
    for attempt in 1 2; do
        boot_guest "$payload" "$console" "$lsm" && break
        # A soft lockup: under TCG on a loaded host the guest's vCPU can starve until the
        # kernel's watchdog reports it stuck and never comes back (seen in CI: "soft lockup -
        # CPU#0 stuck for 540s"). Boot it once more, saying so, rather than wait out the budget.
        [[ $attempt == 1 ]] && log "the guest soft-locked and made no progress for ${LAB_LOCKUP_GRACE:-120} s (TCG on a loaded host); booting it once more"
    done
    rm -f "$payload"
    log "guest ran $((SECONDS - started)) s"
    grep -q CLOISTER-LAB-DONE "$console"
}

# Runs the guest until it powers off, its budget ends, or it soft-locks: returns 3 when the
# console reports a soft lockup and the guest has not finished LAB_LOCKUP_GRACE seconds later
# (a normal run takes about 100 s in all).
boot_guest() {
    local payload=$1 console=$2 lsm=$3
    : >"$console"
    # TCG: a stock guest kernel does not boot under this host's nested KVM. Root on NVMe
    # (built into the cloud kernel; virtio-blk is a module), read-only image with snapshot=on.
    timeout "${LAB_TIMEOUT:-600}" qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -nographic -no-reboot \
        -kernel "$ASSETS/vmlinuz" \
        -append "console=ttyS0 root=/dev/nvme0n1 rw init=/sbin/lab-init $lsm systemd.unified_cgroup_hierarchy=1 panic=-1 quiet" \
        -drive "file=$LAB/root.img,if=none,id=root,format=raw,snapshot=on" -device nvme,drive=root,serial=root \
        -drive "file=$payload,if=none,id=lab,format=raw,readonly=on" -device nvme,drive=lab,serial=lab \
        -net none -serial "file:$console" -monitor none </dev/null >/dev/null 2>&1 &
    local qemu=$! locked_at=
    while kill -0 "$qemu" 2>/dev/null; do
        sleep 2
        if [[ -z $locked_at ]] && grep -q "soft lockup" "$console"; then
            locked_at=$SECONDS
        fi
        if [[ -n $locked_at ]] && ! grep -q CLOISTER-LAB-DONE "$console" \
            && ((SECONDS - locked_at >= ${LAB_LOCKUP_GRACE:-120})); then
            kill "$qemu" 2>/dev/null || true
            wait "$qemu" 2>/dev/null || true
            return 3
        fi
    done
    wait "$qemu" 2>/dev/null || true
}

case ${1:-} in
    image) build_image ;;
    run) [[ $# -eq 3 ]] || die "usage: guest-lab.sh run SCENARIO CONSOLE_LOG"; run_scenario "$2" "$3" ;;
    *) die "usage: guest-lab.sh image | run SCENARIO CONSOLE_LOG" ;;
esac
