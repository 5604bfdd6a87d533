import CCloisterShim
import CloisterModel
import CloisterOCI
import CloisterSeccomp
import CloisterSystem
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What the user asked for beyond the target posture: the command and where it runs.
public struct LaunchOptions: Sendable {
    public var command: [String]
    /// A directory to become the root, or nil for a tmpfs root with a read-only view of the
    /// host's `/usr` (and the merged-/usr links).
    public var rootfs: String?
    public var hostname: String = "cloister"
    /// An OCI `linux.seccomp` profile file; nil uses the built-in default when the target's
    /// seccomp mode is `filter`.
    public var seccompProfile: String?
    /// Landlock: paths the workload may read and execute, and paths it may also write. When
    /// both are nil and Landlock is requested, the default allows reading everything under `/`
    /// and writing under /tmp and /dev only.
    public var landlockRead: [String]?
    public var landlockWrite: [String]?
    public var landlock: Bool = true
    /// rlimits to set: (RLIMIT_* number, soft, hard).
    public var rlimits: [(resource: Int32, soft: UInt64, hard: UInt64)] = []
    /// Skip a control the host cannot offer (an LSM that is not running) instead of failing;
    /// every skip is reported.
    public var bestEffort: Bool = false
    public var environment: [String] = ["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/", "TERM=dumb"]

    public init(command: [String]) { self.command = command }
}

/// A control that cannot be applied: which, and why. Launching stops before anything starts.
public struct LaunchError: Error, CustomStringConvertible, Sendable {
    public var control: String
    public var reason: String
    public var description: String { "cannot apply \(control): \(reason); nothing was started" }
}

/// Every decision made, before anything starts: what `--dry-run` prints and what the C child
/// applies. Built by `LaunchPlan.make`, which fails closed.
public struct LaunchPlan: Sendable {
    public var target: Posture
    public var command: [String]
    public var executable: String
    public var environment: [String]
    public var namespaces: [NamespaceType]
    public var uidMap: [IDMapRange]
    public var gidMap: [IDMapRange]
    public var setgroupsDeny: Bool
    public var uid: UInt32
    public var gid: UInt32
    /// Capability numbers kept in every set.
    public var capabilities: [Int]
    public var capabilityNames: [String]
    public var lastCap: Int
    public var noNewPrivileges: Bool
    public var rootfs: String?
    public var readOnlyRoot: Bool
    public var hostname: String
    public var rlimits: [(resource: Int32, soft: UInt64, hard: UInt64)]
    public var cgroup: CgroupPlan?
    public var seccomp: SeccompFilter?
    public var seccompSource: String?
    /// The profile the filter was compiled from (OCI mode hands it to the runtime as is).
    public var seccompProfile: LinuxSeccomp?
    public var landlockHandled: UInt64
    public var landlockRules: [(path: String, access: UInt64, writable: Bool)]
    public var landlockABI: Int?
    public var apparmorProfile: String?
    public var selinuxLabel: String?
    /// Controls skipped under `--best-effort`, each with why.
    public var skipped: [String]
    public var warnings: [String]

    static func namespaceFlag(_ type: NamespaceType) -> UInt64 {
        switch type {
        case .user: 0x1000_0000
        case .pid: 0x2000_0000
        case .mnt: 0x0002_0000
        case .net: 0x4000_0000
        case .ipc: 0x0800_0000
        case .uts: 0x0400_0000
        case .cgroup: 0x0200_0000
        case .time: 0x0000_0080
        }
    }

    var namespaceFlags: UInt64 { namespaces.reduce(0) { $0 | Self.namespaceFlag($1) } }

