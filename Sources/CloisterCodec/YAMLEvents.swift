// libyaml, the copy Yams vendors and links (its CYaml module): the event API, so `check`'s
// documents become DocNodes without a Yams.Node tree in between. Not declared in Package.swift
// because Yams exports no product for it; SwiftPM makes a dependency's C modules importable.
import CYaml
import Yams

/// The documents of one YAML text, built as `DocNode`s straight from libyaml's events.
///
/// Yams composed a `Node` tree per document (an object per event, a `Tag` per node, a hashed
/// dictionary of every mapping's keys for the duplicate check) and `YAMLText.convert` then
/// copied that tree into a `DocNode`: most of `check`'s time on a large tree of manifests. Here
/// each node is built once, from the same parser, with the same rules as the old path:
/// positions from the event's start mark, `plain` from the scalar's style, aliases resolved to
/// the anchored node (anchors live for the whole stream, later ones shadow earlier), merge keys
/// (`<<`) applied as `convert` applied them, duplicate keys refused when their mapping ends, and
/// the alias budget counted over the tree as `convert` walked it (values, not keys). On any
/// error the text is handed to Yams, so the error is Yams' own, word for word.
final class YAMLEventReader {
    private let file: String
    private let text: String
    private var parser = yaml_parser_t()
    private var event = yaml_event_t()
    private var hasEvent = false
    private let input: UnsafeMutableBufferPointer<UInt8>
    /// Anchored nodes with their size as `convert` counted it (the node and its values).
    private var anchors: [String: (node: DocNode, size: Int, key: KeyIdentity?)] = [:]
    /// Nodes counted against the budget in the current document (aliases expanded).
    private var counted = 0
    /// Inside a mapping key: `convert` never walked keys, so nothing there counts.
    private var keyDepth = 0
    /// The line where the current document went over the budget, once it has.
    private var overBudgetLine: Int?
    private var failed = false

    init(text: String, file: String) throws(YAMLError) {
        self.text = text
        self.file = file
        let bytes = text.utf8
        input = .allocate(capacity: max(bytes.count, 1))
        _ = input.initialize(from: bytes)
        yaml_parser_initialize(&parser)
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(&parser, input.baseAddress, bytes.count)
        try advance()  // the stream start
    }

    deinit {
        if hasEvent { yaml_event_delete(&event) }
        yaml_parser_delete(&parser)
        input.deallocate()
    }

    /// The next document's root, or nil after the last.
    func next() throws(YAMLError) -> DocNode? {
        if failed || parser.stream_end_produced != 0 { return nil }
        try advance()
        if event.type == YAML_STREAM_END_EVENT { return nil }
        // A document start: its root follows.
        counted = 0
        overBudgetLine = nil
        try advance()
        let root = try node()
        try advance()  // the document end
        if let overBudgetLine {
            failed = true
            let message = "expands to more than \(YAMLText.maximumNodes) nodes through aliases; refused"
            throw YAMLError(file: file, line: overBudgetLine, reason: .tooManyNodes, problem: message, message: message)
        }
        return root
    }

    // MARK: - Events

    private func advance() throws(YAMLError) {
        if hasEvent {
            yaml_event_delete(&event)
            hasEvent = false
        }
        guard yaml_parser_parse(&parser, &event) == 1 else { throw fail(parserError()) }
        hasEvent = true
    }

    private var line: Int { event.start_mark.line + 1 }
    private var column: Int { event.start_mark.column + 1 }

