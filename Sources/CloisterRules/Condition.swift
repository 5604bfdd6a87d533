import CloisterCodec
import CloisterModel
import Yams

/// Three-valued truth: a test on a field the posture could not read is `unknown`, never false.
/// Combinators follow Kleene's logic: `all` is false if any part is false, `any` is true if
/// any part is true, otherwise an unknown part makes the whole unknown.
public enum Truth: Sendable, Equatable {
    case yes, no, unknown

    static prefix func ! (truth: Truth) -> Truth {
        switch truth {
        case .yes: .no
        case .no: .yes
        case .unknown: .unknown
        }
    }
}

// `FieldPath` (a posture field's path, parsed once) belongs to the model; resolving it against a
// posture's JSON tree is the rules engine's.
extension FieldPath {
    /// The values the path reaches: nil when a key is missing (for a path without `[]`),
    /// or every reachable value when the path crosses lists.
    func resolve(in root: JSONValue) -> Resolved {
        if !hasEach {
            // The common case: a chain of keys, walked without allocating.
            var value = root
            for step in steps {
                guard case .key(let key) = step, case .object(let members) = value, let member = members[key] else {
                    return .missing
                }
                if case .null = member { return .missing }
                value = member
            }
            return .one(value)
        }
        var current: [JSONValue] = [root]
        var crossesList = false
        for step in steps {
            var next: [JSONValue] = []
            next.reserveCapacity(current.count)
            for value in current {
                switch step {
                case .key(let key):
                    if case .object(let members) = value, let member = members[key] {
                        if case .null = member { continue }
                        next.append(member)
                    }
                case .each:
                    crossesList = true
                    if case .array(let items) = value { next.append(contentsOf: items) }
                }
            }
            current = next
        }
        if crossesList { return .many(current) }
        return current.first.map { .one($0) } ?? .missing
    }
}

enum Resolved {
    case missing
    case one(JSONValue)
    case many([JSONValue])

    /// Whether any scalar (a list field's element, or the value itself) satisfies `test`.
    func anyScalar(_ test: (JSONValue) -> Bool) -> Bool {
        switch self {
        case .missing: return false
        case .one(.array(let items)): return items.contains(where: test)
        case .one(let value): return test(value)
        case .many(let values):
            for value in values {
                if case .array(let items) = value {
                    if items.contains(where: test) { return true }
                } else if test(value) {
                    return true
                }
            }
            return false
        }
    }

    /// Scalars to test: a list field's elements, or the value itself.
    var scalars: [JSONValue] {
        switch self {
        case .missing: return []
        case .one(.array(let items)): return items
        case .one(let value): return [value]
        case .many(let values): return values.flatMap { value -> [JSONValue] in
            if case .array(let items) = value { return items }
            return [value]
        }
        }
    }

    var isMissing: Bool { if case .missing = self { true } else { false } }
}

/// A condition over posture fields. See rules/README.md for the language.
public indirect enum Condition: Sendable {
    case all([Condition])
    case any([Condition])
    case not(Condition)
    case test(FieldTest)
}

/// A class, not a struct: conditions are walked for every posture, and a reference is cheaper
/// to pass around than a copy of the operator's values.
public final class FieldTest: Sendable {
    public let field: FieldPath
    public let op: Operator

    init(field: FieldPath, op: Operator) {
        self.field = field
        self.op = op
    }
}

public indirect enum Operator: Sendable {
    case equals(JSONValue)
    case isIn([JSONValue])
    case contains(JSONValue)
    case containsAll([JSONValue])
    case containsAny([JSONValue])
    case anyNotIn([JSONValue])
    case startsWith([String])
    /// The text is an absolute path at or below one of these directories, compared component
    /// by component after `.`, `..` and repeated or trailing slashes are resolved in the text:
    /// `/var` holds for `/var` and `/var/lib/x`, not for `/variable`.
    case under([String])
    /// The text is an absolute path at or above one of these paths: it names the path itself
    /// or a directory that holds it (`/`, `/var` and `/var/lib` cover `/var/lib/docker`).
    case covers([String])
    case absent(Bool)
    case empty(Bool)
    case greaterThan(Double)
    case lessThan(Double)
    case whereAny(Condition)
    case shared

    public var name: String {
        switch self {
        case .equals: "equals"
        case .isIn: "in"
        case .contains: "contains"
        case .containsAll: "containsAll"
        case .containsAny: "containsAny"
        case .anyNotIn: "anyNotIn"
        case .startsWith: "startsWith"
        case .under: "under"
        case .covers: "covers"
        case .absent: "absent"
        case .empty: "empty"
        case .greaterThan: "greaterThan"
        case .lessThan: "lessThan"
        case .whereAny: "where"
        case .shared: "shared"
        }
    }

    static let names: [String] = [
        "equals", "in", "contains", "containsAll", "containsAny", "anyNotIn", "startsWith", "under", "covers", "absent", "empty",
        "greaterThan", "lessThan", "where", "shared",
    ]
}

