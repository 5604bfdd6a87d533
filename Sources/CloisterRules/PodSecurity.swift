import CloisterCodec
import CloisterModel
import Yams

// The Kubernetes Pod Security Standards, read from rules/pss/pod-security-standards.yaml and
// applied to pod specs as Pod Security Admission applies them: the same checks, the same
// versions, the same pod-versus-container precedence and the same words. Each check's variant is
// one of a fixed set of tests (below) whose fields and values are the file's; nothing about a
// particular version or value lives here.

/// `privileged` (no control), `baseline`, `restricted`.
public enum PodSecurityLevel: String, Sendable, CaseIterable, Comparable {
    case privileged, baseline, restricted

    var rank: Int {
        switch self {
        case .privileged: 0
        case .baseline: 1
        case .restricted: 2
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}

/// A Kubernetes minor version of the standard (`v1.25`), or `latest`.
public struct PodSecurityVersion: Sendable, Equatable, CustomStringConvertible {
    /// Nil for `latest`.
    public var minor: Int?

    public static let latest = PodSecurityVersion(minor: nil)

    public init(minor: Int?) { self.minor = minor }

    /// `latest`, `v1.25` or `1.25`.
    public init?(_ text: String) {
        if text == "latest" {
            minor = nil
            return
        }
        let body = text.hasPrefix("v") ? text.dropFirst() : Substring(text)
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == "1", let minor = Int(parts[1]), minor >= 0, minor < 1000,
            parts[1].allSatisfy(\.isASCII)
        else { return nil }
        self.minor = minor
    }

    public var description: String { minor.map { "v1.\($0)" } ?? "latest" }
}

/// A level and version to enforce, as `--pss` and PSA's namespace labels name them:
/// `baseline`, `restricted:v1.25`, `privileged`.
public struct PodSecurityPolicy: Sendable, Equatable, CustomStringConvertible {
    public var level: PodSecurityLevel
    public var version: PodSecurityVersion

    public init(level: PodSecurityLevel, version: PodSecurityVersion = .latest) {
        self.level = level
        self.version = version
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let level = PodSecurityLevel(rawValue: String(parts[0])) else { return nil }
        self.level = level
        if parts.count == 2 {
            guard let version = PodSecurityVersion(String(parts[1])) else { return nil }
            self.version = version
        } else {
            version = .latest
        }
    }

    public var description: String { "\(level.rawValue):\(version)" }
}

/// One check of the standard (a PSA check), with its variants by version.
public struct PodSecurityCheck: Sendable {
    /// The tests a variant can be. Each reads the fields its variant names.
    public enum Test: String, Sendable, CaseIterable {
        case podFlags, containerFlag, podAndContainerFlag, addedCapabilities, forbiddenVolumes, hostPorts,
            handlerHosts, appArmor, seLinux, containerValue, seccompAnnotations, podAndContainerValue, sysctls,
            allowedVolumes, containerFalse, requiredTrue, notZero, requiredValue, restrictedCapabilities
    }

    public struct Variant: Sendable {
        public var since: Int
        public var test: Test
        public var field: String?
        public var fields: [String] = []
        public var allowed: [String] = []
        public var annotationPrefix: String?
        public var annotationAllowed: [String] = []
        public var annotationAllowedPrefixes: [String] = []
        public var named: [String] = []
        public var overrides: [String] = []
        /// From this variant on, a pod with `spec.os.name: windows` passes.
        public var windowsExempt = false
        /// From this variant on, a pod with `hostUsers: false` passes.
        public var relaxedForUserNamespace = false
    }

    public var id: String
    public var control: String
    public var level: PodSecurityLevel
    public var source: String
    public var reason: String
    public var remediation: String
    public var variants: [Variant]
    public var line: Int?

    /// The variant in force at `minor`, if the check exists then.
    public func variant(at minor: Int) -> Variant? { variants.last { $0.since <= minor } }

    /// The finding's rule id: `pss-baseline-host-namespaces`.
    public var ruleID: String {
        var slug = ""
        for character in control.lowercased() {
            if character.isLetter || character.isNumber {
                slug.append(character)
            } else if !slug.isEmpty, slug.last != "-" {
                slug.append("-")
            }
        }
        while slug.last == "-" { slug.removeLast() }
        return "pss-\(level.rawValue)-\(slug)"
    }
}

/// One control a pod violates.
public struct PodSecurityViolation: Sendable {
    public var check: String
    public var control: String
    public var level: PodSecurityLevel
    /// PSA's words: `host namespaces`, and `hostNetwork, hostPID`.
    public var reason: String
    public var detail: String
    /// Containers that break it; empty when the pod's own settings do (every container is).
    public var containers: [String]
    /// The first field that breaks it.
    public var at: DocCursor?

    /// `reason (detail)`, as PSA joins them.
    public var text: String { detail.isEmpty ? reason : "\(reason) (\(detail))" }
}

/// A pod spec as the standard reads it.
public struct PodSecurityInput: Sendable {
    public var spec: DocCursor
    /// The pod's metadata (annotations).
    public var metadata: DocCursor?

    public init(spec: DocCursor, metadata: DocCursor?) {
        self.spec = spec
        self.metadata = metadata
    }
}

public struct PodSecurityStandards: Sendable {
    public static let supportedVersion = 1
    public var standard: String
    public var url: String
    /// The newest version the data knows: what `latest` means.
    public var newest: Int
    public var checks: [PodSecurityCheck]
    public var file: String

    /// The version `latest`, or a newer one than the data knows, is evaluated as.
    public func resolve(_ version: PodSecurityVersion) -> Int { min(version.minor ?? newest, newest) }

    /// The checks of `level` at `version`, in PSA's order (baseline checks by id, then restricted
    /// ones), each with its variant.
    public func checks(level: PodSecurityLevel, version: PodSecurityVersion) -> [(check: PodSecurityCheck, variant: PodSecurityCheck.Variant)] {
        guard level != .privileged else { return [] }
        let minor = resolve(version)
        var active: [(check: PodSecurityCheck, variant: PodSecurityCheck.Variant)] = []
        for check in checks where check.level <= level {
            if let variant = check.variant(at: minor) { active.append((check, variant)) }
        }
        let overridden = Set(active.filter { $0.check.level == .restricted }.flatMap(\.variant.overrides))
        if level == .restricted { active.removeAll { $0.check.level == .baseline && overridden.contains($0.check.id) } }
        return active.sorted {
            $0.check.level != $1.check.level ? $0.check.level < $1.check.level : Array($0.check.id.utf8).lexicographicallyPrecedes(Array($1.check.id.utf8))
        }
    }

    /// The controls of `level` at `version` the pod violates, in PSA's order.
    public func evaluate(_ pod: PodSecurityInput, policy: PodSecurityPolicy) -> [PodSecurityViolation] {
        let evaluation = PodSecurityEvaluation(pod: pod)
        return checks(level: policy.level, version: policy.version).compactMap { evaluation.run($0.check, $0.variant) }
    }

    /// The highest level the pod meets at `version`.
    public func level(of pod: PodSecurityInput, version: PodSecurityVersion) -> PodSecurityLevel {
        level(meeting: violations(pod, version: version), version: version)
    }

    /// The highest level whose own checks (PSA's set for that level, overrides applied) none of
    /// `violations` breaks: what the pod meets, from one evaluation of every control.
    func level(meeting violations: [PodSecurityViolation], version: PodSecurityVersion) -> PodSecurityLevel {
        Self.level(meeting: violations, restricted: Set(checks(level: .restricted, version: version).map(\.check.id)))
    }

    /// The same, with restricted's own check ids already worked out (they depend on the version only).
    static func level(meeting violations: [PodSecurityViolation], restricted: Set<String>) -> PodSecurityLevel {
        if !violations.contains(where: { restricted.contains($0.check) }) { return .restricted }
        return violations.contains { $0.level == .baseline } ? .privileged : .baseline
    }

    /// Every control of both levels the pod violates: each baseline check at baseline, and each
    /// restricted check at restricted (a restricted pod shows none; a baseline one only
    /// restricted ones).
    public func violations(_ pod: PodSecurityInput, version: PodSecurityVersion) -> [PodSecurityViolation] {
        Self.violations(pod, checks: everyCheck(version: version))
    }

    /// Each check once: baseline's at baseline, then the restricted ones (a baseline check a
    /// restricted one overrides is still a baseline control the pod may break).
    func everyCheck(version: PodSecurityVersion) -> [(check: PodSecurityCheck, variant: PodSecurityCheck.Variant)] {
        checks(level: .baseline, version: version)
            + checks(level: .restricted, version: version).filter { $0.check.level == .restricted }
    }

    static func violations(
        _ pod: PodSecurityInput, checks: [(check: PodSecurityCheck, variant: PodSecurityCheck.Variant)]
    ) -> [PodSecurityViolation] {
        let evaluation = PodSecurityEvaluation(pod: pod)
        return checks.compactMap { evaluation.run($0.check, $0.variant) }
    }


    /// Each control as rule metadata (title, severity, remediation, references) for reports and
    /// `rules list`; the rule engine never evaluates these, the standard does.
    public var rules: [Rule] {
        var seen = Set<String>()
        return checks.compactMap { check in
            guard seen.insert(check.ruleID).inserted else { return nil }
            return Rule(
                id: check.ruleID, title: "Pod Security Standards \(check.level.rawValue): \(check.control)",
                severity: Self.severity(check.level), kinds: [.container],
                description: "Kubernetes Pod Security Standards, \(check.level.rawValue) level, control \(check.control), as Pod Security Admission decides it (\(check.source)).",
                condition: .all([]), message: check.reason, remediation: check.remediation,
                references: RuleReferences(podSecurityLevel: check.level.rawValue, podSecurityControl: check.control),
                cases: [], file: file, line: check.line)
        }
    }

    /// A baseline violation is high (what PSA's default enforcement denies), a restricted one medium.
    public static func severity(_ level: PodSecurityLevel) -> Severity { level == .baseline ? .high : .medium }
}

// MARK: - Reading the file

extension PodSecurityStandards {
    public static func parse(yaml text: String, file: String) throws -> PodSecurityStandards {
        let (root, problems) = try YAMLFile.open(text, file: file, known: supportedVersion, what: "Pod Security Standards")
        let fail = problems.fail
        var standards = PodSecurityStandards(standard: "", url: "", newest: 0, checks: [], file: file)
        for pair in root.pairs {
            switch pair.key {
            case "version": break
            case "standard": standards.standard = pair.value.string ?? ""
            case "url": standards.url = pair.value.string ?? ""
            case "newest":
                if let version = pair.value.string.flatMap(PodSecurityVersion.init), let minor = version.minor {
                    standards.newest = minor
                } else {
                    fail(pair.value, "`newest` is a version such as v1.35")
                }
            case "checks":
                for item in pair.value.items { if let check = parseCheck(item, fail: fail) { standards.checks.append(check) } }
            default: fail(pair.keyNode, "unknown key `\(pair.key)` (version, standard, url, newest, checks)")
            }
        }
        if standards.checks.isEmpty { fail(root, "no `checks`") }
        let ids = standards.checks.map(\.id)
        for check in standards.checks {
            if ids.filter({ $0 == check.id }).count > 1 { problems.errors.append(InputFileError(file: file, line: check.line, message: "check `\(check.id)` is defined twice")) }
            for variant in check.variants {
                if variant.since > standards.newest {
                    problems.errors.append(InputFileError(file: file, line: check.line, message: "check `\(check.id)` has a variant newer than `newest`"))
                }
                for id in variant.overrides where !standards.checks.contains(where: { $0.id == id && $0.level == .baseline }) {
                    problems.errors.append(InputFileError(file: file, line: check.line, message: "check `\(check.id)` overrides `\(id)`, which is no baseline check"))
                }
            }
        }
        try problems.throwIfAny()
        return standards
    }

    static func parseCheck(_ node: Node, fail: (Node?, String) -> Void) -> PodSecurityCheck? {
        var values: [String: String] = [:]
        var variants: [PodSecurityCheck.Variant] = []
        for pair in node.pairs {
            switch pair.key {
            case "id", "control", "level", "source", "reason", "remediation": values[pair.key] = pair.value.string
            case "versions":
                for item in pair.value.items { if let variant = parseVariant(item, fail: fail) { variants.append(variant) } }
            default: fail(pair.keyNode, "unknown key `\(pair.key)` in a check")
            }
        }
        guard let id = values["id"], let control = values["control"], let levelName = values["level"],
            let level = PodSecurityLevel(rawValue: levelName), level != .privileged, let reason = values["reason"]
        else {
            fail(node, "a check needs id, control, level (baseline or restricted) and reason")
            return nil
        }
        guard !variants.isEmpty else {
            fail(node, "check `\(id)` has no `versions`")
            return nil
        }
        for (earlier, later) in zip(variants, variants.dropFirst()) where later.since <= earlier.since {
            fail(node, "check `\(id)`: versions must be listed oldest first")
        }
        if level == .baseline, variants.contains(where: { !$0.overrides.isEmpty }) {
            fail(node, "check `\(id)`: only a restricted check overrides another")
        }
        return PodSecurityCheck(
            id: id, control: control, level: level, source: values["source"] ?? "", reason: reason,
            remediation: values["remediation"] ?? "", variants: variants, line: node.mark.map { $0.line })
    }

    static func parseVariant(_ node: Node, fail: (Node?, String) -> Void) -> PodSecurityCheck.Variant? {
        func strings(_ value: Node) -> [String] { value.items.map { $0.string ?? "" } }
        var since: Int?
        var test: PodSecurityCheck.Test?
        var variant = PodSecurityCheck.Variant(since: 0, test: .podFlags)
        for pair in node.pairs {
            switch pair.key {
            case "since": since = pair.value.string.flatMap(PodSecurityVersion.init)?.minor
            case "test": test = pair.value.string.flatMap(PodSecurityCheck.Test.init)
            case "field": variant.field = pair.value.string
            case "fields": variant.fields = strings(pair.value)
            case "allowed": variant.allowed = strings(pair.value)
            case "annotationPrefix": variant.annotationPrefix = pair.value.string
            case "annotationAllowed": variant.annotationAllowed = strings(pair.value)
            case "annotationAllowedPrefixes": variant.annotationAllowedPrefixes = strings(pair.value)
            case "named": variant.named = strings(pair.value)
            case "overrides": variant.overrides = strings(pair.value)
            case "windowsExempt": variant.windowsExempt = pair.value.bool ?? false
            case "relaxedForUserNamespace": variant.relaxedForUserNamespace = pair.value.bool ?? false
            default: fail(pair.keyNode, "unknown key `\(pair.key)` in a version")
            }
        }
        guard let since, let test else {
            fail(node, "a version needs `since: v1.N` and a `test` (\(PodSecurityCheck.Test.allCases.map(\.rawValue).joined(separator: ", ")))")
            return nil
        }
        variant.since = since
        variant.test = test
        let needsField: Set<PodSecurityCheck.Test> = [.containerFlag, .podAndContainerFlag, .containerValue, .podAndContainerValue, .containerFalse, .requiredTrue, .notZero, .requiredValue]
        if needsField.contains(test), variant.field == nil { fail(node, "test `\(test.rawValue)` needs `field`") }
        return variant
    }
}

// MARK: - Evaluating a pod

/// One pod, read the way PSA reads it: every container of the three lists in order, a setting
/// present only when it is set (null is unset), and values compared exactly.
struct PodSecurityEvaluation {
    let pod: PodSecurityInput
    let containers: [(name: String, cursor: DocCursor)]

    init(pod: PodSecurityInput) {
        self.pod = pod
        var containers: [(name: String, cursor: DocCursor)] = []
        for group in ["initContainers", "containers", "ephemeralContainers"] {
            guard let list = pod.spec[group], let elements = list.node.elements else { continue }
            for (index, element) in elements.enumerated() where element.entries != nil {
                let cursor = DocCursor(element, path: "\(list.path)[\(index)]")
                containers.append((cursor["name"]?.node.text ?? "", cursor))
            }
        }
        self.containers = containers
    }

    var podContext: DocCursor? { pod.spec["securityContext"] }

    static func at(_ cursor: DocCursor?, _ dotted: String) -> DocCursor? {
        var current = cursor
        for key in dotted.split(separator: ".") { current = current?[String(key)] }
        return current
    }

    static func isTrue(_ cursor: DocCursor?) -> Bool { cursor?.node.bool == true }

    /// `container "a"` / `containers "a", "b"`.
    static func named(_ singular: String, _ plural: String, _ names: [String]) -> String {
        "\(names.count == 1 ? singular : plural) \(quoted(names))"
    }

    static func quoted(_ items: [String]) -> String { items.isEmpty ? "" : "\"" + items.joined(separator: "\", \"") + "\"" }

    static func sortedUnique(_ items: [String]) -> [String] {
        Array(Set(items)).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// The containers holding a value that `allowed` refuses among those `select` picks: their
    /// names (in PSA's visiting order), the refused values, and the first of them in the document.
    func refused(_ select: (DocCursor) -> [DocCursor], allowed: (String) -> Bool) -> (names: [String], values: [String], first: DocCursor?) {
        var names: [String] = []
        var values: [String] = []
        var first: DocCursor?
        for container in containers {
            let bad = select(container.cursor).filter { cursor in cursor.node.text.map { !allowed($0) } ?? false }
            guard !bad.isEmpty else { continue }
            names.append(container.name)
            values += bad.compactMap(\.node.text)
            first = first ?? bad[0]
        }
        return (names, values, first)
    }

    /// The container's `securityContext` value at the dotted `field`, as a one-element list.
    func setting(_ field: String) -> (DocCursor) -> [DocCursor] {
        { container in Self.at(container["securityContext"], field).map { [$0] } ?? [] }
    }

    func violation(_ check: PodSecurityCheck, _ detail: String, containers: [String], at: DocCursor?) -> PodSecurityViolation {
        PodSecurityViolation(
            check: check.id, control: check.control, level: check.level, reason: check.reason, detail: detail,
            containers: containers, at: at)
    }

    /// `pod and containers "a", "b"`.
    static func setters(pod: Bool, containers: [String]) -> String {
        var parts: [String] = []
        if pod { parts.append("pod") }
        if !containers.isEmpty { parts.append(named("container", "containers", containers)) }
        return parts.joined(separator: " and ")
    }

    func run(_ check: PodSecurityCheck, _ variant: PodSecurityCheck.Variant) -> PodSecurityViolation? {
        if variant.windowsExempt, pod.spec.at("os", "name")?.node.text == "windows" { return nil }
        if variant.relaxedForUserNamespace, pod.spec["hostUsers"]?.node.bool == false { return nil }
        let field = variant.field ?? ""
        switch variant.test {
        case .podFlags:
            let bad = variant.fields.filter { Self.isTrue(pod.spec[$0]) }
            guard !bad.isEmpty else { return nil }
            // Located at the first of them in the document.
            let first = bad.compactMap { pod.spec[$0] }.min { ($0.line, $0.column) < ($1.line, $1.column) }
            return violation(check, Self.sortedUnique(bad).joined(separator: ", "), containers: [], at: first)

        case .containerFlag:
            let bad = containers.filter { Self.isTrue(Self.at($0.cursor["securityContext"], field)) }
            guard !bad.isEmpty else { return nil }
            return violation(
                check, "\(Self.named("container", "containers", bad.map(\.name))) must not set securityContext.\(field)=true",
                containers: bad.map(\.name), at: Self.at(bad[0].cursor["securityContext"], field))

        case .podAndContainerFlag:
            let podBad = Self.isTrue(Self.at(podContext, field))
            let bad = containers.filter { Self.isTrue(Self.at($0.cursor["securityContext"], field)) }
            guard podBad || !bad.isEmpty else { return nil }
            return violation(
                check, "\(Self.setters(pod: podBad, containers: bad.map(\.name))) must not set securityContext.\(field)=true",
                containers: podBad ? [] : bad.map(\.name),
                at: podBad ? Self.at(podContext, field) : Self.at(bad[0].cursor["securityContext"], field))

        case .addedCapabilities:
            let bad = refused(
                { (try? $0.at("securityContext", "capabilities", "add")?.list()) ?? [] }, allowed: variant.allowed.contains)
            guard !bad.names.isEmpty else { return nil }
            return violation(
                check, "\(Self.named("container", "containers", bad.names)) must not include \(Self.quoted(Self.sortedUnique(bad.values))) in securityContext.capabilities.add",
                containers: bad.names, at: bad.first)

        case .forbiddenVolumes:
            let volumes = (pod.spec["volumes"]?.node.elements ?? []).enumerated().map {
                DocCursor($1, path: "\(pod.spec.path).volumes[\($0)]")
            }
            let bad = volumes.filter { volume in variant.fields.contains { volume[$0] != nil } }
            guard !bad.isEmpty else { return nil }
            return violation(
                check, Self.named("volume", "volumes", bad.map { $0["name"]?.node.text ?? "" }), containers: [],
                at: variant.fields.lazy.compactMap { bad[0][$0] }.first ?? bad[0])

        case .allowedVolumes:
            var names: [String] = []
            var types: [String] = []
            var first: DocCursor?
            for (index, element) in (pod.spec["volumes"]?.node.elements ?? []).enumerated() {
                let volume = DocCursor(element, path: "\(pod.spec.path).volumes[\(index)]")
                if variant.allowed.contains(where: { volume[$0] != nil }) { continue }
                // A volume with no source is an emptyDir: the API server defaults it so before
                // admission sees the pod.
                if element.entries?.allSatisfy({ $0.key == "name" || $0.value.isNull }) == true, variant.allowed.contains("emptyDir") {
                    continue
                }
                names.append(volume["name"]?.node.text ?? "")
                types.append(variant.named.first { volume[$0] != nil } ?? "unknown")
                first = first ?? volume
            }
            guard !names.isEmpty else { return nil }
            let uniqueTypes = Self.sortedUnique(types)
            let verb = names.count == 1 ? "uses" : "use"
            let noun = uniqueTypes.count == 1 ? "restricted volume type" : "restricted volume types"
            return violation(
                check, "\(Self.named("volume", "volumes", names)) \(verb) \(noun) \(Self.quoted(uniqueTypes))", containers: [], at: first)

        case .hostPorts:
            var names: [String] = []
            var ports: [String] = []
            var first: DocCursor?
            for container in containers {
                var bad = false
                for port in container.cursor["ports"]?.node.elements ?? [] {
                    if let number = port["hostPort"]?.int, number != 0 {
                        ports.append(String(number))
                        bad = true
                    }
                }
                if bad {
                    names.append(container.name)
                    first = first ?? container.cursor["ports"]
                }
            }
            guard !names.isEmpty else { return nil }
            let unique = Self.sortedUnique(ports)
            return violation(
                check, "\(Self.named("container", "containers", names)) \(names.count == 1 ? "uses" : "use") \(unique.count == 1 ? "hostPort" : "hostPorts") \(unique.joined(separator: ", "))",
                containers: names, at: first)

        case .handlerHosts:
            var names: [String] = []
            var hosts: [String] = []
            var first: DocCursor?
            for container in containers {
                var bad = false
                let handlers = ["livenessProbe", "readinessProbe", "startupProbe"].compactMap { container.cursor[$0] }
                    + ["postStart", "preStop"].compactMap { container.cursor.at("lifecycle", $0) }
                for handler in handlers {
                    for kind in ["httpGet", "tcpSocket"] {
                        if let host = handler.at(kind, "host"), let text = host.node.text, !text.isEmpty {
                            hosts.append(text)
                            bad = true
                            first = first ?? host
                        }
                    }
                }
                if bad { names.append(container.name) }
            }
            guard !names.isEmpty else { return nil }
            let unique = Self.sortedUnique(hosts)
            let uniqueNames = Self.sortedUnique(names)
            return violation(
                check, "\(Self.named("container", "containers", uniqueNames)) \(uniqueNames.count == 1 ? "uses" : "use") \(unique.count == 1 ? "probe or lifecycle host" : "probe or lifecycle hosts") \(Self.quoted(unique))",
                containers: uniqueNames, at: first)

        case .appArmor:
            var badValues: [String] = []
            var podBad = false
            var names: [String] = []
            var first: DocCursor?
            if let type = podContext?.at("appArmorProfile", "type"), let text = type.node.text, !variant.allowed.contains(text) {
                podBad = true
                badValues.append(text)
                first = type
            }
            let bad = refused(setting("appArmorProfile.type"), allowed: variant.allowed.contains)
            names = bad.names
            badValues += bad.values
            first = first ?? bad.first
            badValues = Self.sortedUnique(badValues)
            var badAnnotations: [String] = []
            if let prefix = variant.annotationPrefix {
                for (key, value) in (try? pod.metadata?["annotations"]?.mapping()) ?? [] where key.hasPrefix(prefix) {
                    let text = value.node.text ?? ""
                    if variant.annotationAllowed.contains(text) || variant.annotationAllowedPrefixes.contains(where: { text.hasPrefix($0) }) { continue }
                    badAnnotations.append("\(key)=\"\(text)\"")
                    first = first ?? value
                }
            }
            guard podBad || !names.isEmpty || !badAnnotations.isEmpty else { return nil }
            var setters: [String] = []
            if podBad || !names.isEmpty { setters.append(Self.setters(pod: podBad, containers: names)) }
            if !badAnnotations.isEmpty { setters.append(badAnnotations.count == 1 ? "annotation" : "annotations") }
            let all = badValues + Self.sortedUnique(badAnnotations)
            var result = violation(
                check, "\(setters.joined(separator: " and ")) must not set AppArmor profile type to \(Self.quoted(all))",
                containers: podBad || !badAnnotations.isEmpty ? [] : names, at: first)
            if all.count > 1 { result.reason = check.reason.hasSuffix("profile") ? check.reason + "s" : check.reason }
            return result

        case .seLinux:
            var podBad = false
            var names: [String] = []
            var types: [String] = []
            var userSet = false
            var roleSet = false
            var first: DocCursor?
            func judge(_ options: DocCursor?) -> Bool {
                guard let options else { return false }
                var bad = false
                if let type = options["type"]?.node.text, !variant.allowed.contains(type) {
                    types.append(type)
                    bad = true
                }
                if let user = options["user"]?.node.text, !user.isEmpty {
                    userSet = true
                    bad = true
                }
                if let role = options["role"]?.node.text, !role.isEmpty {
                    roleSet = true
                    bad = true
                }
                if bad { first = first ?? options }
                return bad
            }
            podBad = judge(podContext?["seLinuxOptions"])
            for container in containers where judge(container.cursor.at("securityContext", "seLinuxOptions")) {
                names.append(container.name)
            }
            guard podBad || !names.isEmpty else { return nil }
            var data: [String] = []
            let unique = Self.sortedUnique(types)
            if !unique.isEmpty { data.append("\(unique.count == 1 ? "type" : "types") \(Self.quoted(unique))") }
            if userSet { data.append("user may not be set") }
            if roleSet { data.append("role may not be set") }
            return violation(
                check, "\(Self.setters(pod: podBad, containers: names)) set forbidden securityContext.seLinuxOptions: \(data.joined(separator: "; "))",
                containers: podBad ? [] : names, at: first)

        case .containerValue:
            let bad = refused(setting(field), allowed: variant.allowed.contains)
            guard !bad.names.isEmpty else { return nil }
            return violation(
                check, "\(Self.named("container", "containers", bad.names)) must not set securityContext.\(field) to \(Self.quoted(Self.sortedUnique(bad.values)))",
                containers: bad.names, at: bad.first)

        case .seccompAnnotations:
            let annotations = (try? pod.metadata?["annotations"]?.mapping()) ?? []
            var keys = ["seccomp.security.alpha.kubernetes.io/pod"]
            keys += containers.map { "container.seccomp.security.alpha.kubernetes.io/\($0.name)" }
            var bad: [String] = []
            var first: DocCursor?
            var names: [String] = []
            var podLevel = false
            for (key, value) in annotations where keys.contains(key) {
                let text = value.node.text ?? ""
                if variant.annotationAllowed.contains(text) || variant.annotationAllowedPrefixes.contains(where: { text.hasPrefix($0) }) { continue }
                bad.append("\(key)=\"\(text)\"")
                first = first ?? value
                if key == keys[0] { podLevel = true } else { names.append(String(key.dropFirst("container.seccomp.security.alpha.kubernetes.io/".count))) }
            }
            guard !bad.isEmpty else { return nil }
            let unique = Self.sortedUnique(bad)
            return violation(
                check, "forbidden \(unique.count == 1 ? "annotation" : "annotations") \(unique.joined(separator: ", "))",
                containers: podLevel ? [] : names, at: first)

        case .podAndContainerValue:
            let podValue = Self.at(podContext, field)
            let podBad = podValue?.node.text.map { !variant.allowed.contains($0) } ?? false
            let bad = refused(setting(field), allowed: variant.allowed.contains)
            guard podBad || !bad.names.isEmpty else { return nil }
            let values = (podBad ? [podValue?.node.text ?? ""] : []) + bad.values
            return violation(
                check, "\(Self.setters(pod: podBad, containers: bad.names)) must not set securityContext.\(field) to \(Self.quoted(Self.sortedUnique(values)))",
                containers: podBad ? [] : bad.names, at: podBad ? podValue : bad.first)

        case .sysctls:
            var bad: [String] = []
            var first: DocCursor?
            for (index, element) in (podContext?["sysctls"]?.node.elements ?? []).enumerated() {
                let name = element["name"]?.text ?? ""
                if !variant.allowed.contains(name) {
                    bad.append(name)
                    first = first ?? DocCursor(element, path: "\(podContext?.path ?? "").sysctls[\(index)]")
                }
            }
            guard !bad.isEmpty else { return nil }
            return violation(check, bad.joined(separator: ", "), containers: [], at: first)

        case .containerFalse:
            let bad = containers.filter { Self.at($0.cursor["securityContext"], field)?.node.bool != false }
            guard !bad.isEmpty else { return nil }
            return violation(
                check, "\(Self.named("container", "containers", bad.map(\.name))) must set securityContext.\(field)=false",
                containers: bad.map(\.name), at: Self.at(bad[0].cursor["securityContext"], field) ?? bad[0].cursor)

        case .requiredTrue, .requiredValue:
            // The pod's setting covers the containers that set none; a container's own bad value,
            // or the pod's, fails whatever the other says.
            func valid(_ cursor: DocCursor?) -> Bool? {
                guard let cursor else { return nil }
                if variant.test == .requiredTrue { return cursor.node.bool == true }
                return cursor.node.text.map { variant.allowed.contains($0) } ?? false
            }
            let podValue = Self.at(podContext, field)
            let podValid = valid(podValue)
            var explicit: [String] = []
            var implicit: [String] = []
            var values: [String] = []
            var first: DocCursor?
            if podValid == false {
                values.append(podValue?.node.text ?? "")
                first = podValue
            }
            for container in containers {
                let value = Self.at(container.cursor["securityContext"], field)
                switch valid(value) {
                case .some(true): continue
                case .some(false):
                    explicit.append(container.name)
                    values.append(value?.node.text ?? "")
                    first = first ?? value
                case .none:
                    if podValid != true {
                        implicit.append(container.name)
                        first = first ?? container.cursor
                    }
                }
            }
            let podBad = podValid == false
            guard podBad || !explicit.isEmpty || !implicit.isEmpty else { return nil }
            if podBad || !explicit.isEmpty {
                let said = variant.test == .requiredTrue ? "securityContext.\(field)=false" : "securityContext.\(field) to \(Self.quoted(Self.sortedUnique(values)))"
                return violation(
                    check, "\(Self.setters(pod: podBad, containers: explicit)) must not set \(said)",
                    containers: podBad ? [] : explicit, at: first)
            }
            let wanted = variant.test == .requiredTrue
                ? "securityContext.\(field)=true" : "securityContext.\(field) to " + variant.allowed.map { "\"\($0)\"" }.joined(separator: " or ")
            return violation(
                check, "pod or \(Self.named("container", "containers", implicit)) must set \(wanted)", containers: implicit, at: first)

        case .notZero:
            let podValue = Self.at(podContext, field)
            let podBad = podValue?.node.int == 0
            let bad = containers.filter { Self.at($0.cursor["securityContext"], field)?.node.int == 0 }
            guard podBad || !bad.isEmpty else { return nil }
            return violation(
                check, "\(Self.setters(pod: podBad, containers: bad.map(\.name))) must not set \(field)=0",
                containers: podBad ? [] : bad.map(\.name),
                at: podBad ? podValue : Self.at(bad[0].cursor["securityContext"], field))

        case .restrictedCapabilities:
            var missingDrop: [String] = []
            var adding: [String] = []
            var forbidden: [String] = []
            var first: DocCursor?
            for container in containers {
                let capabilities = container.cursor.at("securityContext", "capabilities")
                let drop = capabilities?["drop"]?.node.elements?.compactMap(\.text) ?? []
                if !drop.contains("ALL") {
                    missingDrop.append(container.name)
                    first = first ?? capabilities ?? container.cursor
                }
                let added = (capabilities?["add"]?.node.elements?.compactMap(\.text) ?? []).filter { !variant.allowed.contains($0) }
                if !added.isEmpty {
                    adding.append(container.name)
                    forbidden += added
                    first = first ?? capabilities?["add"]
                }
            }
            guard !missingDrop.isEmpty || !adding.isEmpty else { return nil }
            var parts: [String] = []
            if !missingDrop.isEmpty {
                parts.append("\(Self.named("container", "containers", missingDrop)) must set securityContext.capabilities.drop=[\"ALL\"]")
            }
            if !adding.isEmpty {
                parts.append("\(Self.named("container", "containers", adding)) must not include \(Self.quoted(Self.sortedUnique(forbidden))) in securityContext.capabilities.add")
            }
            return violation(check, parts.joined(separator: "; "), containers: Self.sortedUnique(missingDrop + adding), at: first)
        }
    }

}

// MARK: - Findings

/// Whether and how `check` and `serve` apply the standard: `--pss LEVEL[:VERSION]` or `none`.
public struct PodSecuritySetting: Sendable, Equatable {
    /// False with `--pss none`: no control is evaluated.
    public var enabled: Bool
    /// The version every control is evaluated at.
    public var version: PodSecurityVersion
    /// The level whose violations fail the gate; nil: the standard reports but does not gate.
    public var enforce: PodSecurityLevel?

    public static let reportOnly = PodSecuritySetting(enabled: true, version: .latest, enforce: nil)
    public static let none = PodSecuritySetting(enabled: false, version: .latest, enforce: nil)

    public init(enabled: Bool, version: PodSecurityVersion, enforce: PodSecurityLevel?) {
        self.enabled = enabled
        self.version = version
        self.enforce = enforce
    }

    /// `none`, `baseline`, `restricted:v1.25`, `privileged:latest`.
    public init?(flag: String) {
        if flag == "none" {
            self = .none
            return
        }
        guard let policy = PodSecurityPolicy(flag) else { return nil }
        self.init(enabled: true, version: policy.version, enforce: policy.level)
    }

    /// Whether a finding's rule is a control of the enforced level (or below it).
    public func enforces(rule: String) -> Bool {
        guard enabled, let enforce, enforce != .privileged else { return false }
        if rule.hasPrefix("pss-baseline-") { return true }
        return enforce == .restricted && rule.hasPrefix("pss-restricted-")
    }

    public var policy: PodSecurityPolicy? { enforce.map { PodSecurityPolicy(level: $0, version: version) } }
}

/// A pod to judge and the workloads its containers became.
public struct PodSecuritySubject: Sendable {
    public var input: PodSecurityInput
    public var file: String
    public var containers: [(name: String, workload: String)]

    public init(input: PodSecurityInput, file: String, containers: [(name: String, workload: String)]) {
        self.input = input
        self.file = file
        self.containers = containers
    }
}

extension PodSecurityStandards {
    /// Each violated control of both levels as a finding on the workloads it concerns (the
    /// named containers, or every container when the pod's own settings break it), and the
    /// level each workload's pod meets.
    public func judge(_ subjects: [PodSecuritySubject], version: PodSecurityVersion) -> (findings: [Finding], verdicts: [String: PodSecurityVerdict]) {
        let resolved = "v1.\(resolve(version))"
        // What depends on the version only is worked out once, not for each of thousands of pods.
        let active = everyCheck(version: version)
        let restricted = Set(checks(level: .restricted, version: version).map(\.check.id))
        // What every finding of a check says alike (its rule id, words, evidence and reference),
        // made once per check rather than once per finding.
        struct Said: Sendable {
            var rule: String
            var severity: Severity
            var message: String
            var evidence: [String: String]
            var references: [Reference]
        }
        var said: [String: Said] = [:]
        for check in checks where said[check.id] == nil {
            said[check.id] = Said(
                rule: check.ruleID, severity: Self.severity(check.level),
                message: "violates PodSecurity \"\(check.level.rawValue):\(resolved)\": ",
                evidence: ["pss.level": check.level.rawValue, "pss.version": resolved, "pss.check": check.id],
                references: [
                    Reference(
                        source: "k8s-pss", id: "\(check.level.rawValue)/\(check.control)",
                        title: "Kubernetes Pod Security Standards \(resolved), \(check.level.rawValue): \(check.control)",
                        url: url)
                ])
        }
        let saidByCheck = said
        // Pods are judged, and their findings made, on every core; the findings keep the pods' order.
        let judged = Parallel.map(subjects) { subject -> (level: PodSecurityLevel, findings: [Finding]) in
            let violations = Self.violations(subject.input, checks: active)
            var findings: [Finding] = []
            for violation in violations {
                guard let said = saidByCheck[violation.check] else { continue }
                let concerned = violation.containers.isEmpty
                    ? subject.containers : subject.containers.filter { violation.containers.contains($0.name) }
                let location = violation.at.map {
                    SourceLocation(file: subject.file, line: $0.line, column: $0.column, path: $0.path)
                } ?? SourceLocation(file: subject.file, line: subject.input.spec.line, column: subject.input.spec.column, path: subject.input.spec.path)
                let message = said.message + violation.text
                for container in concerned {
                    findings.append(
                        Finding(
                            rule: said.rule, severity: said.severity, workload: container.workload, message: message,
                            evidence: said.evidence, references: said.references, location: location))
                }
            }
            return (Self.level(meeting: violations, restricted: restricted), findings)
        }
        var findings: [Finding] = []
        findings.reserveCapacity(judged.reduce(0) { $0 + $1.findings.count })
        var verdicts: [String: PodSecurityVerdict] = [:]
        for (subject, result) in zip(subjects, judged) {
            for container in subject.containers {
                verdicts[container.workload] = PodSecurityVerdict(level: result.level.rawValue, version: resolved)
            }
            findings += result.findings
        }
        return (findings, verdicts)
    }
}
