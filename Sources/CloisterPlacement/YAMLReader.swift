import CloisterCodec
import Foundation
import Yams

/// An input file that cloister cannot use: which file, where, which field, what was wrong and
/// what would have been accepted. Reads as one sentence a user can act on.
public struct PlacementInputError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    /// Dotted path of the field (`needs.kernel`), or empty for the whole document.
    public var field: String
    public var message: String
    /// The values the field accepts, when it takes one of a fixed set.
    public var allowed: [String]

    public init(file: String, line: Int? = nil, column: Int? = nil, field: String, message: String, allowed: [String] = []) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
        self.allowed = allowed
    }

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let column { place += ":\(column)" }
        var text = "\(place): "
        if !field.isEmpty { text += "field '\(field)': " }
        text += message
        if !allowed.isEmpty { text += " (allowed: \(allowed.joined(separator: ", ")))" }
        return text
    }
}

extension PlacementInputError: LocalizedError {
    public var errorDescription: String? { description }
}

/// A YAML mapping being read field by field. It remembers where it is (file and dotted path)
/// so every error names the file, line, field and the values that would have been accepted,
/// and it refuses keys it does not know, so a misspelt field is an error rather than a default.
struct YAMLMap {
    let file: String
    let path: String
    let mapping: Node.Mapping
    let mark: Mark?

    static func document(_ text: String, file: String) throws -> YAMLMap {
        let node: Node?
        do {
            // The basic resolver, as every reader: this one reads scalars by their text, and its
            // `null` test below covers what the default resolver would have tagged null.
            node = try YAMLText.compose(text, file: file)
        } catch {
            if error.reason == .tooManyNodes {
                throw PlacementInputError(file: file, line: error.line, field: "", message: error.message)
            }
            throw PlacementInputError(file: file, field: "", message: "is not valid YAML: \(error.detail)")
        }
        guard let node else { throw PlacementInputError(file: file, field: "", message: "is empty") }
        guard case .mapping(let mapping) = node else {
            throw PlacementInputError(
                file: file, line: node.mark?.line, column: node.mark?.column, field: "",
                message: "must be a mapping of fields at the top level")
        }
        return YAMLMap(file: file, path: "", mapping: mapping, mark: mapping.mark)
    }

    func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func node(_ key: String) -> Node? {
        for (keyNode, value) in mapping where keyNode.string == key { return value }
        return nil
    }

    func keyMark(_ key: String) -> Mark? {
        for (keyNode, _) in mapping where keyNode.string == key { return keyNode.mark }
        return nil
    }

    func has(_ key: String) -> Bool { node(key) != nil }

    func error(_ key: String, _ message: String, allowed: [String] = [], at node: Node? = nil) -> PlacementInputError {
        let mark = node?.mark ?? keyMark(key) ?? self.mark
        return PlacementInputError(
            file: file, line: mark?.line, column: mark?.column, field: fieldPath(key), message: message,
            allowed: allowed)
    }

    func wholeError(_ message: String) -> PlacementInputError {
        PlacementInputError(file: file, line: mark?.line, column: mark?.column, field: path, message: message)
    }

    /// Refuses keys that are not in `known`, naming the ones that are.
    func checkKeys(_ known: [String]) throws {
        for (keyNode, _) in mapping {
            guard let key = keyNode.string else {
                throw PlacementInputError(
                    file: file, line: keyNode.mark?.line, column: keyNode.mark?.column, field: path,
                    message: "has a key that is not a string")
            }
            if !known.contains(key) {
                throw PlacementInputError(
                    file: file, line: keyNode.mark?.line, column: keyNode.mark?.column, field: fieldPath(key),
                    message: "is not a known field", allowed: known)
            }
        }
    }

