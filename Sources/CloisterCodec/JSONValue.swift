/// A posture as the generic tree its JSON form describes, so conditions can address any field
/// by the same path the JSON contract uses. Built by `JSONTreeEncoder` straight from the
/// `Codable` conformance, so a field added to the model is addressable without touching the
/// rules engine, and the names can never drift from the contract.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The value as one line of text, for messages and evidence.
    public var text: String {
        switch self {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let number): return JSONValue.format(number)
        case .string(let string): return string
        case .array(let items): return items.map(\.text).joined(separator: ", ")
        case .object(let members):
            return members.keys.sorted().map { "\($0)=\(members[$0]?.text ?? "")" }.joined(separator: " ")
        }
    }

    /// A number as cloister's tree documents write it: whole numbers without a fraction.
    public static func format(_ number: Double) -> String {
        if number.rounded() == number, abs(number) < 1e18 { return String(Int64(number)) }
        return String(number)
    }

    /// Compact JSON text with sorted keys (deterministic output for reports and tests).
    public func serialized(pretty: Bool = false, indent: Int = 0) -> String {
        var output: [UInt8] = []
        write(into: &output, pretty: pretty, indent: indent)
        return String(decoding: output, as: UTF8.self)
    }

    private func write(into output: inout [UInt8], pretty: Bool, indent: Int) {
        let pad = pretty ? String(repeating: "  ", count: indent + 1) : ""
        let closePad = pretty ? String(repeating: "  ", count: indent) : ""
        let newline = pretty ? "\n" : ""
        switch self {
        case .null: output += "null".utf8
        case .bool(let flag): output += (flag ? "true" : "false").utf8
        case .number(let number): output += JSONValue.format(number).utf8
        case .string(let string): JSONString.write(string, into: &output, style: .strict)
        case .array(let items):
            if items.isEmpty { output += "[]".utf8; return }
            output += ("[" + newline).utf8
            for (index, item) in items.enumerated() {
                output += pad.utf8
                item.write(into: &output, pretty: pretty, indent: indent + 1)
                output += ((index + 1 < items.count ? "," : "") + newline).utf8
            }
            output += (closePad + "]").utf8
        case .object(let members):
            if members.isEmpty { output += "{}".utf8; return }
            output += ("{" + newline).utf8
            let keys = members.keys.sorted()
            for (index, key) in keys.enumerated() {
                output += pad.utf8
                JSONString.write(key, into: &output, style: .strict)
                output += (pretty ? ": " : ":").utf8
                members[key]?.write(into: &output, pretty: pretty, indent: indent + 1)
                output += ((index + 1 < keys.count ? "," : "") + newline).utf8
            }
            output += (closePad + "}").utf8
        }
    }

    /// Objects merged key by key, anything else replaced; `null` in the overlay removes the key.
    public func merging(_ overlay: JSONValue) -> JSONValue {
        guard case .object(var base) = self, case .object(let changes) = overlay else { return overlay }
        for (key, value) in changes {
            if case .null = value {
                base[key] = nil
            } else if let existing = base[key] {
                base[key] = existing.merging(value)
            } else {
                base[key] = value
            }
        }
        return .object(base)
    }
}

extension JSONValue {
    /// Encodes any `Encodable` value (a `Posture`) into a tree, without a round trip through text.
    public static func encode<Value: Encodable>(_ value: Value) throws -> JSONValue {
        let node = TreeNode()
        try value.encode(to: JSONTreeEncoder(node: node, codingPath: []))
        return node.finish()
    }
}

// MARK: - Encoder

final class TreeNode {
    enum Shape { case scalar, object, array }
    var shape: Shape = .scalar
    var scalar: JSONValue = .null
    var members: [String: TreeNode] = [:]
    var items: [TreeNode] = []

    func finish() -> JSONValue {
        switch shape {
        case .scalar: return scalar
        case .object: return .object(members.jsonObject { $0.finish() })
        case .array: return .array(items.map { $0.finish() })
        }
    }

    func becomeObject() {
        if shape != .object { shape = .object; members = [:] }
    }

    func becomeArray() {
        if shape != .array { shape = .array; items = [] }
    }
}

struct JSONTreeEncoder: Encoder {
    let node: TreeNode
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.becomeObject()
        return KeyedEncodingContainer(TreeKeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.becomeArray()
        return TreeUnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        TreeSingleContainer(node: node, codingPath: codingPath)
    }
}

