#!/usr/bin/env bash
# Builds the real components the integration tests and benchmarks run, into test-assets/ at
# the repository root (gitignored: nothing here is ever committed):
#   rootfs/            busybox-static with its applet links: enough for `podman run --rootfs`
#                      and for a runc bundle
#   vmlinuz            the newest Debian linux-image-*-cloud-amd64 kernel
#   initramfs.cpio.gz  busybox and an /init that prints CLOISTER-GUEST-UP on the console
# Cached: each asset is rebuilt only when missing or when the package it comes from changed.
# Pass --verify-boot to boot the guest under TCG and check it prints the marker.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ASSETS=${CLOISTER_TEST_ASSETS:-$ROOT/test-assets}
MARKER=CLOISTER-GUEST-UP
BUSYBOX=/bin/busybox
mkdir -p "$ASSETS"

log() { echo "test-assets.sh: $*"; }
die() { echo "test-assets.sh: $*" >&2; exit 1; }

[[ -x $BUSYBOX ]] || die "$BUSYBOX missing: run scripts/install-deps.sh (busybox-static)"
file_is_static() { ! ldd "$1" >/dev/null 2>&1; }
file_is_static "$BUSYBOX" || die "$BUSYBOX is dynamically linked: install busybox-static, not busybox"
busybox_version=$(dpkg-query -W -f='${Version}' busybox-static)

# --- rootfs -------------------------------------------------------------------------------
build_rootfs() {
    local tmp="$ASSETS/rootfs.tmp"
    rm -rf "$tmp"
    mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,run,var/tmp,mnt,data}
    chmod 1777 "$tmp/tmp" "$tmp/var/tmp"
    install -m 0755 "$BUSYBOX" "$tmp/bin/busybox"
    # Relative links, so the tree works wherever it is mounted as / (chroot, podman, runc).
    local applet dir
    for applet in $("$BUSYBOX" --list-full); do
        dir=$(dirname "$applet")
        [[ -e "$tmp/$applet" || -L "$tmp/$applet" ]] && continue  # bin/busybox itself
        case "$dir" in
            bin) ln -s busybox "$tmp/$applet" ;;
            sbin) ln -s ../bin/busybox "$tmp/$applet" ;;
            usr/bin|usr/sbin) ln -s ../../bin/busybox "$tmp/$applet" ;;
            *) ;;  # /linuxrc: an init for old initrds, not wanted here
        esac
    done
    # Podman and runc expect these to exist (podman bind-mounts hosts/resolv.conf over them).
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$tmp/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$tmp/etc/group"
    : >"$tmp/etc/hosts"
    : >"$tmp/etc/resolv.conf"
    echo cloister-test >"$tmp/etc/hostname"
    echo "$busybox_version" >"$tmp/.cloister-busybox-version"
    rm -rf "$ASSETS/rootfs"
    mv "$tmp" "$ASSETS/rootfs"
}

if [[ "$(cat "$ASSETS/rootfs/.cloister-busybox-version" 2>/dev/null)" != "$busybox_version" ]]; then
    log "building rootfs/ from busybox-static $busybox_version"
    build_rootfs
else
    log "rootfs/ up to date (busybox-static $busybox_version)"
fi
"$ASSETS/rootfs/bin/sh" -c 'true' || die "rootfs/bin/sh does not run"

# --- kernel -------------------------------------------------------------------------------
# The metapackage names the current kernel; fall back to the highest versioned name that has
# an installation candidate (pkgnames also lists packages that are gone from the archive).
newest_cloud_kernel() {
    local pkg
    pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null \
          | awk '/Depends: linux-image-[0-9].*-cloud-amd64$/ {print $2; exit}')
    if [[ -z "$pkg" ]]; then
        for pkg in $(apt-cache pkgnames linux-image- | grep -E '^linux-image-[0-9].*-cloud-amd64$' | sort -rV); do
            if apt-cache policy "$pkg" | grep -q 'Candidate: [0-9]'; then echo "$pkg"; return; fi
        done
        return 1
    fi
    echo "$pkg"
}

