#!/usr/bin/env bash
# Regenerates the argv half of each domain XML / qemu argv pair in
# Tests/CloisterCheckTests/Fixtures/libvirt-pairs/ with libvirt's own command-line generator:
# a private libvirtd (as the integration tests start it: virtlogd, then libvirtd in a mount
# namespace with the pair's qemu.conf bound over /etc/libvirt/qemu.conf) starts each guest that
# can run here and the argv is copied from its log, /var/log/libvirt/qemu/NAME.log, as libvirt
# wrote it (environment lines, continuations, JSON options); a guest that needs a device this
# host lacks (VFIO, mdev, SCSI, a bridge) is converted with `virsh domxml-to-native qemu-argv`,
# which prints libvirt's argv on one line. Root; takes the engines lock; leaves nothing running.
#
#   scripts/capture-libvirt-pairs.sh [NAME …]     (default: every NAME.xml of the directory)
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=Tests/CloisterCheckTests/Fixtures/libvirt-pairs
[[ $(id -u) -eq 0 ]] || { echo "capture-libvirt-pairs.sh: must run as root" >&2; exit 1; }
exec 9>/tmp/cloister-engines.lock
flock 9

# Pairs converted rather than started: their devices (or, for serial-address, the listen
# address) do not exist on a development host.
native=" hostdev-pci hostdev-mdev net-bridge serial-address "
# Pairs libvirt refuses to convert without the device (a SCSI LUN: it reads the LUN's
# /sys/bus/scsi/devices/…/scsi_generic, a vhost-scsi target its /dev/vhost-scsi): their argv is written by hand from libvirt's own test
# data and is left as it is (see the file's header); libvirt 9.0 here has no passt backend yet.
documented=" hostdev-scsi hostdev-vhost-scsi net-passt "
work=$(mktemp -d /tmp/cloister-pairs.XXXXXX)
virtlogd_pid=""
libvirtd_pid=""
cleanup() {
    [[ -n $libvirtd_pid ]] && kill "$libvirtd_pid" 2>/dev/null && wait "$libvirtd_pid" 2>/dev/null || true
    [[ -n $virtlogd_pid ]] && kill "$virtlogd_pid" 2>/dev/null && wait "$virtlogd_pid" 2>/dev/null || true
    rm -rf "$work" /tmp/cloister-pair-pki
}
trap cleanup EXIT

# A throwaway CA and server certificate where the TLS pairs' qemu.conf points (qemu loads them).
mkdir -p /tmp/cloister-pair-pki
(cd /tmp/cloister-pair-pki &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=cloister-pairs-ca -keyout ca-key.pem -out ca-cert.pem 2>/dev/null &&
    openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server-key.pem -out server.csr 2>/dev/null &&
    openssl x509 -req -in server.csr -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -days 2 -out server-cert.pem 2>/dev/null &&
    chmod 644 ./*.pem)

clean_env=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
"${clean_env[@]}" virtlogd >"$work/virtlogd.log" 2>&1 &
virtlogd_pid=$!
for _ in $(seq 50); do [[ -S /run/libvirt/virtlogd-sock ]] && break; sleep 0.2; done

start_libvirtd() {  # qemu.conf
    cp "$1" "$work/qemu.conf"
    "${clean_env[@]}" unshare --mount --propagation private sh -c \
        'mount --bind "$1" /etc/libvirt/qemu.conf && exec libvirtd' libvirtd "$work/qemu.conf" >"$work/libvirtd.log" 2>&1 &
    libvirtd_pid=$!
    for _ in $(seq 100); do virsh -c qemu:///system version >/dev/null 2>&1 && return 0; sleep 0.2; done
    echo "libvirtd did not start: $(tail -5 "$work/libvirtd.log")" >&2
    exit 1
}
stop_libvirtd() {
    kill "$libvirtd_pid"; wait "$libvirtd_pid" 2>/dev/null || true
    libvirtd_pid=""
}

names=("$@")
if ((${#names[@]} == 0)); then
    for file in "$pairs"/*.xml; do names+=("$(basename "$file" .xml)"); done
fi
for name in "${names[@]}"; do
    if [[ $documented == *" $name "* ]]; then echo "kept $pairs/$name.qemu (written from libvirt's test data)"; continue; fi
    conf="$pairs/$name.conf"
    [[ -f $conf ]] || conf="$pairs/default.conf"
    start_libvirtd "$conf"
    out="$pairs/$name.qemu"
    domain="pair-$name"
    if [[ $native == *" $name "* ]]; then
        if ! virsh -c qemu:///system domxml-to-native qemu-argv --xml "$pairs/$name.xml" >"$out.new"; then
            rm -f "$out.new"
            exit 1
        fi
        printf '# captured %s: virsh domxml-to-native qemu-argv (libvirt %s); the host has no such device\n' \
            "$(date -u +%F)" "$(virsh -c qemu:///system version | sed -n 's/^Using library: libvirt //p')" | cat - "$out.new" >"$out"
    else
        rm -f "/var/log/libvirt/qemu/$domain.log"
        virsh -c qemu:///system create "$pairs/$name.xml" >/dev/null
        for _ in $(seq 50); do grep -q '^-msg timestamp=on$' "/var/log/libvirt/qemu/$domain.log" 2>/dev/null && break; sleep 0.2; done
        {
            printf '# captured %s from /var/log/libvirt/qemu/%s.log: libvirt %s started this guest\n' \
                "$(date -u +%F)" "$domain" "$(virsh -c qemu:///system version | sed -n 's/^Using library: libvirt //p')"
            # The command line: from the first environment line to the line without a continuation.
            awk '/^LC_ALL=C \\$/ { on = 1 } on { print } on && !/ \\$/ { exit }' "/var/log/libvirt/qemu/$domain.log"
        } >"$out"
        virsh -c qemu:///system destroy "$domain" >/dev/null
    fi
    rm -f "$out.new"
    stop_libvirtd
    echo "captured $out"
done
