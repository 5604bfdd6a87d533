import CloisterCodec
import CloisterModel
import CloisterSystem

/// What discovery needs to know of one process. Read once per scan.
public struct ProcessRecord: Sendable {
    public var pid: Int
    public var parentPID: Int
    public var name: String
    public var command: [String]
    public var namespaces: [NamespaceType: UInt64]
    public var cgroups: [CgroupMembership]
    public var status: ProcStatus

    public var isKernelThread: Bool { pid == 2 || parentPID == 2 || (command.isEmpty && parentPID == 0 && pid != 1) }

    /// The process's executable name: argv[0]'s last component, else the kernel's comm.
    public var executableName: String {
        if let first = command.first, !first.isEmpty {
            return String(first.split(separator: "/").last ?? Substring(first))
        }
        return name
    }
}

enum ProcessReader {
    /// Reads one process; nil when it exited (or vanished) while being read.
    static func read(pid: Int, root: HostRoot) -> ProcessRecord? {
        let base = root.pid(pid)
        guard let statusBytes = try? Files.read(base + "/status", limit: 64 << 10) else { return nil }
        let status = statusBytes.withUnsafeBufferPointer { ProcStatus.parse(bytes: $0) }
        // Arguments matter only for the processes discovery reads them from (hypervisors for
        // their options, conmon for the container name, the launchers); a workload's own
        // command line is read when its posture is built.
        let comm = status.name ?? ""
        let command = needsArguments(comm) ? readCommand(pid: pid, root: root) : []
        var namespaces: [NamespaceType: UInt64] = [:]
        for type in NamespaceType.allCases {
            if let link = try? Files.readLink("\(base)/ns/\(type.rawValue)"), let inode = NamespaceLink.inode(link) {
                namespaces[type] = inode
            }
        }
        let cgroups = (try? Files.read(base + "/cgroup", limit: 64 << 10)).map(CgroupFileParser.parse(bytes:)) ?? []
        return ProcessRecord(
            pid: pid, parentPID: status.parentPID ?? 0, name: SafeText.decode(Array((status.name ?? "").utf8)),
            command: command, namespaces: namespaces, cgroups: cgroups, status: status)
    }

    static func readCommand(pid: Int, root: HostRoot) -> [String] {
        (try? Files.read(root.pid(pid) + "/cmdline", limit: 128 << 10)).map { CmdlineParser.parse($0) } ?? []
    }

    /// The kernel's comm is the first 15 bytes of the executable's name.
    static func needsArguments(_ comm: String) -> Bool {
        if Discovery.runtimeHelpers.contains(comm) { return true }
        for (prefix, _) in Discovery.hypervisors where comm.hasPrefix(prefix) || prefix.hasPrefix(comm) && comm.count >= 8 {
            return true
        }
        return false
    }

    /// Every numeric entry of /proc, read. Processes that exit during the walk are skipped.
    static func readAll(root: HostRoot) throws -> [Int: ProcessRecord] {
        let pids = try Files.list(root.proc).compactMap { Int($0) }
        let records = Parallel.map(pids) { read(pid: $0, root: root) }
        var table: [Int: ProcessRecord] = [:]
        table.reserveCapacity(records.count)
        for record in records { if let record { table[record.pid] = record } }
        return table
    }
}
