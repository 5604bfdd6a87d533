import CloisterCodec
import CloisterModel

/// A rule that could not be decided for a workload because a field it reads is unknown.
/// Not a finding: cloister does not guess. Reported so a user can see what went unchecked.
public struct Undetermined: Sendable, Equatable {
    public var rule: String
    public var workload: String
    /// The unknown fields the rule reads, with why they are unknown.
    public var fields: [String: String]
}

extension Undetermined {
    /// As a scan issue, so a report says what went unchecked and why.
    public var asIssue: ScanIssue {
        let fieldsWhy = fields.keys.sorted().map { "\($0): \(fields[$0] ?? "")" }.joined(separator: "; ")
        let why = fieldsWhy.isEmpty ? "a field it reads is unknown" : fieldsWhy
        return ScanIssue(workload: workload, message: "rule \(rule) was not decided for \(workload): \(why)", rule: rule, reason: why)
    }
}

public struct RuleEvaluation: Sendable {
    public var findings: [Finding]
    public var undetermined: [Undetermined]
}

/// Applies a rule pack to postures.
public struct RuleEngine: Sendable {
    public let pack: RulePack
    /// What evaluation needs of each rule, worked out once rather than per posture.
    let plans: [RulePlan]

    public init(pack: RulePack) {
        self.pack = pack
        self.plans = pack.rules.map(RulePlan.init)
    }

    /// Findings for every posture, in posture order, most severe first within a workload.
    /// All postures are passed at once because some rules compare workloads (a shared sVirt label).
    public func evaluate(_ postures: [Posture]) -> [Finding] {
        evaluateDetailed(postures).findings
    }

    public func evaluateDetailed(_ postures: [Posture]) -> RuleEvaluation {
        let trees = postures.map(PostureTree.make)
        return evaluate(postures: postures, trees: trees)
    }

    func evaluate(postures: [Posture], trees: [JSONValue]) -> RuleEvaluation {
        let shared = sharedIndex(postures: postures, trees: trees)
        // Once the cross-workload values are indexed, each posture is judged on its own: on
        // every core, in order.
        let perPosture = Parallel.map(Array(postures.indices)) { index in
            evaluate(postures[index], tree: trees[index], shared: shared)
        }
        var findings: [Finding] = []
        var undetermined: [Undetermined] = []
        for result in perPosture {
            findings += result.findings
            undetermined += result.undetermined
        }
        return RuleEvaluation(findings: findings, undetermined: undetermined)
    }

    func evaluate(
        _ posture: Posture, tree: JSONValue, shared: [String: [String: [String: [String]]]]
    ) -> RuleEvaluation {
        var mine: [Finding] = []
        var undetermined: [Undetermined] = []
        let noShared: [String: [String: [String]]] = [:]
        // Each unknown field's two spellings and reason, worked out once per posture: an
        // undecided rule asks them of every unknown field for every field it reads.
        let unknown = posture.unknown.map { (normalized: $0.key.normalized, absolute: $0.key.absolute, reason: $0.value) }
        let unknownFields = UnknownFields(normalized: unknown.map(\.normalized), absolute: unknown.map(\.absolute))
        for plan in plans where plan.kinds.contains(posture.kind) {
            var context = EvaluationContext(
                postureID: posture.id, unknown: unknownFields, sharedValues: shared.isEmpty ? noShared : shared[plan.rule.id] ?? noShared)
            switch plan.rule.condition.evaluate(tree, context: &context) {
            case .yes:
                mine.append(finding(plan: plan, posture: posture, tree: tree, context: context))
            case .unknown:
                let rule = plan.rule
                var fields: [String: String] = [:]
                for field in plan.fields where context.isUnknown(field) {
                    for entry in unknown where EvaluationContext.related(entry.normalized, field) {
                        fields[entry.absolute] = entry.reason
                    }
                }
                undetermined.append(Undetermined(rule: rule.id, workload: posture.id, fields: fields))
            case .no:
                break
            }
        }
        mine.sort { ($0.severity, $1.rule) > ($1.severity, $0.rule) }
        return RuleEvaluation(findings: mine, undetermined: undetermined)
    }

