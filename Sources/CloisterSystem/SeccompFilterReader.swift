#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CCloisterShim

/// Reads the seccomp filters a thread runs under, as the kernel holds them
/// (PTRACE_SECCOMP_GET_FILTER, Linux 4.4+, CONFIG_CHECKPOINT_RESTORE). The request needs the
/// thread in a ptrace stop, so the thread is seized, interrupted, read and detached at once:
/// nothing else is done to it, the wait for the stop is bounded, and a thread another tracer
/// holds is left alone. The caller must have CAP_SYS_ADMIN and run without a filter of its own.
public enum SeccompFilterReader {
    public enum Outcome: Sendable, Equatable {
        /// The programs, most recently installed first (the request's index 0), 8 bytes an
        /// instruction in the host's byte order.
        case filters([[UInt8]])
        /// Why they could not be read. Never a guess.
        case unknown(String)
    }

    /// How long a thread may take to reach the stop before the read gives up on it.
    public static let stopTimeoutMicroseconds = 250_000
    /// The kernel caps a thread's filters at 32,768 instructions in all (MAX_INSNS_PER_PATH),
    /// each at least one: more indices than this cannot exist.
    static let maximumFilters = 32_768

    /// The filters of thread `tid`. `tracerPID` is the TracerPid its status shows: a thread
    /// being traced is not touched.
    public static func read(thread tid: Int32, tracerPID: Int) -> Outcome {
        if let refused = interrupt(thread: tid, tracerPID: tracerPID) { return refused }
        return collect(thread: tid)
    }

    /// The filters of each thread, in order. The threads are interrupted a batch at a time and
    /// then waited for, read and detached one after another: each waits for its stop while the
    /// others of its batch reach theirs, so on a busy host (where an interrupted thread must
    /// first be given a CPU) the waits overlap instead of adding up. A thread stays stopped
    /// only until its batch is read (the batch's reads, microseconds each), and every wait is
    /// still bounded by `stopTimeoutMicroseconds`.
    public static func read(threads: [(tid: Int32, tracerPID: Int)], batch: Int = batch) -> [Outcome] {
        var outcomes: [Outcome] = []
        outcomes.reserveCapacity(threads.count)
        var start = 0
        while start < threads.count {
            let group = threads[start..<min(threads.count, start + max(batch, 1))]
            let refused = group.map { interrupt(thread: $0.tid, tracerPID: $0.tracerPID) }
            for (thread, refusal) in zip(group, refused) {
                outcomes.append(refusal ?? collect(thread: thread.tid))
            }
            start += group.count
        }
        return outcomes
    }

    /// Threads interrupted together by `read(threads:)`.
    public static let batch = 16

    /// Seizes and interrupts `tid`; nil when it is now ours to collect, else why not (and it is
    /// left alone).
    static func interrupt(thread tid: Int32, tracerPID: Int) -> Outcome? {
        if tracerPID != 0 {
            return .unknown("thread \(tid) is traced by PID \(tracerPID); its filters are not read while another tracer holds it")
        }
        if cl_ptrace_seize(tid) < 0 {
            let code = errno
            return .unknown("PTRACE_SEIZE of thread \(tid): \(describe(code))")
        }
        // From here on the thread is ours until detached: every path of `collect` detaches.
        if cl_ptrace_interrupt(tid) < 0 {
            let code = errno
            _ = cl_ptrace_detach(tid, 0)
            return .unknown("PTRACE_INTERRUPT of thread \(tid): \(describe(code))")
        }
        return nil
    }

    /// Waits for an interrupted thread's stop, reads its filters and detaches it.
    static func collect(thread tid: Int32) -> Outcome {
        var status: Int32 = 0
        let waited = cl_wait_tracee(tid, &status, stopTimeoutMicroseconds)
        if waited == 0 {
            // Not stopped yet (uninterruptible sleep): detach fails on a running tracee, and
            // the kernel ends the attachment when the scanner exits; said, never hidden.
            let detached = cl_ptrace_detach(tid, 0) == 0
            return .unknown(
                "thread \(tid) did not reach a ptrace stop within \(stopTimeoutMicroseconds / 1000) ms"
                    + (detached ? "" : " (still attached until the scan ends)"))
        }
        if waited < 0 {
            let code = errno
            _ = cl_ptrace_detach(tid, 0)
            return .unknown("waiting for thread \(tid) to stop: \(describe(code))")
        }
        // A stop's status: 0x7f in the low byte, the signal above it, a ptrace event above that.
        guard status & 0xff == 0x7f else { return .unknown("thread \(tid) exited while its filters were read") }
        let signal = (status >> 8) & 0xff
        let event = (status >> 16) & 0xff
        // PTRACE_EVENT_STOP (128) is the interrupt's stop or a group stop; otherwise the stop is
        // a signal's delivery, and the signal is handed back on detach.
        let pendingSignal = event == 128 ? 0 : signal

        var programs: [[UInt8]] = []
        var failure: String?
        // CAP_SYS_ADMIN, dormant in the scanner, is raised in this thread for the requests only.
        Privileges.withEffective(Privileges.filterReadingCapability) {
            for index in 0..<maximumFilters {
                let count = cl_ptrace_seccomp_get_filter(tid, UInt(index), nil)
                if count < 0 {
                    let code = errno
                    // ENOENT: no filter at this index, so every one has been read.
                    if code == ENOENT && index > 0 { break }
                    failure = "PTRACE_SECCOMP_GET_FILTER of thread \(tid), filter \(index): \(describe(code))"
                    break
                }
                var program = [UInt8](repeating: 0, count: Int(count) * 8)
                let copied = program.withUnsafeMutableBytes { cl_ptrace_seccomp_get_filter(tid, UInt(index), $0.baseAddress) }
                if copied != count {
                    failure = "PTRACE_SECCOMP_GET_FILTER of thread \(tid), filter \(index): \(copied < 0 ? describe(errno) : "the filter changed while read")"
                    break
                }
                programs.append(program)
            }
        }
        if cl_ptrace_detach(tid, Int32(pendingSignal)) < 0 {
            let code = errno
            failure = failure ?? "PTRACE_DETACH of thread \(tid): \(describe(code))"
        }
        if let failure { return .unknown(failure) }
        return .filters(programs)
    }

    /// The errno in words, with what it means for this request.
    static func describe(_ code: Int32) -> String {
        let text = "\(String(cString: strerror(code))) (errno \(code))"
        switch code {
        case ESRCH: return text + ": the thread is gone or not in a ptrace stop"
        case EPERM: return text + ": the scanner may not trace it (needs CAP_SYS_PTRACE, or another tracer holds it)"
        case EACCES: return text + ": needs CAP_SYS_ADMIN, and the scanner must itself run without a seccomp filter"
        case EINVAL, EIO: return text + ": this kernel lacks PTRACE_SECCOMP_GET_FILTER (Linux 4.4+, CONFIG_CHECKPOINT_RESTORE)"
        case EMEDIUMTYPE: return text + ": the thread is not in seccomp filter mode"
        default: return text
        }
    }
}
