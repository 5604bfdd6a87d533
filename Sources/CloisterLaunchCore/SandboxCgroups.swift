#if canImport(Glibc)
import Glibc
#endif

/// Where a workload's limits are written: one directory per hierarchy that holds a needed
/// controller. On a pure v2 host that is one directory under the unified mount; on a hybrid
/// host (v1 controllers beside `/sys/fs/cgroup/unified`) each controller is taken from v2 when
/// enabled there and from its v1 hierarchy otherwise.
public struct SandboxCgroups: Sendable, Equatable {
    public struct Setting: Sendable, Equatable {
        public var file: String
        public var value: String
    }

    public struct Directory: Sendable, Equatable {
        public var path: String
        /// Files to write, in order.
        public var settings: [Setting]
        public var version: String
    }

    public var directories: [Directory]

    public static func uniqueName() -> String { "launch-\(getpid())-\(UInt32.random(in: 0...UInt32.max))" }

    /// Plans directories `cloister/<name>` for the limits asked. Fails closed when a
    /// controller is in no hierarchy.
    public static func plan(
        memoryMax: UInt64?, pidsMax: UInt64?, cpuQuota: UInt64?, cpuPeriod: UInt64?,
        root: String, name: String = uniqueName()
    ) throws(SandboxFailure) -> SandboxCgroups {
        // The v2 mount: the root itself on a pure v2 host, `unified` on a hybrid one.
        let v2: String? =
            if access(root + "/cgroup.controllers", F_OK) == 0 { root }
            else if access(root + "/unified/cgroup.controllers", F_OK) == 0 { root + "/unified" }
            else { nil }
        let v2Controllers = (v2.flatMap { SmallFiles.read($0 + "/cgroup.controllers") } ?? "").split(separator: " ").map(String.init)
        var v2Settings: [Setting] = []
        var v1: [(controller: String, settings: [Setting])] = []

        func place(_ controller: String, v2File: String, v2Value: String, v1Controller: String, v1Settings: [(String, String)]) throws(SandboxFailure) {
            if v2 != nil, v2Controllers.contains(controller) {
                v2Settings.append(Setting(file: v2File, value: v2Value))
            } else if access("\(root)/\(v1Controller)/cgroup.procs", F_OK) == 0 {
                let settings = v1Settings.map { Setting(file: $0.0, value: $0.1) }
                if let index = v1.firstIndex(where: { $0.controller == v1Controller }) {
                    v1[index].settings += settings
                } else {
                    v1.append((v1Controller, settings))
                }
            } else {
                throw SandboxFailure(
                    step: "cgroup \(controller) limit", reason: "no cgroup hierarchy under \(root) offers the \(controller) controller")
            }
        }
        if let memoryMax {
            try place("memory", v2File: "memory.max", v2Value: String(memoryMax), v1Controller: "memory",
                      v1Settings: [("memory.limit_in_bytes", String(memoryMax))])
        }
        if let pidsMax {
            try place("pids", v2File: "pids.max", v2Value: String(pidsMax), v1Controller: "pids", v1Settings: [("pids.max", String(pidsMax))])
        }
        if let cpuQuota {
            let period = cpuPeriod ?? 100_000
            try place("cpu", v2File: "cpu.max", v2Value: "\(cpuQuota) \(period)", v1Controller: "cpu",
                      v1Settings: [("cpu.cfs_period_us", String(period)), ("cpu.cfs_quota_us", String(cpuQuota))])
        }
        var directories: [Directory] = []
        if let v2, !v2Settings.isEmpty {
            directories.append(Directory(path: "\(v2)/cloister/\(name)", settings: v2Settings, version: "v2"))
        }
        for (controller, settings) in v1.sorted(by: { $0.controller < $1.controller }) {
            directories.append(Directory(path: "\(root)/\(controller)/cloister/\(name)", settings: settings, version: "v1"))
        }
        return SandboxCgroups(directories: directories)
    }

    /// Creates the directories and writes the limits. The v2 parent must delegate the
    /// controllers to its children (`+memory` in cgroup.subtree_control) for the files to exist.
    public func create() throws(SandboxFailure) {
        func mkdirFailure(_ path: String) -> SandboxFailure {
            let code = errno
            return SandboxFailure(
                step: "cgroup",
                reason: "mkdir \(path): \(String(cString: strerror(code)))"
                    + (code == EACCES ? " (without root, limits need a delegated cgroup; --no-cgroup sets none)" : ""))
        }
        for directory in directories {
            let parent = String(directory.path[..<(directory.path.lastIndex(of: "/") ?? directory.path.endIndex)])
            if mkdir(parent, 0o755) != 0 && errno != EEXIST { throw mkdirFailure(parent) }
            if directory.version == "v2" {
                var controllers: [String] = []
                for setting in directory.settings {
                    let controller = String(setting.file.split(separator: ".")[0])
                    if !controllers.contains(controller) { controllers.append(controller) }
                }
                let line = controllers.sorted().map { "+\($0)" }.joined(separator: " ")
                let grand = String(parent[..<(parent.lastIndex(of: "/") ?? parent.endIndex)])
                for level in [grand, parent] {
                    try Self.write(line, to: level + "/cgroup.subtree_control", control: "cgroup controllers \(line)")
                }
            }
            if mkdir(directory.path, 0o755) != 0 && errno != EEXIST { throw mkdirFailure(directory.path) }
            for setting in directory.settings {
                try Self.write(setting.value, to: directory.path + "/" + setting.file, control: "cgroup \(setting.file)")
            }
        }
    }

    /// Removes the directories (they must be empty of processes: after the workload exits).
    public func remove() {
        for directory in directories { rmdir(directory.path) }
    }

    public var procsFiles: [String] { directories.map { $0.path + "/cgroup.procs" } }

    private static func write(_ value: String, to path: String, control: String) throws(SandboxFailure) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SandboxFailure(step: control, reason: "open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let written = value.withCString { Glibc.write(fd, $0, strlen($0)) }
        if written < 0 {
            throw SandboxFailure(step: control, reason: "write \(value) to \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// Small reads of /proc and /sys with plain system calls.
public enum SmallFiles {
    /// The file's text with trailing newlines and spaces removed, or nil when it cannot be read.
    public static func read(_ path: String, limit: Int = 4096) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: limit)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, limit) }
        guard count >= 0 else { return nil }
        var text = String(decoding: buffer[0..<count], as: UTF8.self)
        while text.last == "\n" || text.last == " " { text.removeLast() }
        return text
    }
}
