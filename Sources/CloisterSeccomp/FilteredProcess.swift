import CCloisterShim
import Glibc

/// Starting a command under a seccomp BPF program: fork, no_new_privs, the filter, exec, with
/// nothing but async-signal-safe calls in the child (the C shim does that part).
public enum FilteredProcess {
    /// Runs `command` (looked up in PATH) under `program` and waits. Returns the wait status
    /// decoded as a shell would: the exit code, or 128 + the signal.
    public static func run(_ command: [String], program: [UInt8]) throws -> Int32 {
        let pid = try spawn(command, program: program, flags: 0)
        return waitForExit(pid)
    }

    /// Starts `command` under `program` without waiting: the caller reaps the child.
    public static func start(_ command: [String], program: [UInt8]) throws -> pid_t {
        try spawn(command, program: program, flags: 0)
    }

    static func spawn(_ command: [String], program: [UInt8], flags: UInt32) throws -> pid_t {
        guard let file = command.first else { throw SeccompError("run: empty command", code: EINVAL) }
        // Built before the fork: the child must not allocate.
        var arguments: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) }
        arguments.append(nil)
        defer { for pointer in arguments { free(pointer) } }
        let pid = program.withUnsafeBytes { bytes in
            arguments.withUnsafeBufferPointer { argv in
                cl_spawn_filtered(file, argv.baseAddress, bytes.baseAddress, bytes.count, flags)
            }
        }
        if pid < 0 { throw SeccompError("fork for \(file)", code: errno) }
        return pid
    }

    static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 255 }
        }
        let signal = status & 0x7f
        if signal == 0 { return (status >> 8) & 0xff }
        return 128 + signal
    }
}
