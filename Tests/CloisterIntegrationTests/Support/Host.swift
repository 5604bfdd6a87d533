import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the host offers, for `.enabled(if:)` conditions.
///
/// In CI (`CI` set, as `.ci/run` runs) every requirement counts as met: CI installs everything
/// these tests need, so a missing engine or asset must fail the run loudly, never turn the
/// integration suite into a quiet row of skips.
enum Host {
    static let isCI: Bool = {
        let value = ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? ""
        return !value.isEmpty && value != "0" && value != "false"
    }()

    static let isRoot = getuid() == 0

    /// /dev/kvm opens read-write (the KVM_GET_API_VERSION check is the scanner's job).
    static let kvmUsable: Bool = {
        let fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }()

    static func requires(_ met: Bool) -> Bool { isCI || met }

    static var canRunPodman: Bool { isRoot && Shell.has("podman") && Shell.has("runc") && Paths.assetsBuilt }
    static var canRunRunc: Bool { isRoot && Shell.has("runc") && Paths.assetsBuilt }
    static var canRunBubblewrap: Bool { Shell.has("bwrap") && Paths.assetsBuilt }
    static var canRunFirejail: Bool { isRoot && Shell.has("firejail") }
    static var canRunLXC: Bool { isRoot && Shell.has("lxc-create") && Shell.has("lxc-start") && Shell.has("busybox") }
    static var canRunQemu: Bool { Shell.has("qemu-system-x86_64") && Paths.assetsBuilt }
}

extension Trait where Self == ConditionTrait {
    static var needsPodman: Self {
        .enabled(if: Host.requires(Host.canRunPodman),
                 "needs root, podman, runc and test-assets/ (run scripts/install-deps.sh and scripts/test-assets.sh)")
    }
    static var needsRunc: Self {
        .enabled(if: Host.requires(Host.canRunRunc), "needs root, runc and test-assets/rootfs (scripts/test-assets.sh)")
    }
    static var needsBubblewrap: Self {
        .enabled(if: Host.requires(Host.canRunBubblewrap), "needs bwrap and test-assets/rootfs (scripts/test-assets.sh)")
    }
    static var needsFirejail: Self {
        .enabled(if: Host.requires(Host.canRunFirejail), "needs root and firejail")
    }
    static var needsLXC: Self {
        .enabled(if: Host.requires(Host.canRunLXC), "needs root, lxc, lxc-templates and busybox-static")
    }
    static var needsQemu: Self {
        .enabled(if: Host.requires(Host.canRunQemu),
                 "needs qemu-system-x86_64 and a guest kernel and initramfs in test-assets/ (scripts/test-assets.sh)")
    }
    static var needsKVM: Self {
        .enabled(if: Host.requires(Host.canRunQemu && Host.kvmUsable), "needs qemu and a usable /dev/kvm")
    }
}
