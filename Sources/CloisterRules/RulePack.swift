import CloisterCodec
import CloisterModel
import Foundation
import Yams

/// The rules of one or more rule files, checked on load.
public struct RulePack: Sendable {
    /// The newest rule file version this program reads.
    public static let supportedVersion = 1

    public var rules: [Rule]
    /// The files the rules came from, in load order.
    public var files: [String]

    public init(rules: [Rule], files: [String] = []) {
        self.rules = rules
        self.files = files
    }

    /// Rules decided outside the engine (the Pod Security Standards' controls), kept for their
    /// titles, references and remediation in reports; the engine never evaluates them.
    public var standards: [Rule] = []

    public func rule(id: String) -> Rule? { rules.first { $0.id == id } ?? standards.first { $0.id == id } }

    /// Parses the texts of rule files, in order (reading them is the caller's: see
    /// `CloisterResourceFiles`, whose `load(directory:)` hands them here). `name` names each
    /// file in errors and in `files`. Throws `InputFileErrors` listing every problem in every
    /// file, each with file and line. `includeCases: false` skips building each rule's test
    /// postures: `scan` and `check` only evaluate, and the cases are most of what a rule file
    /// holds. `rules lint` and `rules test` keep the default.
    public static func parse(files: [(name: String, text: String)], includeCases: Bool = true) throws -> RulePack {
        var rules: [Rule] = []
        var errors: [InputFileError] = []
        var seen: [String: String] = [:]
        for (file, text) in files {
            do {
                let loaded = try parse(yaml: text, file: file, includeCases: includeCases)
                for rule in loaded {
                    if let first = seen[rule.id] {
                        errors.append(InputFileError(
                            file: file, line: rule.line, message: "rule id `\(rule.id)` is already defined in \(first)"))
                        continue
                    }
                    seen[rule.id] = file + (rule.line.map { ":\($0)" } ?? "")
                    rules.append(rule)
                }
            } catch let error as InputFileErrors {
                errors += error.errors
            } catch let error as InputFileError {
                errors.append(error)
            }
        }
        if !errors.isEmpty { throw InputFileErrors(errors) }
        return RulePack(rules: rules, files: files.map(\.name))
    }

    /// Parses one rule file's text. `file` names it in errors.
    public static func parse(yaml text: String, file: String, includeCases: Bool = true) throws -> [Rule] {
        let root = try YAMLFile.compose(text, file: file)
        try YAMLFile.checkVersion(root, file: file, known: supportedVersion, what: "rule")
        var parser = RuleFileParser(file: file)
        parser.includeCases = includeCases
        let rules = parser.parseFile(root)
        if !parser.errors.isEmpty { throw InputFileErrors(parser.errors) }
        return rules
    }
}

struct RuleFileParser {
    let file: String
    var errors: [InputFileError] = []
    var includeCases = true

    init(file: String) { self.file = file }

    mutating func fail(_ node: Node?, _ message: String) {
        errors.append(InputFileError(file: file, node: node, message))
    }

    mutating func parseFile(_ root: Node) -> [Rule] {
        for pair in root.pairs where !["version", "rules"].contains(pair.key) {
            fail(pair.keyNode, "unknown key `\(pair.key)` at the top of a rule file (expected version, rules)")
        }
        guard let rulesNode = root.pairs.first(where: { $0.key == "rules" })?.value else {
            fail(root, "missing `rules:` (a list of rules)")
            return []
        }
        guard rulesNode.isSequence else {
            fail(rulesNode, "`rules:` is a list of rules")
            return []
        }
        return rulesNode.items.compactMap { parseRule($0) }
    }

    static let ruleKeys: Set<String> = [
        "id", "title", "severity", "kinds", "description", "when", "message", "remediation", "references", "cases",
    ]