    /// For rules with `shared: true` tests: the value each workload of the rule's kinds holds.
    /// The cross-workload index without holding every tree: each posture's tree is made, read
    /// for the shared fields, and dropped. Nothing is made when no rule compares workloads.
    func sharedIndex(postures: [Posture]) -> [String: [String: [String: [String]]]] {
        guard pack.rules.contains(where: { $0.condition.usesShared }) else { return [:] }
        // Each rule's shared fields, once each (a field tested twice is indexed once).
        var fields: [(rule: Rule, field: FieldPath)] = []
        var index: [String: [String: [String: [String]]]] = [:]
        for rule in pack.rules where rule.condition.usesShared {
            for (test, _) in rule.condition.fieldTests() {
                guard case .shared = test.op, index[rule.id]?[test.field.absolute] == nil else { continue }
                index[rule.id, default: [:]][test.field.absolute] = [:]
                fields.append((rule, test.field))
            }
        }
        for posture in postures {
            // Only the kinds a comparing rule judges need a tree: a check of 5,000 Kubernetes
            // pods (no guests) made 5,000 trees here, on one thread, for nothing.
            guard fields.contains(where: { $0.rule.applies(to: posture.kind) }) else { continue }
            let tree = PostureTree.make(posture)
            for (rule, field) in fields where rule.applies(to: posture.kind) {
                if case .one(let value) = field.resolve(in: tree) {
                    index[rule.id]?[field.absolute]?[value.text, default: []].append(posture.id)
                }
            }
        }
        return index
    }

    private func sharedIndex(postures: [Posture], trees: [JSONValue]) -> [String: [String: [String: [String]]]] {
        var index: [String: [String: [String: [String]]]] = [:]
        for rule in pack.rules where rule.condition.usesShared {
            for (test, _) in rule.condition.fieldTests() {
                guard case .shared = test.op else { continue }
                var values: [String: [String]] = [:]
                for (position, posture) in postures.enumerated() where rule.applies(to: posture.kind) {
                    if case .one(let value) = test.field.resolve(in: trees[position]) {
                        values[value.text, default: []].append(posture.id)
                    }
                }
                index[rule.id, default: [:]][test.field.absolute] = values
            }
        }
        return index
    }

    func finding(plan: RulePlan, posture: Posture, tree: JSONValue, context: EvaluationContext) -> Finding {
        let rule = plan.rule
        let evidence = Evidence.collect(tests: plan.outerTests, posture: posture, tree: tree, context: context)
        var message = plan.message.fill(tree: tree, matches: context.matches)
        var values = evidence.values
        if !posture.defaulted.isEmpty {
            // A declared posture's value the file never set: say so, the fix is to set it.
            let defaulted = posture.defaulted.filter { field in plan.fields.contains { EvaluationContext.related($0, field) } }
            if !defaulted.isEmpty {
                values["defaulted"] = defaulted.sorted().joined(separator: ", ")
                message += " (not set in the file: the platform's default applies to \(defaulted.sorted().joined(separator: ", ")))"
            }
        }
        return Finding(
            rule: rule.id, severity: rule.severity, workload: posture.id, message: message, evidence: values,
            references: plan.references, location: evidence.location(in: posture))
    }
}

final class RulePlan: Sendable {
    let rule: Rule
    let kinds: Set<WorkloadKind>
    let references: [Reference]
    let message: MessageTemplate
    /// `rule.fields`, worked out once: it walks the condition each time it is asked.
    let fields: [String]
    /// Field tests outside any `where`, with the fields each `where` reads: what evidence cites.
    let outerTests: [(test: FieldTest, inner: [FieldPath])]

    init(_ rule: Rule) {
        self.rule = rule
        self.kinds = rule.kinds
        self.references = rule.references.asReferences
        self.message = MessageTemplate(rule.message)
        self.fields = rule.fields
        self.outerTests = rule.condition.fieldTests().filter { !$0.insideWhere }.map { entry in
            if case .whereAny(let inner) = entry.test.op {
                return (test: entry.test, inner: inner.fieldTests().map(\.test.field))
            }
            return (test: entry.test, inner: [])
        }
    }
}

