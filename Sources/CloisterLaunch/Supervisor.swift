import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// A program `cloister launch` starts and waits for in the foreground: qemu in VM mode, the OCI
/// runtime (`runc run`) in OCI mode. One place for what both modes do around their child:
/// spawn it, turn SIGTERM, SIGINT and SIGHUP into a stop, reap it and report its exit status
/// as a shell does. Not `Sendable`: the child is reaped once, by the thread that waits.
public final class Supervisor {
    /// The child's PID on the host.
    public let pid: pid_t
    /// The signal sources; kept as long as the supervisor, so a signal that arrives while the
    /// child runs always reaches `stop`.
    private var forwarding: [any DispatchSourceSignal] = []

    /// Starts `arguments[0]` (searched in PATH) with `arguments` as its argv and this process's
    /// environment.
    public init(spawning arguments: [String]) throws(SupervisorError) {
        guard let program = arguments.first else { throw SupervisorError(program: "", code: EINVAL) }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let spawned = posix_spawnp(&child, program, nil, nil, argv, environ)
        guard spawned == 0 else { throw SupervisorError(program: program, code: spawned) }
        pid = child
    }

    /// From now on SIGTERM, SIGINT and SIGHUP run `stop` (which ends the child) instead of
    /// killing cloister, so cloister still reaps the child and removes what it set up.
    public func stopOnTermination(_ stop: @escaping @Sendable () -> Void) {
        forwarding = Self.forwardTerminationSignals(stop)
    }

    /// Waits for the child and returns its exit code (128 + the signal when killed).
    public func wait() -> Int32 { Self.reap(pid) }

    /// The child's exit code if it has already exited (it is then reaped), else nil at once.
    public func exitCodeIfExited() -> Int32? {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid ? Self.exitCode(status: status) : nil
    }

    /// Dispatch sources that run `stop` on SIGTERM, SIGINT or SIGHUP; keep them alive. The
    /// signals are ignored from here on, not before: a child started earlier (after execve)
    /// keeps the default dispositions.
    public static func forwardTerminationSignals(_ stop: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
        [SIGTERM, SIGINT, SIGHUP].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: stop)
            source.resume()
            return source
        }
    }

    /// Waits for the child `pid` (retrying when a signal interrupts the wait) and returns its
    /// exit code as a shell reports it: the code, or 128 + the signal that killed it.
    public static func reap(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return exitCode(status: status)
    }

    /// A wait status as a shell reports it: the exit code, or 128 + the signal.
    public static func exitCode(status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

/// A supervised program that could not be started: nothing was.
public struct SupervisorError: Error, CustomStringConvertible, Sendable {
    public var program: String
    /// What posix_spawnp returned (an errno).
    public var code: Int32

    public var description: String {
        "cannot start \(program): \(String(cString: strerror(code))); nothing was started"
    }
}
