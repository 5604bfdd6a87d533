#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// The process-wide services the commands need beside files: standard error, the clocks, the
// environment and exit. Here rather than in CloisterCommands so that the commands call no libc
// themselves (docs/os-layer.md lists who still does, and why).

/// Standard error, for the command line's messages and diagnostics.
public enum StandardError {
    /// One write(2) of the whole text, unbuffered: a message is out before the process exits
    /// (which it often does right after) and is not interleaved with stdio's buffer. A short or
    /// failed write is ignored: there is nowhere left to report it.
    public static func write(_ text: String) {
        var copy = text
        copy.withUTF8 { buffer in _ = Glibc.write(2, buffer.baseAddress, buffer.count) }
    }
}

public enum Clocks {
    public enum Clock: Sendable {
        /// Wall time that never steps back (intervals).
        case monotonic
        /// CPU time of the whole process since exec.
        case processCPU
    }

    /// The clock's reading in seconds.
    public static func seconds(_ clock: Clock) -> Double {
        var now = timespec()
        clock_gettime(clock == .monotonic ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// Now, in UTC, as RFC 3339 to the second (`2025-01-31T12:00:00Z`): from time(2) and
    /// gmtime_r, without Foundation's date formatting, which loads ICU.
    public static func rfc3339Now() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}

public enum ProcessEnvironment {
    /// The variable's value, or nil when it is not set.
    public static func value(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
}

public enum ProcessExit {
    /// Ends the process with `code` through exit(3), so stdio's buffers are flushed.
    public static func now(_ code: Int32) -> Never { Glibc.exit(code) }
}