    mutating func parseRule(_ node: Node) -> Rule? {
        guard node.isMapping else {
            fail(node, "a rule is a mapping with id, title, severity, kinds, when, message, remediation, references, cases")
            return nil
        }
        let errorsBefore = errors.count
        var fields: [String: Node] = [:]
        for pair in node.pairs {
            if !Self.ruleKeys.contains(pair.key) {
                fail(pair.keyNode, "unknown rule key `\(pair.key)` (known: \(Self.ruleKeys.sorted().joined(separator: ", ")))")
            }
            fields[pair.key] = pair.value
        }
        func text(_ key: String, required: Bool = true) -> String? {
            guard let value = fields[key] else {
                if required { fail(node, "rule is missing `\(key)`") }
                return nil
            }
            guard value.isScalar, let string = value.string, !string.trimmingCharacters(in: .whitespaces).isEmpty else {
                fail(value, "`\(key)` is non-empty text")
                return nil
            }
            return string
        }
        let id = text("id")
        if let id, !ReferenceSyntax.isRuleID(id) {
            fail(fields["id"], "rule id `\(id)` must be lower-case words joined by hyphens (ct-privileged)")
        }
        let title = text("title")
        let description = text("description", required: false)
        let message = text("message")
        let remediation = text("remediation")
        var severity: Severity?
        if let raw = text("severity") {
            severity = Severity(rawValue: raw)
            if severity == nil {
                fail(fields["severity"], "unknown severity `\(raw)` (info, low, medium, high, critical)")
            }
        }
        var kinds = Set<WorkloadKind>()
        if let kindsNode = fields["kinds"] {
            if kindsNode.isSequence, !kindsNode.items.isEmpty {
                for item in kindsNode.items {
                    if let kind = item.string.flatMap(WorkloadKind.init(rawValue:)) {
                        kinds.insert(kind)
                    } else {
                        fail(item, "unknown workload kind `\(item.string ?? "")` (container, sandbox, vm)")
                    }
                }
            } else {
                fail(kindsNode, "`kinds` is a non-empty list: container, sandbox, vm")
            }
        } else {
            fail(node, "rule is missing `kinds`")
        }
        var condition: Condition?
        if let whenNode = fields["when"] {
            var conditionParser = ConditionParser(file: file)
            condition = conditionParser.parse(whenNode)
            errors += conditionParser.errors
        } else {
            fail(node, "rule is missing `when` (its condition)")
        }
        if let message, let messageNode = fields["message"] {
            checkPlaceholders(message, node: messageNode)
        }
        var references = RuleReferences()
        if let referencesNode = fields["references"] {
            references = parseReferences(referencesNode)
        } else {
            fail(node, "rule is missing `references` (cis, pss, nist, cves)")
        }
        if fields["cases"] == nil {
            fail(node, "rule `\(id ?? "?")` has no `cases:` (each rule ships postures it must and must not fire on)")
        }
        guard errors.count == errorsBefore, let id, let title, let severity, let condition, let message,
            let remediation
        else { return nil }
        var rule = Rule(
            id: id, title: title, severity: severity, kinds: kinds, description: description, condition: condition,
            message: message, remediation: remediation, references: references, cases: [], file: file,
            line: node.mark?.line)
        if includeCases, let casesNode = fields["cases"] {
            rule.cases = parseCases(casesNode, rule: rule)
        }
        return errors.count == errorsBefore ? rule : nil
    }

    mutating func checkPlaceholders(_ message: String, node: Node) {
        for placeholder in Placeholders.names(in: message) where FieldCatalogue.posture.shape(of: placeholder) == nil {
            fail(node, "message cites `{{\(placeholder)}}`, which is not a posture field")
        }
    }

    /// A list of reference ids: each item that `isValid` accepts, and an error at every other
    /// (or at the node, when it is not a list).
    mutating func parseReferenceList(
        _ node: Node, listMessage: String, isValid: (String) -> Bool, itemIs: String
    ) -> [String] {
        guard node.isSequence else {
            fail(node, listMessage)
            return []
        }
        var accepted: [String] = []
        for item in node.items {
            if let text = item.string, isValid(text) {
                accepted.append(text)
            } else {
                fail(item, "`\(item.string ?? "")` is not \(itemIs)")
            }
        }
        return accepted
    }

