import Foundation

/// A podman container from the busybox rootfs in test-assets/ (no registry needed).
struct PodmanContainer: Workload {
    let name: String
    let id: String
    let pid: Int32

    /// Flags every podman command needs on these hosts. runc, because crun refuses the hybrid
    /// v1/v2 cgroup layout; cgroupfs and file events, because PID 1 is not systemd.
    static let engineFlags = ["--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
    /// Flags every `podman run` needs here: podman's default nofile and nproc limits are above
    /// the hard limits the session is allowed, and runc then fails with "error setting rlimit".
    static let runFlags = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]

    static func podman(_ arguments: [String], timeout: Int = 120, check: Bool = true) throws -> CommandResult {
        try Shell.run(["podman"] + engineFlags + arguments, timeout: timeout, check: check)
    }

    /// `podman run -d` with `flags`, `sleep 1000` in the busybox rootfs. Returns once the
    /// container's init is running.
    static func run(
        _ label: String, flags: [String] = [], command: [String] = ["sleep", "1000"]
    ) throws -> PodmanContainer {
        let name = uniqueName(label)
        let run = try podman(
            ["run", "-d", "--name", name] + runFlags + flags + ["--rootfs", Paths.rootfs.path] + command)
        let id = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            let inspect = try podman(["inspect", "--format", "{{.State.Pid}} {{.State.Running}}", name])
            let fields = inspect.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            guard fields.count == 2, let pid = Int32(fields[0]), pid > 0, fields[1] == "true", ProcFS.exists(pid) else {
                throw HarnessError("podman container \(name) is not running: \(inspect.stdout)")
            }
            return PodmanContainer(name: name, id: id, pid: pid)
        } catch {
            _ = try? podman(["rm", "-f", "-t", "0", name], check: false)
            throw error
        }
    }

    func stop() {
        _ = try? Self.podman(["rm", "-f", "-t", "0", name], check: false)
    }
}
