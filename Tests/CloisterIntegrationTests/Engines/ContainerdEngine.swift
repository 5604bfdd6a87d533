import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A containerd of the tests' own, started as a child of the test process and stopped by its PID,
/// its socket, root and state in a private directory. Containers are started with `ctr run
/// --rootfs` on the busybox rootfs of test-assets/ (no image store, no registry), so runc keeps
/// their state in containerd's runc root, /run/containerd/runc/NAMESPACE, as for any client.
final class ContainerdEngine: @unchecked Sendable {
    static let namespace = "cloister-it"

    let directory: URL
    let containerd: BackgroundProcess
    var socket: String { directory.appendingPathComponent("containerd.sock").path }
    private var containers: [String] = []
    private let lock = NSLock()

    /// Starts containerd with its socket, root and state in `directory` (a new one under /tmp
    /// by default), once its socket exists.
    static func start(directory: URL? = nil, extraArguments: [String] = []) throws -> ContainerdEngine {
        let directory = directory ?? URL(fileURLWithPath: "/tmp").appendingPathComponent(uniqueName("containerd"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let socket = directory.appendingPathComponent("containerd.sock").path
        let containerd = try BackgroundProcess(
            ["containerd", "--address", socket,
             "--root", directory.appendingPathComponent("root").path,
             "--state", directory.appendingPathComponent("state").path] + extraArguments,
            log: directory.appendingPathComponent("containerd.log"))
        let engine = ContainerdEngine(directory: directory, containerd: containerd)
        guard wait(timeout: 30, { FileManager.default.fileExists(atPath: socket) || !containerd.isRunning }),
            containerd.isRunning
        else {
            let log = containerd.log
            engine.stop()
            throw HarnessError("containerd did not start: \(log.suffix(2000))")
        }
        return engine
    }

    private init(directory: URL, containerd: BackgroundProcess) {
        self.directory = directory
        self.containerd = containerd
    }

    @discardableResult
    func ctr(_ arguments: [String], timeout: Int = 60, check: Bool = true) throws -> CommandResult {
        try Shell.run(["ctr", "--address", socket, "--namespace", Self.namespace] + arguments, timeout: timeout, check: check)
    }

    /// `ctr run -d FLAGS --rootfs ROOTFS NAME sleep 1000`, once its init runs.
    func run(_ label: String, flags: [String] = []) throws -> CtrContainer {
        let name = uniqueName(label)
        lock.lock()
        containers.append(name)
        lock.unlock()
        // `--rootfs` makes the first argument a root directory instead of an image; flags go
        // before the arguments (ctr stops reading flags at the first).
        try ctr(["run", "-d"] + flags + ["--rootfs", Paths.rootfs.path, name, "/bin/sleep", "1000"])
        var pid: Int32 = 0
        _ = wait(timeout: 10) {
            let tasks = (try? self.ctr(["task", "ls"], check: false))?.stdout ?? ""
            for line in tasks.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                if fields.count >= 3, fields[0] == name, fields[2] == "RUNNING", let found = Int32(fields[1]) { pid = found }
            }
            return pid > 0
        }
        guard pid > 0, ProcFS.exists(pid) else { throw HarnessError("ctr container \(name) is not running") }
        return CtrContainer(engine: self, name: name, pid: pid)
    }

    /// Kills the task, deletes it once it has exited, and deletes the container.
    func remove(_ name: String) {
        lock.lock()
        let known = containers.contains(name)
        containers.removeAll { $0 == name }
        lock.unlock()
        guard known, containerd.isRunning else { return }
        _ = try? ctr(["task", "kill", "--signal", "SIGKILL", name], check: false)
        _ = wait(timeout: 10) { (try? self.ctr(["task", "delete", name], check: false))?.succeeded == true }
        _ = try? ctr(["container", "delete", name], check: false)
    }

    /// Removes the containers, stops containerd by its PID and the shims it started (found by
    /// their `-address` in the private directory), and removes that directory. Safe twice.
    func stop() {
        lock.lock()
        let names = containers
        lock.unlock()
        names.forEach(remove)
        containerd.stop(grace: 10)
        EngineProcesses.killShims(under: directory.path)
        EngineProcesses.unmount(under: directory.path)
        try? FileManager.default.removeItem(at: directory)
        // runc's state directory for the namespace, empty once every container is deleted.
        rmdir("/run/containerd/runc/\(Self.namespace)")
    }

    deinit { stop() }
}

struct CtrContainer: Workload {
    let engine: ContainerdEngine
    let name: String
    let pid: Int32

    func stop() { engine.remove(name) }
}

/// Cleanup shared by the engines' support routines.
enum EngineProcesses {
    /// SIGKILL to every containerd shim whose command line names a path under `directory`
    /// (they outlive a stopped containerd by design).
    static func killShims(under directory: String) {
        for pid in ProcFS.allPIDs() {
            guard let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8),
                command.hasPrefix("/usr/bin/containerd-shim"), command.contains(directory + "/")
            else { continue }
            kill(pid, SIGKILL)
        }
    }

    /// Lazily unmounts `path` and every mount point below it, deepest first (dockerd binds its
    /// data root over itself).
    static func unmount(under path: String) {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return }
        let points = text.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            let point = String(fields[4])
            return point == path || point.hasPrefix(path + "/") ? point : nil
        }
        for point in points.sorted(by: { $0.count > $1.count }) { umount2(point, 2) }  // MNT_DETACH
    }
}
