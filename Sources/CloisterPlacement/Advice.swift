import CloisterModel

// The answer, as a value. Its JSON field names are a public contract (`recommendation.option`,
// `recommendation.scope`, `alternatives`, `residualRisks`, `hardening`, `reasons`): fields are
// added, never renamed.

/// Why: a sentence, and the policy entry it came from (`threat-models.yaml#untrusted-code.minBoundary`).
public struct Reason: Codable, Sendable, Equatable {
    public var policy: String
    public var message: String
    public var sources: [String] = []
}

public struct AppliedThreatModel: Codable, Sendable, Equatable {
    public var id: String
    public var title: String
    /// `explicit` (named with --threat-model) or `inferred` (from the description).
    public var selection: String
    public var reason: Reason
}

public struct Recommendation: Codable, Sendable, Equatable {
    public var option: String
    public var name: String
    public var scope: PlacementScope
    public var score: Int
    public var boundary: String
    public var boundaryLevel: Int
    public var hostKernelSurface: String
    public var startupMs: Int
    public var memoryOverheadMiB: Int
    /// `catalogue` or `measured`: where `startupMs` comes from.
    public var startupSource: String
}

public struct Alternative: Codable, Sendable, Equatable {
    /// 2 for the runner-up: the recommendation is rank 1.
    public var rank: Int
    public var option: String
    public var name: String
    /// False when a hard constraint or the threat model's minimum boundary rules it out.
    public var feasible: Bool
    public var score: Int?
    public var reasons: [Reason]
}

public struct ResidualRisk: Codable, Sendable, Equatable {
    public var id: String
    public var title: String
    public var examples: [String]
    public var note: String
    public var policy: String
    public var sources: [String]
}

public struct HardeningStep: Codable, Sendable, Equatable {
    public var id: String
    public var step: String
    public var policy: String
    public var sources: [String]
}

public struct HardeningPlan: Codable, Sendable, Equatable {
    /// The posture the workload should have once hardened; `cloister profile` turns it into
    /// profiles. Nil when no option fits.
    public var targetPosture: Posture?
    public var steps: [HardeningStep]
}

public struct ComplianceNote: Codable, Sendable, Equatable {
    public var regime: String
    public var note: String
    public var policy: String
    public var sources: [String]
}

public struct Advice: Codable, Sendable, Equatable {
    public var schema: String
    public var workload: String
    public var threatModels: [AppliedThreatModel]
    /// Nil when no option satisfies the hard constraints and the threat model.
    public var recommendation: Recommendation?
    public var alternatives: [Alternative]
    public var residualRisks: [ResidualRisk]
    public var hardening: HardeningPlan
    public var complianceNotes: [ComplianceNote]
    /// Why the recommendation won, and how its scope was set.
    public var reasons: [Reason]
    /// Needs that weaken the target posture (host namespaces, privileged, devices), named so
    /// no relaxation is silent.
    public var relaxations: [String]
    /// Description fields that were not set and took their defaults.
    public var assumptions: [String]
    /// Every source cited anywhere above, by id.
    public var sources: [String: PolicySource]
}

extension Advice {
    enum CodingKeys: String, CodingKey {
        case schema, workload, threatModels, recommendation, alternatives, residualRisks, hardening, complianceNotes
        case reasons, relaxations, assumptions, sources
    }

    /// Written by hand so a missing recommendation is an explicit `null`, not an absent key:
    /// machines reading `recommendation.option` should not have to guess.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schema, forKey: .schema)
        try container.encode(workload, forKey: .workload)
        try container.encode(threatModels, forKey: .threatModels)
        try container.encode(recommendation, forKey: .recommendation)
        try container.encode(alternatives, forKey: .alternatives)
        try container.encode(residualRisks, forKey: .residualRisks)
        try container.encode(hardening, forKey: .hardening)
        try container.encode(complianceNotes, forKey: .complianceNotes)
        try container.encode(reasons, forKey: .reasons)
        try container.encode(relaxations, forKey: .relaxations)
        try container.encode(assumptions, forKey: .assumptions)
        try container.encode(sources, forKey: .sources)
    }
}

extension HardeningPlan {
    enum CodingKeys: String, CodingKey { case targetPosture, steps }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(targetPosture, forKey: .targetPosture)
        try container.encode(steps, forKey: .steps)
    }
}