extension Condition {
    /// Every field test, outermost first, with whether it sits inside a `where`.
    func fieldTests(insideWhere: Bool = false) -> [(test: FieldTest, insideWhere: Bool)] {
        switch self {
        case .all(let parts), .any(let parts): return parts.flatMap { $0.fieldTests(insideWhere: insideWhere) }
        case .not(let part): return part.fieldTests(insideWhere: insideWhere)
        case .test(let test):
            var tests = [(test: test, insideWhere: insideWhere)]
            if case .whereAny(let inner) = test.op { tests += inner.fieldTests(insideWhere: true) }
            return tests
        }
    }

    var usesShared: Bool {
        fieldTests().contains { if case .shared = $0.test.op { true } else { false } }
    }
}

// MARK: - Parsing

struct ConditionParser {
    let file: String
    let catalogue: FieldCatalogue
    var errors: [InputFileError] = []

    init(file: String, catalogue: FieldCatalogue = .posture) {
        self.file = file
        self.catalogue = catalogue
    }

    mutating func fail(_ node: Node?, _ message: String) {
        errors.append(InputFileError(file: file, node: node, message))
    }

    /// Parses a condition; problems are collected in `errors` (nil when it cannot be built).
    mutating func parse(_ node: Node, scope: String = "") -> Condition? {
        guard node.isMapping else {
            fail(node, "a condition is a mapping: `all:`, `any:`, `not:` or `field:` with one operator")
            return nil
        }
        let pairs = node.pairs
        let keys = pairs.map(\.key)
        for combinator in ["all", "any", "not"] where keys.contains(combinator) {
            guard pairs.count == 1, let value = pairs.first?.value else {
                fail(node, "`\(combinator):` stands alone in its mapping (found \(keys.joined(separator: ", ")))")
                return nil
            }
            if combinator == "not" {
                return parse(value, scope: scope).map { .not($0) }
            }
            guard value.isSequence, !value.items.isEmpty else {
                fail(value, "`\(combinator):` takes a non-empty list of conditions")
                return nil
            }
            let parts = value.items.compactMap { parse($0, scope: scope) }
            guard parts.count == value.items.count else { return nil }
            return combinator == "all" ? .all(parts) : .any(parts)
        }
        guard let fieldPair = pairs.first(where: { $0.key == "field" }) else {
            fail(node, "unknown condition keys \(keys.joined(separator: ", ")); expected all, any, not or field")
            return nil
        }
        guard let fieldName = fieldPair.value.string, fieldPair.value.isScalar, !fieldName.isEmpty else {
            fail(fieldPair.value, "`field` is a path such as capabilities.effective")
            return nil
        }
        let path = FieldPath(relative: fieldName, scope: scope)
        guard let shape = catalogue.shape(of: path.absolute) else {
            let hints = catalogue.suggestions(for: path.absolute)
            let hint = hints.isEmpty ? "" : " (did you mean \(hints.joined(separator: ", "))?)"
            let inside = scope.isEmpty ? "" : " inside \(scope)"
            fail(fieldPair.value, "unknown posture field `\(fieldName)`\(inside)\(hint)")
            return nil
        }
        let operators = pairs.filter { $0.key != "field" }
        guard operators.count == 1, let (opName, opKey, value) = operators.first.map({ ($0.key, $0.keyNode, $0.value) }) else {
            fail(node, "a test on `\(fieldName)` takes exactly one operator (\(Operator.names.joined(separator: ", ")))")
            return nil
        }
        guard let op = parseOperator(opName, keyNode: opKey, value: value, shape: shape, path: path) else { return nil }
        return .test(FieldTest(field: path, op: op))
    }

