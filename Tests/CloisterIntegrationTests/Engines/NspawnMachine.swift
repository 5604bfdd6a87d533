import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A systemd-nspawn container: a copy of the busybox rootfs of test-assets/ with an os-release
/// (nspawn refuses a tree without one), started as a child of the test process with
/// `--register=no --keep-unit` (no systemd-machined or systemd as PID 1 needed) and stopped by
/// its PID. `pid` is the container's init, nspawn's child.
final class NspawnMachine: Workload, @unchecked Sendable {
    let machine: String
    let tree: URL
    let nspawn: BackgroundProcess
    let pid: Int32

    static func start(_ label: String, flags: [String] = []) throws -> NspawnMachine {
        let machine = uniqueName(label)
        let directory = URL(fileURLWithPath: "/tmp").appendingPathComponent(machine)
        let tree = directory.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Shell.run(["cp", "-a", Paths.rootfs.path, tree.path])
        try "ID=busybox\nNAME=busybox\n".write(
            to: tree.appendingPathComponent("etc/os-release"), atomically: true, encoding: .utf8)
        let nspawn = try BackgroundProcess(
            ["systemd-nspawn", "--register=no", "--keep-unit", "--console=pipe", "--quiet",
             "-D", tree.path, "-M", machine] + flags + ["/bin/sleep", "1000"],
            log: directory.appendingPathComponent("nspawn.log"))
        let child = ProcFS.waitForDescendant(of: nspawn.pid, named: "sleep", timeout: 20) ?? 0
        guard child > 0, nspawn.isRunning else {
            let log = nspawn.log
            nspawn.stop()
            try? FileManager.default.removeItem(at: directory)
            throw HarnessError("systemd-nspawn did not start its container: \(log.suffix(2000))")
        }
        return NspawnMachine(machine: machine, tree: tree, nspawn: nspawn, pid: child)
    }

    private init(machine: String, tree: URL, nspawn: BackgroundProcess, pid: Int32) {
        self.machine = machine
        self.tree = tree
        self.nspawn = nspawn
        self.pid = pid
    }

    /// SIGTERM to nspawn (it stops its container), SIGKILL after a grace period; then the tree.
    func stop() {
        nspawn.stop(grace: 10)
        try? FileManager.default.removeItem(at: tree.deletingLastPathComponent())
    }

    deinit { stop() }
}
