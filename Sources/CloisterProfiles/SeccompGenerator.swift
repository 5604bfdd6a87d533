import CloisterOCI

/// What a seccomp allowlist is built from: named groups, the workload's declared needs, and
/// learned records. Every relaxation (a denied group, secondary architectures, namespace
/// creation) is an explicit field, and `relaxations` names those taken.
public struct SeccompNeeds: Sendable, Equatable {
    /// Allowed groups of `syscall-groups.yaml` (ignored when a learned record is given and
    /// `groupsWithLearned` is false: the record alone is the tightest allowlist).
    public var groups: [String]
    public var groupsWithLearned: Bool
    /// Single syscalls to allow beside the groups.
    public var extraSyscalls: [String]
    /// Groups from `denied` that the workload needs (io-uring, bpf, namespaces, …).
    public var deniedGroupsAllowed: [String]
    /// socket(2) families by name (`unix`, `inet`, `inet6`, `netlink`, `packet`).
    public var socketFamilies: [String]
    /// Allow i386 and x32 syscalls (blocked otherwise).
    public var secondaryArchitectures: Bool
    public var learned: LearnedRecord?
    /// What the OCI runtimes the profile is meant for call after loading it and before exec
    /// (`policies/runtime-init.yaml`), and which runtimes those are. Allowed whatever was
    /// declared or learned: without them the container never starts.
    public var runtimeInit: Set<String>
    public var runtimeInitFor: [String]
    /// What the profile is generated from, written into it.
    public var generatedFrom: String

    /// The systemd @system-service-like default for a service without network needs.
    public static let serviceGroups = [
        "default", "basic-io", "file-system", "file-io", "io-event", "ipc", "memory", "process",
        "signal", "timer", "sync", "credentials", "system-info",
    ]

    public init(
        groups: [String] = SeccompNeeds.serviceGroups, groupsWithLearned: Bool = false, extraSyscalls: [String] = [],
        deniedGroupsAllowed: [String] = [], socketFamilies: [String] = ["unix"], secondaryArchitectures: Bool = false,
        learned: LearnedRecord? = nil, runtimeInit: Set<String> = [], runtimeInitFor: [String] = [],
        generatedFrom: String
    ) {
        self.groups = groups
        self.groupsWithLearned = groupsWithLearned
        self.extraSyscalls = extraSyscalls
        self.deniedGroupsAllowed = deniedGroupsAllowed
        self.socketFamilies = socketFamilies
        self.secondaryArchitectures = secondaryArchitectures
        self.learned = learned
        self.runtimeInit = runtimeInit
        self.runtimeInitFor = runtimeInitFor
        self.generatedFrom = generatedFrom
    }

    /// The relaxations beyond the default deny, for warnings.
    public var relaxations: [String] {
        deniedGroupsAllowed.map { "denied group '\($0)' allowed" }
            + (secondaryArchitectures ? ["i386 and x32 syscalls allowed"] : [])
    }
}

public enum SeccompGenerator {
    public static let errnoEPERM: UInt32 = 1
    public static let errnoENOSYS: UInt32 = 38
    /// Allowed whatever was declared or learned: a process must always be able to end, and to
    /// return from a signal handler or restart an interrupted call it never names itself.
    public static let alwaysAllowed: Set<String> = ["exit", "exit_group", "rt_sigreturn", "restart_syscall"]
    /// Syscalls whose allow rules carry argument conditions.
    static let argumentFiltered: Set<String> = ["clone", "socket", "personality"]

