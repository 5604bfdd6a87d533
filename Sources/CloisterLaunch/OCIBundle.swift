import CloisterModel
import CloisterOCI
import Foundation

/// OCI mode: the plan written as a runtime-spec bundle (config.json beside a rootfs link), for
/// `runc` or `crun` to start. The runtime applies the controls; cloister verifies them after.
public enum OCIBundle {
    /// Controls an OCI runtime cannot apply from config.json: Landlock (no runtime-spec field).
    /// Returns what must be refused, or skipped under best effort.
    public static func unsupported(_ plan: LaunchPlan) -> [String] {
        plan.landlockHandled != 0 ? ["Landlock: the OCI runtime-spec has no Landlock field (use sandbox mode or --no-landlock)"] : []
    }

    /// The runtime-spec configuration for `plan`: the one place a launch plan becomes a `Spec`.
    /// The root must be a directory (`--rootfs`).
    public static func config(_ plan: LaunchPlan, rootfs: String) -> Spec {
        var linux = Spec.Linux(
            namespaces: plan.namespaces.map { Spec.Namespace(type: ociNamespace($0)) },
            maskedPaths: ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                          "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"],
            readonlyPaths: ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"])
        if !plan.uidMap.isEmpty {
            func ranges(_ map: [IDMapRange]) -> [Spec.IDMapping] {
                map.map { Spec.IDMapping(containerID: $0.inside, hostID: $0.outside, size: $0.count) }
            }
            linux.uidMappings = ranges(plan.uidMap)
            linux.gidMappings = ranges(plan.gidMap)
        }
        if let limits = plan.cgroup?.limits {
            // The spec's limits are signed (-1 is unlimited); a planned limit is a byte or
            // process count far below Int64.max, so clamping never changes one.
            var resources = Spec.Resources()
            if case .value(let bytes)? = limits.memoryMax { resources.memory = .init(limit: Int64(clamping: bytes)) }
            if case .value(let count)? = limits.pidsMax { resources.pids = .init(limit: Int64(clamping: count)) }
            if case .value(let quota)? = limits.cpuQuota {
                resources.cpu = .init(quota: Int64(clamping: quota), period: limits.cpuPeriod ?? 100_000)
            }
            linux.resources = resources
        }
        linux.seccomp = plan.seccompProfile.map(runtimeFields)
        return Spec(
            ociVersion: "1.0.2",
            process: Spec.Process(
                terminal: false, user: Spec.User(uid: plan.uid, gid: plan.gid), args: plan.command, env: plan.environment,
                cwd: "/", capabilities: Spec.Capabilities(all: plan.capabilityNames),
                // runc needs an explicit NOFILE within the hard limit on hosts without CAP_SYS_RESOURCE.
                rlimits: (plan.rlimits.isEmpty ? [(resource: Int32(7), soft: UInt64(1024), hard: UInt64(1024))] : plan.rlimits)
                    .map { Spec.Rlimit(type: rlimitName($0.resource), hard: $0.hard, soft: $0.soft) },
                noNewPrivileges: plan.noNewPrivileges, apparmorProfile: plan.apparmorProfile, selinuxLabel: plan.selinuxLabel),
            root: Spec.Root(path: rootfs, readonly: plan.readOnlyRoot),
            hostname: plan.hostname,
            mounts: [
                Spec.Mount(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
                Spec.Mount(destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
                Spec.Mount(destination: "/dev/pts", type: "devpts", source: "devpts",
                           options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]),
                Spec.Mount(destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777", "size=65536k"]),
            ],
            linux: linux)
    }

    /// The bundle's config.json bytes for `plan`, as `write` stores them and `--dry-run` prints
    /// them.
    public static func encoded(_ plan: LaunchPlan, rootfs: String) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(config(plan, rootfs: rootfs))
    }

    /// Writes `DIRECTORY/config.json`.
    public static func write(_ plan: LaunchPlan, rootfs: String, to directory: String) throws {
        let data = try encoded(plan, rootfs: rootfs)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: directory + "/config.json"), options: .atomic)
    }

    /// The profile without cloister's `comment` keys: a bundle has always carried only
    /// runtime-spec fields, so the config.json a user diffs or hands to another runtime stays
    /// as it was.
    static func runtimeFields(_ profile: LinuxSeccomp) -> LinuxSeccomp {
        var stripped = profile
        stripped.comment = nil
        stripped.syscalls = profile.syscalls?.map { rule in
            var rule = rule
            rule.comment = nil
            return rule
        }
        return stripped
    }

    static func ociNamespace(_ type: NamespaceType) -> String {
        switch type {
        case .mnt: "mount"
        case .net: "network"
        default: type.rawValue
        }
    }

    static func rlimitName(_ resource: Int32) -> String {
        let names: [Int32: String] = [
            0: "RLIMIT_CPU", 1: "RLIMIT_FSIZE", 2: "RLIMIT_DATA", 3: "RLIMIT_STACK", 4: "RLIMIT_CORE", 5: "RLIMIT_RSS",
            6: "RLIMIT_NPROC", 7: "RLIMIT_NOFILE", 8: "RLIMIT_MEMLOCK", 9: "RLIMIT_AS",
        ]
        return names[resource] ?? "RLIMIT_\(resource)"
    }
}
