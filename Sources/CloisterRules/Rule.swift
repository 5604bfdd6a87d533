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
        if let cisDocker { references += CISDockerNumbering.references(forItem: cisDocker) }
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
    /// Matched by hand, not with Foundation's regular expressions: those run on ICU, which a
    /// scan otherwise never touches (see `ReferenceSyntax`).
    public static func isControl(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        func isUpper(_ byte: UInt8) -> Bool { (0x41...0x5a).contains(byte) }
        func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
        // Family: two capitals, a hyphen.
        guard bytes.count >= 4, isUpper(bytes[0]), isUpper(bytes[1]), bytes[2] == UInt8(ascii: "-") else { return false }
        // Number: one or two digits.
        var index = 3
        while index < bytes.count, index < 5, isDigit(bytes[index]) { index += 1 }
        guard index > 3 else { return false }
        if index == bytes.count { return true }
        // Enhancement: "(" one or two digits ")", and nothing after.
        guard bytes[index] == UInt8(ascii: "("), bytes.last == UInt8(ascii: ")") else { return false }
        let enhancement = bytes[(index + 1)..<(bytes.count - 1)]
        return (1...2).contains(enhancement.count) && enhancement.allSatisfy(isDigit)
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
