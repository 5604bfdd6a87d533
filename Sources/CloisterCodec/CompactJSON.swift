// A compact JSON encoder with sorted keys for the public contract (scan and check reports). It writes what Foundation's
// JSONEncoder writes with [.sortedKeys, .withoutEscapingSlashes] (keys in UTF-8 byte order,
// the same string escapes, `JSONString.Style.foundation`), byte for byte — a test holds it to that — at a fraction of the
// cost: encoding thousands of postures was most of `check`'s run time.

import Synchronization

/// A value a `CompactJSON.Memo` may render once for every place that holds the same storage:
/// values whose copies share an immutable buffer (arrays never written in place).
public protocol StorageSharingEncodable: Encodable {
    /// The address of the storage this value shares with its copies.
    var storageAddress: UInt { get }
}

public enum CompactJSON {
    /// `memo`: long string lists rendered once and reused, for values encoded one after another
    /// that share them (a scan's postures all hold the same decoded seccomp filter: about 1,000
    /// system-call names each, half of a 200-container report).
    public static func encode<T: Encodable>(_ value: T, memo: Memo? = nil) throws -> [UInt8] {
        let root: Value = try box(value, codingPath: [], memo: memo)
        var output: [UInt8] = []
        output.reserveCapacity(4096)
        write(root, into: &output)
        return output
    }

    /// A value; only containers are allocated objects, scalars stay inline.
    enum Value {
        case null
        case literal(String)
        case string(String)
        case container(Node)
    }

    /// A keyed or unkeyed container, filled while the value encodes itself.
    final class Node {
        enum Kind { case empty, array, object, single }
        var kind: Kind = .empty
        var single: Value = .null
        var elements: [Value] = []
        var members: [(key: String, value: Value)] = []
        init() {}
    }

    /// Rendered `[String]` values of at least `minimumCount` items, by the array's storage: two
    /// arrays that share storage hold the same strings (storage shared is never written in
    /// place), so the second is not rendered again. Each entry keeps its array, so the storage
    /// cannot be freed and reused by another array while the memo lives. Shared by the threads
    /// that encode a report's pieces.
    public final class Memo: Sendable {
        static let minimumCount = 32
        private let entries = Mutex(StorageKeyedCache<String, String>())
        /// The types whose values are rendered once per storage (`StorageSharingEncodable`).
        private let sharedTypes: [ObjectIdentifier]
        private let sharedEntries = Mutex<[SharedKey: SharedEntry]>([:])
        struct SharedKey: Hashable {
            var type: ObjectIdentifier
            var storage: UInt
        }
        struct SharedEntry: @unchecked Sendable {
            /// Kept so its storage is not freed and reused while the memo lives.
            var value: any StorageSharingEncodable
            var text: String
        }

        /// `sharing`: types besides `[String]` whose values, when they share storage, are
        /// rendered once (a decoded seccomp stack's per-architecture lists, shared by every
        /// workload that runs under the same filter).
        public init(sharing: [any StorageSharingEncodable.Type] = []) {
            sharedTypes = sharing.map { ObjectIdentifier($0) }
        }

        /// How many shared values were rendered (for the tests: once per storage).
        var sharedRendered: Int { sharedEntries.withLock { $0.count } }

        func shares<T>(_ type: T.Type) -> Bool { !sharedTypes.isEmpty && sharedTypes.contains(ObjectIdentifier(type)) }

        func text<T: Encodable>(forShared value: T, storage: UInt, codingPath: [any CodingKey]) throws -> String {
            let key = SharedKey(type: ObjectIdentifier(T.self), storage: storage)
            if let known = sharedEntries.withLock({ $0[key] }) { return known.text }
            var output: [UInt8] = []
            CompactJSON.write(try CompactJSON.encoded(value, codingPath: codingPath, memo: self), into: &output)
            let text = String(decoding: output, as: UTF8.self)
            if let shared = value as? any StorageSharingEncodable {
                sharedEntries.withLock { $0[key] = SharedEntry(value: shared, text: text) }
            }
            return text
        }

        func text(for strings: [String]) -> String {
            if let known = entries.withLock({ $0.product(for: strings) }) { return known }
            let text = CompactJSON.literal(strings)
            entries.withLock { $0.keep(text, for: strings) }
            return text
        }
    }

