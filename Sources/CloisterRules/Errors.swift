import CloisterCodec
import Foundation
import Yams

/// A rule, policy or baseline file that cannot be used: names the file and, where YAML gives
/// one, the line and column, so `rules lint` and a failed load point at what to fix.
/// Callers map it to exit code 2 (usage or input error).
public struct InputFileError: Error, LocalizedError, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    init(file: String, node: Node?, _ message: String) {
        self.init(file: file, line: node?.mark?.line, column: node?.mark?.column, message: message)
    }

    public var errorDescription: String? { description }

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let line, let column, line > 0 { place += ":\(column)" }
        return "\(place): \(message)"
    }
}

/// Several problems found in one pass (lint reports all of them, not only the first).
public struct InputFileErrors: Error, LocalizedError, Sendable {
    public var errors: [InputFileError]

    public init(_ errors: [InputFileError]) { self.errors = errors }

    public var errorDescription: String? { errors.map(\.description).joined(separator: "\n") }
}

/// The problems found in one file, collected so that all of them are reported together.
final class InputFileProblems {
    let file: String
    var errors: [InputFileError] = []

    init(file: String) { self.file = file }

    func fail(_ node: Node?, _ message: String) { errors.append(InputFileError(file: file, node: node, message)) }

    /// Throws every problem collected, when there is any.
    func throwIfAny() throws { if !errors.isEmpty { throw InputFileErrors(errors) } }
}

/// A rule, policy or baseline file's text, turned into a checked YAML tree whose errors are
/// `InputFileError`s. The text is handed in: reading the file is `CloisterResourceFiles`'.
enum YAMLFile {
    /// The file's one document through `YAMLText` (the basic resolver: `jsonScalar` resolves
    /// plain scalars itself, exactly as Yams' default resolver would), its error worded as rule
    /// files have always worded it.
    static func compose(_ text: String, file: String) throws -> Node {
        let node: Node?
        do {
            node = try YAMLText.compose(text, file: file)
        } catch {
            switch error.reason {
            case .syntax: throw InputFileError(file: file, line: error.line, message: "not valid YAML: \(error.problem)")
            case .duplicateKeys(let keys):
                throw InputFileError(file: file, message: "not valid YAML: duplicated keys " + keys.joined(separator: ", "))
            case .tooManyNodes: throw InputFileError(file: file, line: error.line, message: error.message)
            case .unreadable, .other: throw InputFileError(file: file, message: "not valid YAML: \(error.detail)")
            }
        }
        guard let node else { throw InputFileError(file: file, line: 1, message: "the file is empty") }
        return node
    }

    /// The preamble every versioned file shares: its tree (version checked) and an empty
    /// collector for the problems found while reading the rest of it.
    static func open(_ text: String, file: String, known: Int, what: String) throws -> (Node, InputFileProblems) {
        let root = try compose(text, file: file)
        try checkVersion(root, file: file, known: known, what: what)
        return (root, InputFileProblems(file: file))
    }

    /// Checks `version`: present, an integer, and not newer than this program understands.
    static func checkVersion(_ root: Node, file: String, known: Int, what: String) throws {
        guard case .mapping(let mapping) = root else {
            throw InputFileError(file: file, node: root, "a \(what) file is a mapping with `version` at the top")
        }
        guard let versionNode = mapping["version"] else {
            throw InputFileError(file: file, node: root, "missing `version` (this program reads \(what) files of version \(known))")
        }
        guard let version = versionNode.int else {
            throw InputFileError(file: file, node: versionNode, "`version` must be an integer")
        }
        if version > known {
            throw InputFileError(
                file: file, node: versionNode,
                "\(what) file version \(version) is newer than this program knows (\(known)); upgrade cloister to read it")
        }
        if version < 1 {
            throw InputFileError(file: file, node: versionNode, "`version` must be 1 or more")
        }
    }
}

extension Node {
    /// Keys of a mapping in document order, with their nodes.
    var pairs: [(key: String, keyNode: Node, value: Node)] {
        guard case .mapping(let mapping) = self else { return [] }
        return mapping.map { (key: $0.key.string ?? "", keyNode: $0.key, value: $0.value) }
    }

    var isMapping: Bool { if case .mapping = self { true } else { false } }
    var isSequence: Bool { if case .sequence = self { true } else { false } }
    var isScalar: Bool { if case .scalar = self { true } else { false } }

    var items: [Node] {
        if case .sequence(let sequence) = self { return Array(sequence) }
        return []
    }

    /// The booleans of Yams' default resolver (YAML 1.1: `yes`, `On`, `FALSE`, … in these three
    /// spellings each), for plain scalars composed with the basic resolver.
    static func yamlBool(_ text: String) -> Bool? {
        switch text {
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": true
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": false
        default: nil
        }
    }

    /// A scalar as a JSON value, resolved by YAML's core schema (so `"true"` stays a string).
    var jsonScalar: JSONValue {
        if null != nil, case .scalar(let scalar) = self, scalar.style == .plain { return .null }
        if case .scalar(let scalar) = self, scalar.style == .plain, let bool = Self.yamlBool(scalar.string) {
            return .bool(bool)
        }
        if let int, case .scalar(let scalar) = self, scalar.style == .plain { return .number(Double(int)) }
        if let float, case .scalar(let scalar) = self, scalar.style == .plain { return .number(float) }
        return .string(string ?? "")
    }
}