    mutating func parseReferences(_ node: Node) -> RuleReferences {
        var references = RuleReferences()
        guard node.isMapping else {
            fail(node, "`references` is a mapping: cis, pss, nist, sp800-53, cves, urls")
            return references
        }
        /// A quoted section number (`"5.5"`), or nil with `problem` reported at the value.
        func sectionNumber(_ value: Node, minimumParts: Int, _ problem: String) -> String? {
            if let item = value.string, value.isScalar, ReferenceSyntax.isSectionNumber(item, minimumParts: minimumParts) {
                return item
            }
            fail(value, problem)
            return nil
        }
        for pair in node.pairs {
            switch pair.key {
            case "cis":
                references.cisDocker = sectionNumber(
                    pair.value, minimumParts: 2, "`cis` is a CIS Docker Benchmark 1.6.0 item number, quoted (\"5.5\")")
            case "nist":
                references.nist800190 = sectionNumber(
                    pair.value, minimumParts: 1, "`nist` is a NIST SP 800-190 section number, quoted (\"4.4.3\")")
            case "pss":
                let level = pair.value.pairs.first { $0.key == "level" }?.value.string
                let control = pair.value.pairs.first { $0.key == "control" }?.value.string
                guard let level, ["baseline", "restricted"].contains(level), let control, !control.isEmpty else {
                    fail(pair.value, "`pss` is {level: baseline|restricted, control: NAME}")
                    continue
                }
                references.podSecurityLevel = level
                references.podSecurityControl = control
            case "sp800-53":
                references.nist80053 += parseReferenceList(
                    pair.value, listMessage: "`sp800-53` is a list of NIST SP 800-53 Rev. 5 controls ([AC-6, CM-7])",
                    isValid: NIST80053.isControl, itemIs: "a NIST SP 800-53 control (AC-6, CM-7(2))")
            case "cves":
                references.cves += parseReferenceList(
                    pair.value, listMessage: "`cves` is a list of CVE ids", isValid: ReferenceSyntax.isCVE,
                    itemIs: "a CVE id (CVE-2019-5736)")
            case "urls":
                references.urls = pair.value.items.compactMap(\.string)
            default:
                fail(pair.keyNode, "unknown reference `\(pair.key)` (cis, pss, nist, sp800-53, cves, urls)")
            }
        }
        if references.asReferences.isEmpty {
            fail(node, "`references` cites nothing: give at least one of cis, pss, nist, cves, urls")
        }
        return references
    }

    mutating func parseCases(_ node: Node, rule: Rule) -> [RuleCase] {
        guard node.isMapping else {
            fail(node, "`cases` is a mapping with `fires:` and `silent:` lists")
            return []
        }
        var cases: [RuleCase] = []
        var counts: [RuleCase.Expectation: Int] = [:]
        for pair in node.pairs {
            guard let expectation = RuleCase.Expectation(rawValue: pair.key) else {
                fail(pair.keyNode, "unknown case list `\(pair.key)` (fires, silent)")
                continue
            }
            guard pair.value.isSequence else {
                fail(pair.value, "`\(pair.key)` is a list of cases")
                continue
            }
            for (index, item) in pair.value.items.enumerated() {
                if let ruleCase = parseCase(item, expectation: expectation, index: index, rule: rule) {
                    cases.append(ruleCase)
                    counts[expectation, default: 0] += 1
                }
            }
        }
        for expectation in [RuleCase.Expectation.fires, .silent] where counts[expectation, default: 0] == 0 {
            fail(node, "rule `\(rule.id)` needs at least one `\(expectation.rawValue)` case")
        }
        return cases
    }

    mutating func parseCase(_ node: Node, expectation: RuleCase.Expectation, index: Int, rule: Rule) -> RuleCase? {
        guard node.isMapping else {
            fail(node, "a case is a mapping: name, posture (an overlay on the hardened posture), peers")
            return nil
        }
        var name = "\(expectation.rawValue) #\(index + 1)"
        var overlay = JSONValue.object([:])
        var overlayNode: Node?
        var peerNodes: [Node] = []
        for pair in node.pairs {
            switch pair.key {
            case "name": name = pair.value.string ?? name
            case "posture":
                overlayNode = pair.value
                overlay = overlayValue(pair.value, path: "")
            case "peers":
                guard pair.value.isSequence else {
                    fail(pair.value, "`peers` is a list of posture overlays")
                    continue
                }
                peerNodes = pair.value.items
            default:
                fail(pair.keyNode, "unknown case key `\(pair.key)` (name, posture, peers)")
            }
        }
        guard let posture = buildPosture(overlay, node: overlayNode ?? node, id: "case", defaultKind: rule.kinds) else {
            return nil
        }
        var peers: [Posture] = []
        for (peerIndex, peerNode) in peerNodes.enumerated() {
            let peerOverlay = overlayValue(peerNode, path: "")
            guard let peer = buildPosture(peerOverlay, node: peerNode, id: "peer-\(peerIndex + 1)", defaultKind: rule.kinds)
            else { return nil }
            peers.append(peer)
        }
        return RuleCase(
            name: name, expectation: expectation, posture: posture, peers: peers, file: file, line: node.mark?.line)
    }