    static func box<T: Encodable>(_ value: T, codingPath: [any CodingKey], memo: Memo?) throws -> Value {
        // Compared by metatype first, not with a bare `as?`: a failing dynamic cast per
        // candidate type, seven for every struct, was a fifth of encoding a scan report. Only
        // a value whose type matched is cast, and a cast to its own type is the runtime's
        // shortest path (and folds away where `box` is specialised).
        switch ObjectIdentifier(T.self) {
        case ObjectIdentifier(String.self): if let text = value as? String { return .string(text) }
        case ObjectIdentifier(Bool.self): if let flag = value as? Bool { return .literal(flag ? "true" : "false") }
        case ObjectIdentifier(Int.self): if let number = value as? Int { return .literal(String(number)) }
        case ObjectIdentifier(UInt32.self): if let number = value as? UInt32 { return .literal(String(number)) }
        case ObjectIdentifier(UInt64.self): if let number = value as? UInt64 { return .literal(String(number)) }
        case ObjectIdentifier(Int64.self): if let number = value as? Int64 { return .literal(String(number)) }
        case ObjectIdentifier(Double.self): if let number = value as? Double { return .literal(format(number)) }
        case ObjectIdentifier([String].self):
            if let strings = value as? [String] {
                if let memo, strings.count >= Memo.minimumCount { return .literal(memo.text(for: strings)) }
                // Written at once, without a node and a boxed value per element: a declared
                // posture has a dozen such lists, most of them empty.
                return .literal(literal(strings))
            }
        case ObjectIdentifier([String: String].self):
            if let members = value as? [String: String] { return .literal(literal(members)) }
        default:
            if let memo, memo.shares(T.self), let shared = value as? any StorageSharingEncodable {
                return .literal(try memo.text(forShared: value, storage: shared.storageAddress, codingPath: codingPath))
            }
        }
        return try encoded(value, codingPath: codingPath, memo: memo)
    }

    /// The value encoding itself (no memo lookup for the value as a whole).
    static func encoded<T: Encodable>(_ value: T, codingPath: [any CodingKey], memo: Memo?) throws -> Value {
        // Every other type (and, never in practice, a scalar whose cast failed) encodes itself.
        let encoder = NodeEncoder(codingPath: codingPath, memo: memo)
        try value.encode(to: encoder)
        switch encoder.node.kind {
        case .single: return encoder.node.single
        case .empty:
            encoder.node.kind = .object
            return .container(encoder.node)
        case .array, .object: return .container(encoder.node)
        }
    }

