/// Decodes a `Decodable` value (an OCI `Spec`, say) from a `DocNode` tree, so a typed wire
/// value can be read from a file while every error still names the line, column and path of
/// the value at fault. Scalars are read with `DocCursor`'s own conversions, so a field means the
/// same and fails with the same sentence whether a typed reader or a cursor reads it:
/// `process.user.uid must be a whole number from 0 to 4294967295, not -1`.
///
/// A missing required key is reported on the object that lacks it (`linux.namespaces[0] has no
/// type`); a type can give one sentence for all its required keys with `DocRequiredKeys`.
public enum DocNodeDecoder {
    public static func decode<T: Decodable>(_ type: T.Type, from cursor: DocCursor) throws(DocumentError) -> T {
        do {
            return try NodeDecoder(cursor: cursor).value(T.self)
        } catch let error as DocumentError {
            throw error
        } catch {
            // Only a type's own init(from:) can throw anything else (a DecodingError of a
            // custom validation); it is still reported where the value stands.
            throw cursor.error("cannot be read: \(error)")
        }
    }
}

/// A type whose missing required keys are reported as one sentence, as it is documented
/// (`needs containerID, hostID and size`), rather than one key at a time.
public protocol DocRequiredKeys {
    static var missingKeysMessage: String { get }
}

/// A required key that is absent: converted into a `DocumentError` by the value that owns the
/// container, which knows whether it has a sentence of its own (`DocRequiredKeys`).
private struct MissingKey: Error {
    var cursor: DocCursor
    var key: String
}

private struct PlainKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}

private struct NodeDecoder: Decoder {
    let cursor: DocCursor
    var codingPath: [any CodingKey] { cursor.path.isEmpty ? [] : [PlainKey(stringValue: cursor.path)] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// Decodes a `T` standing at this cursor, turning its own missing keys into its sentence.
    func value<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try T(from: self)
        } catch let missing as MissingKey {
            if let described = T.self as? DocRequiredKeys.Type { throw missing.cursor.error(described.missingKeysMessage) }
            throw missing.cursor.error("has no \(missing.key)")
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard cursor.node.isNull || cursor.node.entries != nil else {
            throw cursor.error("must be a mapping, not \(cursor.node.kindName)")
        }
        return KeyedDecodingContainer(KeyedNode<Key>(cursor: cursor))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        UnkeyedNode(cursor: cursor, elements: try cursor.list())
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { ScalarNode(cursor: cursor) }
}

private struct KeyedNode<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let cursor: DocCursor
    var codingPath: [any CodingKey] { cursor.path.isEmpty ? [] : [PlainKey(stringValue: cursor.path)] }
    var allKeys: [Key] { (cursor.node.entries ?? []).compactMap { Key(stringValue: $0.key) } }

    func contains(_ key: Key) -> Bool { cursor[key.stringValue] != nil }

    /// Null counts as absent, as `DocCursor` reads it.
    func decodeNil(forKey key: Key) throws -> Bool { cursor[key.stringValue] == nil }

    func member(_ key: Key) throws -> DocCursor {
        guard let member = cursor[key.stringValue] else { throw MissingKey(cursor: cursor, key: key.stringValue) }
        return member
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try NodeDecoder(cursor: try member(key)).value(T.self)
    }

