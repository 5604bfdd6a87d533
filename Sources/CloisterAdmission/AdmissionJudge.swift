import CloisterCodec
import CloisterFormats
import CloisterModel
import CloisterPlacement
import CloisterRules
import Foundation

/// Decides an AdmissionReview the way `cloister check` and `cloister advise --from` judge the
/// same object written to a file: the Kubernetes mapper, the rules, the exposure score, the
/// gate, and the placement engine. Pure and `Sendable`: one judge serves every request.
public struct AdmissionJudge: Sendable {
    public var pack: RulePack { didSet { engine = RuleEngine(pack: pack) } }
    /// Built once from `pack`: compiling the rules costs more than judging a pod.
    public private(set) var engine: RuleEngine
    public var policy: ExposurePolicy
    public var baseline: Baseline?
    /// Nil when no catalogue is loaded: decisions are made without advice (and /mutate has
    /// nothing to set).
    public var catalogue: Catalogue?
    /// The threat model advise applies (as `advise --threat-model`); nil lets it infer one,
    /// which for a posture alone is `internal-trusted`.
    public var threatModel: String?
    /// cloister's own findings at or above this (not accepted by the baseline) deny; nil: they
    /// only warn. The Pod Security Standards deny through `podSecurityModes.enforce`.
    public var failOn: Severity?
    /// The Pod Security Standards' data; nil: no control is evaluated.
    public var podSecurity: PodSecurityStandards?
    /// What each level does, as PSA's namespace labels say: deny, warn, or note for the audit log.
    public var podSecurityModes: PodSecurityModes
    /// Honour `pod-security.kubernetes.io/*` labels the request carries for its namespace.
    public var namespaceLabels: Bool
    public var maxExposure: Double?
    /// Placement option id (from `advise`) → Kubernetes RuntimeClass name.
    public var runtimeClasses: [String: String]
    /// status.message is cut to this many characters (the API server shows it to the user).
    public var messageLimit: Int

    /// Only options that run the workload in a sandbox or a guest get a RuntimeClass; a
    /// container choice leaves the runtime alone. Override or add with `--runtime-class`.
    public static let defaultRuntimeClasses: [String: String] = [
        "gvisor": "gvisor",
        "kata": "kata",
        "microvm": "kata-fc",
    ]
    public static let defaultMessageLimit = 1024
    /// Kubernetes truncates longer warnings; at most this many are sent.
    public static let warningLimit = 256
    public static let maximumWarnings = 16

    public init(
        pack: RulePack, policy: ExposurePolicy, baseline: Baseline? = nil, catalogue: Catalogue?,
        failOn: Severity? = nil, maxExposure: Double? = nil,
        runtimeClasses: [String: String] = AdmissionJudge.defaultRuntimeClasses,
        messageLimit: Int = AdmissionJudge.defaultMessageLimit, threatModel: String? = nil,
        podSecurity: PodSecurityStandards? = nil, podSecurityModes: PodSecurityModes = PodSecurityModes(),
        namespaceLabels: Bool = false
    ) {
        self.podSecurity = podSecurity
        self.podSecurityModes = podSecurityModes
        self.namespaceLabels = namespaceLabels
        self.threatModel = threatModel
        self.pack = pack
        self.engine = RuleEngine(pack: pack)
        self.policy = policy
        self.baseline = baseline
        self.catalogue = catalogue
        self.failOn = failOn
        self.maxExposure = maxExposure
        self.runtimeClasses = runtimeClasses
        self.messageLimit = messageLimit
    }

