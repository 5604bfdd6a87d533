import CloisterModel
import Foundation

// The policies directory, read into values: the isolation options and what each can and
// cannot do, the threat models and what each requires, the compliance regimes, and the
// sources every one of those claims rests on. Claims without a known source are refused at
// load time, so every reason the engine gives can be traced to a document.

/// A document a policy entry rests on.
public struct PolicySource: Codable, Sendable, Equatable {
    public var id: String
    public var title: String
    public var url: String
}

/// A test over the facts of a description (`needs.gpu=true`, `tenancy=multi-hostile`,
/// `compliance=*` for any regime). Holds when every `all` fact holds and, if `any` is not
/// empty, at least one `any` fact holds.
public struct Condition: Codable, Sendable, Equatable {
    public var all: [String] = []
    public var any: [String] = []

    public var isEmpty: Bool { all.isEmpty && any.isEmpty }

    public func holds(_ facts: Set<String>) -> Bool {
        all.allSatisfy(facts.contains) && (any.isEmpty || any.contains(where: facts.contains))
    }

    /// The facts that made it hold, for reasons.
    public func matched(_ facts: Set<String>) -> [String] {
        all + any.filter(facts.contains)
    }
}

/// Where a workload may be placed, from least to most separated.
public enum PlacementScope: String, Codable, Sendable, CaseIterable, Comparable {
    case sharedNodes = "shared-nodes", dedicatedPool = "dedicated-pool", dedicatedHost = "dedicated-host"

    var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (lhs: PlacementScope, rhs: PlacementScope) -> Bool { lhs.rank < rhs.rank }
}

/// Something an option cannot do, as a hard constraint: when the condition holds the option
/// is out, whatever it would have scored.
public struct Restriction: Codable, Sendable, Equatable {
    public var id: String
    public var when: Condition
    public var reason: String
    public var sources: [String]
}

/// A class of escapes that stays reachable under an option.
public struct ResidualRiskEntry: Codable, Sendable, Equatable {
    public var id: String
    public var title: String
    /// CVE identifiers that exemplify the class.
    public var examples: [String]
    public var note: String
    public var when: Condition
    public var sources: [String]
}

/// A hardening step an option, threat model or regime still needs.
public struct HardeningEntry: Codable, Sendable, Equatable {
    public var id: String
    public var step: String
    public var when: Condition
    public var sources: [String]
}

public struct IsolationOption: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    /// What separates the workload from the host, in words.
    public var boundary: String
    /// 1 (namespaces only) to 6 (hardware-encrypted guest): how much a workload must break
    /// through to reach the host.
    public var boundaryLevel: Int
    /// How much of the host kernel the workload reaches, in words.
    public var hostKernelSurface: String
    public var startupMs: Int
    public var memoryOverheadMiB: Int
    /// Relative cost under heavy I/O (0 none).
    public var ioPenalty: Int
    /// Relative operational cost (0 none).
    public var complexity: Int
    /// The posture's `kind` and `runtime` for the target posture.
    public var kind: WorkloadKind
    public var runtime: String
    /// Where the figures above come from.
    public var propertySources: [String]
    public var cannot: [Restriction]
    public var residualRisks: [ResidualRiskEntry]
    public var hardening: [HardeningEntry]
}

public struct ThreatModel: Codable, Sendable, Equatable {
    public var id: String
    public var title: String
    public var summary: String
    /// When it is inferred from a description.
    public var match: Condition
    /// Higher wins when several match and one has to be named first.
    public var precedence: Int
    public var minBoundary: Int
    /// Points per boundary level in the weighed preferences: how much this model values a
    /// stronger boundary over lower cost.
    public var boundaryWeight: Int
    /// Options this model prefers, best first.
    public var preferred: [String]
    public var scope: PlacementScope
    /// Options whose boundary is strong enough to share nodes under this model.
    public var scopeByOption: [String: PlacementScope]
    public var requirements: [HardeningEntry]
    public var sources: [String]
}

