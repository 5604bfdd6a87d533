import Dispatch
import Synchronization

/// Maps over items on every core, keeping order: per-process /proc reads, per-posture rule
/// evaluation and per-workload encoding are independent, so they split cleanly. Pure: no I/O.
public enum Parallel {
    private static let serialOnly = Atomic<Bool>(false)

    /// Makes every later `map` run on its caller's thread alone. `serve` sets it: its rescans
    /// run on one thread so that a rescan never takes every core an admission request could
    /// use.
    public static func runSeriallyFromNowOn() {
        serialOnly.store(true, ordering: .relaxed)
    }

    static var runsSerially: Bool { serialOnly.load(ordering: .relaxed) }

    public static func map<Item: Sendable, Result: Sendable>(
        _ items: [Item], _ transform: @Sendable (Item) -> Result
    ) -> [Result] {
        guard items.count > 16, !runsSerially else { return items.map(transform) }
        let slots = Slots<Result>(count: items.count)
        // A few chunks per core keeps the cores busy when some items cost more than others.
        let chunks = min(items.count, 16)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            var index = chunk
            while index < items.count {
                slots.store(transform(items[index]), at: index)
                index += chunks
            }
        }
        return slots.collect()
    }

    /// Each index is written by exactly one iteration and read only after all have finished,
    /// so the buffer needs no lock.
    private final class Slots<Value>: @unchecked Sendable {
        private let buffer: UnsafeMutableBufferPointer<Value?>

        init(count: Int) {
            buffer = .allocate(capacity: count)
            buffer.initialize(repeating: nil)
        }

        deinit {
            buffer.deinitialize()
            buffer.deallocate()
        }

        func store(_ value: Value, at index: Int) { buffer[index] = value }

        func collect() -> [Value] { buffer.map { $0! } }
    }
}