extension EvaluationContext {
    static func related(_ lhs: String, _ rhs: String) -> Bool { overlaps(lhs, rhs) }
}

struct Evidence {
    var values: [String: String] = [:]
    /// Paths for `fieldLocations`, most specific first.
    var locationKeys: [String] = []

    static func collect(
        tests: [(test: FieldTest, inner: [FieldPath])], posture: Posture, tree: JSONValue, context: EvaluationContext
    ) -> Evidence {
        var evidence = Evidence()
        var specific: [String] = []
        var general: [String] = []
        for (test, subFields) in tests {
            let path = test.field.absolute
            if case .whereAny = test.op {
                guard let matched = context.matches[path] else { continue }
                let arrayPath = path
                guard case .one(.array(let items)) = test.field.resolve(in: tree) else { continue }
                for position in matched where position < items.count {
                    let elementPath = "\(arrayPath)[\(position)]"
                    for sub in subFields {
                        let relative = String(sub.absolute.dropFirst(arrayPath.count + 3))
                        let relativePath = FieldPath(relative: relative, scope: "")
                        switch relativePath.resolve(in: items[position]) {
                        case .one(let value): evidence.values["\(elementPath).\(relative)"] = value.text
                        case .many(let values): evidence.values["\(elementPath).\(relative)"] = values.map(\.text).joined(separator: ", ")
                        case .missing: break
                        }
                        specific.append("\(elementPath).\(relative)")
                    }
                    specific.append(elementPath)
                }
                general.append(arrayPath)
                continue
            }
            switch test.field.resolve(in: tree) {
            case .one(let value): evidence.values[path] = value.text
            case .many(let values): evidence.values[path] = values.map(\.text).joined(separator: ", ")
            case .missing: evidence.values[path] = "(not set)"
            }
            if case .shared = test.op, case .one(let value) = test.field.resolve(in: tree) {
                let others = (context.sharedValues[path]?[value.text] ?? []).filter { $0 != posture.id }
                evidence.values[path + " (shared with)"] = others.joined(separator: ", ")
            }
            general.append(path)
        }
        // Parents of general paths, so a location declared for `capabilities` serves `capabilities.add`.
        var parents: [String] = []
        for path in general {
            var parts = path.split(separator: ".").map(String.init)
            while parts.count > 1 {
                parts.removeLast()
                parents.append(parts.joined(separator: "."))
            }
        }
        var seen = Set<String>()
        evidence.locationKeys = (specific + general + parents).filter { seen.insert($0).inserted }
        return evidence
    }

    func location(in posture: Posture) -> SourceLocation? {
        if !posture.fieldLocations.isEmpty {
            for key in locationKeys {
                if let location = posture.fieldLocations[key] { return location }
            }
        }
        return posture.location
    }
}

/// A message split once, on load, into text and the fields it cites.
struct MessageTemplate: Sendable {
    enum Part: Sendable {
        case text(String)
        /// `{{a.b}}`.
        case field(FieldPath)
        /// `{{list[].rest}}`: the list's path (for matched elements), the list, the rest.
        case listField(listPath: String, list: FieldPath, rest: FieldPath?)
    }

    let parts: [Part]

    init(_ message: String) {
        var parts: [Part] = []
        for piece in Placeholders.split(message) {
            switch piece {
            case .text(let text): parts.append(.text(text))
            case .name(let name):
                if let split = name.range(of: "[]") {
                    let listPath = String(name[..<split.lowerBound])
                    let remainder = String(name[split.upperBound...].drop { $0 == "." })
                    parts.append(.listField(
                        listPath: listPath, list: FieldPath(relative: listPath, scope: ""),
                        rest: remainder.isEmpty ? nil : FieldPath(relative: remainder, scope: "")))
                } else {
                    parts.append(.field(FieldPath(relative: name, scope: "")))
                }
            }
        }
        self.parts = parts
    }

