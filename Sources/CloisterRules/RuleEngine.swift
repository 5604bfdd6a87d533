import CloisterModel

/// A rule that could not be decided for a workload because a field it reads is unknown.
/// Not a finding: cloister does not guess. Reported so a user can see what went unchecked.
public struct Undetermined: Sendable, Equatable {
    public var rule: String
    public var workload: String
    /// The unknown fields the rule reads, with why they are unknown.
    public var fields: [String: String]
}

public struct RuleEvaluation: Sendable {
    public var findings: [Finding]
    public var undetermined: [Undetermined]
}

/// Applies a rule pack to postures.
public struct RuleEngine: Sendable {
    public let pack: RulePack

    public init(pack: RulePack) { self.pack = pack }

    /// Findings for every posture, in posture order, most severe first within a workload.
    /// All postures are passed at once because some rules compare workloads (a shared sVirt label).
    public func evaluate(_ postures: [Posture]) -> [Finding] {
        evaluateDetailed(postures).findings
    }

    public func evaluateDetailed(_ postures: [Posture]) -> RuleEvaluation {
        let trees = postures.map { (try? JSONValue.encode($0)) ?? .object([:]) }
        return evaluate(postures: postures, trees: trees)
    }

    func evaluate(postures: [Posture], trees: [JSONValue]) -> RuleEvaluation {
        var findings: [Finding] = []
        var undetermined: [Undetermined] = []
        let shared = sharedIndex(postures: postures, trees: trees)
        for (index, posture) in postures.enumerated() {
            var mine: [Finding] = []
            for rule in pack.rules where rule.applies(to: posture.kind) {
                var context = EvaluationContext(
                    postureID: posture.id, unknown: posture.unknown, sharedValues: shared[rule.id] ?? [:])
                switch rule.condition.evaluate(trees[index], context: &context) {
                case .yes:
                    mine.append(finding(rule: rule, posture: posture, tree: trees[index], context: context))
                case .unknown:
                    var fields: [String: String] = [:]
                    for field in rule.fields where context.isUnknown(field) {
                        for (key, reason) in posture.unknown
                        where context.isUnknown(field) && EvaluationContext.related(EvaluationContext.normalize(key), field) {
                            fields[key] = reason
                        }
                    }
                    undetermined.append(Undetermined(rule: rule.id, workload: posture.id, fields: fields))
                case .no:
                    break
                }
            }
            mine.sort { ($0.severity, $1.rule) > ($1.severity, $0.rule) }
            findings += mine
        }
        return RuleEvaluation(findings: findings, undetermined: undetermined)
    }

    /// For rules with `shared: true` tests: the value each workload of the rule's kinds holds.
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

    func finding(rule: Rule, posture: Posture, tree: JSONValue, context: EvaluationContext) -> Finding {
        let evidence = Evidence.collect(rule: rule, posture: posture, tree: tree, context: context)
        let message = Placeholders.fill(rule.message, tree: tree, matches: context.matches)
        return Finding(
            rule: rule.id, severity: rule.severity, workload: posture.id, message: message, evidence: evidence.values,
            references: rule.references.asReferences, location: evidence.location(in: posture))
    }
}

extension EvaluationContext {
    static func related(_ lhs: String, _ rhs: String) -> Bool {
        func under(_ path: String, _ parent: String) -> Bool {
            path.hasPrefix(parent) && (path.count == parent.count || [".", "["].contains(path.dropFirst(parent.count).first))
        }
        return under(lhs, rhs) || under(rhs, lhs)
    }
}

struct Evidence {
    var values: [String: String] = [:]
    /// Paths for `fieldLocations`, most specific first.
    var locationKeys: [String] = []

    static func collect(rule: Rule, posture: Posture, tree: JSONValue, context: EvaluationContext) -> Evidence {
        var evidence = Evidence()
        var specific: [String] = []
        var general: [String] = []
        for (test, insideWhere) in rule.condition.fieldTests() where !insideWhere {
            let path = test.field.absolute
            if case .whereAny(let inner) = test.op {
                guard let matched = context.matches[path] else { continue }
                let arrayPath = path
                guard case .one(.array(let items)) = test.field.resolve(in: tree) else { continue }
                let subFields = inner.fieldTests().map(\.test.field)
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

extension Placeholders {
    /// Fills `{{path}}` with the posture's value. For a path through a list that a `where`
    /// matched, only the matched elements are cited.
    static func fill(_ message: String, tree: JSONValue, matches: [String: [Int]]) -> String {
        guard message.contains("{{") else { return message }
        var output = ""
        var rest = Substring(message)
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            output += rest[..<open.lowerBound]
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            output += value(of: name, tree: tree, matches: matches)
            rest = rest[close.upperBound...]
        }
        output += rest
        return output
    }

    static func value(of name: String, tree: JSONValue, matches: [String: [Int]]) -> String {
        if let split = name.range(of: "[]") {
            let arrayPath = String(name[..<split.lowerBound])
            let remainder = String(name[split.upperBound...]).drop { $0 == "." }
            guard case .one(.array(let items)) = FieldPath(relative: arrayPath, scope: "").resolve(in: tree) else {
                return "(none)"
            }
            let chosen = matches[arrayPath].map { $0.filter { $0 < items.count }.map { items[$0] } } ?? items
            let sub = FieldPath(relative: String(remainder), scope: "")
            let texts = chosen.compactMap { item -> String? in
                if remainder.isEmpty { return item.text }
                switch sub.resolve(in: item) {
                case .one(let value): return value.text
                case .many(let values): return values.map(\.text).joined(separator: ", ")
                case .missing: return nil
                }
            }
            return texts.isEmpty ? "(none)" : texts.joined(separator: ", ")
        }
        switch FieldPath(relative: name, scope: "").resolve(in: tree) {
        case .one(let value):
            let text = value.text
            return text.isEmpty ? "(none)" : text
        case .many(let values): return values.map(\.text).joined(separator: ", ")
        case .missing: return "(not set)"
        }
    }
}