    /// The hardened default target for `cloister launch -- CMD`: every namespace private, root
    /// inside mapped to an unprivileged host range, no capabilities, no_new_privs, a seccomp
    /// filter, a read-only root, and limits on memory and PIDs.
    public static func defaultTarget(command: [String]) -> Posture {
        var posture = Posture(id: "cloister:planned", kind: .sandbox, runtime: "cloister", name: command.first ?? "")
        for type in [NamespaceType.pid, .net, .mnt, .ipc, .uts, .user, .cgroup] { posture.namespaces[type] = .private }
        let hostBase: UInt32 = geteuid() == 0 ? 100_000 : geteuid()
        let count: UInt32 = geteuid() == 0 ? 65_536 : 1
        let groupBase: UInt32 = geteuid() == 0 ? 100_000 : getegid()
        posture.user = UserIdentity(
            uid: 0, gid: 0, uidMap: [IDMapRange(inside: 0, outside: hostBase, count: count)],
            gidMap: [IDMapRange(inside: 0, outside: groupBase, count: count)], rootMappedToHost: false)
        posture.capabilities = CapabilitySets()
        posture.seccomp = Seccomp(mode: .filter)
        posture.noNewPrivileges = true
        posture.readOnlyRootfs = true
        var limits = CgroupLimits(version: "planned", path: "")
        limits.memoryMax = .value(256 * 1024 * 1024)
        limits.pidsMax = .value(128)
        posture.cgroup = limits
        return posture
    }

