import Foundation

/// A sandbox started as a child of the test process; `pid` is the sandboxed command itself
/// (the `sleep`), found among the sandbox tool's descendants.
final class SandboxedProcess: Workload, @unchecked Sendable {
    let name: String
    let launcher: BackgroundProcess
    let pid: Int32

    init(name: String, arguments: [String], command: String) throws {
        self.name = name
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).log")
        launcher = try BackgroundProcess(arguments, log: log)
        guard let inner = ProcFS.waitForDescendant(of: launcher.pid, named: command) else {
            launcher.stop()
            throw HarnessError("`\(arguments.joined(separator: " "))` did not start \(command): \(launcher.log)")
        }
        pid = inner
    }

    func stop() {
        launcher.stop()
        try? FileManager.default.removeItem(at: launcher.logURL)
    }
}

enum Bubblewrap {
    /// `bwrap --unshare-all` with the busybox rootfs read-only as /, fresh /proc and /dev.
    /// `descriptor`: a file opened read-only as that descriptor number for bwrap (`--seccomp N`),
    /// through a shell that execs bwrap.
    static func start(
        _ label: String = "bwrap", extraFlags: [String] = [], descriptor: (Int, String)? = nil
    ) throws -> SandboxedProcess {
        var arguments = ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", Paths.rootfs.path, "/",
                         "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"] + extraFlags + ["sleep", "1000"]
        if let (number, path) = descriptor {
            arguments = ["/bin/sh", "-c", "exec \"$@\" \(number)<\"$0\"", path] + arguments
        }
        return try SandboxedProcess(name: uniqueName(label), arguments: arguments, command: "sleep")
    }
}

enum Firejail {
    /// `firejail --noprofile`: firejail's own defaults, no profile from /etc/firejail.
    static func start(_ label: String = "firejail", extraFlags: [String] = []) throws -> SandboxedProcess {
        let name = uniqueName(label)
        return try SandboxedProcess(
            name: name,
            arguments: ["firejail", "--noprofile", "--quiet", "--name=\(name)"] + extraFlags + ["sleep", "1000"],
            command: "sleep")
    }
}