kernel_pkg=$(newest_cloud_kernel) || die "no linux-image-*-cloud-amd64 known to apt: run apt-get update"
kernel_version=$(apt-cache policy "$kernel_pkg" | awk '/Candidate:/ {print $2}')
kernel_stamp="$kernel_pkg $kernel_version"
if [[ ! -s "$ASSETS/vmlinuz" || "$(cat "$ASSETS/vmlinuz.source" 2>/dev/null)" != "$kernel_stamp" ]]; then
    log "downloading $kernel_pkg $kernel_version"
    work=$(mktemp -d "$ASSETS/kernel.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    # apt-get download writes into the current directory and needs it writable by _apt.
    (cd "$work" && chmod 0777 . && apt-get download -qq "$kernel_pkg" >/dev/null)
    deb=$(ls "$work"/*.deb) || die "apt-get download $kernel_pkg gave no .deb"
    dpkg-deb -x "$deb" "$work/x"
    image=$(ls "$work"/x/boot/vmlinuz-* | head -n 1) || die "$kernel_pkg holds no /boot/vmlinuz-*"
    install -m 0644 "$image" "$ASSETS/vmlinuz"
    echo "$kernel_stamp" >"$ASSETS/vmlinuz.source"
    rm -rf "$work"
    trap - EXIT
else
    log "vmlinuz up to date ($kernel_stamp)"
fi

# --- initramfs ----------------------------------------------------------------------------
INIT_VERSION=3   # bump when the /init below changes, so cached images are rebuilt
initramfs_stamp="busybox-static $busybox_version init v$INIT_VERSION"
if [[ ! -s "$ASSETS/initramfs.cpio.gz" || "$(cat "$ASSETS/initramfs.source" 2>/dev/null)" != "$initramfs_stamp" ]]; then
    log "building initramfs.cpio.gz"
    work=$(mktemp -d "$ASSETS/initramfs.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,root}
    install -m 0755 "$BUSYBOX" "$work/bin/busybox"
    for applet in $("$BUSYBOX" --list-full); do
        dir=$(dirname "$applet")
        [[ -e "$work/$applet" || -L "$work/$applet" ]] && continue  # bin/busybox itself
        case "$dir" in
            bin) ln -sf busybox "$work/$applet" ;;
            sbin) ln -sf ../bin/busybox "$work/$applet" ;;
            usr/bin|usr/sbin) ln -sf ../../bin/busybox "$work/$applet" ;;
            *) ;;  # /linuxrc would compete with our /init
        esac
    done
    # /init: the guest's only process. Boot parameters (from -append) decide what it does after
    # the marker: cloister.poweroff=1 powers off at once (for boot checks), otherwise it idles so
    # the guest stays up for as long as a test scans it.
    cat >"$work/init" <<INIT
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "$MARKER \$(uname -r)" >/dev/console
if grep -q 'cloister.poweroff=1' /proc/cmdline; then
    poweroff -f
fi
while :; do sleep 3600; done
INIT
    chmod 0755 "$work/init"
    (cd "$work" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) \
        | gzip -9 >"$ASSETS/initramfs.cpio.gz.tmp"
    mv "$ASSETS/initramfs.cpio.gz.tmp" "$ASSETS/initramfs.cpio.gz"
    echo "$initramfs_stamp" >"$ASSETS/initramfs.source"
    rm -rf "$work"
    trap - EXIT
else
    log "initramfs.cpio.gz up to date"
fi

# --- optional boot check ------------------------------------------------------------------
if [[ "${1:-}" == --verify-boot ]]; then
    log "booting the guest under TCG to check for $MARKER"
    out="$ASSETS/boot-check.log"
    timeout 180 qemu-system-x86_64 -accel tcg -m 256 -kernel "$ASSETS/vmlinuz" \
        -initrd "$ASSETS/initramfs.cpio.gz" \
        -append 'console=ttyS0 panic=-1 quiet cloister.poweroff=1' \
        -nographic -no-reboot -monitor none </dev/null >"$out" 2>&1 || true
    grep -ao "$MARKER[^[:cntrl:]]*" "$out" || die "guest did not print $MARKER; see $out"
fi
log "assets ready in $ASSETS"