    private func scalar(_ key: String) throws -> (String, Node)? {
        guard let value = node(key) else { return nil }
        if case .scalar(let scalar) = value {
            // An explicit `null` or `~` is treated as absent.
            if value.tag == Tag(.null) || (scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)) {
                return nil
            }
            return (scalar.string, value)
        }
        throw error(key, "must be a single value, not a list or mapping", at: value)
    }

    func string(_ key: String) throws -> String? { try scalar(key)?.0 }

    func requiredString(_ key: String) throws -> String {
        guard let value = try string(key), !value.isEmpty else { throw error(key, "is required") }
        return value
    }

    func bool(_ key: String) throws -> Bool? {
        guard let (text, node) = try scalar(key) else { return nil }
        switch text {
        case "true", "True", "TRUE", "yes": return true
        case "false", "False", "FALSE", "no": return false
        default: throw error(key, "must be true or false, not '\(text)'", allowed: ["true", "false"], at: node)
        }
    }

    func int(_ key: String, range: ClosedRange<Int> = 0...Int.max) throws -> Int? {
        guard let (text, node) = try scalar(key) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            throw error(key, "must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'", at: node)
        }
        return number
    }

    func enumValue<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws -> E? where E.RawValue == String {
        guard let (text, node) = try scalar(key) else { return nil }
        guard let value = E(rawValue: text) else {
            throw error(key, "has the value '\(text)', which is not one cloister knows", allowed: E.allCases.map(\.rawValue), at: node)
        }
        return value
    }

    func requiredEnum<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws -> E where E.RawValue == String {
        guard let value = try enumValue(key, type) else {
            throw error(key, "is required", allowed: E.allCases.map(\.rawValue))
        }
        return value
    }

    /// A list of strings; a single string is accepted as a list of one.
    func strings(_ key: String) throws -> [String] {
        guard let value = node(key) else { return [] }
        switch value {
        case .scalar(let scalar):
            if scalar.style == .plain && ["", "~", "null"].contains(scalar.string) { return [] }
            return [scalar.string]
        case .sequence(let sequence):
            return try sequence.map { item in
                guard case .scalar(let scalar) = item else {
                    throw error(key, "must be a list of values", at: item)
                }
                return scalar.string
            }
        default:
            throw error(key, "must be a list of values", at: value)
        }
    }

    func enumList<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws -> [E] where E.RawValue == String {
        guard let value = node(key) else { return [] }
        let items: [Node]
        switch value {
        case .sequence(let sequence): items = Array(sequence)
        case .scalar(let scalar) where scalar.style == .plain && ["", "~", "null"].contains(scalar.string): return []
        case .scalar: items = [value]
        default: throw error(key, "must be a list of values", allowed: E.allCases.map(\.rawValue), at: value)
        }
        return try items.map { item in
            guard case .scalar(let scalar) = item, let parsed = E(rawValue: scalar.string) else {
                throw error(key, "has the value '\(item.string ?? "?")', which is not one cloister knows",
                            allowed: E.allCases.map(\.rawValue), at: item)
            }
            return parsed
        }
    }

    func map(_ key: String) throws -> YAMLMap? {
        guard let value = node(key) else { return nil }
        if case .scalar(let scalar) = value, scalar.style == .plain, ["", "~", "null"].contains(scalar.string) { return nil }
        guard case .mapping(let mapping) = value else { throw error(key, "must be a mapping of fields", at: value) }
        return YAMLMap(file: file, path: fieldPath(key), mapping: mapping, mark: mapping.mark)
    }

    /// A list of mappings, each read with its index in the path (`options[2]`).
    func maps(_ key: String) throws -> [YAMLMap] {
        guard let value = node(key) else { return [] }
        guard case .sequence(let sequence) = value else { throw error(key, "must be a list", at: value) }
        return try sequence.enumerated().map { index, item in
            guard case .mapping(let mapping) = item else {
                throw error(key, "must be a list of mappings (item \(index) is not)", at: item)
            }
            return YAMLMap(file: file, path: "\(fieldPath(key))[\(index)]", mapping: mapping, mark: mapping.mark)
        }
    }

    /// A mapping whose keys are names and whose values are mappings (`sources: {id: {...}}`).
    func namedMaps(_ key: String) throws -> [(String, YAMLMap)] {
        guard let value = node(key) else { return [] }
        guard case .mapping(let outer) = value else { throw error(key, "must be a mapping", at: value) }
        return try outer.map { keyNode, item in
            guard let name = keyNode.string else { throw error(key, "has a key that is not a string", at: keyNode) }
            guard case .mapping(let mapping) = item else {
                throw error(key, "entry '\(name)' must be a mapping", at: item)
            }
            return (name, YAMLMap(file: file, path: "\(fieldPath(key)).\(name)", mapping: mapping, mark: mapping.mark))
        }
    }

    /// Refuses a `version` newer than `supported`, so old cloister never misreads new files.
    func checkVersion(supported: Int, kind: String) throws -> Int {
        guard let version = try int("version", range: 1...Int.max) else {
            throw error("version", "is required (this cloister reads \(kind) version \(supported))")
        }
        if version > supported {
            throw error(
                "version",
                "is \(version), newer than this cloister understands (\(kind) version \(supported)); upgrade cloister or write the file for version \(supported)",
                allowed: (1...supported).map(String.init))
        }
        return version
    }
}
