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

/// Reads and composes a YAML file, turning parser errors into `InputFileError`.
enum YAMLFile {
    static func read(path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputFileError(file: path, message: "cannot read the file (missing or not readable)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw InputFileError(file: path, message: "the file is not UTF-8 text")
        }
        return text
    }

    static func compose(_ text: String, file: String) throws -> Node {
        do {
            // The basic resolver tags every plain scalar `str` instead of running Yams' seven
            // regular expressions (ICU) over each one: loading the rule pack that way cost 7 ms
            // and kept 1.5 MB of ICU resident in every scan. `jsonScalar` resolves plain
            // scalars itself, exactly as Yams' default resolver would.
            guard let node = try Yams.compose(yaml: text, .basic) else {
                throw InputFileError(file: file, line: 1, message: "the file is empty")
            }
            return node
        } catch let error as InputFileError {
            throw error
        } catch let error as YamlError {
            throw InputFileError(file: file, line: yamlErrorLine(error), message: "not valid YAML: \(yamlProblem(error))")
        } catch {
            throw InputFileError(file: file, message: "not valid YAML: \(error)")
        }
    }

    private static func yamlProblem(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _):
            return problem
        case .duplicatedKeysInMapping(let duplicates, _):
            return "duplicated keys " + duplicates.joined(separator: ", ")
        default:
            return String(describing: error)
        }
    }

    private static func yamlErrorLine(_ error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        default:
            return nil
        }
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