    /// Decides everything and checks the host can do it. Throws `LaunchError` naming the
    /// control and why when a requested control cannot be applied (fail closed); under
    /// `bestEffort`, a control the host does not offer (an LSM that is not running) is skipped
    /// and listed in `skipped` instead.
    public static func make(target: Posture, options: LaunchOptions, cgroupRoot: String = "/sys/fs/cgroup") throws -> LaunchPlan {
        guard let first = options.command.first, !first.isEmpty else {
            throw LaunchError(control: "command", reason: "no command given (cloister launch [FLAGS] -- CMD)")
        }
        var skipped: [String] = []
        var warnings: [String] = []

        let namespaces = NamespaceType.allCases.filter { target.namespaces[$0] == .private }
        if namespaces.contains(.time) {
            throw LaunchError(control: "time namespace", reason: "cloister launch does not create time namespaces yet")
        }
        if !namespaces.contains(.mnt) {
            throw LaunchError(control: "root filesystem", reason: "pivot_root needs a private mount namespace (namespaces.mnt: private)")
        }
        let userNamespace = namespaces.contains(.user)
        if !userNamespace && geteuid() != 0 {
            throw LaunchError(control: "namespaces", reason: "without a user namespace only root can create the others")
        }
        let uidMap = userNamespace ? target.user.uidMap : []
        let gidMap = userNamespace ? target.user.gidMap : []
        if userNamespace && (uidMap.isEmpty || gidMap.isEmpty) {
            throw LaunchError(control: "user namespace", reason: "the target has a private user namespace but no uidMap/gidMap")
        }
        if userNamespace, geteuid() != 0,
            uidMap != [IDMapRange(inside: uidMap.first?.inside ?? 0, outside: geteuid(), count: 1)]
        {
            throw LaunchError(
                control: "user namespace map",
                reason: "an unprivileged user may map only its own uid (\(geteuid())) with count 1; run as root for \(uidMap)")
        }

        // Capabilities: the target's bounding set is the ceiling; every set ends equal to it.
        let lastCap = Int(PlainFiles.read("/proc/sys/kernel/cap_last_cap") ?? "40") ?? 40
        var capabilities: [Int] = []
        let wanted = Set(target.capabilities.bounding + target.capabilities.effective + target.capabilities.permitted
            + target.capabilities.ambient)
        for name in wanted.sorted() {
            guard let number = CapabilityNames.number(name), number <= lastCap else {
                throw LaunchError(control: "capability \(name)", reason: "libcap and this kernel do not know it")
            }
            capabilities.append(number)
        }
        capabilities.sort()
        if capabilities.contains(where: { $0 > 63 }) {
            throw LaunchError(control: "capabilities", reason: "capabilities above 63 are not supported")
        }

        // The command, looked up in the new root (not the host's) when it has no slash.
        let rootPrefix = options.rootfs ?? ""
        if let rootfs = options.rootfs {
            guard PlainFiles.isDirectory(rootfs) else {
                throw LaunchError(control: "root filesystem", reason: "\(rootfs) is not a directory")
            }
            for directory in ["proc", "dev", "tmp"] where !PlainFiles.exists(rootfs + "/" + directory) {
                throw LaunchError(control: "root filesystem", reason: "\(rootfs) has no /\(directory) to mount on")
            }
        }
        var executable = first
        if !first.contains("/") {
            let search = ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"]
            guard let found = search.first(where: { access(rootPrefix + $0 + "/" + first, X_OK) == 0 }) else {
                throw LaunchError(control: "command", reason: "\(first) is not an executable in the new root's PATH")
            }
            executable = found + "/" + first
        } else if access(rootPrefix + first, X_OK) != 0 && options.rootfs != nil {
            throw LaunchError(control: "command", reason: "\(first) is not executable inside \(rootPrefix)")
        }

        // Seccomp: a filter when the target's mode is filter (strict mode would kill execve).
        var seccomp: SeccompFilter?
        var seccompSource: String?
        var seccompProfile: LinuxSeccomp?
        switch target.seccomp?.mode {
        case .filter?:
            let profile = try options.seccompProfile.map { try SeccompFilter.load(path: $0) } ?? .builtInDefault
            do {
                seccomp = try SeccompFilter.compile(profile)
            } catch let error as SeccompError {
                throw LaunchError(control: "seccomp", reason: error.description)
            }
            seccompSource = options.seccompProfile ?? "built-in default"
            seccompProfile = profile
            if let unknown = seccomp?.unknownSyscalls, !unknown.isEmpty {
                warnings.append("seccomp: syscalls unknown on this architecture were skipped: \(unknown.joined(separator: ", "))")
            }
        case .strict?:
            throw LaunchError(control: "seccomp strict mode", reason: "strict mode forbids execve, so no program could start under it")
        default:
            if options.seccompProfile != nil {
                throw LaunchError(control: "seccomp", reason: "a profile was given but the target's seccomp mode is not filter")
            }
            warnings.append("no seccomp filter: the target asks for none")
        }

        // Landlock: requested unless turned off; the kernel must offer it.
        var landlockHandled: UInt64 = 0
        var landlockRules: [(path: String, access: UInt64, writable: Bool)] = []
        let abi = Landlock.abiVersion
        if options.landlock {
            if let abi {
                landlockHandled = cl_landlock_fs_all(Int32(abi))
                let read = options.landlockRead ?? ["/"]
                let write = options.landlockWrite ?? (options.landlockRead == nil ? ["/tmp", "/dev"] : [])
                landlockRules = read.map { ($0, cl_landlock_fs_read(), false) } + write.map { ($0, landlockHandled, true) }
            } else if options.bestEffort {
                skipped.append("Landlock: the kernel does not offer it (not built or not in the lsm= list)")
            } else {
                throw LaunchError(control: "Landlock", reason: "the kernel does not offer it; pass --no-landlock or --best-effort")
            }
        }

        // MAC exec labels: only where those LSMs run.
        // A label for an LSM that is not running fails closed, or is skipped (and said) under
        // best effort.
        func label(_ value: String?, control: String, lsmRunning: Bool, absent: String) throws -> String? {
            guard let value, !lsmRunning else { return value }
            guard options.bestEffort else {
                throw LaunchError(control: "\(control) \(value)", reason: "\(absent); pass --best-effort to skip it")
            }
            skipped.append("\(control) \(value): \(absent)")
            return nil
        }
        let apparmorProfile = try label(
            target.mac.apparmor.flatMap { $0.confined ? $0.profile : nil }, control: "AppArmor profile",
            lsmRunning: AppArmorLibrary.isEnabled, absent: "AppArmor is not running on this host")
        let selinuxLabel = try label(
            target.mac.selinux.flatMap { $0.confined ? $0.context : nil }, control: "SELinux label",
            lsmRunning: SELinuxLibrary.isEnabled, absent: "SELinux is not enabled on this host")

        // rlimits: raising a hard limit needs CAP_SYS_RESOURCE in the host's user namespace.
        for limit in options.rlimits {
            var current = rlimit()
            getrlimit(__rlimit_resource_t(UInt32(limit.resource)), &current)
            if limit.hard > current.rlim_max || limit.soft > limit.hard {
                throw LaunchError(
                    control: "rlimit \(limit.resource)",
                    reason: "\(limit.soft):\(limit.hard) exceeds the current hard limit \(current.rlim_max) (raising it needs CAP_SYS_RESOURCE)")
            }
        }

        var cgroup: CgroupPlan?
        if let limits = target.cgroup, limits.memoryMax != nil || limits.pidsMax != nil || limits.cpuQuota != nil {
            cgroup = try CgroupPlan.make(limits: limits, root: cgroupRoot)
        }

        return LaunchPlan(
            target: target, command: options.command, executable: executable, environment: options.environment,
            namespaces: namespaces, uidMap: uidMap, gidMap: gidMap, setgroupsDeny: geteuid() != 0,
            uid: target.user.uid ?? 0, gid: target.user.gid ?? 0, capabilities: capabilities,
            capabilityNames: capabilities.map { CapabilityNames.name($0) }, lastCap: lastCap,
            noNewPrivileges: target.noNewPrivileges ?? true, rootfs: options.rootfs,
            readOnlyRoot: target.readOnlyRootfs ?? true, hostname: options.hostname, rlimits: options.rlimits,
            cgroup: cgroup, seccomp: seccomp, seccompSource: seccompSource, seccompProfile: seccompProfile,
            landlockHandled: landlockHandled,
            landlockRules: landlockRules, landlockABI: abi, apparmorProfile: apparmorProfile,
            selinuxLabel: selinuxLabel, skipped: skipped, warnings: warnings)
    }