    /// Judges one request. `mutate` adds the RuntimeClass patch when the decision allows.
    public func review(_ request: AdmissionRequest, mutate: Bool, today: Date = Date()) -> AdmissionDecision {
        var decision = AdmissionDecision(uid: request.uid, allowed: true)
        guard var object = request.object else {
            decision.message = "nothing to judge for \(request.operation ?? "this request")"
            return decision
        }
        if let namespace = request.namespace, object["metadata"]?["namespace"] == nil {
            object = Self.setting(namespace: namespace, in: object)
        }
        let kind = object["kind"]?.text ?? "object"
        let name = object["metadata"]?["name"]?.text ?? object["metadata"]?["generateName"]?.text ?? "unnamed"
        let subject = SafeText.forTerminal("\(kind) \(request.namespace.map { "\($0)/" } ?? "")\(name)")
        let reading = Kubernetes.read(object, file: "admission")
        if let error = reading.errors.first {
            // A pod spec the mapper cannot read is not shown to be safe: deny, and say where.
            decision.allowed = false
            decision.code = 400
            let place = error.path.map { " at \($0)" } ?? ""
            decision.message = bounded("cloister cannot read \(subject)\(place): \(SafeText.forTerminal(error.message))")
            return decision
        }
        let postures = reading.postures
        if postures.isEmpty {
            decision.message = "cloister: \(subject) runs no containers; nothing to judge"
            return decision
        }
        // The Pod Security Standards first, worded as Pod Security Admission words them.
        var modes = podSecurityModes
        if namespaceLabels { modes.apply(labels: request.namespaceLabels) }
        var podSecurityDenial: String?
        var podSecurityWarning: String?
        if let podSecurity {
            func violations(_ policy: PodSecurityPolicy?) -> String? {
                guard let policy, policy.level != .privileged else { return nil }
                let found = reading.pods.flatMap {
                    podSecurity.evaluate(PodSecurityInput(spec: $0.spec, metadata: $0.metadata), policy: policy)
                }
                guard !found.isEmpty else { return nil }
                // PSA's words, then the standard's own names for the controls.
                var controls: [String] = []
                for violation in found where !controls.contains(violation.control) { controls.append(violation.control) }
                return "PodSecurity \"\(policy)\": " + found.map(\.text).joined(separator: ", ")
                    + " (Pod Security Standards \(controls.count == 1 ? "control" : "controls"): \(controls.joined(separator: ", ")))"
            }
            podSecurityDenial = violations(modes.enforce).map { "violates " + $0 }
            podSecurityWarning = violations(modes.warn).map { "would violate " + $0 }
            if let audit = violations(modes.audit) {
                decision.auditAnnotations["pod-security.kubernetes.io/audit-violations"] = "would violate " + audit
            }
        }
        let assessed = Assessment(postures: postures, engine: engine, policy: policy, baseline: baseline, today: today)
        decision.findings = assessed.findings
        let gate = Gate(failOn: failOn, maxExposure: maxExposure).evaluate(findings: assessed.findings, postures: assessed.postures)
        decision.allowed = gate.passed && podSecurityDenial == nil

        let failing = assessed.findings.filter { finding in finding.accepted == nil && failOn.map { finding.severity >= $0 } == true }
            .sorted { $0.severity > $1.severity }
        let below = assessed.findings.filter { finding in finding.accepted == nil && failOn.map { finding.severity >= $0 } != true }
            .sorted { $0.severity > $1.severity }
        var warnings = podSecurityWarning.map { [SafeText.forTerminal($0)] } ?? []
        warnings += below.map { "[\($0.severity.rawValue)] \($0.rule): \(SafeText.forTerminal($0.message))" }

        // The placement engine's choice for the pod: the strongest boundary any of its
        // containers needs, since one pod has one runtime.
        if let catalogue {
            let engine = PlacementEngine(catalogue: catalogue)
            for posture in assessed.postures {
                do {
                    let advice = try engine.advise(derive(from: posture), threatModel: threatModel)
                    if let recommendation = advice.recommendation,
                        decision.recommendation.map({ recommendation.boundaryLevel > $0.boundaryLevel }) ?? true
                    {
                        decision.recommendation = recommendation
                    }
                } catch {
                    warnings.append("cloister advise could not place \(SafeText.forTerminal(posture.name)): \(SafeText.forTerminal("\(error)"))")
                }
            }
            if let option = decision.recommendation?.option {
                decision.runtimeClass = runtimeClasses[option]
                if mutate, decision.runtimeClass == nil {
                    warnings.append("cloister advise chose \(option), which has no RuntimeClass mapped (pass --runtime-class \(option)=NAME); runtimeClassName left unchanged")
                }
            }
        }
        if mutate, decision.allowed, let runtimeClass = decision.runtimeClass {
            decision.patch = Self.runtimeClassPatch(kind: kind, runtimeClass: runtimeClass)
        }

        if decision.allowed {
            var text = "cloister allowed \(subject): \(assessed.findings.count) finding(s)"
            if let failOn { text += ", none at or above \(failOn.rawValue)" }
            if let enforce = modes.enforce, podSecurity != nil, enforce.level != .privileged { text += "; meets PodSecurity \"\(enforce)\"" }
            if let recommendation = decision.recommendation { text += "; advise: \(recommendation.option)" }
            decision.message = bounded(text)
        } else {
            decision.code = 403
            let reasons = (podSecurityDenial.map { [SafeText.forTerminal($0)] } ?? []) + gate.reasons.map(SafeText.forTerminal)
            var text = "cloister denied \(subject): " + reasons.joined(separator: "; ")
            for finding in failing {
                let workload = assessed.postures.first { $0.id == finding.workload }?.name ?? finding.workload
                text += "\n[\(finding.severity.rawValue)] \(finding.rule) (\(SafeText.forTerminal(workload))): \(SafeText.forTerminal(finding.message))"
            }
            decision.message = bounded(text)
        }
        decision.warnings = Array(warnings.prefix(Self.maximumWarnings)).map { Self.cut($0, to: Self.warningLimit) }
        return decision
    }

    func bounded(_ text: String) -> String { Self.cut(text, to: messageLimit) }

    static func cut(_ text: String, to limit: Int) -> String {
        guard text.count > limit else { return text }
        let marker = " … (cut)"
        return String(text.prefix(max(0, limit - marker.count))) + marker
    }

    /// Where the pod spec's runtimeClassName lives for each kind the mapper reads.
    public static func runtimeClassPath(kind: String) -> String {
        switch kind {
        case "Pod": "/spec/runtimeClassName"
        case "CronJob": "/spec/jobTemplate/spec/template/spec/runtimeClassName"
        case "PodTemplate": "/template/spec/runtimeClassName"
        default: "/spec/template/spec/runtimeClassName"
        }
    }

