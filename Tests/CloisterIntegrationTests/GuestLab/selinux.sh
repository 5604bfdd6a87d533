#!/bin/sh
# Guest lab scenario (LAB_LSM=selinux scripts/guest-lab.sh run THIS LOG): the same Debian 12
# guest booted with SELinux as its major LSM and Debian's reference policy (selinux-policy-default)
# loaded enforcing. Labels of real processes, podman containers under it, the SELinux CIL module
# `cloister profile --emit selinux` writes installed with semodule, containers and `cloister
# launch --selinux` running in its domain, what it refuses, and a fixture tree captured for the
# unit tests.
P="podman --storage-driver vfs --cgroup-manager cgroupfs --events-backend file"
# (Not the payload disk's own label: it has none, and SELinux refuses unlabeled_t files on tmpfs.)
cp -a --no-preserve=context /lab/busybox /tmp/busybox
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
# A second domain, generated the same way and then made permissive by the lab (a module that
# declares `typepermissive`, as `semanage permissive -a` writes): on this enforcing host it is
# refused nothing, and the scan must not call its label confining. One semodule transaction
# installs both (each policy rebuild takes a minute here).
sed 's/^name: Guest Web$/name: Guest Lax/' /tmp/guest-web.yaml > /tmp/guest-lax.yaml
/usr/local/bin/cloister profile /tmp/guest-lax.yaml --emit selinux -o /tmp/cloister_guest_lax.cil \
    --policies /usr/local/share/cloister/policies 2>/tmp/err || note "profile --emit selinux (lax) failed: $(oneline /tmp/err)"
echo '(typepermissive cloister_guest_lax_t)' >> /tmp/cloister_guest_lax.cil
started=$(date +%s)
if semodule -i /tmp/cloister_guest_web.cil /tmp/cloister_guest_lax.cil 2>/tmp/err; then note "semodule installed"
else note "semodule refused: $(oneline /tmp/err)"; fi
note "semodule took $(( $(date +%s) - started )) s"
semodule -l | grep -x cloister_guest_web | sed 's/^/CLOISTER-LAB-NOTE module /'
level=""
[ "$(cat /sys/fs/selinux/mls)" = 1 ] && level=":s0"
domain="system_u:system_r:cloister_guest_web_t$level"
# The root directory reads unlabeled_t once the policy is loaded, though the image holds root_t
# for it (debugfs -R "ea_list /"), and a restorecon / in the init left it so (the root was
# mounted before there was a policy). Every domain may search root_t, none unlabeled_t (a
# workload in the generated domain was refused `search` on it): label it as the policy does.
root_label=$(stat -c %C /)
[ "$root_label" = system_u:object_r:root_t:s0 ] || chcon system_u:object_r:root_t:s0 /
note "root label $root_label, now $(stat -c %C /)"
# The workload's root filesystem carries the module's file type, the only type its domain may
# enter from and execute.
chcon -R -t cloister_guest_web_file_t $R 2>/tmp/err || note "chcon failed: $(oneline /tmp/err)"
note "rootfs label $(stat -c %C $R/bin/busybox)"
# (Standard input and output: /dev/null and a pipe, which every domain may use, so that the
# only denials in the log are the ones the probes look for, not the lab's console or /tmp files.)
out=$(runcon "$domain" $R/bin/true </dev/null 2>&1) && note "context valid $domain" || note "context invalid: $out"
# A host program is no entrypoint of the domain: enforcing, the kernel refuses the exec.
out=$(runcon "$domain" /usr/bin/true </dev/null 2>&1) && note "host entrypoint allowed" || note "host entrypoint refused: $out"
# A host file, labelled as the policy labels /srv, for bind mounts the module does not grant.
echo host-data > /srv/cloister-host-data && restorecon /srv/cloister-host-data
note "host file label $(stat -c %C /srv/cloister-host-data)"
HOSTFILE="-v /srv/cloister-host-data:/host-data:ro"

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
$P --runtime crun run -d --name se-disabled $LIMITS $HOSTFILE --security-opt label=disable --rootfs $R sleep 1000 >/dev/null 2>/tmp/err \
    || note "se-disabled failed: $(oneline /tmp/err)"
