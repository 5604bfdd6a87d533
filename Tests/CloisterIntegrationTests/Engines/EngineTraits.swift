import Foundation
import Testing

extension Host {
    /// Docker: containerd, dockerd and Debian's docker CLI, python3 for the runtime wrapper.
    static var canRunDocker: Bool {
        isRoot && Shell.has("containerd") && Shell.has("dockerd") && Shell.has("docker") && Shell.has("runc")
            && Shell.has("python3") && Paths.assetsBuilt
    }
    static var canRunContainerd: Bool { isRoot && Shell.has("containerd") && Shell.has("ctr") && Shell.has("runc") && Paths.assetsBuilt }
    static var canRunNspawn: Bool { isRoot && Shell.has("systemd-nspawn") && Paths.assetsBuilt }
    /// libvirt: libvirtd and virtlogd (libvirt-daemon-system), virsh, qemu, unshare for its
    /// private qemu.conf, and the kernel and initramfs of test-assets/.
    static var canRunLibvirt: Bool {
        isRoot && Shell.has("libvirtd") && Shell.has("virtlogd") && Shell.has("virsh") && Shell.has("unshare")
            && Shell.has("qemu-system-x86_64") && FileManager.default.fileExists(atPath: "/etc/libvirt/qemu.conf") && Paths.assetsBuilt
    }
}

extension Trait where Self == ConditionTrait {
    static var needsDocker: Self {
        .enabled(if: Host.requires(Host.canRunDocker),
                 "needs root, docker.io, containerd, runc, python3 and test-assets/ (scripts/install-deps.sh, scripts/test-assets.sh)")
    }
    static var needsContainerd: Self {
        .enabled(if: Host.requires(Host.canRunContainerd),
                 "needs root, containerd (ctr), runc and test-assets/ (scripts/install-deps.sh, scripts/test-assets.sh)")
    }
    static var needsLibvirt: Self {
        .enabled(if: Host.requires(Host.canRunLibvirt),
                 "needs root, libvirt-daemon-system, libvirt-clients, qemu-system-x86 and test-assets/ (scripts/install-deps.sh, scripts/test-assets.sh)")
    }
    static var needsNspawn: Self {
        .enabled(if: Host.requires(Host.canRunNspawn),
                 "needs root, systemd-container and test-assets/ (scripts/install-deps.sh, scripts/test-assets.sh)")
    }
}