    /// The OCI seccomp object for these needs. Deterministic: names are sorted.
    public static func profile(for needs: SeccompNeeds, groups data: SyscallGroups) throws -> LinuxSeccomp {
        var allowed: Set<String> = alwaysAllowed
        let declaredFamilies = Set(try needs.socketFamilies.map { name -> UInt64 in
            guard let value = data.socketFamilies[name] else {
                throw ProfileInputError(
                    file: "syscall-groups.yaml",
                    message: "has no socket family '\(name)' (known: \(data.socketFamilies.keys.sorted().joined(separator: ", ")))")
            }
            return value
        })
        let learnedCalls = needs.learned?.architectures["x86_64"] ?? [:]
        // With a learned record alone the allowlist is exactly what was recorded (the tightest);
        // groups join it only when asked for.
        let fromGroups = needs.learned == nil || needs.groupsWithLearned
        var familyValues: Set<UInt64> = []
        var personalityValues: Set<UInt64> = []
        if fromGroups {
            allowed.formUnion(try data.syscalls(inGroups: needs.groups))
            // The argument-filtered calls belong to the groups they would sit in.
            if needs.groups.contains("process") { allowed.insert("clone") }
            if needs.groups.contains("default") {
                allowed.insert("personality")
                personalityValues = Set(data.personality)
            }
            if !declaredFamilies.isEmpty {
                allowed.insert("socket")
                familyValues = declaredFamilies
            }
        }
        allowed.formUnion(learnedCalls.keys)
        for name in learnedCalls.keys { allowed.formUnion(data.companions?[name] ?? []) }
        familyValues.formUnion(learnedCalls["socket"]?.arguments?["0"] ?? [])
        personalityValues.formUnion(learnedCalls["personality"]?.arguments?["0"] ?? [])
        allowed.formUnion(needs.extraSyscalls)
        allowed.formUnion(try data.syscalls(inGroups: needs.deniedGroupsAllowed))
        allowed.formUnion(needs.runtimeInit)
        // A runtime calls personality(2) only for the container's declared linux.personality,
        // one of the ordinary values.
        if needs.runtimeInit.contains("personality") && personalityValues.isEmpty {
            personalityValues = Set(data.personality)
        }

        // Denied groups stay out unless asked for, even when a group or a recording names them:
        // a recording of a compromised run must not widen the profile silently.
        let deniedNotAllowed = data.denied.filter { !needs.deniedGroupsAllowed.contains($0.key) }
        let refused = Set(deniedNotAllowed.values.flatMap(\.syscalls))
        allowed.subtract(refused)

        let namespacesAllowed = needs.deniedGroupsAllowed.contains("namespaces")
        // clone3 passes its flags in memory BPF cannot read: without the namespaces group it
        // answers ENOSYS (below) even when recorded, and glibc falls back to clone.
        if !namespacesAllowed { allowed.remove("clone3") }
        var rules: [LinuxSeccomp.Syscall] = []
        let plain = allowed.subtracting(argumentFiltered).sorted()
        rules.append(LinuxSeccomp.Syscall(names: plain, action: "SCMP_ACT_ALLOW"))

        if allowed.contains("clone") {
            if namespacesAllowed {
                rules.append(LinuxSeccomp.Syscall(names: ["clone"], action: "SCMP_ACT_ALLOW"))
            } else {
                rules.append(LinuxSeccomp.Syscall(
                    names: ["clone"], action: "SCMP_ACT_ALLOW",
                    args: [LinuxSeccomp.Argument(index: 0, value: data.cloneNamespaceFlags, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")],
                    comment: "clone without namespace flags"))
            }
        }
        if allowed.contains("socket") {
            for family in familyValues.sorted() {
                rules.append(LinuxSeccomp.Syscall(
                    names: ["socket"], action: "SCMP_ACT_ALLOW",
                    args: [LinuxSeccomp.Argument(index: 0, value: family, op: "SCMP_CMP_EQ")],
                    comment: "socket family \(familyName(family, data))"))
            }
        }
        if allowed.contains("personality") {
            for value in personalityValues.sorted() {
                rules.append(LinuxSeccomp.Syscall(
                    names: ["personality"], action: "SCMP_ACT_ALLOW",
                    args: [LinuxSeccomp.Argument(index: 0, value: value, op: "SCMP_CMP_EQ")]))
            }
        }
        // Newer calls the workload may probe: ENOSYS makes libraries fall back (glibc: clone3 →
        // clone).
        var enosys = Set(data.enosys).subtracting(allowed)
        if !namespacesAllowed { enosys.insert("clone3") }
        if !enosys.isEmpty {
            rules.append(LinuxSeccomp.Syscall(
                names: enosys.sorted(), action: "SCMP_ACT_ERRNO", errnoRet: errnoENOSYS,
                comment: "newer than this profile: ENOSYS so callers fall back"))
        }
        var architectures = ["SCMP_ARCH_X86_64"]
        if needs.secondaryArchitectures { architectures += ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] }
        let runtimes = needs.runtimeInitFor.isEmpty
            ? "" : "; starts under \(needs.runtimeInitFor.joined(separator: ", "))"
        return LinuxSeccomp(
            comment: "generated by cloister profile from \(needs.generatedFrom)\(runtimes)",
            defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: errnoEPERM,
            architectures: architectures, syscalls: rules)
    }

    static func familyName(_ value: UInt64, _ data: SyscallGroups) -> String {
        data.socketFamilies.first { $0.value == value }?.key ?? String(value)
    }

    /// How many distinct syscall names the profile lets through on x86_64 (argument-filtered
    /// ones count once).
    public static func allowedCount(_ profile: LinuxSeccomp) -> Int { profile.allowedNames.count }
}
