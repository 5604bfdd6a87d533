#!/bin/sh
# Guest lab scenario (scripts/guest-lab.sh): AppArmor labels and cgroup v2 limits of real podman
# containers under crun and runc, scanned by cloister; results printed base64 between markers.
# vfs: the containers run from --rootfs, so no image layers need overlay.
P="podman --storage-driver vfs --cgroup-manager cgroupfs --events-backend file"
# A writable copy of the busybox rootfs (the payload disk is read-only), so a refused write is
# the profile refusing it, not the filesystem.
cp -a /lab/busybox /tmp/busybox
R=/tmp/busybox
LIMITS="--ulimit nofile=1024:1024 --network none"
emit() { echo "CLOISTER-LAB-BEGIN $1"; base64 -w0 "$2"; echo; echo "CLOISTER-LAB-END $1"; }
note() { echo "CLOISTER-LAB-NOTE $*"; }

# A profile of our own, loaded into the kernel: the container runs under it in enforce mode.
cat > /tmp/cloister-lab-custom <<'PROFILE'
abi <abi/3.0>,
#include <tunables/global>
profile cloister-lab-custom flags=(attach_disconnected,mediate_deleted) {
  #include <abstractions/base>
  file,
  network,
  capability,
  deny /etc/** w,
  signal,
  umount,
}
PROFILE
apparmor_parser -r /tmp/cloister-lab-custom && note "custom profile loaded"

$P --runtime crun run -d --name aa-default $LIMITS --rootfs $R sleep 1000 >/dev/null || note "aa-default failed"
$P --runtime crun run -d --name aa-unconfined $LIMITS --security-opt apparmor=unconfined --rootfs $R sleep 1000 >/dev/null || note "aa-unconfined failed"
$P --runtime crun run -d --name aa-custom $LIMITS --security-opt apparmor=cloister-lab-custom --rootfs $R sleep 1000 >/dev/null || note "aa-custom failed"
$P --runtime crun run -d --name crun-limited $LIMITS --memory 96m --pids-limit 60 --cpus 0.5 --rootfs $R sleep 1000 >/dev/null || note "crun-limited failed"
$P --runtime runc run -d --name runc-limited $LIMITS --memory 64m --pids-limit 50 --rootfs $R sleep 1000 >/dev/null || note "runc-limited failed"
# The custom profile denies writes under /etc: the kernel refuses, whatever the file mode.
$P exec aa-custom sh -c 'echo x > /etc/cloister-lab 2>&1; echo "write=$?"' | sed 's/^/CLOISTER-LAB-NOTE aa-custom /'
$P exec aa-default sh -c 'echo x > /etc/cloister-lab 2>&1; echo "write=$?"' | sed 's/^/CLOISTER-LAB-NOTE aa-default /'
$P ps -a --format '{{.Names}} {{.Status}}' | sed 's/^/CLOISTER-LAB-NOTE ps /'

/usr/local/bin/cloister scan --format json > /tmp/scan.json 2>/tmp/scan.err
note "scan exit $?"
emit scan /tmp/scan.json
emit scan-stderr /tmp/scan.err
for name in aa-default crun-limited runc-limited; do
    config=$($P inspect --format '{{.OCIConfigPath}}' "$name")
    /usr/local/bin/cloister check --format json "$config" > "/tmp/check-$name.json" 2>/dev/null
    emit "check-$name" "/tmp/check-$name.json"
done
# The kernel's own view, for the test to compare with the scan.
for name in aa-default aa-unconfined aa-custom; do
    pid=$($P inspect --format '{{.State.Pid}}' "$name")
    note "label $name $(cat /proc/$pid/attr/current)"
done