$P --runtime crun run -d --name se-generated $LIMITS $HOSTFILE --security-opt label=type:cloister_guest_web_t \
    --security-opt label=filetype:cloister_guest_web_file_t --rootfs $R sleep 1000 >/dev/null 2>/tmp/err \
    || note "se-generated failed: $(oneline /tmp/err)"
$P --runtime crun run -d --name se-lax $LIMITS --security-opt label=type:cloister_guest_lax_t \
    --security-opt label=filetype:cloister_guest_lax_file_t --rootfs $R sleep 1000 >/dev/null 2>/tmp/err \
    || note "se-lax failed: $(oneline /tmp/err)"
$P --runtime runc run -d --name se-runc $LIMITS --security-opt label=type:cloister_guest_web_t \
    --security-opt label=filetype:cloister_guest_web_file_t --memory 64m --rootfs $R sleep 1000 >/dev/null 2>/tmp/err \
    || note "se-runc failed: $(oneline /tmp/err)"
# As root in the generated domain and in the control (label=disable, the same capabilities and
# mounts): chown (CAP_CHOWN, declared), read a mode-000 file another user owns
# (CAP_DAC_OVERRIDE, which podman grants and the module leaves out), read the host file mounted
# in (a type the module grants nothing on), write /tmp (the domain's own file type).
PROBE='f=/tmp/owned-$1; rm -f $f; echo data > $f; chmod 000 $f; chown 1000 $f; echo "chown=$?"
cat $f >/dev/null 2>&1; echo "read=$?"
cat /host-data >/dev/null 2>&1; echo "hostfile=$?"
echo x > /tmp/scratch-$1; echo "tmpwrite=$?"'
for name in se-generated se-disabled; do
    $P exec $name sh -c "$PROBE" sh $name 2>&1 | tr '\n' ' ' | sed "s/^/CLOISTER-LAB-NOTE probe $name /"; echo
done

# launch --selinux into the generated domain.
# Its output through a pipe, as a supervisor collects it (the domain may write to its starter's
# pipes, not to the starter's files).
( /usr/local/bin/cloister launch --rootfs $R --selinux "$domain" -- /bin/sleep 1000 </dev/null 2>&1 &
  echo $! >/tmp/launch.pid; wait ) | cat >/tmp/launch.log &
sleep 1
launcher=$(cat /tmp/launch.pid)
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
for name in se-default se-disabled se-generated se-runc se-lax; do
    pid=$($P inspect --format '{{.State.Pid}}' "$name" 2>/dev/null)
    [ -n "$pid" ] && [ "$pid" != 0 ] || continue
    note "label $name $pid $(label $pid)"
    [ $name = se-lax ] || pids="$pids $pid"
done
dmesg | grep 'avc:  denied' | grep cloister_guest_web_t | sed 's/^.*avc: /CLOISTER-LAB-NOTE avc /' | head -n 200
# Denials of any other domain (the unconfined ones podman and the lab run in should have none).
# (restorecon runs in setfiles_t, which may not write to the console: the lab's noise.)
dmesg | grep 'avc:  denied' | grep -v -e cloister_guest_web_t -e 'scontext=system_u:system_r:setfiles_t' | sed 's/^.*avc: /CLOISTER-LAB-NOTE avc-other /' | head -n 50
note "launch log: $(oneline /tmp/launch.log)"

# A fixture tree of this SELinux host for the unit tests (Fixtures/guest-selinux-v2).
[ -n "$pids" ] && python3 /lab/capture-proc-fixture.py /tmp/capture $pids ${sleeper:-} >/tmp/err 2>&1 \
    || note "capture failed: $(oneline /tmp/err)"
tar -C /tmp/capture -czf /tmp/capture.tgz .
emit capture /tmp/capture.tgz
