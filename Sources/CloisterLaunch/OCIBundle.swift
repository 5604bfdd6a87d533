import CloisterModel
import Foundation

/// OCI mode: the plan written as a runtime-spec bundle (config.json beside a rootfs link), for
/// `runc` or `crun` to start. The runtime applies the controls; cloister verifies them after.
public enum OCIBundle {
    /// Controls an OCI runtime cannot apply from config.json: Landlock (no runtime-spec field).
    /// Returns what must be refused, or skipped under best effort.
    public static func unsupported(_ plan: LaunchPlan) -> [String] {
        plan.landlockHandled != 0 ? ["Landlock: the OCI runtime-spec has no Landlock field (use sandbox mode or --no-landlock)"] : []
    }

    /// The config.json object for `plan`. The root must be a directory (`--rootfs`).
    public static func config(_ plan: LaunchPlan, rootfs: String) throws -> [String: Any] {
        let capabilities = plan.capabilityNames
        var process: [String: Any] = [
            "terminal": false,
            "user": ["uid": plan.uid, "gid": plan.gid],
            "args": plan.command,
            "env": plan.environment,
            "cwd": "/",
            "capabilities": [
                "bounding": capabilities, "effective": capabilities, "permitted": capabilities,
                "inheritable": capabilities, "ambient": capabilities,
            ],
            "noNewPrivileges": plan.noNewPrivileges,
            // runc needs an explicit NOFILE within the hard limit on hosts without CAP_SYS_RESOURCE.
            "rlimits": (plan.rlimits.isEmpty ? [(resource: Int32(7), soft: UInt64(1024), hard: UInt64(1024))] : plan.rlimits)
                .map { ["type": rlimitName($0.resource), "soft": $0.soft, "hard": $0.hard] as [String: Any] },
        ]
        if let profile = plan.apparmorProfile { process["apparmorProfile"] = profile }
        if let label = plan.selinuxLabel { process["selinuxLabel"] = label }

        var linux: [String: Any] = [
            "namespaces": plan.namespaces.map { ["type": ociNamespace($0)] },
            "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                            "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"],
            "readonlyPaths": ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        ]
        if !plan.uidMap.isEmpty {
            func ranges(_ map: [IDMapRange]) -> [[String: UInt32]] {
                map.map { ["containerID": $0.inside, "hostID": $0.outside, "size": $0.count] }
            }
            linux["uidMappings"] = ranges(plan.uidMap)
            linux["gidMappings"] = ranges(plan.gidMap)
        }
        if let limits = plan.cgroup?.limits {
            var resources: [String: Any] = [:]
            if case .value(let bytes)? = limits.memoryMax { resources["memory"] = ["limit": bytes] }
            if case .value(let count)? = limits.pidsMax { resources["pids"] = ["limit": count] }
            if case .value(let quota)? = limits.cpuQuota { resources["cpu"] = ["quota": quota, "period": limits.cpuPeriod ?? 100_000] }
            linux["resources"] = resources
        }
        if let profile = plan.seccompProfile {
            let data = try JSONEncoder().encode(profile)
            linux["seccomp"] = try JSONSerialization.jsonObject(with: data)
        }
        let mounts: [[String: Any]] = [
            ["destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]],
            ["destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]],
            ["destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]],
            ["destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777", "size=65536k"]],
        ]
        return [
            "ociVersion": "1.0.2",
            "process": process,
            "root": ["path": rootfs, "readonly": plan.readOnlyRoot],
            "hostname": plan.hostname,
            "mounts": mounts,
            "linux": linux,
        ]
    }

    /// Writes `DIRECTORY/config.json`.
    public static func write(_ plan: LaunchPlan, rootfs: String, to directory: String) throws {
        let object = try config(plan, rootfs: rootfs)
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: directory + "/config.json"), options: .atomic)
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
