import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct CommandResult: Sendable {
    var arguments: [String]
    var status: Int32
    var stdout: String
    var stderr: String

    var succeeded: Bool { status == 0 }
}

struct CommandFailed: Error, CustomStringConvertible {
    var result: CommandResult
    var description: String {
        let stderr = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        return "`\(result.arguments.joined(separator: " "))` exited with \(result.status)"
            + (stderr.isEmpty ? "" : ": \(stderr)")
    }
}

enum Shell {
    /// Runs a command to completion, looked up in PATH, with no standard input.
    ///
    /// Output goes to temporary files, never pipes: a command that leaves a daemon behind
    /// (`podman run -d`, `runc run -d`, `qemu -daemonize`) hands the pipe to the daemon, and a
    /// reader waiting for end-of-file would hang for as long as the workload lives.
    /// `timeout(1)` bounds every command so a wedged engine fails the test instead of CI.
    @discardableResult
    static func run(_ arguments: [String], timeout seconds: Int = 120, check: Bool = true) throws -> CommandResult {
        precondition(!arguments.isEmpty, "Shell.run needs a command")
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cloister-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outPath = directory.appendingPathComponent("stdout").path
        let errPath = directory.appendingPathComponent("stderr").path

        let pid = try ChildProcess.spawn(
            ["timeout", "--kill-after=10", String(seconds)] + arguments, stdout: outPath, stderr: errPath)
        let status = ChildProcess.waitForExit(pid)
        let result = CommandResult(
            arguments: arguments, status: status,
            stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
        if check, !result.succeeded { throw CommandFailed(result: result) }
        return result
    }

    /// True when `tool` is an executable in PATH.
    static func has(_ tool: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        return path.split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
        }
    }
}

/// posix_spawn and waitpid, instead of Foundation's `Process`: under Swift Testing on Linux,
/// `Process.waitUntilExit()` was seen to hang for good with the child already a zombie (the
/// first harness run here stalled in the first `podman run`). Spawning and reaping by pid has
/// no run loop or SIGCHLD source to miss.
enum ChildProcess {
    /// Starts `arguments` (looked up in PATH) with stdin from /dev/null and stdout/stderr
    /// appended to the given files, with default signal handling and an empty signal mask so
    /// that SIGTERM stops it whatever the test process blocks.
    static func spawn(_ arguments: [String], stdout: String, stderr: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let error = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard error == 0 else {
            throw HarnessError("cannot start \(arguments[0]): \(String(cString: strerror(error)))")
        }
        return pid
    }

    /// Blocks until `pid` (a child of ours) exits; its exit code, or 128 + the signal.
    static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        return decode(status)
    }

    /// The exit status if `pid` has exited (and is now reaped), nil while it runs.
    static func exitStatus(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == 0 { return nil }
        if result < 0 { return -1 }  // not our child any more: already reaped
        return decode(status)
    }

    private static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

/// A long-running child of the test process (a sandbox, a hypervisor that must not fork).
/// Its output goes to a log file kept for failure messages. `stop()` is safe to call twice.
final class BackgroundProcess: @unchecked Sendable {
    let arguments: [String]
    let logURL: URL
    let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?

    init(_ arguments: [String], log: URL) throws {
        self.arguments = arguments
        self.logURL = log
        pid = try ChildProcess.spawn(arguments, stdout: log.path, stderr: log.path)
    }

    var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        if status == nil { status = ChildProcess.exitStatus(pid) }
        return status == nil
    }

    /// The exit status once it has exited (reaped here), nil while it runs.
    var exitStatus: Int32? {
        lock.lock()
        defer { lock.unlock() }
        if status == nil { status = ChildProcess.exitStatus(pid) }
        return status
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// SIGTERM, then SIGKILL if it has not exited within `grace` seconds; always reaped.
    func stop(grace: Double = 5) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if !wait(timeout: grace, { !self.isRunning }) {
            kill(pid, SIGKILL)
            lock.lock()
            if status == nil { status = ChildProcess.waitForExit(pid) }
            lock.unlock()
        }
    }

    deinit { stop(grace: 1) }
}

/// Polls `condition` every 100 ms until it holds or `timeout` seconds pass.
@discardableResult
func wait(timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return true }
        if Date() >= deadline { return false }
        Thread.sleep(forTimeInterval: 0.1)
    }
}

/// Names for workloads: a fixed prefix (so a leftover is recognisable) and a random suffix (so
/// parallel runs and stale leftovers from a killed run never collide).
func uniqueName(_ label: String) -> String {
    let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    return "cloister-it-\(label)-\(suffix)"
}