/// Encodes a value into `node`, taking the primitive fast paths where the type allows.
func encodeValue<Value: Encodable>(_ value: Value, into node: TreeNode, codingPath: [any CodingKey]) throws {
    switch value {
    case let string as String: node.scalar = .string(string)
    case let flag as Bool: node.scalar = .bool(flag)
    case let number as Int: node.scalar = .number(Double(number))
    case let number as UInt32: node.scalar = .number(Double(number))
    case let number as UInt64: node.scalar = .number(Double(number))
    case let number as Double: node.scalar = .number(number)
    default: try value.encode(to: JSONTreeEncoder(node: node, codingPath: codingPath))
    }
}

struct TreeKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: TreeNode
    var codingPath: [any CodingKey]

    private func child(_ key: Key) -> TreeNode {
        let child = TreeNode()
        node.members[key.stringValue] = child
        return child
    }

    mutating func encodeNil(forKey key: Key) throws { child(key).scalar = .null }
    mutating func encode(_ value: Bool, forKey key: Key) throws { child(key).scalar = .bool(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { child(key).scalar = .string(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { child(key).scalar = .number(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { child(key).scalar = .number(Double(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { child(key).scalar = .number(Double(value)) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { child(key).scalar = .number(Double(value)) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { child(key).scalar = .number(Double(value)) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { child(key).scalar = .number(Double(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { child(key).scalar = .number(Double(value)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { child(key).scalar = .number(Double(value)) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { child(key).scalar = .number(Double(value)) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { child(key).scalar = .number(Double(value)) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { child(key).scalar = .number(Double(value)) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { child(key).scalar = .number(Double(value)) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try encodeValue(value, into: child(key), codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let nested = child(key)
        nested.becomeObject()
        return KeyedEncodingContainer(TreeKeyedContainer<NestedKey>(node: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = child(key)
        nested.becomeArray()
        return TreeUnkeyedContainer(node: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        let nested = TreeNode()
        node.members["super"] = nested
        return JSONTreeEncoder(node: nested, codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        JSONTreeEncoder(node: child(key), codingPath: codingPath + [key])
    }
}

struct TreeUnkeyedContainer: UnkeyedEncodingContainer {
    let node: TreeNode
    var codingPath: [any CodingKey]
    var count: Int { node.items.count }

    private func next() -> TreeNode {
        let child = TreeNode()
        node.items.append(child)
        return child
    }

    mutating func encodeNil() throws { next().scalar = .null }
    mutating func encode(_ value: Bool) throws { next().scalar = .bool(value) }
    mutating func encode(_ value: String) throws { next().scalar = .string(value) }
    mutating func encode(_ value: Double) throws { next().scalar = .number(value) }
    mutating func encode(_ value: Float) throws { next().scalar = .number(Double(value)) }
    mutating func encode(_ value: Int) throws { next().scalar = .number(Double(value)) }
    mutating func encode(_ value: Int8) throws { next().scalar = .number(Double(value)) }
    mutating func encode(_ value: Int16) throws { next().scalar = .number(Double(value)) }
    mutating func encode(_ value: Int32) throws { next().scalar = .number(Double(value)) }
    mutating func encode(_ value: Int64) throws { next().scalar = .number(Double(value)) }
    mutating func encode(_ value: UInt) throws { next().scalar = .number(Double(value)) }
    mutating func encode(_ value: UInt8) throws { next().scalar = .number(Double(value)) }
    mutating func encode(_ value: UInt16) throws { next().scalar = .number(Double(value)) }
    mutating func encode(_ value: UInt32) throws { next().scalar = .number(Double(value)) }
    mutating func encode(_ value: UInt64) throws { next().scalar = .number(Double(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try encodeValue(value, into: next(), codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = next()
        nested.becomeObject()
        return KeyedEncodingContainer(TreeKeyedContainer<NestedKey>(node: nested, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = next()
        nested.becomeArray()
        return TreeUnkeyedContainer(node: nested, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder { JSONTreeEncoder(node: next(), codingPath: codingPath) }
}

struct TreeSingleContainer: SingleValueEncodingContainer {
    let node: TreeNode
    var codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.scalar = .null }
    mutating func encode(_ value: Bool) throws { node.scalar = .bool(value) }
    mutating func encode(_ value: String) throws { node.scalar = .string(value) }
    mutating func encode(_ value: Double) throws { node.scalar = .number(value) }
    mutating func encode(_ value: Float) throws { node.scalar = .number(Double(value)) }
    mutating func encode(_ value: Int) throws { node.scalar = .number(Double(value)) }
    mutating func encode(_ value: Int8) throws { node.scalar = .number(Double(value)) }
    mutating func encode(_ value: Int16) throws { node.scalar = .number(Double(value)) }
    mutating func encode(_ value: Int32) throws { node.scalar = .number(Double(value)) }
    mutating func encode(_ value: Int64) throws { node.scalar = .number(Double(value)) }
    mutating func encode(_ value: UInt) throws { node.scalar = .number(Double(value)) }
    mutating func encode(_ value: UInt8) throws { node.scalar = .number(Double(value)) }
    mutating func encode(_ value: UInt16) throws { node.scalar = .number(Double(value)) }
    mutating func encode(_ value: UInt32) throws { node.scalar = .number(Double(value)) }
    mutating func encode(_ value: UInt64) throws { node.scalar = .number(Double(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try encodeValue(value, into: node, codingPath: codingPath)
    }
}

/// The members of a JSON object, kept in one array in insertion order. Posture objects are
/// small (at most a few dozen keys) and built once per scan, so a scan of short keys beats
/// hashing them: building a tree and reading a path cost no hashing at all, and an object is a
/// single allocation. Equality ignores order, as JSON's does.
public struct JSONObject: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    struct Member: Sendable {
        var key: String
        var value: JSONValue
    }

    private var members: [Member]

    public init() { members = [] }

    public init(minimumCapacity: Int) {
        members = []
        members.reserveCapacity(minimumCapacity)
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(minimumCapacity: elements.count)
        for (key, value) in elements { self[key] = value }
    }

    public init(_ dictionary: [String: JSONValue]) {
        self.init(minimumCapacity: dictionary.count)
        for key in dictionary.keys.sorted() { self[key] = dictionary[key] }
    }

    /// Appends a member whose key is known not to be there yet.
    mutating func appendDistinct(_ key: String, _ value: JSONValue) {
        members.append(Member(key: key, value: value))
    }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }
    public var keys: [String] { members.map(\.key) }
    public var values: [JSONValue] { members.map(\.value) }

    /// Comparing lengths first (stored in the string, so free) skips the slower string
    /// comparison for almost every key that is not the one sought.
    private func index(of key: String) -> Int? {
        let length = key.utf8.count
        for index in members.indices where members[index].key.utf8.count == length && members[index].key == key {
            return index
        }
        return nil
    }

    public subscript(key: String) -> JSONValue? {
        get {
            guard let index = index(of: key) else { return nil }
            return members[index].value
        }
        set {
            if let index = index(of: key) {
                if let newValue {
                    members[index].value = newValue
                } else {
                    members.remove(at: index)
                }
            } else if let newValue {
                members.append(Member(key: key, value: newValue))
            }
        }
    }

    public func mapValues(_ transform: (JSONValue) throws -> JSONValue) rethrows -> JSONObject {
        var copy = self
        for index in copy.members.indices { copy.members[index].value = try transform(copy.members[index].value) }
        return copy
    }

    public func makeIterator() -> AnyIterator<(key: String, value: JSONValue)> {
        var iterator = members.makeIterator()
        return AnyIterator { iterator.next().map { (key: $0.key, value: $0.value) } }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for member in lhs.members where rhs[member.key] != member.value { return false }
        return true
    }
}

extension Dictionary where Key == String {
    /// `[String: Value]` as JSON object members.
    public func jsonObject(_ transform: (Value) -> JSONValue) -> JSONObject {
        // A dictionary's keys are distinct: appended in order, without looking each one up
        // among the members already there (quadratic for a posture's many field locations).
        var object = JSONObject(minimumCapacity: count)
        // Sorted as a plain [String]: sorting `keys` (generic in Value) ran the unspecialised
        // sort, a twentieth of a check's CPU.
        var names = [String](keys)
        names.sort()
        for key in names { if let value = self[key] { object.appendDistinct(key, transform(value)) } }
        return object
    }
}