    private mutating func scalarValue(_ node: Node, shape: FieldShape, path: FieldPath) -> JSONValue? {
        let element: FieldShape
        switch shape {
        case .array(let inner): element = inner
        case .map(let inner): element = inner
        default: element = shape
        }
        guard node.isScalar else {
            fail(node, "expected \(element.name) to compare with `\(path.relative)`")
            return nil
        }
        var value = node.jsonScalar
        // YAML reads `max` and `0x10` as strings and `1e3` as a number; accept what the field takes.
        if element == .string, case .number = value, let text = node.string { value = .string(text) }
        if let allowed = FieldCatalogue.allowedValues[path.absolute] {
            guard case .string(let word) = value, allowed.contains(word) else {
                fail(node, "`\(path.relative)` is one of \(allowed.joined(separator: ", ")), not `\(node.string ?? value.text)`")
                return nil
            }
        }
        guard element.accepts(value) else {
            fail(node, "`\(path.relative)` holds \(element.name), not `\(node.string ?? value.text)`")
            return nil
        }
        return value
    }

    private mutating func scalarList(_ node: Node, shape: FieldShape, path: FieldPath) -> [JSONValue]? {
        guard node.isSequence else {
            fail(node, "expected a list of values for `\(path.relative)`")
            return nil
        }
        let values = node.items.compactMap { scalarValue($0, shape: shape, path: path) }
        return values.count == node.items.count ? values : nil
    }

    private mutating func parseOperator(
        _ name: String, keyNode: Node, value: Node, shape: FieldShape, path: FieldPath
    ) -> Operator? {
        let isList: Bool
        let scalarShape: Bool
        switch shape {
        case .array(let inner):
            isList = true
            scalarShape = inner != .object
        case .object, .map:
            isList = false
            scalarShape = false
        default:
            isList = false
            scalarShape = true
        }
        func requireList(_ what: String) -> Bool {
            if isList && scalarShape { return true }
            fail(keyNode, "`\(what)` needs a list of values, but `\(path.relative)` is \(shape.name)")
            return false
        }
        func requireScalar(_ what: String) -> Bool {
            if scalarShape { return true }
            fail(keyNode, "`\(what)` compares values, but `\(path.relative)` is \(shape.name)")
            return false
        }
        switch name {
        case "equals":
            guard requireScalar(name) else { return nil }
            return scalarValue(value, shape: shape, path: path).map { .equals($0) }
        case "in":
            guard requireScalar(name) else { return nil }
            return scalarList(value, shape: shape, path: path).map { .isIn($0) }
        case "contains":
            guard requireList(name) else { return nil }
            return scalarValue(value, shape: shape, path: path).map { .contains($0) }
        case "containsAll", "containsAny", "anyNotIn":
            guard requireList(name) else { return nil }
            guard let values = scalarList(value, shape: shape, path: path) else { return nil }
            switch name {
            case "containsAll": return .containsAll(values)
            case "containsAny": return .containsAny(values)
            default: return .anyNotIn(values)
            }
        case "startsWith", "under", "covers":
            guard shape == .string || shape == .array(.string) else {
                fail(keyNode, "`\(name)` applies to text, but `\(path.relative)` is \(shape.name)")
                return nil
            }
            let texts: [String]
            if value.isSequence {
                texts = value.items.compactMap { $0.isScalar ? $0.string : nil }
                guard texts.count == value.items.count, !texts.isEmpty else {
                    fail(value, "`\(name)` takes a string or a list of strings")
                    return nil
                }
            } else {
                guard value.isScalar, let text = value.string else {
                    fail(value, "`\(name)` takes a string or a list of strings")
                    return nil
                }
                texts = [text]
            }
            if name == "startsWith" { return .startsWith(texts) }
            for text in texts where HostPathText.normalized(text) != text {
                fail(value, "`\(name)` takes absolute paths written plainly (no `.`, `..`, repeated or trailing `/`), not `\(text)`")
                return nil
            }
            return name == "under" ? .under(texts) : .covers(texts)
        case "absent", "empty", "shared":
            guard value.isScalar, case .bool(let flag) = value.jsonScalar else {
                fail(value, "`\(name)` takes true or false")
                return nil
            }
            if name == "absent" { return .absent(flag) }
            if name == "shared" {
                guard flag, requireScalar(name), !isList else {
                    if !flag { fail(value, "`shared` only takes true (use `not:` for the opposite)") }
                    return nil
                }
                return .shared
            }
            switch shape {
            case .array, .map, .string: return .empty(flag)
            default:
                fail(keyNode, "`empty` applies to lists, maps and text, but `\(path.relative)` is \(shape.name)")
                return nil
            }
        case "greaterThan", "lessThan":
            guard shape == .number || shape == .limit else {
                fail(keyNode, "`\(name)` compares numbers, but `\(path.relative)` is \(shape.name)")
                return nil
            }
            guard value.isScalar, case .number(let bound) = value.jsonScalar else {
                fail(value, "`\(name)` takes a number")
                return nil
            }
            return name == "greaterThan" ? .greaterThan(bound) : .lessThan(bound)
        case "where":
            guard case .array(.object) = shape else {
                fail(keyNode, "`where` looks inside a list of objects, but `\(path.relative)` is \(shape.name)")
                return nil
            }
            return parse(value, scope: path.absolute + "[]").map { .whereAny($0) }
        default:
            fail(keyNode, "unknown operator `\(name)` (known: \(Operator.names.joined(separator: ", ")))")
            return nil
        }
    }
}

