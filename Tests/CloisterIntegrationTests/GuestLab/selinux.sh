#!/bin/sh
# Guest lab scenario (LAB_LSM=selinux scripts/guest-lab.sh run THIS LOG): the same Debian 12
# guest booted with SELinux as its major LSM and Debian's reference policy (selinux-policy-default)
# loaded permissive. Labels of real processes, podman containers under it, the SELinux CIL module
# `cloister profile --emit selinux` writes installed with semodule, `cloister launch --selinux`
# into its domain, and a fixture tree captured for the unit tests.
P="podman --storage-driver vfs --cgroup-manager cgroupfs --events-backend file"
cp -a /lab/busybox /tmp/busybox
R=/tmp/busybox
LIMITS="--ulimit nofile=1024:1024 --network none"
emit() { echo "CLOISTER-LAB-BEGIN $1"; base64 -w0 "$2"; echo; echo "CLOISTER-LAB-END $1"; }
note() { echo "CLOISTER-LAB-NOTE $*"; }
# Without auditd the kernel prints each denial, at most printk_ratelimit_burst per interval:
# raise it so no denial the test looks for is dropped.
echo 100000 > /proc/sys/kernel/printk_ratelimit_burst
label() { tr -d '\0' <"/proc/$1/attr/current" 2>/dev/null; }
oneline() { tr '\n' ' ' <"$1"; }

note "mode $(getenforce)"
note "mls $(cat /sys/fs/selinux/mls)"
note "init $(label 1)"

# The generated module, installed into the running policy.
cat > /tmp/guest-web.yaml <<'YAML'
version: 1
name: Guest Web
trust: untrusted
tenancy: multi-hostile
needs:
  network: none
  capabilities: [CHOWN]
YAML
/usr/local/bin/cloister profile /tmp/guest-web.yaml --emit selinux -o /tmp/cloister_guest_web.cil \
    --policies /usr/local/share/cloister/policies 2>/tmp/err || note "profile --emit selinux failed: $(oneline /tmp/err)"
started=$(date +%s)
if semodule -i /tmp/cloister_guest_web.cil 2>/tmp/err; then note "semodule installed"
else note "semodule refused: $(oneline /tmp/err)"; fi
note "semodule took $(( $(date +%s) - started )) s"
semodule -l | grep -x cloister_guest_web | sed 's/^/CLOISTER-LAB-NOTE module /'
level=""
[ "$(cat /sys/fs/selinux/mls)" = 1 ] && level=":s0"
domain="system_u:system_r:cloister_guest_web_t$level"
runcon "$domain" /bin/true 2>/tmp/err && note "context valid $domain" || note "context invalid: $(oneline /tmp/err)"

# podman labels containers with the contexts the policy's lxc_contexts names: container_t and
# container_file_t. Debian's reference policy has no container module, so those types do not
# exist and podman cannot mount a container's /dev/shm with that context, label=disable or not.
$P --runtime crun run -d --name se-debian $LIMITS --rootfs $R sleep 1000 >/dev/null 2>/tmp/err \
    || note "se-debian failed: $(oneline /tmp/err)"
$P rm -f se-debian >/dev/null 2>&1
# The generated module supplies a container type: point lxc_contexts at it, as a policy with a
# container module points it at container_t.
sed -i -e 's/container_t/cloister_guest_web_t/' -e 's/container_file_t/cloister_guest_web_file_t/' \
    -e 's/container_ro_file_t/cloister_guest_web_file_t/' /etc/selinux/default/contexts/lxc_contexts
# podman's default (now the generated type, with its own MCS categories); label=disable runs the
# container in podman's own domain; label=type/filetype name the generated types explicitly.
$P --runtime crun run -d --name se-default $LIMITS --rootfs $R sleep 1000 >/dev/null 2>/tmp/err \
    || note "se-default failed: $(oneline /tmp/err)"
$P --runtime crun run -d --name se-disabled $LIMITS --security-opt label=disable --rootfs $R sleep 1000 >/dev/null 2>/tmp/err \
    || note "se-disabled failed: $(oneline /tmp/err)"
$P --runtime crun run -d --name se-generated $LIMITS --security-opt label=type:cloister_guest_web_t \
    --security-opt label=filetype:cloister_guest_web_file_t --rootfs $R sleep 1000 >/dev/null 2>/tmp/err \
    || note "se-generated failed: $(oneline /tmp/err)"
$P --runtime runc run -d --name se-runc $LIMITS --security-opt label=type:cloister_guest_web_t \
    --security-opt label=filetype:cloister_guest_web_file_t --memory 64m --rootfs $R sleep 1000 >/dev/null 2>/tmp/err \
    || note "se-runc failed: $(oneline /tmp/err)"
# Permissive: what the generated domain would be refused is logged, not refused.
$P exec se-generated sh -c 'f=/tmp/owned; echo data > $f; chmod 000 $f; chown 1000 $f; cat $f >/dev/null; echo done' \
    >/dev/null 2>&1

# launch --selinux into the generated domain.
/usr/local/bin/cloister launch --rootfs $R --selinux "$domain" -- /bin/sleep 1000 >/tmp/launch.log 2>&1 &
launcher=$!
for i in $(seq 1 60); do
    sleeper=$(for pid in $(pgrep -x sleep); do label $pid | grep -q cloister_guest_web_t && \
        ! grep -q libpod /proc/$pid/cgroup && echo $pid; done | head -n1)
    [ -n "$sleeper" ] && break
    sleep 1
done
note "launch pid ${sleeper:-none} label $(label ${sleeper:-0})"
kill -0 $launcher 2>/dev/null && note "launch running" || note "launch exited: $(oneline /tmp/launch.log)"

$P ps -a --format '{{.Names}} {{.Status}}' | sed 's/^/CLOISTER-LAB-NOTE ps /'
/usr/local/bin/cloister scan --format json > /tmp/scan.json 2>/tmp/scan.err
note "scan exit $?"
emit scan /tmp/scan.json
emit scan-stderr /tmp/scan.err
pids=""
for name in se-default se-disabled se-generated se-runc; do
    pid=$($P inspect --format '{{.State.Pid}}' "$name" 2>/dev/null)
    [ -n "$pid" ] && [ "$pid" != 0 ] || continue
    note "label $name $pid $(label $pid)"
    pids="$pids $pid"
done
dmesg | grep 'avc:  denied' | grep cloister_guest_web_t | sed 's/^.*avc: /CLOISTER-LAB-NOTE avc /' | head -n 200
note "launch log: $(oneline /tmp/launch.log)"

# A fixture tree of this SELinux host for the unit tests (Fixtures/guest-selinux-v2).
[ -n "$pids" ] && python3 /lab/capture-proc-fixture.py /tmp/capture $pids ${sleeper:-} >/tmp/err 2>&1 \
    || note "capture failed: $(oneline /tmp/err)"
tar -C /tmp/capture -czf /tmp/capture.tgz .
emit capture /tmp/capture.tgz