    /// The plan as `--dry-run` prints it: one control a line, in the order they are applied.
    public var summary: String {
        func map(_ ranges: [IDMapRange]) -> String { ranges.map { "\($0.inside) \($0.outside) \($0.count)" }.joined(separator: ", ") }
        var lines: [String] = []
        lines.append("command        \(command.joined(separator: " ")) (\(executable))")
        lines.append("namespaces     \(namespaces.map(\.rawValue).joined(separator: ", "))")
        if !uidMap.isEmpty { lines.append("uid map        \(map(uidMap)); gid map \(map(gidMap))") }
        if let cgroup { lines.append("cgroup         \(cgroup.summary)") }
        lines.append("root           \(rootfs ?? "tmpfs with the host's /usr read-only")\(readOnlyRoot ? ", read-only" : ""), pivot_root; proc, minimal /dev, tmpfs /tmp")
        lines.append("hostname       \(hostname)")
        for limit in rlimits { lines.append("rlimit         \(limit.resource) \(limit.soft):\(limit.hard)") }
        lines.append("descriptors    all but 0, 1, 2 closed at exec")
        if let apparmorProfile { lines.append("apparmor       exec \(apparmorProfile)") }
        if let selinuxLabel { lines.append("selinux        exec \(selinuxLabel)") }
        lines.append("capabilities   \(capabilityNames.isEmpty ? "none" : capabilityNames.joined(separator: ", ")) (bounding, permitted, effective, inheritable, ambient)")
        lines.append("identity       uid \(uid) gid \(gid), no supplementary groups")
        lines.append("no_new_privs   \(noNewPrivileges)")
        if landlockHandled != 0 {
            let rules = landlockRules.map { "\($0.path) \($0.writable ? "rw" : "ro")" }.joined(separator: ", ")
            lines.append("landlock       ABI \(landlockABI ?? 0): \(rules)")
        }
        if let seccomp { lines.append("seccomp        filter from \(seccompSource ?? "?"), \(seccomp.program.count / 8) BPF instructions") }
        for skip in skipped { lines.append("skipped        \(skip)") }
        for warning in warnings { lines.append("warning        \(warning)") }
        return lines.joined(separator: "\n")
    }
}