// MARK: - Evaluation

/// A posture's unknown fields as every context made for that posture reads them: worked out
/// once per posture, since the engine and the scorer make a context for every rule and setting.
struct UnknownFields {
    /// `posture.unknown` keys with list indices written as `[]`.
    let normalized: [String]
    /// `posture.unknown` keys as written, with their list indices.
    let absolute: [String]
    /// The distinct first keys of both (`EvaluationContext.unknownRoots`).
    let roots: [String]

    init(normalized: [String], absolute: [String]) {
        self.normalized = normalized
        self.absolute = absolute
        roots = EvaluationContext.roots(normalized + absolute)
    }

    init(_ unknown: [FieldPath: String]) {
        self.init(normalized: unknown.keys.map(\.normalized), absolute: unknown.keys.map(\.absolute))
    }
}

/// What one evaluation needs beside the posture: which fields are unknown, and the values
/// other workloads hold (for `shared`).
struct EvaluationContext {
    let postureID: String
    /// `posture.unknown` keys with list indices written as `[]`.
    let unknownPaths: [String]
    /// `posture.unknown` keys as written, with their list indices (`hypervisor.consoles[1].password`).
    let elementPaths: [String]
    /// For each `shared` field: value → ids of the workloads holding it.
    let sharedValues: [String: [String: [String]]]
    /// List elements a top-level `where` matched, by the list's path, for evidence.
    var matches: [String: [Int]] = [:]
    /// While a `where` tests one element of a list: that element's path (`hypervisor.consoles[1]`),
    /// which the tests inside it, written relative to the element, are read under.
    var scope: String?

    init(postureID: String, unknown: UnknownFields, sharedValues: [String: [String: [String]]] = [:]) {
        self.postureID = postureID
        self.unknownPaths = unknown.normalized
        self.elementPaths = unknown.absolute
        self.unknownRoots = unknown.roots
        self.sharedValues = sharedValues
    }

    init(postureID: String, unknownPaths: [String], elementPaths: [String] = [], sharedValues: [String: [String: [String]]]) {
        self.init(
            postureID: postureID, unknown: UnknownFields(normalized: unknownPaths, absolute: elementPaths), sharedValues: sharedValues)
    }

    /// The distinct first keys of `paths`, in order.
    static func roots(_ paths: [String]) -> [String] {
        var roots: [String] = []
        for path in paths {
            let root = String(Self.root(path))
            if !roots.contains(root) { roots.append(root) }
        }
        return roots
    }

    /// `path` is `parent` or lies under it (`parent.key`, `parent[…]`). Compared as UTF-8:
    /// paths are keys and list indices, and `String.count` walked every character of each.
    static func isUnder(_ path: String, _ parent: String) -> Bool {
        var pathBytes = path.utf8.makeIterator()
        for byte in parent.utf8 where pathBytes.next() != byte { return false }
        guard let next = pathBytes.next() else { return true }
        return next == UInt8(ascii: ".") || next == UInt8(ascii: "[")
    }

    /// The first keys of every unknown path. A field and an unknown path can only overlap when
    /// they share their first key, and most tests read a part of the posture where nothing is
    /// unknown: this check, without a string built, answers them (the full comparison was a
    /// tenth of a scan's CPU).
    let unknownRoots: [String]