public struct ComplianceRegime: Codable, Sendable, Equatable {
    public var id: String
    public var title: String
    public var minScope: PlacementScope
    public var notes: [String]
    public var hardening: [HardeningEntry]
    public var sources: [String]
}

/// A weighed preference: a bonus (or, negative, a penalty) to one option when a condition holds.
public struct PreferenceRule: Codable, Sendable, Equatable {
    public var id: String
    public var option: String
    public var when: Condition
    public var bonus: Int
    public var reason: String
    public var sources: [String]
}

/// Raises the placement scope when a condition holds for the listed options.
public struct ScopeRule: Codable, Sendable, Equatable {
    public var id: String
    public var options: [String]
    public var when: Condition
    public var scope: PlacementScope
    public var reason: String
    public var sources: [String]
}

/// The numbers the weighed preferences use. Kept in the policies so they are reviewed like
/// the rest.
public struct Weights: Codable, Sendable, Equatable {
    public var preferredBonus: [Int]
    public var startupOverBudget: Int
    public var densityDivisor: [String: Int]
    public var nestedKVMPenalty: Int

    public static let defaults = Weights(
        preferredBonus: [8, 5, 3], startupOverBudget: 40, densityDivisor: ["low": 0, "medium": 25, "high": 5],
        nestedKVMPenalty: 15)
}

public struct Catalogue: Codable, Sendable, Equatable {
    public static let supportedVersion = 1
    public static let optionIDs = [
        "container", "hardened-container", "userns-container", "gvisor", "kata", "microvm", "vm", "confidential-vm",
    ]

    public var sources: [String: PolicySource]
    /// In catalogue order, which is also the last tie-break.
    public var options: [IsolationOption]
    public var threatModels: [ThreatModel]
    public var compliance: [ComplianceRegime]
    public var preferences: [PreferenceRule]
    public var scopeRules: [ScopeRule]
    public var weights: Weights

    public func option(_ id: String) -> IsolationOption? { options.first { $0.id == id } }
    public func threatModel(_ id: String) -> ThreatModel? { threatModels.first { $0.id == id } }
}

// MARK: - Loading

extension Catalogue {
    public static let fileNames = ["sources.yaml", "catalogue.yaml", "threat-models.yaml", "compliance.yaml"]

