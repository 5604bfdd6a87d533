import CloisterModel
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where a workload's limits are written: one directory per hierarchy that holds a needed
/// controller. On a pure v2 host that is one directory under the unified mount; on a hybrid
/// host (v1 controllers beside `/sys/fs/cgroup/unified`) each controller is taken from v2 when
/// enabled there and from its v1 hierarchy otherwise.
public struct CgroupPlan: Sendable {
    public struct Directory: Sendable {
        public var path: String
        /// Files to write, in order: (file name, value).
        public var settings: [(file: String, value: String)]
        public var version: String
    }

    public var directories: [Directory]
    public var limits: CgroupLimits

    public var summary: String {
        directories.map { directory in
            directory.path + " (" + directory.settings.map { "\($0.file)=\($0.value)" }.joined(separator: " ") + ")"
        }.joined(separator: "; ")
    }

    static func read(_ path: String) -> String? {
        PlainFiles.read(path)
    }

    /// Plans directories `cloister/<unique>` for the limits asked. Fails closed when a
    /// controller is in no hierarchy.
    public static func make(limits: CgroupLimits, root: String, name: String = "launch-\(getpid())-\(UInt32.random(in: 0...UInt32.max))") throws -> CgroupPlan {
        // The v2 mount: the root itself on a pure v2 host, `unified` on a hybrid one.
        let v2: String? = {
            if PlainFiles.exists(root + "/cgroup.controllers") { return root }
            if PlainFiles.exists(root + "/unified/cgroup.controllers") { return root + "/unified" }
            return nil
        }()
        let v2Controllers = Set((v2.flatMap { read($0 + "/cgroup.controllers") } ?? "").split(separator: " ").map(String.init))
        var v2Settings: [(file: String, value: String)] = []
        var v1: [String: [(file: String, value: String)]] = [:]

        func place(_ controller: String, v2File: String, v2Value: String, v1Controller: String, v1Settings: [(String, String)]) throws {
            if v2 != nil, v2Controllers.contains(controller) {
                v2Settings.append((v2File, v2Value))
            } else if PlainFiles.exists("\(root)/\(v1Controller)/cgroup.procs") {
                v1[v1Controller, default: []] += v1Settings.map { (file: $0.0, value: $0.1) }
            } else {
                throw LaunchError(
                    control: "cgroup \(controller) limit",
                    reason: "no cgroup hierarchy under \(root) offers the \(controller) controller")
            }
        }
        if case .value(let bytes)? = limits.memoryMax {
            try place("memory", v2File: "memory.max", v2Value: String(bytes), v1Controller: "memory",
                      v1Settings: [("memory.limit_in_bytes", String(bytes))])
        }
        if case .value(let count)? = limits.pidsMax {
            try place("pids", v2File: "pids.max", v2Value: String(count), v1Controller: "pids",
                      v1Settings: [("pids.max", String(count))])
        }
        if case .value(let quota)? = limits.cpuQuota {
            let period = limits.cpuPeriod ?? 100_000
            try place("cpu", v2File: "cpu.max", v2Value: "\(quota) \(period)", v1Controller: "cpu",
                      v1Settings: [("cpu.cfs_period_us", String(period)), ("cpu.cfs_quota_us", String(quota))])
        }
        var directories: [Directory] = []
        if let v2, !v2Settings.isEmpty {
            directories.append(Directory(path: "\(v2)/cloister/\(name)", settings: v2Settings, version: "v2"))
        }
        for (controller, settings) in v1.sorted(by: { $0.key < $1.key }) {
            directories.append(Directory(path: "\(root)/\(controller)/cloister/\(name)", settings: settings, version: "v1"))
        }
        return CgroupPlan(directories: directories, limits: limits)
    }

    /// Creates the directories and writes the limits. The v2 parent must delegate the
    /// controllers to its children (`+memory` in cgroup.subtree_control) for the files to exist.
    public func create() throws {
        for directory in directories {
            let parent = String(directory.path[..<(directory.path.lastIndex(of: "/") ?? directory.path.endIndex)])
            if mkdir(parent, 0o755) != 0 && errno != EEXIST {
                throw LaunchError(
                    control: "cgroup",
                    reason: "mkdir \(parent): \(String(cString: strerror(errno)))"
                        + (errno == EACCES ? " (without root, limits need a delegated cgroup; --no-cgroup sets none)" : ""))
            }
            if directory.version == "v2" {
                let controllers = Set(directory.settings.map { String($0.file.split(separator: ".")[0]) })
                let grand = String(parent[..<(parent.lastIndex(of: "/") ?? parent.endIndex)])
                for level in [grand, parent] {
                    let line = controllers.sorted().map { "+\($0)" }.joined(separator: " ")
                    try write(line, to: level + "/cgroup.subtree_control", control: "cgroup controllers \(line)")
                }
            }
            if mkdir(directory.path, 0o755) != 0 && errno != EEXIST {
                throw LaunchError(
                    control: "cgroup",
                    reason: "mkdir \(directory.path): \(String(cString: strerror(errno)))"
                        + (errno == EACCES ? " (without root, limits need a delegated cgroup; --no-cgroup sets none)" : ""))
            }
            for setting in directory.settings {
                try write(setting.value, to: directory.path + "/" + setting.file, control: "cgroup \(setting.file)")
            }
        }
    }

    /// Removes the directories (they must be empty of processes: after the workload exits).
    public func remove() {
        for directory in directories { rmdir(directory.path) }
    }

    public var procsFiles: [String] { directories.map { $0.path + "/cgroup.procs" } }

    private func write(_ value: String, to path: String, control: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw LaunchError(control: control, reason: "open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let written = value.withCString { Glibc.write(fd, $0, strlen($0)) }
        if written < 0 {
            throw LaunchError(control: control, reason: "write \(value) to \(path): \(String(cString: strerror(errno)))")
        }
    }
}