    /// Fills the fields with the posture's values. For a path through a list that a `where`
    /// matched, only the matched elements are cited.
    func fill(tree: JSONValue, matches: [String: [Int]]) -> String {
        var output = ""
        for part in parts {
            switch part {
            case .text(let text): output += text
            case .field(let path):
                // A capability set is said by what matters ("all 41 capabilities", "the container
                // default set + CAP_SYS_ADMIN"); any other long list is cut with a count. The
                // finding's evidence keeps every item.
                let resolved = path.resolve(in: tree)
                if path.absolute == "devices", case .one(.array(let items)) = resolved {
                    // Devices by class ("every host device (cgroup allows all); block devices:
                    // /dev/vda, /dev/loop0–7"), past the ones every container gets.
                    let exposed = items.compactMap { item -> (path: String, type: String?)? in
                        guard item["standard"].map({ $0 != .bool(true) }) ?? true, case .string(let path)? = item["path"] else { return nil }
                        if case .string(let type)? = item["type"] { return (path, type) }
                        return (path, nil)
                    }
                    let allowAll = tree["cgroup"]?["devicesAllowAll"] == .bool(true)
                    output += DeviceClasses.summary(exposed, allowAll: allowAll)
                } else if case .one(.array(let items)) = resolved, !items.isEmpty {
                    let texts = items.map(\.text)
                    output += path.absolute.hasPrefix("capabilities.")
                        ? CapabilityNames.summary(texts) : CapabilityNames.list(texts, limit: Placeholders.listLimit)
                } else {
                    output += Placeholders.text(resolved)
                }
            case .listField(let listPath, let list, let rest):
                guard case .one(.array(let items)) = list.resolve(in: tree) else {
                    output += "(none)"
                    continue
                }
                let chosen = matches[listPath].map { $0.filter { $0 < items.count }.map { items[$0] } } ?? items
                let texts = chosen.compactMap { item -> String? in
                    guard let rest else { return item.text }
                    switch rest.resolve(in: item) {
                    case .one(let value): return value.text
                    case .many(let values): return values.map(\.text).joined(separator: ", ")
                    case .missing: return nil
                    }
                }
                // One value for every element ("rwm" for eight block devices) is said once;
                // device paths with numbered runs as ranges (/dev/loop0–7).
                var said = Set(texts).count == 1 ? Array(texts.prefix(1)) : texts
                if listPath == "devices", rest?.absolute == "path" { said = DeviceClasses.ranges(said) }
                output += said.isEmpty ? "(none)" : CapabilityNames.list(said, limit: Placeholders.listLimit)
            }
        }
        return output
    }
}

extension Placeholders {
    /// Items of a list a message names before it says how many more there are.
    static let listLimit = 10

    enum Piece { case text(String), name(String) }

    /// `text {{name}} text` → pieces, scanning characters (no Foundation searching).
    static func split(_ message: String) -> [Piece] {
        var pieces: [Piece] = []
        var text = ""
        var index = message.startIndex
        while index < message.endIndex {
            if message[index...].hasPrefix("{{"), let close = closing(in: message, from: message.index(index, offsetBy: 2)) {
                if !text.isEmpty { pieces.append(.text(text)); text = "" }
                let name = message[message.index(index, offsetBy: 2)..<close]
                pieces.append(.name(name.trimmingCharacters(in: .whitespaces)))
                index = message.index(close, offsetBy: 2)
            } else {
                text.append(message[index])
                index = message.index(after: index)
            }
        }
        if !text.isEmpty { pieces.append(.text(text)) }
        return pieces
    }

    private static func closing(in message: String, from start: String.Index) -> String.Index? {
        var index = start
        while index < message.endIndex {
            if message[index...].hasPrefix("}}") { return index }
            index = message.index(after: index)
        }
        return nil
    }

    static func text(_ resolved: Resolved) -> String {
        switch resolved {
        case .one(let value):
            let text = value.text
            return text.isEmpty ? "(none)" : text
        case .many(let values): return values.map(\.text).joined(separator: ", ")
        case .missing: return "(not set)"
        }
    }
}
