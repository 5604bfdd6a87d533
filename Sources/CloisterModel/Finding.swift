public enum Severity: String, Codable, Sendable, CaseIterable, Comparable {
    case info, low, medium, high, critical

    public var rank: Int {
        switch self {
        case .info: 0
        case .low: 1
        case .medium: 2
        case .high: 3
        case .critical: 4
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// Where a finding stands in a configuration file (for `check`); nil for live scans.
public struct SourceLocation: Codable, Sendable, Equatable, Hashable {
    public var file: String
    public var line: Int?
    public var column: Int?
    /// The path inside the document (`spec.containers[0].securityContext.privileged`).
    public var path: String?

    public init(file: String, line: Int? = nil, column: Int? = nil, path: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
    }
}

/// An external reference a finding rests on: a benchmark item, a standard's control, a CVE.
public struct Reference: Codable, Sendable, Equatable, Hashable {
    /// `cis-docker-1.6.0`, `k8s-pss`, `nist-800-190`, `cve`, `url`, …
    public var source: String
    public var id: String
    public var title: String?
    public var url: String?

    public init(source: String, id: String, title: String? = nil, url: String? = nil) {
        self.source = source
        self.id = id
        self.title = title
        self.url = url
    }
}

public struct Finding: Codable, Sendable, Equatable {
    public var rule: String
    public var severity: Severity
    /// The `id` of the workload's posture.
    public var workload: String
    public var message: String
    /// The posture fields and values the finding rests on, by their JSON path.
    public var evidence: [String: String]
    public var references: [Reference]
    public var location: SourceLocation?
    /// Set when a baseline accepts the finding: why, and until when.
    public var accepted: String?

    public init(
        rule: String, severity: Severity, workload: String, message: String,
        evidence: [String: String] = [:], references: [Reference] = [], location: SourceLocation? = nil,
        accepted: String? = nil
    ) {
        self.rule = rule
        self.severity = severity
        self.workload = workload
        self.message = message
        self.evidence = evidence
        self.references = references
        self.location = location
        self.accepted = accepted
    }
}
