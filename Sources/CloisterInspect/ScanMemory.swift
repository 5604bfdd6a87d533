import CloisterModel
import CloisterSystem
import Synchronization

/// What one scan leaves for the next, so that a rescan (`serve`, `scan --watch`) rebuilds only
/// the workloads whose identity or confinement can have changed and reuses the rest.
///
/// A rescan reads every process's status again; the namespaces, cgroups and arguments of a
/// process it already knows (same PID, start time and name) are kept, and read again by the
/// full rescans.
///
/// A workload's posture is reused only when all of these hold since it was built:
/// - the same workload: kind, engine, id, name, leader and member PIDs, engine attributes;
/// - every member's `/proc/PID/status` facts (names, IDs, capability sets, seccomp mode and
///   filter count, no_new_privs, thread count), namespaces and cgroup paths are the same, and
///   the leader's command line, MAC label and resource limits read the same;
/// - the kernel signalled no change of the leader's mount table (poll on its mountinfo) and no
///   write, creation or removal in its cgroup directories (inotify);
/// - the host facts are the same; the workload is not a VM (a hypervisor's sockets and
///   listeners carry no change signal, so a VM is always read again), and the scan does not
///   compare declared configuration files.
/// What has neither a kernel signal nor a place among those reads (a device node a workload's
/// process opens, a listener a VM's display opens) is caught by the full rebuild every
/// `fullScanEvery` scans.
public final class ScanMemory: @unchecked Sendable {
    /// How often a scan rebuilds everything, whatever the signals say (1: every scan).
    public let fullScanEvery: Int
    /// Guards `state`: its file descriptors and watches are one scan's at a time.
    private let lock = Mutex(())
    private var state = State()

    struct Entry {
        var fingerprint: WorkloadFingerprint
        var posture: Posture
    }

    struct State {
        var host: HostFacts?
        var entries: [String: Entry] = [:]
        var signals = ChangeSignals()
        var scans = 0
        /// Decoded filter stacks, by their bytes (bounded: see `SeccompFilterDecoder`).
        var filterDecoder: SeccompFilterDecoder?
        /// Host files as last parsed, by path.
        var parsedFiles = ParsedFiles()
        /// Every process as the last scan read it, by PID.
        var processes: [Int: ProcessReader.Known] = [:]
    }

    public init(fullScanEvery: Int = 10) {
        self.fullScanEvery = max(1, fullScanEvery)
    }

    /// Runs `body` with the remembered state; one scan at a time.
    func withState<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
        try lock.withLock { _ in try body(&state) }
    }
}

/// What a reused posture must still match: the workload's identity and its members' facts as
/// the process table read them, and the few small files of the leader that carry no signal.
struct WorkloadFingerprint: Equatable {
    struct Member: Equatable {
        var pid: Int
        var parentPID: Int
        var name: String
        var command: [String]
        var namespaces: [NamespaceType: UInt64]
        var cgroups: [CgroupMembership]
        var status: ProcStatus
    }

    var kind: WorkloadKind
    var runtime: String
    var id: String
    var name: String
    var leader: Int
    var attributes: [String: String]
    var members: [Member]
    /// cmdline, attr/current, attr/apparmor/current and limits of the leader (nil: unreadable).
    var leaderFiles: [[UInt8]?]

    init(_ workload: DiscoveredWorkload, table: [Int: ProcessRecord], root: HostRoot) {
        kind = workload.kind
        runtime = workload.runtime
        id = workload.id
        name = workload.name
        leader = workload.leader
        attributes = workload.attributes
        members = workload.members.map { pid in
            guard let record = table[pid] else {
                return Member(pid: pid, parentPID: -1, name: "", command: [], namespaces: [:], cgroups: [], status: ProcStatus())
            }
            return Member(
                pid: pid, parentPID: record.parentPID, name: record.name, command: record.command,
                namespaces: record.namespaces, cgroups: record.cgroups, status: record.status)
        }
        let base = root.pid(workload.leader)
        leaderFiles = ["/cmdline", "/attr/current", "/attr/apparmor/current", "/limits"].map {
            try? Files.read(base + $0, limit: 128 << 10)
        }
    }
}

extension HostScanner {
    /// The cgroup directories a posture's limits are read from: the leader's unified cgroup and
    /// its v1 memory, pids, cpu and devices cgroups.
    static func cgroupDirectories(of leader: ProcessRecord, hierarchies: CgroupHierarchies, root: HostRoot) -> [String] {
        var directories: [String] = []
        if let unified = leader.cgroups.first(where: \.isUnified), let mountPoint = hierarchies.unified {
            directories.append(root.path(mountPoint + unified.path))
        }
        for controller in ["memory", "pids", "cpu", "devices"] {
            guard let mountPoint = hierarchies.v1[controller],
                let membership = leader.cgroups.first(where: { $0.controllers.contains(controller) })
            else { continue }
            let directory = root.path(mountPoint + membership.path)
            if !directories.contains(directory) { directories.append(directory) }
        }
        return directories
    }
}
