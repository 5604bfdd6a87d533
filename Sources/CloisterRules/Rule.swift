import CloisterModel

/// Standards a rule cites. Kept typed so reports can link them and lint can check their form.
public struct RuleReferences: Sendable, Equatable {
    /// CIS Docker Benchmark 1.6.0 recommendation number (`5.5`).
    public var cisDocker: String?
    /// Kubernetes Pod Security Standards: `baseline` or `restricted`, and the control's name.
    public var podSecurityLevel: String?
    public var podSecurityControl: String?
    /// NIST SP 800-190 section (`4.4.3`).
    public var nist800190: String?
    /// NIST SP 800-53 Rev. 5 controls the rule bears on (`AC-6`, `SC-39`, `CM-7(2)`): the
    /// security requirement a finding shows unmet. Sources in rules/README.md.
    public var nist80053: [String]
    /// CVEs the condition exposes the workload to (the class, with known members).
    public var cves: [String]
    /// Further reading.
    public var urls: [String]

    public init(
        cisDocker: String? = nil, podSecurityLevel: String? = nil, podSecurityControl: String? = nil,
        nist800190: String? = nil, nist80053: [String] = [], cves: [String] = [], urls: [String] = []
    ) {
        self.cisDocker = cisDocker
        self.podSecurityLevel = podSecurityLevel
        self.podSecurityControl = podSecurityControl
        self.nist800190 = nist800190
        self.nist80053 = nist80053
        self.cves = cves
        self.urls = urls
    }

    /// As the model's `Reference` values a `Finding` carries.
    public var asReferences: [Reference] {
        var references: [Reference] = []
        if let cisDocker {
            references.append(Reference(
                source: "cis-docker-1.6.0", id: cisDocker, title: "CIS Docker Benchmark 1.6.0, recommendation \(cisDocker)"))
        }
        if let podSecurityLevel, let podSecurityControl {
            references.append(Reference(
                source: "k8s-pss", id: "\(podSecurityLevel)/\(podSecurityControl)",
                title: "Kubernetes Pod Security Standards, \(podSecurityLevel): \(podSecurityControl)",
                url: "https://kubernetes.io/docs/concepts/security/pod-security-standards/"))
        }
        if let nist800190 {
            references.append(Reference(
                source: "nist-800-190", id: nist800190, title: "NIST SP 800-190, section \(nist800190)",
                url: "https://doi.org/10.6028/NIST.SP.800-190"))
        }
        for control in nist80053 {
            references.append(Reference(
                source: NIST80053.source, id: control, title: "NIST SP 800-53 Rev. 5, \(control)",
                url: "https://doi.org/10.6028/NIST.SP.800-53r5"))
        }
        for cve in cves {
            references.append(Reference(source: "cve", id: cve, url: "https://nvd.nist.gov/vuln/detail/\(cve)"))
        }
        for url in urls {
            references.append(Reference(source: "url", id: url, url: url))
        }
        return references
    }
}

/// NIST SP 800-53 Rev. 5 control identifiers as the rules cite them.
public enum NIST80053 {
    /// The `source` of a `Reference` to an 800-53 control.
    public static let source = "nist-800-53-rev5"

    /// `AC-6`, `CM-7(2)`, `SC-39`: a family, a number, optionally one enhancement.
    public static func isControl(_ text: String) -> Bool {
        text.range(of: #"^[A-Z]{2}-[0-9]{1,2}(\([0-9]{1,2}\))?$"#, options: .regularExpression) != nil
    }
}

/// A posture a rule must fire on, or must stay silent on, with the workloads beside it (for
/// rules that compare workloads, such as a shared sVirt label).
public struct RuleCase: Sendable {
    public enum Expectation: String, Sendable { case fires, silent }

    public var name: String
    public var expectation: Expectation
    public var posture: Posture
    public var peers: [Posture]
    public var file: String
    public var line: Int?
}

public struct Rule: Sendable {
    public var id: String
    public var title: String
    public var severity: Severity
    public var kinds: Set<WorkloadKind>
    public var description: String?
    public var condition: Condition
    /// With `{{field.path}}` placeholders filled from the posture.
    public var message: String
    public var remediation: String
    public var references: RuleReferences
    public var cases: [RuleCase]
    public var file: String
    public var line: Int?

    /// Fields the condition reads, outermost first (absolute JSON paths).
    public var fields: [String] {
        var seen = Set<String>()
        return condition.fieldTests().map(\.test.field.absolute).filter { seen.insert($0).inserted }
    }

    public func applies(to kind: WorkloadKind) -> Bool { kinds.contains(kind) }
}