    // The primitives, each read through its own init(from:) and so through `ScalarNode`.
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try NodeDecoder(cursor: try member(key)).value(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try NodeDecoder(cursor: try member(key)).value(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try NodeDecoder(cursor: try member(key)).value(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try NodeDecoder(cursor: try member(key)).value(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try NodeDecoder(cursor: try member(key)).value(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try NodeDecoder(cursor: try member(key)).value(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try NodeDecoder(cursor: try member(key)).value(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try NodeDecoder(cursor: try member(key)).value(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try NodeDecoder(cursor: try member(key)).value(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try NodeDecoder(cursor: try member(key)).value(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try NodeDecoder(cursor: try member(key)).value(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try NodeDecoder(cursor: try member(key)).value(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try NodeDecoder(cursor: try member(key)).value(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try NodeDecoder(cursor: try member(key)).value(type) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try NodeDecoder(cursor: try member(key)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try NodeDecoder(cursor: try member(key)).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { NodeDecoder(cursor: cursor) }
    func superDecoder(forKey key: Key) throws -> any Decoder { NodeDecoder(cursor: try member(key)) }
}

private struct UnkeyedNode: UnkeyedDecodingContainer {
    let cursor: DocCursor
    let elements: [DocCursor]
    var currentIndex = 0
    var codingPath: [any CodingKey] { cursor.path.isEmpty ? [] : [PlainKey(stringValue: cursor.path)] }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    mutating func next() throws -> DocCursor {
        guard currentIndex < elements.count else { throw cursor.error("has fewer elements than expected") }
        defer { currentIndex += 1 }
        return elements[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard currentIndex < elements.count, elements[currentIndex].node.isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try NodeDecoder(cursor: try next()).value(T.self) }

    // The primitives, each read through its own init(from:) and so through `ScalarNode`.
    mutating func decode(_ type: Bool.Type) throws -> Bool { try NodeDecoder(cursor: try next()).value(type) }
    mutating func decode(_ type: String.Type) throws -> String { try NodeDecoder(cursor: try next()).value(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try NodeDecoder(cursor: try next()).value(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try NodeDecoder(cursor: try next()).value(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try NodeDecoder(cursor: try next()).value(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try NodeDecoder(cursor: try next()).value(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try NodeDecoder(cursor: try next()).value(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try NodeDecoder(cursor: try next()).value(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try NodeDecoder(cursor: try next()).value(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try NodeDecoder(cursor: try next()).value(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try NodeDecoder(cursor: try next()).value(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try NodeDecoder(cursor: try next()).value(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try NodeDecoder(cursor: try next()).value(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try NodeDecoder(cursor: try next()).value(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try NodeDecoder(cursor: try next()).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try NodeDecoder(cursor: try next()).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { NodeDecoder(cursor: try next()) }
}

/// Scalars, read as `DocCursor` reads them (a plain `5` is also the string "5", as YAML has it).
private struct ScalarNode: SingleValueDecodingContainer {
    let cursor: DocCursor
    var codingPath: [any CodingKey] { cursor.path.isEmpty ? [] : [PlainKey(stringValue: cursor.path)] }

    func decodeNil() -> Bool { cursor.node.isNull }
    func decode(_ type: Bool.Type) throws -> Bool { try cursor.bool() }
    func decode(_ type: String.Type) throws -> String { try cursor.string() }
    func decode(_ type: Double.Type) throws -> Double {
        guard let text = cursor.node.text, cursor.node.entries == nil, let value = Double(text) else {
            throw cursor.error("must be a number, not \(cursor.node.kindName)")
        }
        return value
    }
    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }
    func decode(_ type: Int64.Type) throws -> Int64 { try cursor.int() }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try cursor.uint32() }
    func decode(_ type: UInt64.Type) throws -> UInt64 {
        // Beyond Int64.max (a full 64-bit seccomp mask) the text is read as it stands.
        if case .scalar(let text, plain: true) = cursor.node.value, let value = UInt64(text) { return value }
        return try whole(UInt64.self)
    }
    func decode(_ type: Int.Type) throws -> Int { try whole(Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try whole(Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try whole(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try whole(Int32.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try whole(UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try whole(UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try whole(UInt16.self) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try NodeDecoder(cursor: cursor).value(T.self) }

    /// A whole number in `Integer`'s range, or an error naming the range, as `uint32()` words it.
    func whole<Integer: FixedWidthInteger>(_ type: Integer.Type) throws -> Integer {
        let value = try cursor.int()
        guard let exact = Integer(exactly: value) else {
            throw cursor.error("must be a whole number from \(Integer.min) to \(Integer.max), not \(value)")
        }
        return exact
    }
}
