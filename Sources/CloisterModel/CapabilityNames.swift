// Linux capability names and the sets engines give containers, as data every layer can read:
// the format readers build postures from them, the rules and reports summarise against them.

public enum CapabilityNames {
    /// In capability-number order (include/uapi/linux/capability.h, up to
    /// CAP_CHECKPOINT_RESTORE = 40 in Linux 5.9).
    public static let all: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
        "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// The set containerd (pkg/oci defaultUnixCaps), Moby/Docker (oci/caps/defaults.go) and
    /// Podman's containers.conf give a container that is not privileged, in number order.
    public static let containerDefault: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE",
        "CAP_SETFCAP",
    ]

    /// A capability set said by what matters: `all 41 capabilities`, `the container default set
    /// + CAP_SYS_ADMIN`, `the container default set − CAP_NET_RAW`, or the names themselves
    /// (the first `limit`, and how many more). The full list stays in the evidence and the JSON.
    public static func summary(_ names: [String], limit: Int = 8) -> String {
        if names.isEmpty { return "none" }
        let set = Set(names)
        if set.isSuperset(of: all) { return "all \(set.count) capabilities" }
        let defaults = Set(containerDefault)
        let overlap = set.intersection(defaults).count
        // Close to an engine's default set: say how it differs (podman's default lacks a few of
        // containerd's; a --cap-add adds some).
        if set.count > limit || set == defaults, overlap * 2 >= defaults.count {
            let missing = containerDefault.filter { !set.contains($0) }
            let extra = names.filter { !defaults.contains($0) }
            var text = "the container default set"
            if !missing.isEmpty { text += " − " + list(missing, limit: limit) }
            if !extra.isEmpty { text += " + " + list(extra, limit: limit) }
            return text
        }
        return list(names, limit: limit)
    }

    /// The first `limit` items, then how many more.
    public static func list(_ items: [String], limit: Int) -> String {
        guard items.count > limit else { return items.joined(separator: ", ") }
        return items.prefix(limit).joined(separator: ", ") + " and \(items.count - limit) more"
    }
}
