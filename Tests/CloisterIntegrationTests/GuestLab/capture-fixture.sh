#!/bin/sh
# Guest lab scenario, run by hand to refresh Tests/CloisterInspectTests/Fixtures/guest-apparmor-v2:
#   scripts/guest-lab.sh run Tests/CloisterIntegrationTests/GuestLab/capture-fixture.sh console.log
# then decode the `capture` block (a tar.gz) into the fixture directory. A real AppArmor kernel,
# a pure cgroup v2 hierarchy, podman containers under crun and runc.
P="podman --storage-driver vfs --cgroup-manager cgroupfs --events-backend file"
cp -a /lab/busybox /tmp/busybox
R=/tmp/busybox
F="--ulimit nofile=1024:1024 --network none"
emit() { echo "CLOISTER-LAB-BEGIN $1"; base64 -w0 "$2"; echo; echo "CLOISTER-LAB-END $1"; }
$P --runtime crun run -d --name web1 $F --rootfs $R sleep 1000 >/dev/null
$P --runtime crun run -d --name unconfined1 $F --security-opt apparmor=unconfined --rootfs $R sleep 1000 >/dev/null
$P --runtime crun run -d --name limited1 $F --memory 96m --pids-limit 60 --cpus 0.5 --rootfs $R sleep 1000 >/dev/null
$P --runtime runc run -d --name runc1 $F --memory 64m --pids-limit 50 --rootfs $R sleep 1000 >/dev/null
pids=""
for name in web1 unconfined1 limited1 runc1; do pids="$pids $($P inspect --format '{{.State.Pid}}' $name)"; done
python3 /lab/capture-proc-fixture.py /tmp/capture $pids
tar -C /tmp/capture -czf /tmp/capture.tgz .
emit capture /tmp/capture.tgz
