import Dispatch
import Foundation
import Synchronization

/// The one thread `serve`'s rescans run on, one at a time, at a lowered priority (`--rescan-nice`,
/// default 10): on a two-core node a rescan takes one core at most, and an admission request (a
/// webhook with a deadline, between a user and their deployment) preempts it on any core. Never
/// waited for when serve stops: a scan only reads, so a scan in progress at SIGTERM is dropped (a
/// rescan slowed by a busy node must not hold the exit back), where a thread pool's graceful
/// shutdown would wait for it.
final class RescanThread: Sendable {
    private let queue = Mutex<[@Sendable () -> Void]>([])
    private let ready = DispatchSemaphore(value: 0)
    /// Whether the thread runs at `nice` yet, or why it could not be lowered.
    enum Priority: Sendable {
        case pending, lowered
        case unchanged(why: String)
    }

    let priority = Mutex(Priority.pending)
    let nice: Int32

    init(nice: Int32) {
        self.nice = nice
        let thread = Thread { [self] in
            let failure = RescanPriority.lowerCallingThread(to: nice)
            priority.withLock { $0 = failure.map { .unchanged(why: $0) } ?? .lowered }
            while true {
                ready.wait()
                let job = queue.withLock { $0.removeFirst() }
                job()
            }
        }
        thread.name = "cloister-rescan"
        thread.start()
    }

    /// Runs `body` on the rescan thread and returns what it returns. When the calling task is
    /// cancelled first, throws `CancellationError` at once; `body` then still runs to its end
    /// on the rescan thread, and its result is dropped.
    func run<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        let waiting = Mutex<Waiting<Value>>(.notYet)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                let cancelled = waiting.withLock { state -> Bool in
                    if case .cancelled = state { return true }
                    state = .waiting(continuation)
                    return false
                }
                if cancelled {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                submit {
                    let result = Result { try body() }
                    waiting.withLock { $0.take() }?.resume(with: result)
                }
            }
        } onCancel: {
            waiting.withLock { $0.cancel() }?.resume(throwing: CancellationError())
        }
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        queue.withLock { $0.append(job) }
        ready.signal()
    }

    /// Whoever takes the continuation resumes it: the job's end or the cancellation, once.
    private enum Waiting<Value: Sendable>: Sendable {
        case notYet
        case waiting(CheckedContinuation<Value, any Error>)
        case cancelled
        case done

        mutating func take() -> CheckedContinuation<Value, any Error>? {
            guard case .waiting(let continuation) = self else { return nil }
            self = .done
            return continuation
        }

        mutating func cancel() -> CheckedContinuation<Value, any Error>? {
            switch self {
            case .notYet:
                self = .cancelled
                return nil
            case .waiting(let continuation):
                self = .done
                return continuation
            case .cancelled, .done:
                return nil
            }
        }
    }
}

/// The rescan thread's priority. Linux keeps a nice value per thread: `setpriority` for
/// `PRIO_PROCESS` and id 0 changes the calling thread alone (setpriority(2), "BUGS"), so the
/// request handlers keep nice 0.
enum RescanPriority {
    /// nil when lowered (or nothing to do); else why not (the rescans then keep the normal priority).
    static func lowerCallingThread(to nice: Int32) -> String? {
        if nice == 0 { return nil }
        if setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice) == 0 { return nil }
        return String(cString: strerror(errno))
    }
}
