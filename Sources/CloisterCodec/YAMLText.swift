import Yams

/// The one way cloister reads YAML: rules, policies, baselines, workload descriptions and the
/// files `check` reads all come through here, so they share one resolver, one bound on alias
/// expansion and one error.
///
/// The resolver is Yams' basic one, which tags every plain scalar `str`: cloister reads scalars
/// by their text and quoting (`DocNode.bool`, the rules' `jsonScalar`), so the default
/// resolver's seven regular expressions per scalar (most of the parse time, and 1.5 MB of ICU
/// kept resident) buy nothing.
public enum YAMLText {
    /// At most this many nodes per document once aliases are expanded (no billion laughs).
    public static let maximumNodes = 2_000_000

    /// The only document of `text` (a rule file, a policy, a baseline, a workload
    /// description), or nil when it holds none. A second document is an error.
    public static func compose(_ text: String, file: String) throws(YAMLError) -> Node? {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text, .basic)
        } catch {
            throw YAMLError(file: file, composing: error)
        }
        if let node {
            var budget = maximumNodes
            try count(node, budget: &budget, file: file)
        }
        return node
    }

    /// The documents of `text` one by one, each as a `DocNode` (the files `check` reads).
    /// Lazy, so what a document says is judged before a later document's syntax error. Built
    /// from libyaml's events (`YAMLEventReader`), with Yams' errors, positions and limits.
    public static func documents(_ text: String, file: String) throws(YAMLError) -> Documents {
        Documents(reader: try YAMLEventReader(text: text, file: file))
    }

    public struct Documents {
        let reader: YAMLEventReader

        /// The next document, or nil after the last.
        public mutating func next() throws(YAMLError) -> DocNode? {
            try reader.next()
        }
    }

    /// Counts `node`'s tree against `budget`. Yams shares an anchored node among its aliases,
    /// so the tree in memory is small while a walk over it (any reader's) is not.
    static func count(_ node: Node, budget: inout Int, file: String) throws(YAMLError) {
        budget -= 1
        if budget < 0 { throw YAMLError.tooManyNodes(file: file, at: node) }
        switch node {
        case .scalar, .alias: return
        case .sequence(let sequence): for element in sequence { try count(element, budget: &budget, file: file) }
        case .mapping(let mapping):
            for (key, value) in mapping {
                try count(key, budget: &budget, file: file)
                try count(value, budget: &budget, file: file)
            }
        }
    }
}

/// A YAML text that cannot be read: the file, where (when the parser knows), and what.
/// Readers wrap it into their own error, whose wording their users and tests know.
public struct YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// Scanner, parser or composer: `problem` at `line`:`column`, while doing `context`.
        case syntax(context: String?)
        /// Not decodable as text (the reader), at a byte offset when known.
        case unreadable(byteOffset: Int?)
        case duplicateKeys([String])
        /// More nodes than `YAMLText.maximumNodes` once aliases are expanded.
        case tooManyNodes
        case other
    }

    public var file: String
    public var line: Int?
    public var column: Int?
    public var reason: Reason
    /// The parser's words for what is wrong (`found undefined alias`), without place or context.
    public var problem: String
    /// The whole sentence, as `check` shows it (`invalid YAML: …`).
    public var message: String
    /// Yams' own description, which quotes the offending line.
    public var detail: String

    public init(
        file: String, line: Int? = nil, column: Int? = nil, reason: Reason, problem: String, message: String,
        detail: String? = nil
    ) {
        self.file = file
        self.line = line
        self.column = column
        self.reason = reason
        self.problem = problem
        self.message = message
        self.detail = detail ?? message
    }

    init(file: String, composing error: any Error) {
        let detail = String(describing: error)
        guard let yaml = error as? YamlError else {
            self.init(file: file, reason: .other, problem: detail, message: "invalid YAML: \(detail)", detail: detail)
            return
        }
        switch yaml {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let during = context.map { "\($0.text) (line \($0.mark.line)): " }
            self.init(
                file: file, line: mark.line, column: mark.column, reason: .syntax(context: during), problem: problem,
                message: "invalid YAML: \(during ?? "")\(problem)", detail: detail)
        case .reader(let problem, let offset, _, _):
            self.init(
                file: file, reason: .unreadable(byteOffset: offset), problem: problem,
                message: "invalid YAML: \(problem)\(offset.map { " at byte \($0)" } ?? "")", detail: detail)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.joined(separator: ", ")
            self.init(
                file: file, line: context.mark.line, column: context.mark.column, reason: .duplicateKeys(duplicates),
                problem: "duplicate keys \(keys)", message: "invalid YAML: duplicate keys \(keys)", detail: detail)
        default:
            self.init(file: file, reason: .other, problem: detail, message: "invalid YAML: \(detail)", detail: detail)
        }
    }

    /// The line only, not the column: where the walk ran out says little about which alias did it.
    static func tooManyNodes(file: String, at node: Node) -> YAMLError {
        let message = "expands to more than \(YAMLText.maximumNodes) nodes through aliases; refused"
        return YAMLError(file: file, line: node.mark?.line, reason: .tooManyNodes, problem: message, message: message)
    }

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let column { place += ":\(column)" }
        return "\(place): \(message)"
    }
}
