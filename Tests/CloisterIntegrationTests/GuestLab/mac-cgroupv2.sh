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
# Without auditd the kernel prints each denial, at most printk_ratelimit_burst per interval:
# raise it so no denial the test looks for is dropped.
echo 100000 > /proc/sys/kernel/printk_ratelimit_burst

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

# A generated profile, enforced: `cloister profile --emit apparmor` for a description that needs
# CAP_CHOWN and no network, loaded into the kernel, a container started under it beside an
# unconfined control (both with /proc/sys writable, so only the profile stands in the way).
cat > /tmp/guest-web.yaml <<'YAML'
version: 1
name: Guest Web
trust: untrusted
tenancy: multi-hostile
needs:
  network: none
  capabilities: [CHOWN]
YAML
/usr/local/bin/cloister profile /tmp/guest-web.yaml --emit apparmor -o /tmp/cloister_guest_web.aa \
    --policies /usr/local/share/cloister/policies 2>/tmp/aa-gen.err || note "profile --emit apparmor failed: $(tr '\n' ' ' </tmp/aa-gen.err)"
if apparmor_parser -r /tmp/cloister_guest_web.aa 2>/tmp/aa-gen.err; then note "generated profile loaded"
else note "generated profile refused: $(tr '\n' ' ' </tmp/aa-gen.err)"; fi
$P --runtime crun run -d --name aa-generated $LIMITS --security-opt apparmor=cloister_guest_web \
    --security-opt unmask=/proc/sys --rootfs $R sleep 1000 >/dev/null 2>/tmp/aa-gen.err || note "aa-generated failed: $(tr '\n' ' ' </tmp/aa-gen.err)"
$P --runtime crun run -d --name aa-generated-control $LIMITS --security-opt apparmor=unconfined \
    --security-opt unmask=/proc/sys --rootfs $R sleep 1000 >/dev/null || note "aa-generated-control failed"
# As root in the container: chown (CAP_CHOWN, declared), read a mode-000 file another user owns
# (CAP_DAC_OVERRIDE, which podman grants and the profile leaves out), write the hostname of the
# container's own UTS namespace through /proc/sys (a /proc/sys write the profile denies), write
# /tmp.
PROBE='f=/tmp/owned-$1; rm -f $f; echo data > $f; chmod 000 $f; chown 1000 $f; echo "chown=$?"
cat $f >/dev/null 2>&1; echo "read=$?"
echo guest-web > /proc/sys/kernel/hostname; echo "sysctl=$?"
echo x > /tmp/scratch-$1; echo "tmpwrite=$?"'
for name in aa-generated aa-generated-control; do
    $P exec $name sh -c "$PROBE" sh $name | tr '\n' ' ' | sed "s/^/CLOISTER-LAB-NOTE probe $name /"; echo
done
# The kernel's own record of what the profile refused (explicit `deny` rules are not logged).
dmesg | grep 'apparmor="DENIED"' | grep 'profile="cloister_guest_web"' | sed 's/^.*apparmor=/CLOISTER-LAB-NOTE denied apparmor=/'

# launch --apparmor: cloister's own sandbox, exec'd into the generated profile, verified by
# launch itself and then by the scan below.
/usr/local/bin/cloister launch --rootfs $R --apparmor cloister_guest_web -- /bin/sleep 1000 >/tmp/launch.log 2>&1 &
launcher=$!
for i in $(seq 1 60); do
    # The aa-generated container's sleep has the same label: skip podman's (libpod) cgroups.
    sleeper=$(for pid in $(pgrep -x sleep); do grep -q '^cloister_guest_web' /proc/$pid/attr/current 2>/dev/null && \
        ! grep -q libpod /proc/$pid/cgroup && echo $pid; done | head -n1)
    [ -n "$sleeper" ] && break
    sleep 1
done
note "launch pid ${sleeper:-none} label $(cat /proc/${sleeper:-0}/attr/current 2>/dev/null)"
kill -0 $launcher 2>/dev/null && note "launch running" || note "launch exited: $(tr '\n' ' ' </tmp/launch.log)"
# The same profile loaded in complain mode only logs: launch's verification must call that drift
# and stop the workload.
sed 's/^profile cloister_guest_web /profile cloister_guest_web_complain /' /tmp/cloister_guest_web.aa >/tmp/complain.aa
apparmor_parser --complain -r /tmp/complain.aa || note "complain profile refused"
timeout 120 /usr/local/bin/cloister launch --rootfs $R --apparmor cloister_guest_web_complain -- /bin/sleep 1000 \
    >/tmp/launch-complain.log 2>&1
note "launch complain exit $?"
note "launch complain log: $(tr '\n' ' ' </tmp/launch-complain.log)"

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
for name in aa-default aa-unconfined aa-custom aa-generated; do
    pid=$($P inspect --format '{{.State.Pid}}' "$name")
    note "label $name $(cat /proc/$pid/attr/current)"
done
note "launch log: $(tr '\n' ' ' </tmp/launch.log)"