    func mayBeUnknown(_ path: String) -> Bool {
        if unknownRoots.isEmpty { return false }
        let root = Self.root(path).utf8
        return unknownRoots.contains { $0.utf8.elementsEqual(root) }
    }

    /// A path's first key.
    static func root(_ path: String) -> Substring {
        let end = path.utf8.firstIndex { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "[") } ?? path.utf8.endIndex
        return path[..<end]
    }

    /// Whether a test on `field` (relative to the element in `scope`, if any) is unknown. Inside a
    /// list element only what is unknown about that element counts (or about every element,
    /// written `list[]`): one console whose password is unknown leaves the others decided.
    func isUnknownInScope(_ field: FieldPath) -> Bool {
        guard let scope else { return isUnknown(field.absolute) }
        if !mayBeUnknown(scope) { return false }
        // Most tests run inside `mounts[]` or `devices[]` while what is unknown is elsewhere:
        // only unknowns under the same first key can concern the element (no string is built).
        let root = Self.root(scope).utf8
        let near = elementPaths.filter { Self.root($0).utf8.elementsEqual(root) }
        if near.isEmpty { return false }
        let absolute = scope + "." + field.relative
        for unknown in near where Self.overlaps(unknown, absolute) { return true }
        // A key written with `[]` (every element), not an element's own index.
        let every = near.filter { $0.contains("[]") }
        if every.isEmpty { return false }
        let normalized = FieldPath(absolute).normalized
        return every.contains { Self.overlaps($0, normalized) }
    }

    /// A list a `where` reads is unknown only when the list itself (or what holds it) is, not
    /// when a field inside some of its elements is: those are judged element by element.
    func isListUnknown(_ field: FieldPath) -> Bool {
        if unknownPaths.isEmpty || !mayBeUnknown(scope ?? field.absolute) { return false }
        // Outside a `where` the field's own path serves: no FieldPath is parsed per test.
        let normalized = scope.map { FieldPath($0 + "." + field.relative).normalized } ?? field.normalized
        return unknownPaths.contains { Self.isUnder(normalized, $0) }
    }

    static func overlaps(_ unknown: String, _ path: String) -> Bool {
        isUnder(path, unknown) || isUnder(unknown, path)
    }

    /// A field is unknown when it, a field containing it, or a field inside it could not be read.
    func isUnknown(_ path: String) -> Bool {
        if unknownPaths.isEmpty || !mayBeUnknown(path) { return false }
        return unknownPaths.contains { Self.overlaps($0, path) }
    }
}

extension Condition {
    /// `all` (settled by the first `no`) and `any` (by the first `yes`) in three-valued logic:
    /// parts are evaluated in order until one settles it; otherwise any unknown part makes the
    /// whole unknown.
    private static func combine(
        _ parts: [Condition], settledBy settling: Truth, _ value: JSONValue, context: inout EvaluationContext, depth: Int
    ) -> Truth {
        var sawUnknown = false
        for part in parts {
            let truth = part.evaluate(value, context: &context, depth: depth)
            if truth == settling { return settling }
            if truth == .unknown { sawUnknown = true }
        }
        return sawUnknown ? .unknown : !settling
    }

    func evaluate(_ value: JSONValue, context: inout EvaluationContext, depth: Int = 0) -> Truth {
        switch self {
        case .all(let parts):
            return Self.combine(parts, settledBy: .no, value, context: &context, depth: depth)
        case .any(let parts):
            return Self.combine(parts, settledBy: .yes, value, context: &context, depth: depth)
        case .not(let part):
            return !part.evaluate(value, context: &context, depth: depth)
        case .test(let test):
            return test.evaluate(value, context: &context, depth: depth)
        }
    }
}

