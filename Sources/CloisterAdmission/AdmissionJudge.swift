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
    /// Findings at or above this (not accepted by the baseline) deny.
    public var failOn: Severity
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
        failOn: Severity = .high, maxExposure: Double? = nil,
        runtimeClasses: [String: String] = AdmissionJudge.defaultRuntimeClasses,
        messageLimit: Int = AdmissionJudge.defaultMessageLimit, threatModel: String? = nil
    ) {
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
        let postures: [Posture]
        do {
            postures = try Kubernetes.postures(object, file: "admission")
        } catch {
            // A pod spec the mapper cannot read is not shown to be safe: deny, and say where.
            decision.allowed = false
            decision.code = 400
            let place = error.path.map { " at \($0)" } ?? ""
            decision.message = bounded("cloister cannot read \(subject)\(place): \(SafeText.forTerminal(error.message))")
            return decision
        }
        if postures.isEmpty {
            decision.message = "cloister: \(subject) runs no containers; nothing to judge"
            return decision
        }
        let assessed = Assessment(postures: postures, engine: engine, policy: policy, baseline: baseline, today: today)
        decision.findings = assessed.findings
        let gate = Gate(failOn: failOn, maxExposure: maxExposure).evaluate(findings: assessed.findings, postures: assessed.postures)
        decision.allowed = gate.passed

        let failing = assessed.findings.filter { $0.accepted == nil && $0.severity >= failOn }
            .sorted { $0.severity > $1.severity }
        let below = assessed.findings.filter { $0.accepted == nil && $0.severity < failOn }
            .sorted { $0.severity > $1.severity }
        var warnings = below.map { "[\($0.severity.rawValue)] \($0.rule): \(SafeText.forTerminal($0.message))" }

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
            var text = "cloister allowed \(subject): \(assessed.findings.count) finding(s), none at or above \(failOn.rawValue)"
            if let recommendation = decision.recommendation { text += "; advise: \(recommendation.option)" }
            decision.message = bounded(text)
        } else {
            decision.code = 403
            var text = "cloister denied \(subject): " + gate.reasons.map(SafeText.forTerminal).joined(separator: "; ")
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
        out += "}}"
        return Array(out.utf8)
    }
}
