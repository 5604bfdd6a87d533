/// A parsed JSON or YAML document that remembers where each value stands, so a posture field
/// can point at the line that declared it. YAML is turned into this by `YAMLText` (with
/// Yams), JSON by `JSONDocument`, both here.
public struct DocNode: Sendable {
    public enum Value: Sendable {
        case mapping([DocEntry])
        case sequence([DocNode])
        /// Text of a scalar; `plain` is false for quoted strings (YAML quotes, JSON strings),
        /// which never stand for booleans, numbers or null.
        case scalar(String, plain: Bool)
    }

    public var value: Value
    public var line: Int
    public var column: Int

    public init(_ value: Value, line: Int, column: Int) {
        self.value = value
        self.line = line
        self.column = column
    }

    public subscript(key: String) -> DocNode? {
        guard case .mapping(let entries) = value else { return nil }
        for entry in entries where entry.key == key { return entry.value.isNull ? nil : entry.value }
        return nil
    }

    public var isNull: Bool {
        if case .scalar(let text, plain: true) = value { return text == "null" || text == "~" || text == "Null" || text == "NULL" || text.isEmpty }
        return false
    }

    public var entries: [DocEntry]? {
        if case .mapping(let entries) = value { return entries }
        return nil
    }

    public var elements: [DocNode]? {
        if case .sequence(let elements) = value { return elements }
        return nil
    }

    /// The scalar's text (numbers and booleans included); nil for mappings, sequences, null.
    public var text: String? {
        if case .scalar(let text, _) = value, !isNull { return text }
        return nil
    }

    /// A boolean as JSON and YAML 1.2 core write it; YAML 1.1 spellings (`yes`, `on`) are
    /// accepted too because Kubernetes' and Compose's YAML readers (go-yaml v2/v3) take them.
    public var bool: Bool? {
        guard case .scalar(let text, plain: true) = value else { return nil }
        switch text {
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y": return true
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N": return false
        default: return nil
        }
    }

    public var int: Int64? {
        guard case .scalar(let text, plain: true) = value else { return nil }
        if let value = Int64(text) { return value }
        if let double = Double(text), double.rounded() == double, abs(double) < 9.2e18 { return Int64(double) }
        return nil
    }

    public var kindName: String {
        switch value {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar(let text, let plain): isNull ? "null" : plain ? "\(text)" : "the string \"\(text)\""
        }
    }
}

public struct DocEntry: Sendable {
    public var key: String
    public var value: DocNode
    /// Where the key stands: a finding about `securityContext` lands on its line, not on the
    /// line of the first key inside it.
    public var keyLine: Int
    public var keyColumn: Int

    public init(key: String, value: DocNode, keyLine: Int? = nil, keyColumn: Int? = nil) {
        self.key = key
        self.value = value
        self.keyLine = keyLine ?? value.line
        self.keyColumn = keyColumn ?? value.column
    }
}

/// What is wrong with a document, and where.
public struct DocumentError: Error, Sendable, Equatable {
    public var line: Int?
    public var column: Int?
    public var path: String?
    public var message: String

    public init(line: Int?, column: Int? = nil, path: String? = nil, message: String) {
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }
}

/// A node with its path inside the document (`spec.containers[0].securityContext`).
public struct DocCursor: Sendable {
    public var node: DocNode
    public var path: String
    /// Where the value is declared: its key's position for a mapping member, else the value's.
    public var line: Int
    public var column: Int

    public init(_ node: DocNode, path: String = "", line: Int? = nil, column: Int? = nil) {
        self.node = node
        self.path = path
        self.line = line ?? node.line
        self.column = column ?? node.column
    }

    public subscript(key: String) -> DocCursor? {
        guard case .mapping(let entries) = node.value else { return nil }
        for entry in entries where entry.key == key {
            if entry.value.isNull { return nil }
            return DocCursor(
                entry.value, path: path.isEmpty ? key : "\(path).\(key)", line: entry.keyLine, column: entry.keyColumn)
        }
        return nil
    }

    /// Follows a dotted path of keys.
    public func at(_ keys: String...) -> DocCursor? {
        var cursor: DocCursor? = self
        for key in keys { cursor = cursor?[key] }
        return cursor
    }

    /// The elements of a list; absent means empty. A value of another kind is an error.
    public func list() throws(DocumentError) -> [DocCursor] {
        if node.isNull { return [] }
        guard let elements = node.elements else { throw error("must be a list, not \(node.kindName)") }
        return elements.enumerated().map { DocCursor($1, path: "\(path)[\($0)]") }
    }

    public func mapping() throws(DocumentError) -> [(key: String, value: DocCursor)] {
        if node.isNull { return [] }
        guard let entries = node.entries else { throw error("must be a mapping, not \(node.kindName)") }
        return entries.map {
            ($0.key, DocCursor($0.value, path: path.isEmpty ? $0.key : "\(path).\($0.key)", line: $0.keyLine, column: $0.keyColumn))
        }
    }

    public func string() throws(DocumentError) -> String {
        guard let text = node.text, node.entries == nil else { throw error("must be a string, not \(node.kindName)") }
        return text
    }

    public func bool() throws(DocumentError) -> Bool {
        guard let value = node.bool else { throw error("must be true or false, not \(node.kindName)") }
        return value
    }

    /// An ID or device number: a whole number from 0 to 4294967295. A negative UID must not
    /// become 0 (root) by clamping.
    public func uint32() throws(DocumentError) -> UInt32 {
        let value = try int()
        guard let id = UInt32(exactly: value) else { throw error("must be a whole number from 0 to 4294967295, not \(value)") }
        return id
    }

    public func int() throws(DocumentError) -> Int64 {
        guard let value = node.int else { throw error("must be a whole number, not \(node.kindName)") }
        return value
    }

    public func error(_ message: String) -> DocumentError {
        DocumentError(line: line, column: column, path: path, message: "\(path.isEmpty ? "document" : path) \(message)")
    }
}