    /// An RFC 6902 patch: `add` sets the member whether or not it is already there.
    public static func runtimeClassPatch(kind: String, runtimeClass: String) -> [UInt8] {
        let path = runtimeClassPath(kind: kind)
        return Array("[{\"op\":\"add\",\"path\":\"\(path)\",\"value\":\(JSONString.quoted(runtimeClass))}]".utf8)
    }

    static func setting(namespace: String, in object: DocNode) -> DocNode {
        guard var entries = object.entries else { return object }
        let namespaceEntry = DocEntry(key: "namespace", value: DocNode(.scalar(namespace, plain: false), line: 0, column: 0))
        if let index = entries.firstIndex(where: { $0.key == "metadata" }) {
            guard var metadata = entries[index].value.entries else { return object }
            metadata.append(namespaceEntry)
            entries[index].value = DocNode(.mapping(metadata), line: entries[index].value.line, column: entries[index].value.column)
        } else {
            entries.append(DocEntry(key: "metadata", value: DocNode(.mapping([namespaceEntry]), line: 0, column: 0)))
        }
        return DocNode(.mapping(entries), line: object.line, column: object.column)
    }
}

/// What the webhook answers.
public struct AdmissionDecision: Sendable {
    public var uid: String
    public var allowed: Bool
    /// HTTP-style status code in `response.status.code` (403 for a denial).
    public var code: Int?
    public var message: String?
    public var warnings: [String] = []
    public var findings: [Finding] = []
    public var recommendation: Recommendation?
    /// The RuntimeClass the recommendation maps to, if any.
    public var runtimeClass: String?
    /// The JSON Patch (bytes of a JSON array) for /mutate.
    public var patch: [UInt8]?
    /// `response.auditAnnotations`: the audit level's violations, for the API server's audit log.
    public var auditAnnotations: [String: String] = [:]

    public init(uid: String, allowed: Bool) {
        self.uid = uid
        self.allowed = allowed
    }

    /// The AdmissionReview response body (admission.k8s.io/v1).
    public func responseJSON() -> [UInt8] {
        var out = "{\"apiVersion\":\"\(AdmissionReview.apiVersion)\",\"kind\":\"AdmissionReview\",\"response\":{"
        out += "\"uid\":\(JSONString.quoted(uid)),\"allowed\":\(allowed)"
        if message != nil || code != nil {
            out += ",\"status\":{"
            var parts: [String] = []
            if let code { parts.append("\"code\":\(code)") }
            if let message { parts.append("\"message\":\(JSONString.quoted(message))") }
            out += parts.joined(separator: ",") + "}"
        }
        if !warnings.isEmpty {
            out += ",\"warnings\":[" + warnings.map { JSONString.quoted($0) }.joined(separator: ",") + "]"
        }
        if let patch {
            out += ",\"patchType\":\"JSONPatch\",\"patch\":\"\(Data(patch).base64EncodedString())\""
        }
        if !auditAnnotations.isEmpty {
            out += ",\"auditAnnotations\":{"
                + auditAnnotations.sorted { $0.key < $1.key }.map { "\(JSONString.quoted($0.key)):\(JSONString.quoted($0.value))" }
                .joined(separator: ",") + "}"
        }
        out += "}}"
        return Array(out.utf8)
    }
}

/// What Pod Security Admission does with each level: deny at `enforce`, warn the client at
/// `warn`, annotate the audit log at `audit`. The default is PSA's recommended start: enforce
/// baseline, warn with restricted, both at latest.
public struct PodSecurityModes: Sendable, Equatable {
    public var enforce: PodSecurityPolicy?
    public var warn: PodSecurityPolicy?
    public var audit: PodSecurityPolicy?

    public init(
        enforce: PodSecurityPolicy? = PodSecurityPolicy(level: .baseline), warn: PodSecurityPolicy? = PodSecurityPolicy(level: .restricted),
        audit: PodSecurityPolicy? = nil
    ) {
        self.enforce = enforce
        self.warn = warn
        self.audit = audit
    }

    public static let labelPrefix = "pod-security.kubernetes.io/"

    /// `pod-security.kubernetes.io/MODE` and `MODE-version` labels, as PSA reads them from a
    /// namespace: a label sets its mode's level (and version); a malformed value is ignored here
    /// as PSA falls back to its defaults for it.
    public mutating func apply(labels: [String: String]) {
        for mode in ["enforce", "warn", "audit"] {
            let level = labels[Self.labelPrefix + mode].flatMap(PodSecurityLevel.init(rawValue:))
            let version = labels[Self.labelPrefix + mode + "-version"].flatMap(PodSecurityVersion.init)
            guard level != nil || version != nil else { continue }
            let current: PodSecurityPolicy? = mode == "enforce" ? enforce : mode == "warn" ? warn : audit
            let policy = PodSecurityPolicy(
                level: level ?? current?.level ?? .privileged, version: version ?? current?.version ?? .latest)
            switch mode {
            case "enforce": enforce = policy
            case "warn": warn = policy
            default: audit = policy
            }
        }
    }
}