extension FieldTest {
    func evaluate(_ scope: JSONValue, context: inout EvaluationContext, depth: Int) -> Truth {
        if case .whereAny = op {
            if context.isListUnknown(field) { return .unknown }
        } else if context.isUnknownInScope(field) {
            return .unknown
        }
        let resolved = field.resolve(in: scope)
        switch op {
        case .absent(let wanted):
            return (resolved.isMissing == wanted) ? .yes : .no
        case .equals(let expected):
            return Truth(resolved.anyScalar { Self.same($0, expected) })
        case .isIn(let allowed):
            return Truth(resolved.anyScalar { value in allowed.contains { Self.same(value, $0) } })
        case .contains(let expected):
            return Truth(resolved.anyScalar { Self.same($0, expected) })
        case .containsAll(let expected):
            if resolved.isMissing { return .no }
            let values = resolved.scalars
            return Truth(expected.allSatisfy { wanted in values.contains { Self.same($0, wanted) } })
        case .containsAny(let expected):
            return Truth(resolved.anyScalar { value in expected.contains { Self.same(value, $0) } })
        case .anyNotIn(let allowed):
            return Truth(resolved.anyScalar { value in !allowed.contains { Self.same(value, $0) } })
        case .startsWith(let prefixes):
            return Truth(resolved.anyScalar { value in
                if case .string(let text) = value { return prefixes.contains { text.hasPrefix($0) } }
                return false
            })
        case .under(let directories):
            return Truth(resolved.anyScalar { value in
                guard case .string(let text) = value, let path = HostPathText.normalized(text) else { return false }
                return directories.contains { HostPathText.isAtOrBelow(path, $0) }
            })
        case .covers(let paths):
            return Truth(resolved.anyScalar { value in
                guard case .string(let text) = value, let path = HostPathText.normalized(text) else { return false }
                return paths.contains { HostPathText.isAtOrBelow($0, path) }
            })
        case .empty(let wanted):
            switch resolved {
            case .missing: return .no
            case .one(.array(let items)): return Truth(items.isEmpty == wanted)
            case .one(.object(let members)): return Truth(members.isEmpty == wanted)
            case .one(.string(let text)): return Truth(text.isEmpty == wanted)
            case .many(let values): return Truth(values.isEmpty == wanted)
            case .one: return .no
            }
        case .greaterThan(let bound):
            return Truth(resolved.anyScalar { Self.number($0).map { $0 > bound } ?? false })
        case .lessThan(let bound):
            return Truth(resolved.anyScalar { Self.number($0).map { $0 < bound } ?? false })
        case .whereAny(let inner):
            guard case .one(.array(let items)) = resolved else { return .no }
            var sawUnknown = false
            var matched: [Int] = []
            let outer = context.scope
            defer { context.scope = outer }
            let list = outer.map { $0 + "." + field.relative } ?? field.absolute
            for (index, item) in items.enumerated() {
                context.scope = "\(list)[\(index)]"
                switch inner.evaluate(item, context: &context, depth: depth + 1) {
                case .yes: matched.append(index)
                case .unknown: sawUnknown = true
                case .no: break
                }
            }
            if !matched.isEmpty {
                if depth == 0 { context.matches[field.absolute] = matched }
                return .yes
            }
            return sawUnknown ? .unknown : .no
        case .shared:
            guard case .one(let value) = resolved else { return .no }
            let holders = context.sharedValues[field.absolute]?[value.text] ?? []
            return Truth(holders.contains { $0 != context.postureID })
        }
    }

    static func same(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        default: false
        }
    }

    /// A number, with a cgroup `max` as infinity (no limit is larger than any bound).
    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .number(let number): number
        case .string("max"): .infinity
        default: nil
        }
    }
}

extension Truth {
    init(_ flag: Bool) { self = flag ? .yes : .no }
}

/// Absolute paths as lists of components, read lexically (nothing on disk is consulted: a
/// path in a posture names something on the host, not here). `.` and empty components are
/// dropped and `..` removes the one before it, stopping at `/`, as the kernel resolves a path
/// without symlinks; so `/var/lib/../../etc/` is `/etc`.
enum HostPathText {
    /// nil for a relative path.
    static func components(_ text: String) -> [Substring]? {
        guard text.hasPrefix("/") else { return nil }
        var result: [Substring] = []
        for component in text.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..": if !result.isEmpty { result.removeLast() }
            default: result.append(component)
            }
        }
        return result
    }

    /// The path written plainly (`/etc`), nil for a relative one.
    static func normalized(_ text: String) -> String? {
        components(text).map { "/" + $0.joined(separator: "/") }
    }

    /// Both plain paths: `path` is `directory` or inside it.
    static func isAtOrBelow(_ path: String, _ directory: String) -> Bool {
        directory == "/" || path == directory || (path.utf8.starts(with: directory.utf8) && path.utf8.dropFirst(directory.utf8.count).first == UInt8(ascii: "/"))
    }
}
