/// What was made from an array (its rendered text, its tree), kept by the array's storage: arrays
/// that share storage hold the same elements, since shared storage is never written in place,
/// so what was made from one serves every copy. Each entry keeps its array, so the storage cannot
/// be freed and reused by another array while the entry lives. With a `limit`, the cache is
/// emptied when full, so a long-running process holds only recent arrays.
///
/// The renderers of a report's shared lists use it: a decoded filter stack's syscall lists (every
/// workload under one filter shares them), a rule's references (every finding of the rule).
public struct StorageKeyedCache<Element, Product> {
    private struct Key: Hashable {
        var storage: UInt
        var count: Int
    }

    private var entries: [Key: (array: [Element], product: Product)] = [:]
    public let limit: Int?

    public init(limit: Int? = nil) {
        self.limit = limit
    }

    public var count: Int { entries.count }

    private static func key(_ array: [Element]) -> Key {
        Key(storage: array.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }, count: array.count)
    }

    /// What was made from `array`'s storage, if anything was.
    public func product(for array: [Element]) -> Product? {
        entries[Self.key(array)]?.product
    }

    /// Keeps `product` for `array`'s storage, and the array with it.
    public mutating func keep(_ product: Product, for array: [Element]) {
        if let limit, entries.count >= limit { entries.removeAll() }
        entries[Self.key(array)] = (array, product)
    }

    /// What was made from `array`'s storage, made now if nothing was.
    public mutating func product(for array: [Element], make: ([Element]) throws -> Product) rethrows -> Product {
        if let known = product(for: array) { return known }
        let made = try make(array)
        keep(made, for: array)
        return made
    }
}

extension StorageKeyedCache: @unchecked Sendable where Element: Sendable, Product: Sendable {}