    private func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: pointer)
    }

    // MARK: - Nodes

    /// What makes two keys the same key to Yams' duplicate check: the text and resolved tag of
    /// a scalar, or a collection's contents (their tags not kept: collections as keys are rare).
    struct KeyIdentity: Hashable {
        var text: String
        var tag: String
        var isScalar: Bool
    }

    static let stringTag = "tag:yaml.org,2002:str"

    /// Counts one node of the walk `convert` made; past the budget, remembers where.
    private func count(_ nodes: Int, line: Int) {
        guard keyDepth == 0 else { return }
        counted += nodes
        if counted > YAMLText.maximumNodes, overBudgetLine == nil { overBudgetLine = line }
    }

    /// The node whose first event is the current one.
    private func node() throws(YAMLError) -> DocNode { try nodeWithIdentity().node }

    /// The identity of a scalar comes with it; a collection's is worked out only when it is a key.
    private func nodeWithIdentity() throws(YAMLError) -> (node: DocNode, key: KeyIdentity?) {
        let line = self.line
        let column = self.column
        switch event.type {
        case YAML_SCALAR_EVENT:
            count(1, line: line)
            let scalar = event.data.scalar
            let value = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            let style = scalar.style
            let node = DocNode(
                .scalar(value, plain: style == YAML_PLAIN_SCALAR_STYLE || style == YAML_ANY_SCALAR_STYLE), line: line,
                column: column)
            let tag = scalar.quoted_implicit == 1 ? Self.stringTag : (string(scalar.tag) ?? Self.stringTag)
            let identity = KeyIdentity(text: value, tag: tag, isScalar: true)
            if let anchor = string(scalar.anchor) { anchors[anchor] = (node, 1, identity) }
            return (node, identity)
        case YAML_ALIAS_EVENT:
            let name = string(event.data.alias.anchor) ?? ""
            guard let anchored = anchors[name] else {
                throw fail(
                    YAMLError(
                        file: file, line: line, column: column, reason: .syntax(context: nil),
                        problem: "found undefined alias", message: "invalid YAML: found undefined alias"))
            }
            if keyDepth == 0, counted + anchored.size > YAMLText.maximumNodes, overBudgetLine == nil {
                overBudgetLine = Self.line(ofNode: YAMLText.maximumNodes - counted, in: anchored.node)
            }
            if keyDepth == 0 { counted += anchored.size }
            return (anchored.node, anchored.key)
        case YAML_SEQUENCE_START_EVENT:
            let start = event.data.sequence_start
            let anchor = string(start.anchor)
            let before = counted
            count(1, line: line)
            var elements: [DocNode] = []
            try advance()
            while event.type != YAML_SEQUENCE_END_EVENT {
                elements.append(try node())
                try advance()
            }
            let node = DocNode(.sequence(elements), line: line, column: column)
            if let anchor { anchors[anchor] = (node, keyDepth == 0 ? counted - before : Self.size(of: node), nil) }
            return (node, nil)
        case YAML_MAPPING_START_EVENT:
            let start = event.data.mapping_start
            let anchor = string(start.anchor)
            let before = counted
            count(1, line: line)
            let node = try mapping(line: line, column: column)
            if let anchor { anchors[anchor] = (node, keyDepth == 0 ? counted - before : Self.size(of: node), nil) }
            return (node, nil)
        default:
            throw fail(
                YAMLError(
                    file: file, line: line, column: column, reason: .other, problem: "unexpected event",
                    message: "invalid YAML: unexpected event"))
        }
    }

    /// A mapping's entries, the current event being its start.
    private func mapping(line: Int, column: Int) throws(YAMLError) -> DocNode {
        var entries: [DocEntry] = []
        var merged: [DocEntry] = []
        var keys: [(identity: KeyIdentity, line: Int, column: Int)] = []
        try advance()
        while event.type != YAML_MAPPING_END_EVENT {
            let isMergeKey =
                event.type == YAML_SCALAR_EVENT && event.data.scalar.length == 2
                && event.data.scalar.value[0] == UInt8(ascii: "<") && event.data.scalar.value[1] == UInt8(ascii: "<")
                && event.data.scalar.style != YAML_SINGLE_QUOTED_SCALAR_STYLE
                && event.data.scalar.style != YAML_DOUBLE_QUOTED_SCALAR_STYLE
            keyDepth += 1
            let key = try nodeWithIdentity()
            keyDepth -= 1
            let identity = key.key ?? KeyIdentity(text: Self.describe(key.node), tag: "", isScalar: false)
            keys.append((identity, key.node.line, key.node.column))
            try advance()
            let value = try nodeWithIdentity()
            if isMergeKey {
                // YAML merge key: entries of the merged mapping(s), overridden by explicit ones.
                for source in value.node.elements ?? [value.node] { merged += source.entries ?? [] }
            } else {
                let keyText = key.key?.text ?? ""
                entries.append(DocEntry(key: keyText, value: value.node, keyLine: key.node.line, keyColumn: key.node.column))
            }
            try advance()
        }
        try refuseDuplicates(keys)
        for entry in merged where !entries.contains(where: { $0.key == entry.key }) { entries.append(entry) }
        return DocNode(.mapping(entries), line: line, column: column)
    }

    /// Yams refused a mapping whose keys repeat; so does this reader, when the mapping ends.
    private func refuseDuplicates(_ keys: [(identity: KeyIdentity, line: Int, column: Int)]) throws(YAMLError) {
        guard keys.count > 1 else { return }
        var repeated = false
        if keys.count <= 16 {
            outer: for index in 1..<keys.count {
                for earlier in 0..<index where keys[earlier].identity == keys[index].identity {
                    repeated = true
                    break outer
                }
            }
        } else {
            repeated = Set(keys.map(\.identity)).count != keys.count
        }
        guard repeated else { return }
        var seen: [KeyIdentity: Int] = [:]
        var first: [KeyIdentity: (line: Int, column: Int)] = [:]
        for key in keys {
            seen[key.identity, default: 0] += 1
            if first[key.identity] == nil { first[key.identity] = (key.line, key.column) }
        }
        let duplicates = seen.filter { $0.value > 1 }.keys.sorted { $0.text < $1.text }
        let names = duplicates.map { $0.isScalar ? $0.text : "<uncovertable>" }.joined(separator: ", ")
        let place = duplicates.first.flatMap { first[$0] }
        throw fail(
            YAMLError(
                file: file, line: place?.line, column: place?.column, reason: .duplicateKeys(duplicates.map { $0.isScalar ? $0.text : "<uncovertable>" }),
                problem: "duplicate keys \(names)", message: "invalid YAML: duplicate keys \(names)"))
    }

    /// A collection key's contents as text, for the duplicate check. Aliases can make a key
    /// huge once expanded: past a bound, the key's position stands in (it is then unique).
    private static func describe(_ node: DocNode) -> String {
        var text = ""
        var remaining = 10_000
        func walk(_ node: DocNode) -> Bool {
            remaining -= 1
            if remaining < 0 { return false }
            switch node.value {
            case .scalar(let value, _): text += "\(value.utf8.count):\(value)"
            case .sequence(let elements):
                text += "["
                for element in elements where !walk(element) { return false }
                text += "]"
            case .mapping(let entries):
                text += "{"
                for entry in entries {
                    text += "\(entry.key.utf8.count):\(entry.key)="
                    if !walk(entry.value) { return false }
                }
                text += "}"
            }
            return true
        }
        return walk(node) ? text : "@\(node.line):\(node.column)"
    }

    /// The nodes `convert` walked in `node`: itself and its values, not keys.
    static func size(of node: DocNode) -> Int {
        switch node.value {
        case .scalar: 1
        case .sequence(let elements): elements.reduce(1) { $0 + size(of: $1) }
        case .mapping(let entries): entries.reduce(1) { $0 + size(of: $1.value) }
        }
    }

    /// The line of the `index`-th node (from 1) of `node`'s walk: where the budget ran out.
    static func line(ofNode index: Int, in node: DocNode) -> Int {
        var remaining = index
        func walk(_ node: DocNode) -> Int? {
            remaining -= 1
            if remaining <= 0 { return node.line }
            switch node.value {
            case .scalar: return nil
            case .sequence(let elements):
                for element in elements { if let line = walk(element) { return line } }
            case .mapping(let entries):
                for entry in entries { if let line = walk(entry.value) { return line } }
            }
            return nil
        }
        return walk(node) ?? node.line
    }

    // MARK: - Errors

    /// The error as Yams words it: the same libyaml fails at the same place, so Yams, handed
    /// the text again, reports this error (or an earlier one of its own, which is then the one
    /// a reader of the old path saw). Only when Yams finds nothing is `own` reported.
    private func fail(_ own: YAMLError) -> YAMLError {
        failed = true
        if own.reason == .tooManyNodes { return own }
        do {
            var documents = try Yams.compose_all(yaml: text, .basic)
            while documents.next() != nil {}
            if let error = documents.error { return YAMLError(file: file, composing: error) }
        } catch {
            return YAMLError(file: file, composing: error)
        }
        return own
    }

    /// The parser's error as a `YAMLError` of the same shape Yams' error would give.
    private func parserError() -> YAMLError {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown error"
        switch parser.error {
        case YAML_READER_ERROR:
            return YAMLError(
                file: file, reason: .unreadable(byteOffset: parser.problem_offset), problem: problem,
                message: "invalid YAML: \(problem) at byte \(parser.problem_offset)")
        case YAML_MEMORY_ERROR:
            return YAMLError(file: file, reason: .other, problem: "Memory error", message: "invalid YAML: Memory error")
        default:
            var during: String?
            if let context = parser.context {
                during = "\(String(cString: context)) (line \(parser.context_mark.line + 1)): "
            }
            return YAMLError(
                file: file, line: parser.problem_mark.line + 1, column: parser.problem_mark.column + 1,
                reason: .syntax(context: during), problem: problem, message: "invalid YAML: \(during ?? "")\(problem)")
        }
    }
}
