import CloisterModel
import CloisterSystem

extension HostScanner {
    /// Why a process under seccomp can never read filters, its own or anyone's: the kernel
    /// answers PTRACE_SECCOMP_GET_FILTER with EACCES unless the caller itself runs without a
    /// filter (kernel/seccomp.c, seccomp_get_filter), and a process cannot ptrace itself.
    public static let ownFilterUnreadable =
        "a filtered process cannot read seccomp filters: the kernel refuses PTRACE_SECCOMP_GET_FILTER (EACCES) to any caller that runs under seccomp itself, and a process cannot trace itself; seccomp.mode and seccomp.filters are read from /proc/self/status"

    /// The confinement of the process `pid` (the scanner itself: `scan --self`), as far as it
    /// can be told from inside. `statusBeforeDrop` is its `/proc/self/status` read before it
    /// dropped its own capabilities and set no_new_privs, so the posture shows what the process
    /// was given, not what the scanner kept.
    ///
    /// The host's namespaces are known only where the host's kthreadd (PID 2) is in sight and
    /// its links readable. Otherwise: the PID namespace is the host's exactly when kthreadd is
    /// in sight at all (it is PID 2 of the initial one only), the user namespace is the host's exactly
    /// when the UID map is the identity of all 2^32 IDs, and the others are unknown with why.
    public func scanSelf(pid: Int, statusBeforeDrop: String?) throws -> Result {
        var table: [Int: ProcessRecord]
        do {
            table = try ProcessReader.readAll(root: root)
        } catch {
            throw ScanError.procUnreadable("\(error)")
        }
        guard var record = table[pid] else { throw ScanError.noSuchProcess(pid) }
        if let statusBeforeDrop {
            let before = ProcStatus.parse(statusBeforeDrop)
            record.status.capInheritable = before.capInheritable
            record.status.capPermitted = before.capPermitted
            record.status.capEffective = before.capEffective
            record.status.capBounding = before.capBounding
            record.status.capAmbient = before.capAmbient
            record.status.noNewPrivileges = before.noNewPrivileges
            table[pid] = record
        }
        var issues: [ScanIssue] = []
        let kthreadd = table[2].flatMap { $0.parentPID == 0 && $0.name == "kthreadd" ? $0 : nil }
        let hostNamespaces = kthreadd?.namespaces ?? [:]
        let hostMounts = (try? Files.readText(root.pid(kthreadd != nil ? 2 : pid) + "/mountinfo", limit: 8 << 20))
            .map { MountInfoParser.parse($0).entries } ?? []
        let host = HostInspector.inspect(root: root, mounts: hostMounts)
        let workload = DiscoveredWorkload(
            kind: .container, runtime: Self.selfEngine(root: root), id: "self-\(pid)", name: "self", leader: pid, members: [pid])
        var builder = PostureBuilder(
            root: root, table: table, host: host, hostNamespaces: hostNamespaces,
            hostMountsByDevice: Dictionary(grouping: hostMounts) { DeviceNumber(major: $0.major, minor: $0.minor) },
            hierarchies: CgroupHierarchies(hostMounts: hostMounts),
            passwd: root.readTextIfPresent("/etc/passwd").map(PasswdParser.names) ?? [:],
            useAppArmorLibrary: root.isLive && (host.lsms?.contains("apparmor") ?? false) && AppArmorLibrary.isEnabled,
            useSELinuxLibrary: root.isLive && (host.lsms?.contains("selinux") ?? false) && SELinuxLibrary.isEnabled)
        builder.filterSkipped = Self.ownFilterUnreadable
        guard var posture = builder.build(workload) else { throw ScanError.noSuchProcess(pid) }
        posture.kernelSettings = KernelSettings(
            unprivilegedBPFDisabled: host.unprivilegedBPFDisabled, unprivilegedUserfaultfd: host.unprivilegedUserfaultfd,
            perfEventParanoid: host.perfEventParanoid, ptraceScope: host.ptraceScope)
        if kthreadd == nil || hostNamespaces.isEmpty {
            Self.judgeNamespacesFromInside(&posture, kthreaddVisible: kthreadd != nil)
            issues.append(ScanIssue(
                pid: pid, workload: posture.id,
                message: "the host's kthreadd (PID 2) is not in sight or its namespace links are not readable (they need CAP_SYS_PTRACE), so only the PID and user namespaces could be told; the others are unknown"))
        }
        return Result(host: host, workloads: [posture], issues: issues)
    }

    /// The namespaces that can be told without the host's to compare with.
    static func judgeNamespacesFromInside(_ posture: inout Posture, kthreaddVisible: Bool) {
        for type in NamespaceType.allCases {
            posture.namespaces[type] = nil
            posture.unknown[.namespace(type)] =
                "seen from inside: the host's \(type.rawValue) namespace is not in sight to compare with"
        }
        // kthreadd is PID 2 of the initial PID namespace only: in sight, this is the host's.
        posture.namespaces.pid = kthreaddVisible ? .host : .private
        posture.unknown[.namespace(.pid)] = nil
        if posture.unknown[.userUidMap] == nil {
            let map = posture.user.uidMap
            let identity = map.count == 1 && map[0].inside == 0 && map[0].outside == 0 && map[0].count == UInt32.max
            posture.namespaces.user = identity ? .host : .private
            posture.unknown[.namespace(.user)] = nil
        }
    }

    /// The engine that started this process, from the marker files engines leave in a
    /// container's root: podman's /run/.containerenv, Docker's /.dockerenv; `kubernetes` when
    /// the kubelet's service environment is set; `unknown` otherwise.
    static func selfEngine(root: HostRoot) -> String {
        if Files.exists(root.prefix + "/run/.containerenv") { return "podman" }
        if Files.exists(root.prefix + "/.dockerenv") { return "docker" }
        if ProcessEnvironment.value("KUBERNETES_SERVICE_HOST") != nil { return "kubernetes" }
        return "unknown"
    }
}
