import CloisterModel
import CloisterSystem

/// Scans a host (or a captured tree) and returns every workload's posture.
public struct HostScanner: Sendable {
    public var root: HostRoot
    /// Also read each workload's declared configuration (a bundle's config.json, a libvirt
    /// guest's live domain XML) and put what the kernel shows weaker than declared in `drift`
    /// (`scan --declared`).
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
        /// Postures read from the kernel in this scan, and postures a `ScanMemory` let it reuse.
        public var rebuilt = 0
        public var reused = 0
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
    /// With `memory`, postures whose workload shows no change since the previous scan with the
    /// same memory are reused (see `ScanMemory` for what counts as a change).
    public func scan(pid: Int? = nil, memory: ScanMemory? = nil, phase: (String) -> Void = { _ in }) throws -> Result {
        if let memory {
            return try memory.withState { state in
                var scanner = self
                scanner.root.parsedFiles = state.parsedFiles
                return try scanner.scan(pid: pid, memory: &state, fullScanEvery: memory.fullScanEvery, phase: phase)
            }
        }
        var unused = ScanMemory.State()
        return try scan(pid: pid, memory: &unused, fullScanEvery: 1, phase: phase)
    }

    func scan(pid: Int?, memory remembered: inout ScanMemory.State, fullScanEvery: Int, phase: (String) -> Void) throws -> Result {
        // Signals first: a change after this point is reported by the next scan's call.
        let changes = fullScanEvery > 1 ? remembered.signals.changed() : (keys: [], everything: true)
        // Everything is read again: every fullScanEvery-th scan, or when the signals were lost.
        let rereadAll = fullScanEvery <= 1 || changes.everything || remembered.scans % fullScanEvery == 0
        let table: [Int: ProcessRecord]
        do {
            if fullScanEvery > 1 {
                // A rescan keeps what it read of a process that is still the same one.
                let read = try ProcessReader.readAll(root: root, known: rereadAll ? [:] : remembered.processes)
                table = read.table
                remembered.processes = read.known
            } else {
                table = try ProcessReader.readAll(root: root)
            }
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
                // Kept across the rescans of `serve` and `--watch`: a filter decoded once is not
                // decoded again while it stays in use.
                let decoder = remembered.filterDecoder ?? SeccompFilterDecoder()
                remembered.filterDecoder = decoder
                configured.filterDecoder = decoder
            } else {
                configured.filterSkipped = seccompFiltersSkipped
            }
        }
        let builder = configured

        // Which postures can be reused, and watches opened before the others are read.
        let full = rereadAll || remembered.host != host
        remembered.scans += 1
        remembered.host = host
        var reusedPostures: [Int: Posture] = [:]
        var fingerprints: [WorkloadFingerprint?] = Array(repeating: nil, count: discovered.count)
        if fullScanEvery > 1 {
            let present = Set(discovered.map(\.postureID))
            for key in remembered.entries.keys where !present.contains(key) {
                remembered.entries[key] = nil
                remembered.signals.forget(key: key)
            }
            for (index, workload) in discovered.enumerated() {
                let key = workload.postureID
                let fingerprint = WorkloadFingerprint(workload, table: table, root: self.root)
                if !full, !self.compareDeclared, workload.kind != .vm, !changes.keys.contains(key),
                    let entry = remembered.entries[key], entry.fingerprint == fingerprint
                {
                    reusedPostures[index] = entry.posture
                    continue
                }
                remembered.signals.forget(key: key)
                remembered.entries[key] = nil
                guard let leader = table[workload.leader],
                    remembered.signals.watchMounts(key: key, mountinfo: self.root.pid(workload.leader) + "/mountinfo"),
                    remembered.signals.watchDirectories(
                        key: key, Self.cgroupDirectories(of: leader, hierarchies: builder.hierarchies, root: self.root))
                else {
                    // Not remembered: read again by every scan.
                    remembered.signals.forget(key: key)
                    continue
                }
                fingerprints[index] = fingerprint
            }
        }

        let root = self.root
        let compareDeclared = self.compareDeclared
        // Libvirt guests are compared with their domain as the daemon's qemu.conf settles it.
        let qemuConf = compareDeclared && discovered.contains { $0.attributes["libvirtXML"] != nil }
            ? DaemonInspector.libvirtQemuConf(root: root, processes: Array(table.values)) : (conf: nil, why: nil)
        // Every workload runs on this kernel: its settings decide what a reachable call is worth.
        let kernelSettings = KernelSettings(
            unprivilegedBPFDisabled: host.unprivilegedBPFDisabled, unprivilegedUserfaultfd: host.unprivilegedUserfaultfd,
            perfEventParanoid: host.perfEventParanoid, ptraceScope: host.ptraceScope)
        let toBuild = discovered.indices.filter { reusedPostures[$0] == nil }
        let candidates = discovered
        // The leaders' filters, read ahead in batches whose stops are waited for together.
        builder.filterDecoder?.prefetch(toBuild.compactMap { index in table[candidates[index].leader].map { ($0.pid, $0.status) } })
        let fresh = Parallel.map(toBuild) { index -> Posture? in
            let workload = candidates[index]
            // A workload whose leader exited during inspection is skipped, and said so: a
            // half-read posture is never reported as fact.
            guard Files.exists(root.pid(workload.leader) + "/status"), var posture = builder.build(workload),
                Files.exists(root.pid(workload.leader) + "/status")
            else { return nil }
            posture.kernelSettings = kernelSettings
            if compareDeclared, let statusFile = workload.attributes["libvirtXML"] {
                DeclaredDrift.compareLibvirt(&posture, statusFile: statusFile, root: root, qemuConf: qemuConf)
            } else if compareDeclared {
                DeclaredDrift.compare(
                    &posture, leader: workload.leader, root: root, decoder: builder.filterDecoder ?? SeccompFilterDecoder())
            }
            return posture
        }
        var built: [Posture?] = discovered.indices.map { reusedPostures[$0] }
        for (index, posture) in zip(toBuild, fresh) {
            built[index] = posture
            if let posture, let fingerprint = fingerprints[index] {
                remembered.entries[discovered[index].postureID] = ScanMemory.Entry(fingerprint: fingerprint, posture: posture)
            } else if fullScanEvery > 1 {
                remembered.signals.forget(key: discovered[index].postureID)
            }
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
        return Result(host: host, workloads: workloads, issues: issues, rebuilt: toBuild.count, reused: reusedPostures.count)
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