    /// `[String]` as `write` writes an array node of its strings.
    static func literal(_ strings: [String]) -> String {
        if strings.isEmpty { return "[]" }
        var output: [UInt8] = [UInt8(ascii: "[")]
        for (index, text) in strings.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            writeString(text, into: &output)
        }
        output.append(UInt8(ascii: "]"))
        return String(decoding: output, as: UTF8.self)
    }

    /// `[String: String]` as `write` writes an object node of its members (keys in UTF-8 order).
    static func literal(_ members: [String: String]) -> String {
        if members.isEmpty { return "{}" }
        var output: [UInt8] = [UInt8(ascii: "{")]
        for (index, key) in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            writeString(key, into: &output)
            output.append(UInt8(ascii: ":"))
            writeString(members[key] ?? "", into: &output)
        }
        output.append(UInt8(ascii: "}"))
        return String(decoding: output, as: UTF8.self)
    }

    static func format(_ number: Double) -> String {
        if number.rounded() == number, abs(number) < 9_007_199_254_740_992 { return String(Int64(number)) }
        return number.description
    }

    static func write(_ value: Value, into output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .literal(let text): output.append(contentsOf: text.utf8)
        case .string(let text): writeString(text, into: &output)
        case .container(let node): write(node, into: &output)
        }
    }

    static func write(_ node: Node, into output: inout [UInt8]) {
        switch node.kind {
        case .single: write(node.single, into: &output)
        case .array:
            output.append(UInt8(ascii: "["))
            for (index, element) in node.elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(element, into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object:
            output.append(UInt8(ascii: "{"))
            let sorted = node.members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            for (index, member) in sorted.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(member.key, into: &output)
                output.append(UInt8(ascii: ":"))
                write(member.value, into: &output)
            }
            output.append(UInt8(ascii: "}"))
        case .empty:
            output.append(contentsOf: "{}".utf8)
        }
    }

    static func writeString(_ text: String, into output: inout [UInt8]) {
        JSONString.write(text, into: &output, style: .foundation)
    }

    final class NodeEncoder: Encoder, SingleValueEncodingContainer {
        let node = Node()
        let codingPath: [any CodingKey]
        let memo: Memo?
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        init(codingPath: [any CodingKey], memo: Memo?) {
            self.codingPath = codingPath
            self.memo = memo
        }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            if node.kind == .empty { node.kind = .object }
            return KeyedEncodingContainer(Keyed<Key>(node: node, codingPath: codingPath, memo: memo))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            if node.kind == .empty { node.kind = .array }
            return Unkeyed(node: node, codingPath: codingPath, memo: memo)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer { self }

        func set(_ value: Value) {
            node.kind = .single
            node.single = value
        }

        func encodeNil() throws { set(.null) }
        func encode(_ value: Bool) throws { set(.literal(value ? "true" : "false")) }
        func encode(_ value: String) throws { set(.string(value)) }
        func encode(_ value: Double) throws { set(.literal(CompactJSON.format(value))) }
        func encode(_ value: Float) throws { set(.literal(CompactJSON.format(Double(value)))) }
        func encode(_ value: Int) throws { set(.literal(String(value))) }
        func encode(_ value: Int8) throws { set(.literal(String(value))) }
        func encode(_ value: Int16) throws { set(.literal(String(value))) }
        func encode(_ value: Int32) throws { set(.literal(String(value))) }
        func encode(_ value: Int64) throws { set(.literal(String(value))) }
        func encode(_ value: UInt) throws { set(.literal(String(value))) }
        func encode(_ value: UInt8) throws { set(.literal(String(value))) }
        func encode(_ value: UInt16) throws { set(.literal(String(value))) }
        func encode(_ value: UInt32) throws { set(.literal(String(value))) }
        func encode(_ value: UInt64) throws { set(.literal(String(value))) }
        func encode<T: Encodable>(_ value: T) throws { set(try CompactJSON.box(value, codingPath: codingPath, memo: memo)) }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        let codingPath: [any CodingKey]
        let memo: Memo?

        mutating func encodeNil(forKey key: Key) throws { node.members.append((key.stringValue, .null)) }
        // The common scalars directly, without the generic path.
        mutating func encode(_ value: String, forKey key: Key) throws { node.members.append((key.stringValue, .string(value))) }
        mutating func encode(_ value: Bool, forKey key: Key) throws {
            node.members.append((key.stringValue, .literal(value ? "true" : "false")))
        }
        mutating func encode(_ value: Int, forKey key: Key) throws { node.members.append((key.stringValue, .literal(String(value)))) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { node.members.append((key.stringValue, .literal(String(value)))) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { node.members.append((key.stringValue, .literal(String(value)))) }
        mutating func encode(_ value: Double, forKey key: Key) throws {
            node.members.append((key.stringValue, .literal(CompactJSON.format(value))))
        }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            node.members.append((key.stringValue, try CompactJSON.box(value, codingPath: codingPath, memo: memo)))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey>
        {
            let child = Node()
            child.kind = .object
            node.members.append((key.stringValue, .container(child)))
            return KeyedEncodingContainer(Keyed<NestedKey>(node: child, codingPath: codingPath, memo: memo))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let child = Node()
            child.kind = .array
            node.members.append((key.stringValue, .container(child)))
            return Unkeyed(node: child, codingPath: codingPath, memo: memo)
        }

        mutating func superEncoder() -> any Encoder {
            guard let key = Key(stringValue: "super") else { return NodeEncoder(codingPath: codingPath, memo: memo) }
            return superEncoder(forKey: key)
        }

        mutating func superEncoder(forKey key: Key) -> any Encoder {
            let encoder = NodeEncoder(codingPath: codingPath, memo: memo)
            node.members.append((key.stringValue, .container(encoder.node)))
            return encoder
        }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]
        let memo: Memo?
        var count: Int { node.elements.count }

        mutating func encodeNil() throws { node.elements.append(.null) }
        mutating func encode(_ value: String) throws { node.elements.append(.string(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws { node.elements.append(try CompactJSON.box(value, codingPath: codingPath, memo: memo)) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let child = Node()
            child.kind = .object
            node.elements.append(.container(child))
            return KeyedEncodingContainer(Keyed<NestedKey>(node: child, codingPath: codingPath, memo: memo))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let child = Node()
            child.kind = .array
            node.elements.append(.container(child))
            return Unkeyed(node: child, codingPath: codingPath, memo: memo)
        }

        mutating func superEncoder() -> any Encoder {
            let encoder = NodeEncoder(codingPath: codingPath, memo: memo)
            node.elements.append(.container(encoder.node))
            return encoder
        }
    }
}
