import CloisterModel

/// One way the launched workload differs from its target, as the scanner observed it.
public struct PostureDrift: Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var expected: String
    public var observed: String
    public var description: String { "\(field): expected \(expected), observed \(observed)" }
}

/// Compares what the scanner saw with what was planned. Pure: tested without launching.
public enum Verification {
    public static func compare(plan: LaunchPlan, observed: Posture) -> [PostureDrift] {
        var drifts: [PostureDrift] = []
        func check(_ field: String, _ expected: String, _ seen: String) {
            if expected != seen { drifts.append(PostureDrift(field: field, expected: expected, observed: seen)) }
        }
        for type in plan.namespaces {
            check("namespaces.\(type.rawValue)", "private", observed.namespaces[type]?.rawValue ?? "unknown")
        }
        if !plan.uidMap.isEmpty {
            func text(_ ranges: [IDMapRange]) -> String { ranges.map { "\($0.inside):\($0.outside):\($0.count)" }.joined(separator: ",") }
            check("user.uidMap", text(plan.uidMap), text(observed.user.uidMap))
            check("user.gidMap", text(plan.gidMap), text(observed.user.gidMap))
            check("user.rootMappedToHost", "false", observed.user.rootMappedToHost.map(String.init) ?? "unknown")
        }
        check("user.uid", String(plan.uid), observed.user.uid.map(String.init) ?? "unknown")
        check("user.gid", String(plan.gid), observed.user.gid.map(String.init) ?? "unknown")
        let caps = plan.capabilityNames.sorted().joined(separator: ",")
        let sets = observed.capabilities
        for (name, set) in [("effective", sets.effective), ("permitted", sets.permitted), ("bounding", sets.bounding),
                            ("ambient", sets.ambient), ("inheritable", sets.inheritable)] {
            check("capabilities.\(name)", caps.isEmpty ? "none" : caps, set.isEmpty ? "none" : set.sorted().joined(separator: ","))
        }
        check("noNewPrivileges", String(plan.noNewPrivileges), observed.noNewPrivileges.map(String.init) ?? "unknown")
        check("seccomp.mode", plan.seccomp == nil ? SeccompMode.disabled.rawValue : SeccompMode.filter.rawValue,
              observed.seccomp?.mode.rawValue ?? "unknown")
        // A MAC label is asked for by name; the kernel shows the profile and the mode it is
        // loaded in. A profile in complain mode logs instead of refusing: that is drift too.
        if let profile = plan.apparmorProfile {
            check("mac.apparmor", "\(profile) (enforce)",
                  observed.mac.apparmor.map { "\($0.profile) (\($0.mode ?? "unknown"))" } ?? "none")
        }
        if let context = plan.selinuxLabel {
            check("mac.selinux", context, observed.mac.selinux?.context ?? "none")
        }
        if plan.readOnlyRoot {
            check("readOnlyRootfs", "true", observed.readOnlyRootfs.map(String.init) ?? "unknown")
        }
        if let limits = plan.cgroup?.limits {
            if let memory = limits.memoryMax {
                check("cgroup.memoryMax", memory.description, observed.cgroup?.memoryMax?.description ?? "unknown")
            }
            if let pids = limits.pidsMax {
                check("cgroup.pidsMax", pids.description, observed.cgroup?.pidsMax?.description ?? "unknown")
            }
            if let quota = limits.cpuQuota {
                check("cgroup.cpuQuota", quota.description, observed.cgroup?.cpuQuota?.description ?? "unknown")
            }
        }
        return drifts
    }
}
