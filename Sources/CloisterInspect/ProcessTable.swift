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
        let command = (try? Files.read(base + "/cmdline", limit: 128 << 10)).map { CmdlineParser.parse($0) } ?? []
        var namespaces: [NamespaceType: UInt64] = [:]
        for type in NamespaceType.allCases {
            if let link = try? Files.readLink("\(base)/ns/\(type.rawValue)"), let inode = NamespaceLink.inode(link) {
                namespaces[type] = inode
            }
        }
        let cgroups = (try? Files.readText(base + "/cgroup", limit: 64 << 10)).map(CgroupFileParser.parse) ?? []
        return ProcessRecord(
            pid: pid, parentPID: status.parentPID ?? 0, name: SafeText.decode(Array((status.name ?? "").utf8)),
            command: command, namespaces: namespaces, cgroups: cgroups, status: status)
    }

    /// Every numeric entry of /proc, read. Processes that exit during the walk are skipped.
    static func readAll(root: HostRoot) throws -> [Int: ProcessRecord] {
        let names = try Files.list(root.proc)
        var table: [Int: ProcessRecord] = [:]
        table.reserveCapacity(names.count)
        for name in names {
            guard let pid = Int(name), let record = read(pid: pid, root: root) else { continue }
            table[pid] = record
        }
        return table
    }
}