    /// Parses the texts of `sources.yaml`, `catalogue.yaml`, `threat-models.yaml` and
    /// `compliance.yaml` (each with the path that names it in errors) and checks that every
    /// cited source exists. Reading a policies directory is `CloisterResourceFiles`'
    /// `load(directory:)`.
    public static func parse(
        sources sourcesFile: (file: String, text: String), catalogue catalogueFile: (file: String, text: String),
        threatModels threatFile: (file: String, text: String), compliance complianceFile: (file: String, text: String)
    ) throws -> Catalogue {
        let sourcesMap = try YAMLMap.document(sourcesFile.text, file: sourcesFile.file)
        let catalogueMap = try YAMLMap.document(catalogueFile.text, file: catalogueFile.file)
        let threatMap = try YAMLMap.document(threatFile.text, file: threatFile.file)
        let complianceMap = try YAMLMap.document(complianceFile.text, file: complianceFile.file)

        try sourcesMap.checkKeys(["version", "sources"])
        _ = try sourcesMap.checkVersion(supported: supportedVersion, kind: "policy")
        var sources: [String: PolicySource] = [:]
        for (id, map) in try sourcesMap.namedMaps("sources") {
            try map.checkKeys(["title", "url"])
            sources[id] = PolicySource(id: id, title: try map.requiredString("title"), url: try map.requiredString("url"))
        }

        func cited(_ map: YAMLMap, _ key: String = "sources", required: Bool = true) throws -> [String] {
            let ids = try map.strings(key)
            if required && ids.isEmpty { throw map.error(key, "must cite at least one source from sources.yaml") }
            for id in ids where sources[id] == nil {
                throw map.error(key, "cites '\(id)', which sources.yaml does not define", allowed: sources.keys.sorted())
            }
            return ids
        }
        func condition(_ map: YAMLMap, _ key: String = "when") throws -> Condition {
            guard let sub = try map.map(key) else { return Condition() }
            try sub.checkKeys(["all", "any"])
            return Condition(all: try sub.strings("all"), any: try sub.strings("any"))
        }
        func hardening(_ map: YAMLMap, _ key: String) throws -> [HardeningEntry] {
            try map.maps(key).map { entry in
                try entry.checkKeys(["id", "step", "when", "sources"])
                return HardeningEntry(
                    id: try entry.requiredString("id"), step: try entry.requiredString("step"),
                    when: try condition(entry), sources: try cited(entry))
            }
        }
        func optionList(_ map: YAMLMap, _ key: String) throws -> [String] {
            let ids = try map.strings(key)
            for id in ids where !Self.optionIDs.contains(id) {
                throw map.error(key, "names option '\(id)', which the catalogue does not have", allowed: Self.optionIDs)
            }
            return ids
        }
        func scope(_ map: YAMLMap, _ key: String) throws -> PlacementScope {
            try map.requiredEnum(key, PlacementScope.self)
        }

        // catalogue.yaml
        try catalogueMap.checkKeys(["version", "weights", "options", "preferences", "scopeRules"])
        _ = try catalogueMap.checkVersion(supported: supportedVersion, kind: "policy")
        var weights = Weights.defaults
        if let map = try catalogueMap.map("weights") {
            try map.checkKeys(["preferredBonus", "startupOverBudget", "densityDivisor", "nestedKVMPenalty"])
            let bonus = try map.strings("preferredBonus").compactMap(Int.init)
            if !bonus.isEmpty { weights.preferredBonus = bonus }
            weights.startupOverBudget = try map.int("startupOverBudget") ?? weights.startupOverBudget
            weights.nestedKVMPenalty = try map.int("nestedKVMPenalty") ?? weights.nestedKVMPenalty
            if let divisors = try map.map("densityDivisor") {
                try divisors.checkKeys(Density.allCases.map(\.rawValue))
                for density in Density.allCases {
                    if let value = try divisors.int(density.rawValue) { weights.densityDivisor[density.rawValue] = value }
                }
            }
        }
        var options: [IsolationOption] = []
        for map in try catalogueMap.maps("options") {
            try map.checkKeys([
                "id", "name", "boundary", "boundaryLevel", "hostKernelSurface", "startupMs", "memoryOverheadMiB",
                "ioPenalty", "complexity", "kind", "runtime", "sources", "cannot", "residualRisks", "hardening",
            ])
            let id = try map.requiredString("id")
            guard optionIDs.contains(id) else {
                throw map.error("id", "is '\(id)', which is not an option id cloister knows", allowed: Self.optionIDs)
            }
            if options.contains(where: { $0.id == id }) { throw map.error("id", "'\(id)' appears twice") }
            let cannot = try map.maps("cannot").map { entry in
                try entry.checkKeys(["id", "when", "reason", "sources"])
                return Restriction(
                    id: try entry.requiredString("id"), when: try condition(entry),
                    reason: try entry.requiredString("reason"), sources: try cited(entry))
            }
            let risks = try map.maps("residualRisks").map { entry in
                try entry.checkKeys(["id", "title", "examples", "note", "when", "sources"])
                return ResidualRiskEntry(
                    id: try entry.requiredString("id"), title: try entry.requiredString("title"),
                    examples: try entry.strings("examples"), note: try entry.string("note") ?? "",
                    when: try condition(entry), sources: try cited(entry))
            }
            options.append(IsolationOption(
                id: id, name: try map.requiredString("name"), boundary: try map.requiredString("boundary"),
                boundaryLevel: try map.int("boundaryLevel", range: 1...6) ?? 1,
                hostKernelSurface: try map.requiredString("hostKernelSurface"),
                startupMs: try map.int("startupMs") ?? 0, memoryOverheadMiB: try map.int("memoryOverheadMiB") ?? 0,
                ioPenalty: try map.int("ioPenalty") ?? 0, complexity: try map.int("complexity") ?? 0,
                kind: try map.requiredEnum("kind", WorkloadKind.self), runtime: try map.requiredString("runtime"),
                propertySources: try cited(map), cannot: cannot, residualRisks: risks,
                hardening: try hardening(map, "hardening")))
        }
        for id in Self.optionIDs where !options.contains(where: { $0.id == id }) {
            throw catalogueMap.error("options", "has no entry for option '\(id)'", allowed: Self.optionIDs)
        }
        let preferences = try catalogueMap.maps("preferences").map { entry in
            try entry.checkKeys(["id", "option", "when", "bonus", "reason", "sources"])
            guard let option = try optionList(entry, "option").first else { throw entry.error("option", "is required", allowed: Self.optionIDs) }
            guard let bonusText = try entry.string("bonus"), let bonus = Int(bonusText) else {
                throw entry.error("bonus", "must be a whole number (negative for a penalty)")
            }
            return PreferenceRule(
                id: try entry.requiredString("id"), option: option, when: try condition(entry), bonus: bonus,
                reason: try entry.requiredString("reason"), sources: try cited(entry))
        }
        let scopeRules = try catalogueMap.maps("scopeRules").map { entry in
            try entry.checkKeys(["id", "options", "when", "scope", "reason", "sources"])
            return ScopeRule(
                id: try entry.requiredString("id"), options: try optionList(entry, "options"), when: try condition(entry),
                scope: try scope(entry, "scope"), reason: try entry.requiredString("reason"), sources: try cited(entry))
        }

        // threat-models.yaml
        try threatMap.checkKeys(["version", "threatModels"])
        _ = try threatMap.checkVersion(supported: supportedVersion, kind: "policy")
        let threatModels = try threatMap.maps("threatModels").map { map in
            try map.checkKeys([
                "id", "title", "summary", "match", "precedence", "minBoundary", "boundaryWeight", "preferred", "scope",
                "scopeByOption", "requirements", "sources",
            ])
            var byOption: [String: PlacementScope] = [:]
            if let sub = try map.map("scopeByOption") {
                try sub.checkKeys(Self.optionIDs)
                for id in Self.optionIDs { if let value = try sub.enumValue(id, PlacementScope.self) { byOption[id] = value } }
            }
            return ThreatModel(
                id: try map.requiredString("id"), title: try map.requiredString("title"),
                summary: try map.requiredString("summary"), match: try condition(map, "match"),
                precedence: try map.int("precedence") ?? 0, minBoundary: try map.int("minBoundary", range: 1...6) ?? 1,
                boundaryWeight: try map.int("boundaryWeight") ?? 1, preferred: try optionList(map, "preferred"),
                scope: try scope(map, "scope"), scopeByOption: byOption,
                requirements: try hardening(map, "requirements"), sources: try cited(map))
        }

        // compliance.yaml
        try complianceMap.checkKeys(["version", "regimes"])
        _ = try complianceMap.checkVersion(supported: supportedVersion, kind: "policy")
        let compliance = try complianceMap.maps("regimes").map { map in
            try map.checkKeys(["id", "title", "minScope", "notes", "hardening", "sources"])
            return ComplianceRegime(
                id: try map.requiredString("id"), title: try map.requiredString("title"),
                minScope: try scope(map, "minScope"), notes: try map.strings("notes"),
                hardening: try hardening(map, "hardening"), sources: try cited(map))
        }

        return Catalogue(
            sources: sources, options: options, threatModels: threatModels, compliance: compliance,
            preferences: preferences, scopeRules: scopeRules, weights: weights)
    }
}
