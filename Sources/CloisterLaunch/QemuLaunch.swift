import CloisterModel
import CloisterSystem

#if canImport(Glibc)
import Glibc
#endif

/// VM mode: qemu with the hardening a VM needs from its host: its own seccomp sandbox (every
/// option on), no privileges (started through setpriv as an unprivileged user when cloister
/// runs as root), KVM when usable and TCG otherwise, no network and no display, and the guest's
/// serial console to a file or a Unix socket.
public struct QemuPlan: Sendable {
    public var arguments: [String]
    public var accelerator: String
    public var user: String?
    public var warnings: [String]

    public struct Options: Sendable {
        public var kernel: String?
        public var initrd: String?
        public var disk: String?
        public var append: String = "console=ttyS0 panic=-1"
        public var memoryMiB: UInt64 = 256
        public var vcpus: Int = 1
        /// `auto` (KVM when usable), `kvm` or `tcg`.
        public var accelerator: String = "auto"
        /// A file path, or `unix:PATH` for a listening socket.
        public var serial: String
        /// The user qemu runs as when cloister is root.
        public var user: String = "nobody"
        public var group: String = "nogroup"
        public init(serial: String) { self.serial = serial }
    }

    public static func make(_ options: Options, kvmUsable: Bool = KVMProbe.probe().usable) throws -> QemuPlan {
        var warnings: [String] = []
        guard options.kernel != nil || options.disk != nil else {
            throw LaunchError(control: "VM boot", reason: "give --kernel (with --initrd) or --disk")
        }
        for path in [options.kernel, options.initrd, options.disk].compactMap({ $0 }) where access(path, R_OK) != 0 {
            throw LaunchError(control: "VM boot", reason: "\(path) is not readable")
        }
        let accelerator: String
        switch options.accelerator {
        case "kvm":
            guard kvmUsable else { throw LaunchError(control: "KVM", reason: "/dev/kvm is not usable here; use --accel tcg or auto") }
            accelerator = "kvm"
        case "tcg": accelerator = "tcg"
        default: accelerator = kvmUsable ? "kvm" : "tcg"
        }
        if accelerator == "tcg" {
            warnings.append("TCG emulation is not a security boundary: the guest runs inside qemu's own address space, with no hardware isolation")
        }
        var arguments = [
            "qemu-system-x86_64", "-accel", accelerator, "-machine", "q35", "-m", String(options.memoryMiB),
            "-smp", String(options.vcpus), "-nodefaults", "-nographic", "-display", "none", "-no-user-config",
            "-monitor", "none", "-nic", "none",
            // Every seccomp option qemu has: no obsolete syscalls, no set*id, no fork/exec, no
            // scheduler or affinity changes. spawn=deny is why qemu is not daemonized.
            "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
        ]
        if options.serial.hasPrefix("unix:") {
            arguments += ["-serial", "unix:\(options.serial.dropFirst(5)),server=on,wait=off"]
        } else {
            arguments += ["-serial", "file:\(options.serial)"]
        }
        if let kernel = options.kernel {
            arguments += ["-kernel", kernel, "-append", options.append]
            if let initrd = options.initrd { arguments += ["-initrd", initrd] }
        }
        if let disk = options.disk { arguments += ["-drive", "file=\(disk),format=raw,if=virtio,readonly=on"] }
        var user: String?
        if geteuid() == 0 {
            // Drop root before qemu starts: qemu's own -runas changes ids after its sandbox is on,
            // which elevateprivileges=deny forbids. The kvm group opens /dev/kvm, nothing else.
            var prefix = ["setpriv", "--reuid=\(options.user)", "--regid=\(options.group)"]
            prefix += accelerator == "kvm" ? ["--groups=kvm"] : ["--clear-groups"]
            prefix += ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
            arguments = prefix + arguments
            user = options.user
        }
        return QemuPlan(arguments: arguments, accelerator: accelerator, user: user, warnings: warnings)
    }

    /// What the scan must show: accelerator, sandbox on, and not root.
    public func compare(_ observed: Posture) -> [PostureDrift] {
        var drifts: [PostureDrift] = []
        guard let hypervisor = observed.hypervisor else {
            return [PostureDrift(field: "hypervisor", expected: "qemu", observed: "not a VM")]
        }
        if hypervisor.accelerator != accelerator {
            drifts.append(PostureDrift(field: "hypervisor.accelerator", expected: accelerator, observed: hypervisor.accelerator))
        }
        if !hypervisor.sandbox.enabled {
            drifts.append(PostureDrift(field: "hypervisor.sandbox.enabled", expected: "true", observed: "false"))
        }
        if user != nil, hypervisor.user.uid == 0 {
            drifts.append(PostureDrift(field: "hypervisor.user.uid", expected: "not 0", observed: "0"))
        }
        if observed.noNewPrivileges != true && user != nil {
            drifts.append(PostureDrift(field: "noNewPrivileges", expected: "true", observed: String(describing: observed.noNewPrivileges)))
        }
        return drifts
    }
}