    /// The posture a case describes: the hardened posture of its kind with the overlay merged in.
    mutating func buildPosture(_ overlay: JSONValue, node: Node, id: String, defaultKind: Set<WorkloadKind>) -> Posture? {
        var kind = WorkloadKind.allCases.first { defaultKind.contains($0) } ?? .container
        if case .string(let raw)? = overlay["kind"], let named = WorkloadKind(rawValue: raw) { kind = named }
        do {
            let base = try JSONValue.encode(HardenedPosture.make(kind: kind, id: id))
            let merged = base.merging(overlay)
            let data = Data(merged.serialized().utf8)
            return try JSONDecoder().decode(Posture.self, from: data)
        } catch let error as DecodingError {
            fail(node, "this case is not a valid posture: \(Self.describe(error))")
        } catch {
            fail(node, "this case is not a valid posture: \(error)")
        }
        return nil
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }
                .description
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])) is required"
        @unknown default:
            return "\(error)"
        }
    }

    /// A YAML overlay as JSON, checking every key against the posture contract.
    mutating func overlayValue(_ node: Node, path: String) -> JSONValue {
        switch node {
        case .mapping:
            let isMap = FieldCatalogue.mapPaths.contains(path)
            var members: JSONObject = [:]
            for pair in node.pairs {
                let childPath = path.isEmpty ? pair.key : path + "." + pair.key
                if !isMap, FieldCatalogue.posture.shape(of: childPath) == nil {
                    fail(pair.keyNode, "unknown posture field `\(childPath)` in a case")
                    continue
                }
                members[pair.key] = isMap ? overlayValue(pair.value, path: childPath + ".*") : overlayValue(pair.value, path: childPath)
            }
            return .object(members)
        case .sequence:
            let elementPath = path + "[]"
            return .array(node.items.map { item in
                let value = overlayValue(item, path: elementPath)
                return Self.withElementDefaults(value, path: elementPath)
            })
        default:
            var value = node.jsonScalar
            if case .number = value, FieldCatalogue.posture.shape(of: path) == .string, let text = node.string {
                value = .string(text)
            }
            return value
        }
    }
}

extension RuleFileParser {
    /// What a case may leave out of a list element: the values a reader would assume.
    static let elementDefaults: JSONObject = [
        "mounts[]": .object(["options": .array([]), "readOnly": .bool(false), "type": .string("bind"), "source": .string("none")]),
        "devices[]": .object(["access": .string("rw"), "source": .string("rootfs")]),
        "hypervisor.network[]": .object(["implicit": .bool(false)]),
        "hypervisor.consoles[]": .object(["transport": .string("tcp")]),
    ]

    static func withElementDefaults(_ value: JSONValue, path: String) -> JSONValue {
        guard case .object = value else { return value }
        var result = elementDefaults[path].map { $0.merging(value) } ?? value
        if path == "devices[]", result["standard"] == nil, case .string(let devicePath)? = result["path"] {
            result = result.merging(.object(["standard": .bool(Device.isStandard(devicePath))]))
        }
        return result
    }
}

/// `{{field.path}}` in messages.
enum Placeholders {
    static func names(in message: String) -> [String] {
        split(message).compactMap { if case .name(let name) = $0 { name } else { nil } }
    }
}

/// The shapes of rule ids and references, matched by hand: Foundation's regular expressions
/// run on ICU, and loading the pack through them kept about 1.5 MB of ICU resident in every
/// scan (measured with CLOISTER_DEBUG_TIMINGS=smaps) for four fixed patterns.
enum ReferenceSyntax {
    /// Lower-case words of letters and digits joined by single hyphens (`ct-privileged`).
    static func isRuleID(_ text: String) -> Bool {
        let words = text.utf8.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        return words.allSatisfy { word in
            !word.isEmpty && word.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) }
        }
    }

    /// Dot-separated runs of digits (`5.5`, `4.4.3`), at least `minimumParts` of them.
    static func isSectionNumber(_ text: String, minimumParts: Int) -> Bool {
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return parts.count >= minimumParts && parts.allSatisfy(isDigits)
    }

    /// `CVE-` four digits `-` four or more digits.
    static func isCVE(_ text: String) -> Bool {
        let parts = text.utf8.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        return parts.count == 3 && parts[0].elementsEqual("CVE".utf8) && parts[1].count == 4 && isDigits(parts[1])
            && parts[2].count >= 4 && isDigits(parts[2])
    }

    private static func isDigits(_ bytes: Substring.UTF8View.SubSequence) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy { (0x30...0x39).contains($0) }
    }
}
