import CloisterModel
import CloisterSystem

/// Scans a host (or a captured tree) and returns every workload's posture.
public struct HostScanner: Sendable {
    public var root: HostRoot
    /// Also read each container's declared configuration (its bundle's config.json) and put
    /// what the kernel shows weaker than declared in `drift` (`scan --declared`).
    public var compareDeclared = false
    /// Read each filtered workload's seccomp filters from the kernel (a ptrace stop of
    /// microseconds per thread) and decode them into `seccomp.syscalls` and `reachable`.
    /// `scan --no-seccomp-filters` turns it off; a captured tree never has them.
    public var readSeccompFilters = true
    /// What `unknown` says of the filters when they are not read.
    public var seccompFiltersSkipped = "not read: scan --no-seccomp-filters"

    public init(
        root: HostRoot = HostRoot(), compareDeclared: Bool = false, readSeccompFilters: Bool = true,
        seccompFiltersSkipped: String = "not read: scan --no-seccomp-filters"
    ) {
        self.root = root
        self.compareDeclared = compareDeclared
        self.readSeccompFilters = readSeccompFilters
        self.seccompFiltersSkipped = seccompFiltersSkipped
    }

    public struct Result: Sendable {
        public var host: HostFacts
        public var workloads: [Posture]
        public var issues: [ScanIssue]
    }

    public enum ScanError: Error, CustomStringConvertible {
        case procUnreadable(String)
        case noSuchProcess(Int)
        case notAWorkload(Int)

        public var description: String {
            switch self {
            case .procUnreadable(let reason): "cannot read the process table: \(reason)"
            case .noSuchProcess(let pid): "PID \(pid): no such process"
            case .notAWorkload(let pid):
                "PID \(pid) is an ordinary host process: it belongs to no container, sandbox or VM"
            }
        }
    }

    /// Scans every workload, or only the one process `pid` belongs to.
    /// `phase` is told the name of each phase as it ends (for `CLOISTER_DEBUG_TIMINGS`).
    public func scan(pid: Int? = nil, phase: (String) -> Void = { _ in }) throws -> Result {
        let table: [Int: ProcessRecord]
        do {
            table = try ProcessReader.readAll(root: root)
        } catch {
            throw ScanError.procUnreadable("\(error)")
        }
        phase("process table read")
        var issues: [ScanIssue] = []
        let reference = HostReference.choose(table: table)
        if let note = reference.note { issues.append(ScanIssue(pid: reference.pid, message: note)) }
        let hostMounts = (try? Files.readText(root.pid(reference.pid ?? 1) + "/mountinfo", limit: 8 << 20))
            .map { MountInfoParser.parse($0).entries } ?? []
        var host = HostInspector.inspect(root: root, mounts: hostMounts)
        host.daemons = DaemonInspector.inspect(root: root, processes: Array(table.values))
        let state = RuntimeState.load(root: root, processes: Array(table.values))
        let discovery = Discovery(root: root, table: table, hostNamespaces: reference.namespaces)
        var discovered = discovery.discover(state: state)
        phase("host facts and discovery")

        if let pid {
            guard table[pid] != nil else { throw ScanError.noSuchProcess(pid) }
            discovered = discovered.filter { $0.members.contains(pid) }
            guard !discovered.isEmpty else { throw ScanError.notAWorkload(pid) }
        }

        let passwd = root.readTextIfPresent("/etc/passwd").map(PasswdParser.names) ?? [:]
        var configured = PostureBuilder(
            root: root, table: table, host: host, hostNamespaces: reference.namespaces,
            hostMountsByDevice: Dictionary(grouping: hostMounts) { DeviceNumber(major: $0.major, minor: $0.minor) },
            hierarchies: CgroupHierarchies(hostMounts: hostMounts), passwd: passwd,
            useAppArmorLibrary: root.isLive && (host.lsms?.contains("apparmor") ?? false) && AppArmorLibrary.isEnabled,
            useSELinuxLibrary: root.isLive && (host.lsms?.contains("selinux") ?? false) && SELinuxLibrary.isEnabled)
        if root.isLive {
            if readSeccompFilters {
                configured.filterDecoder = SeccompFilterDecoder()
            } else {
                configured.filterSkipped = seccompFiltersSkipped
            }
        }
        let builder = configured

        let root = self.root
        let compareDeclared = self.compareDeclared
        // Every workload runs on this kernel: its settings decide what a reachable call is worth.
        let kernelSettings = KernelSettings(
            unprivilegedBPFDisabled: host.unprivilegedBPFDisabled, unprivilegedUserfaultfd: host.unprivilegedUserfaultfd,
            perfEventParanoid: host.perfEventParanoid, ptraceScope: host.ptraceScope)
        let built = Parallel.map(discovered) { workload -> Posture? in
            // A workload whose leader exited during inspection is skipped, and said so: a
            // half-read posture is never reported as fact.
            guard Files.exists(root.pid(workload.leader) + "/status"), var posture = builder.build(workload),
                Files.exists(root.pid(workload.leader) + "/status")
            else { return nil }
            posture.kernelSettings = kernelSettings
            if compareDeclared {
                DeclaredDrift.compare(
                    &posture, leader: workload.leader, root: root, decoder: builder.filterDecoder ?? SeccompFilterDecoder())
            }
            return posture
        }
        var workloads: [Posture] = []
        for (workload, posture) in zip(discovered, built) {
            guard let posture else {
                issues.append(ScanIssue(
                    pid: workload.leader, workload: workload.postureID,
                    message: "exited during the scan; skipped"))
                continue
            }
            workloads.append(posture)
        }
        phase("postures built")
        workloads.sort { ($0.kind.rawValue, $0.runtime, $0.name, $0.id) < ($1.kind.rawValue, $1.runtime, $1.name, $1.id) }
        return Result(host: host, workloads: workloads, issues: issues)
    }
}

/// What "the host" means for namespace comparison. The kernel's own threads (kthreadd, PID 2)
/// always live in the initial namespaces, so they are the ground truth; PID 1 is the usual
/// stand-in, but some inits (and some sandboxes' PID 1) hide their namespace links.
struct HostReference {
    var pid: Int?
    var namespaces: [NamespaceType: UInt64]
    var note: String?

    static func choose(table: [Int: ProcessRecord]) -> HostReference {
        if let kthreadd = table[2], kthreadd.parentPID == 0, kthreadd.name == "kthreadd",
            kthreadd.namespaces.count >= 6
        {
            return HostReference(pid: 2, namespaces: kthreadd.namespaces)
        }
        if let initProcess = table[1], !initProcess.namespaces.isEmpty {
            return HostReference(pid: 1, namespaces: initProcess.namespaces)
        }
        return HostReference(
            pid: nil, namespaces: [:],
            note: "neither kthreadd (PID 2) nor PID 1 has readable namespace links: which namespaces are the host's is unknown (run as root, or with CAP_SYS_PTRACE)")
    }
}
