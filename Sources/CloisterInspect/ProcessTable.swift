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
        return read(pid: pid, root: root, status: status)
    }

    /// A process as a rescan knows it: its record and the start time that tells it from a
    /// later process given the same PID.
    struct Known: Sendable {
        var startTime: UInt64
        var record: ProcessRecord
    }

    /// Reads one process for a rescan: a process known from the last scan (the same PID, start
    /// time and name, so neither a new process on a reused PID nor, mostly, an exec) has its
    /// status read again (identity, capabilities, seccomp, no_new_privs can change without
    /// any signal) and keeps its namespaces, cgroups and arguments. A change of those without
    /// a new process (setns, a cgroup migration) is seen by the next full rescan. nil when it
    /// exited while being read.
    static func read(pid: Int, root: HostRoot, known: [Int: Known]) -> Known? {
        let base = root.pid(pid)
        // Start time first: a process that took this PID after it was read is a new one.
        guard let statBytes = try? Files.read(base + "/stat", limit: 4 << 10), let startTime = ProcStat.startTime(statBytes),
            let statusBytes = try? Files.read(base + "/status", limit: 64 << 10)
        else { return nil }
        let status = statusBytes.withUnsafeBufferPointer { ProcStatus.parse(bytes: $0) }
        if let previous = known[pid], previous.startTime == startTime, previous.record.status.name == status.name {
            var record = previous.record
            record.parentPID = status.parentPID ?? 0
            record.status = status
            return Known(startTime: startTime, record: record)
        }
        return read(pid: pid, root: root, status: status).map { Known(startTime: startTime, record: $0) }
    }

    private static func read(pid: Int, root: HostRoot, status: ProcStatus) -> ProcessRecord? {
        let base = root.pid(pid)
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

    /// Every numeric entry of /proc, read for a rescan (`read(pid:root:known:)`): the table, and
    /// what the next rescan is to know. With `known` empty, every process is read in full.
    static func readAll(root: HostRoot, known: [Int: Known]) throws -> (table: [Int: ProcessRecord], known: [Int: Known]) {
        let pids = try Files.list(root.proc).compactMap { Int($0) }
        let records = Parallel.map(pids) { read(pid: $0, root: root, known: known) }
        var table: [Int: ProcessRecord] = [:]
        var now: [Int: Known] = [:]
        table.reserveCapacity(records.count)
        now.reserveCapacity(records.count)
        for case let entry? in records {
            table[entry.record.pid] = entry.record
            now[entry.record.pid] = entry
        }
        return (table, now)
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

/// `/proc/PID/stat`.
enum ProcStat {
    /// Field 22, the start time in clock ticks since boot: with the PID, it names one process.
    /// The command (field 2) is in parentheses and may hold spaces and parentheses of its own,
    /// so the fields are counted from the last `)`.
    static func startTime(_ bytes: [UInt8]) -> UInt64? {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var field = 2
        var index = close + 1
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: " ") {
                field += 1
                index += 1
                if field == 22 {
                    var value: UInt64 = 0
                    var digits = 0
                    while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                        let (scaled, overflow) = value.multipliedReportingOverflow(by: 10)
                        guard !overflow else { return nil }
                        let (sum, carry) = scaled.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
                        guard !carry else { return nil }
                        value = sum
                        digits += 1
                        index += 1
                    }
                    return digits > 0 ? value : nil
                }
                continue
            }
            index += 1
        }
        return nil
    }
}
