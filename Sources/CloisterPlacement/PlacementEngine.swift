import CloisterModel

/// Start-up figures measured on this host, used in place of the catalogue's.
public struct MeasuredFigures: Codable, Sendable, Equatable {
    /// Option id → measured start-up in milliseconds.
    public var startupMs: [String: Int]
    /// How they were measured, or why some could not be.
    public var notes: [String]

    public init(startupMs: [String: Int] = [:], notes: [String] = []) {
        self.startupMs = startupMs
        self.notes = notes
    }
}

public enum PlacementError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownThreatModel(String, allowed: [String])

    public var description: String {
        switch self {
        case .unknownThreatModel(let id, let allowed):
            "threat model '\(id)' is not in the policies (allowed: \(allowed.joined(separator: ", ")))"
        }
    }
}

/// Weighs a workload description against threat models and the catalogue. Pure and
/// deterministic: the same description, catalogue and figures give the same advice, byte for
/// byte once encoded with sorted keys. Hard constraints first (an option that cannot do what
/// the workload needs, or whose boundary is below the threat model's minimum, is out), then
/// weighed preferences; ties go to the stronger boundary, then to catalogue order.
public struct PlacementEngine: Sendable {
    public var catalogue: Catalogue
    public var measured: MeasuredFigures

    public init(catalogue: Catalogue, measured: MeasuredFigures = MeasuredFigures()) {
        self.catalogue = catalogue
        self.measured = measured
    }

    // MARK: Facts

    /// The description as a set of `field=value` facts that policy conditions test.
    public static func facts(of description: WorkloadDescription) -> Set<String> {
        var facts: Set<String> = [
            "trust=\(description.trust.rawValue)",
            "tenancy=\(description.tenancy.rawValue)",
            "specAuthor=\(description.specAuthor.rawValue)",
            "hostTrusted=\(description.hostTrusted)",
        ]
        func list(_ name: String, _ values: [String]) {
            for value in values { facts.insert("\(name)=\(value)") }
            facts.insert(values.isEmpty ? "\(name)=none" : "\(name)=*")
        }
        list("data", description.data)
        list("compliance", description.compliance)
        let needs = description.needs
        facts.insert("needs.os=\(needs.os.rawValue)")
        facts.insert("needs.kernel=\(needs.kernel.rawValue)")
        facts.insert("needs.arch=\(needs.arch.rawValue)")
        facts.insert("needs.privileged=\(needs.privileged)")
        list("needs.capabilities", needs.capabilities)
        list("needs.hostNamespaces", needs.hostNamespaces.map(\.rawValue))
        list("needs.devices", needs.devices)
        facts.insert("needs.gpu=\(needs.gpu)")
        list("needs.filesystems", needs.filesystems)
        facts.insert("needs.network=\(needs.network.rawValue)")
        facts.insert("performance.density=\(description.performance.density.rawValue)")
        facts.insert("performance.io=\(description.performance.io.rawValue)")
        if description.performance.startupMs != nil { facts.insert("performance.startupMs=*") }
        facts.insert("platform.kvm=\(description.platform.kvm.rawValue)")
        list("platform.confidentialHardware", description.platform.confidentialHardware.map(\.rawValue))
        return facts
    }

    // MARK: Threat models

    /// The threat models that apply: the one named, or every one whose `match` holds (a model
    /// with an empty `match` is the fallback when none does), strongest precedence first.
    public func threatModels(for description: WorkloadDescription, explicit: String? = nil) throws -> [AppliedThreatModel] {
        if let explicit {
            guard let model = catalogue.threatModel(explicit) else {
                throw PlacementError.unknownThreatModel(explicit, allowed: catalogue.threatModels.map(\.id).sorted())
            }
            return [AppliedThreatModel(
                id: model.id, title: model.title, selection: "explicit",
                reason: Reason(
                    policy: "threat-models.yaml#\(model.id)",
                    message: "threat model '\(model.id)' was named explicitly", sources: model.sources))]
        }
        let facts = Self.facts(of: description)
        let ordered = catalogue.threatModels.sorted { ($0.precedence, $1.id) > ($1.precedence, $0.id) }
        var applied = ordered.filter { !$0.match.isEmpty && $0.match.holds(facts) }.map { model in
            AppliedThreatModel(
                id: model.id, title: model.title, selection: "inferred",
                reason: Reason(
                    policy: "threat-models.yaml#\(model.id).match",
                    message: "threat model '\(model.id)' inferred because the description has \(model.match.matched(facts).joined(separator: ", "))",
                    sources: model.sources))
        }
        if applied.isEmpty, let fallback = ordered.first(where: { $0.match.isEmpty }) {
            applied = [AppliedThreatModel(
                id: fallback.id, title: fallback.title, selection: "inferred",
                reason: Reason(
                    policy: "threat-models.yaml#\(fallback.id).match",
                    message: "threat model '\(fallback.id)' applies because no other threat model matched the description",
                    sources: fallback.sources))]
        }
        return applied
    }

    // MARK: Advice

    struct Scored {
        var option: IsolationOption
        var index: Int
        var score: Int
        var components: [(points: Int, reason: Reason)]
        var rejections: [Reason]
        var startupSource: String
        var feasible: Bool { rejections.isEmpty }
    }

    public func advise(_ description: WorkloadDescription, threatModel explicit: String? = nil) throws -> Advice {
        let facts = Self.facts(of: description)
        let applied = try threatModels(for: description, explicit: explicit)
        let models = applied.compactMap { catalogue.threatModel($0.id) }
        let primary = models.first
        let minBoundary = models.map(\.minBoundary).max() ?? 1
        let boundaryWeight = models.map(\.boundaryWeight).max() ?? 1
        let weights = catalogue.weights

        var scored: [Scored] = []
        for (index, baseOption) in catalogue.options.enumerated() {
            var option = baseOption
            var startupSource = "catalogue"
            if let figure = measured.startupMs[option.id] {
                option.startupMs = figure
                startupSource = "measured"
            }
            var rejections: [Reason] = []
            for restriction in option.cannot where restriction.when.holds(facts) {
                rejections.append(Reason(
                    policy: "catalogue.yaml#options.\(option.id).cannot.\(restriction.id)",
                    message: "\(option.name): \(restriction.reason) (description has \(restriction.when.matched(facts).joined(separator: ", ")))",
                    sources: restriction.sources))
            }
            for model in models where option.boundaryLevel < model.minBoundary {
                rejections.append(Reason(
                    policy: "threat-models.yaml#\(model.id).minBoundary",
                    message: "\(option.name) has boundary level \(option.boundaryLevel) (\(option.boundary)); threat model '\(model.id)' requires at least \(model.minBoundary)",
                    sources: model.sources))
            }

            var components: [(Int, Reason)] = []
            let optionPolicy = "catalogue.yaml#options.\(option.id)"
            components.append((boundaryWeight * option.boundaryLevel, Reason(
                policy: "threat-models.yaml#\(primary?.id ?? "none").boundaryWeight",
                message: "boundary level \(option.boundaryLevel) × weight \(boundaryWeight): \(option.boundary)",
                sources: option.propertySources)))
            if option.complexity != 0 {
                components.append((-option.complexity, Reason(
                    policy: "\(optionPolicy).complexity",
                    message: "operational cost \(option.complexity)", sources: option.propertySources)))
            }
            if description.performance.io == .heavy, option.ioPenalty != 0 {
                components.append((-option.ioPenalty, Reason(
                    policy: "\(optionPolicy).ioPenalty",
                    message: "heavy I/O costs \(option.ioPenalty) under \(option.name)", sources: option.propertySources)))
            }
            if let divisor = weights.densityDivisor[description.performance.density.rawValue], divisor > 0 {
                let cost = option.memoryOverheadMiB / divisor
                if cost != 0 {
                    components.append((-cost, Reason(
                        policy: "\(optionPolicy).memoryOverheadMiB",
                        message: "\(option.memoryOverheadMiB) MiB per instance at \(description.performance.density.rawValue) density",
                        sources: option.propertySources)))
                }
            }
            if let budget = description.performance.startupMs, option.startupMs > budget {
                components.append((-weights.startupOverBudget, Reason(
                    policy: "\(optionPolicy).startupMs",
                    message: "starts in about \(option.startupMs) ms (\(startupSource)), over the \(budget) ms budget",
                    sources: option.propertySources)))
            }
            if description.platform.kvm == .nested, option.kind == .vm {
                components.append((-weights.nestedKVMPenalty, Reason(
                    policy: "catalogue.yaml#weights.nestedKVMPenalty",
                    message: "runs under nested virtualisation, which multiplies exit and I/O costs",
                    sources: option.propertySources)))
            }
            if let primary, let position = primary.preferred.firstIndex(of: option.id),
               position < weights.preferredBonus.count {
                components.append((weights.preferredBonus[position], Reason(
                    policy: "threat-models.yaml#\(primary.id).preferred",
                    message: "threat model '\(primary.id)' prefers \(option.name) (choice \(position + 1))",
                    sources: primary.sources)))
            }
            for rule in catalogue.preferences where rule.option == option.id && rule.when.holds(facts) {
                components.append((rule.bonus, Reason(
                    policy: "catalogue.yaml#preferences.\(rule.id)", message: rule.reason, sources: rule.sources)))
            }
            let score = components.reduce(0) { $0 + $1.0 }
            scored.append(Scored(
                option: option, index: index, score: score, components: components, rejections: rejections,
                startupSource: startupSource))
        }

        let ranked = scored.sorted { lhs, rhs in
            if lhs.feasible != rhs.feasible { return lhs.feasible }
            if lhs.score != rhs.score { return lhs.score > rhs.score }
            if lhs.option.boundaryLevel != rhs.option.boundaryLevel { return lhs.option.boundaryLevel > rhs.option.boundaryLevel }
            return lhs.index < rhs.index
        }
        let winner = ranked.first(where: \.feasible)

        var reasons = applied.map(\.reason)
        if models.count > 1 {
            reasons.append(Reason(
                policy: "threat-models.yaml#combination",
                message: "several threat models apply: the strictest minimum boundary (\(minBoundary)) and boundary weight (\(boundaryWeight)) hold; preferences follow '\(primary?.id ?? "")'",
                sources: []))
        }

        var recommendation: Recommendation?
        var steps: [HardeningStep] = []
        var risks: [ResidualRisk] = []
        var posture: Posture?
        if let winner {
            let option = winner.option
            reasons.append(Reason(
                policy: "\("catalogue.yaml#options.\(option.id)")",
                message: "\(option.name) passes every hard constraint and meets the minimum boundary \(minBoundary), and scores highest (\(winner.score))",
                sources: option.propertySources))
            reasons += winner.components.filter { $0.points != 0 && !$0.reason.policy.hasSuffix("boundaryWeight") && $0.points > 0 }.map(\.reason)

            let (scope, scopeReasons) = placementScope(for: option, models: models, description: description, facts: facts)
            reasons += scopeReasons
            recommendation = Recommendation(
                option: option.id, name: option.name, scope: scope, score: winner.score, boundary: option.boundary,
                boundaryLevel: option.boundaryLevel, hostKernelSurface: option.hostKernelSurface,
                startupMs: option.startupMs, memoryOverheadMiB: option.memoryOverheadMiB,
                startupSource: winner.startupSource)

            for risk in option.residualRisks where risk.when.holds(facts) {
                risks.append(ResidualRisk(
                    id: risk.id, title: risk.title, examples: risk.examples, note: risk.note,
                    policy: "catalogue.yaml#options.\(option.id).residualRisks.\(risk.id)", sources: risk.sources))
            }
            for entry in option.hardening where entry.when.holds(facts) {
                steps.append(HardeningStep(
                    id: entry.id, step: entry.step, policy: "catalogue.yaml#options.\(option.id).hardening.\(entry.id)",
                    sources: entry.sources))
            }
            for model in models {
                for entry in model.requirements where entry.when.holds(facts) && !steps.contains(where: { $0.id == entry.id }) {
                    steps.append(HardeningStep(
                        id: entry.id, step: entry.step, policy: "threat-models.yaml#\(model.id).requirements.\(entry.id)",
                        sources: entry.sources))
                }
            }
            for regime in catalogue.compliance where description.compliance.contains(regime.id) {
                for entry in regime.hardening where entry.when.holds(facts) && !steps.contains(where: { $0.id == entry.id }) {
                    steps.append(HardeningStep(
                        id: entry.id, step: entry.step, policy: "compliance.yaml#\(regime.id).hardening.\(entry.id)",
                        sources: entry.sources))
                }
            }
            posture = TargetPosture.build(option: option, description: description)
        } else {
            reasons.append(Reason(
                policy: "catalogue.yaml#options",
                message: "no option passes the hard constraints and the minimum boundary \(minBoundary); change the platform (for example add confidential-computing hardware or KVM) or the needs, or accept a weaker threat model explicitly",
                sources: []))
        }

        var alternatives: [Alternative] = []
        for entry in ranked where entry.option.id != winner?.option.id {
            var why: [Reason] = entry.rejections
            if entry.feasible, let winner {
                why.append(Reason(
                    policy: "catalogue.yaml#options.\(entry.option.id)",
                    message: "scores \(entry.score) against \(winner.score) for \(winner.option.name)",
                    sources: []))
                why += losingFactors(entry, against: winner)
            }
            alternatives.append(Alternative(
                rank: 0, option: entry.option.id, name: entry.option.name,
                feasible: entry.feasible, score: entry.feasible ? entry.score : nil, reasons: why))
        }
        // Ranks count from 2 so the recommendation is rank 1.
        for index in alternatives.indices { alternatives[index].rank = index + (winner == nil ? 1 : 2) }

        var notes: [ComplianceNote] = []
        for id in description.compliance {
            if let regime = catalogue.compliance.first(where: { $0.id == id }) {
                for note in regime.notes {
                    notes.append(ComplianceNote(regime: id, note: note, policy: "compliance.yaml#\(id)", sources: regime.sources))
                }
            } else {
                notes.append(ComplianceNote(
                    regime: id,
                    note: "compliance.yaml has no mapping for '\(id)'; review its isolation requirements by hand (known: \(catalogue.compliance.map(\.id).joined(separator: ", ")))",
                    policy: "compliance.yaml", sources: []))
            }
        }

        var cited = Set<String>()
        for reason in reasons { cited.formUnion(reason.sources) }
        for alternative in alternatives { for reason in alternative.reasons { cited.formUnion(reason.sources) } }
        for risk in risks { cited.formUnion(risk.sources) }
        for step in steps { cited.formUnion(step.sources) }
        for note in notes { cited.formUnion(note.sources) }
        for model in applied { cited.formUnion(model.reason.sources) }
        var sources: [String: PolicySource] = [:]
        for id in cited { if let source = catalogue.sources[id] { sources[id] = source } }

        return Advice(
            schema: "cloister.advice/v1", workload: description.name, threatModels: applied,
            recommendation: recommendation, alternatives: alternatives, residualRisks: risks,
            hardening: HardeningPlan(targetPosture: posture, steps: steps), complianceNotes: notes, reasons: reasons,
            relaxations: Self.relaxations(description), assumptions: description.defaulted, sources: sources)
    }

    /// The factors where `loser` fell behind `winner`, largest first.
    func losingFactors(_ loser: Scored, against winner: Scored) -> [Reason] {
        func byKey(_ entry: Scored) -> [String: (Int, Reason)] {
            var result: [String: (Int, Reason)] = [:]
            for component in entry.components {
                let key = component.reason.policy.replacingOccurrences(of: ".\(entry.option.id).", with: ".*.")
                result[key] = (component.points, component.reason)
            }
            return result
        }
        let mine = byKey(loser)
        let theirs = byKey(winner)
        var deltas: [(Int, Reason)] = []
        for key in Set(mine.keys).union(theirs.keys) {
            let myPoints = mine[key]?.0 ?? 0
            let theirPoints = theirs[key]?.0 ?? 0
            guard myPoints < theirPoints else { continue }
            if let reason = mine[key]?.1 {
                deltas.append((theirPoints - myPoints, Reason(
                    policy: reason.policy, message: "\(reason.message) (\(myPoints) points)", sources: reason.sources)))
            } else if let reason = theirs[key]?.1 {
                deltas.append((theirPoints - myPoints, Reason(
                    policy: reason.policy, message: "\(winner.option.name) gains: \(reason.message)", sources: reason.sources)))
            }
        }
        return deltas.sorted { ($0.0, $1.1.policy) > ($1.0, $0.1.policy) }.prefix(3).map(\.1)
    }

    func placementScope(
        for option: IsolationOption, models: [ThreatModel], description: WorkloadDescription, facts: Set<String>
    ) -> (PlacementScope, [Reason]) {
        var scope = PlacementScope.sharedNodes
        var reasons: [Reason] = []
        for model in models {
            let modelScope = model.scopeByOption[option.id] ?? model.scope
            let policy = model.scopeByOption[option.id] != nil
                ? "threat-models.yaml#\(model.id).scopeByOption.\(option.id)" : "threat-models.yaml#\(model.id).scope"
            if modelScope > scope || reasons.isEmpty {
                scope = max(scope, modelScope)
                reasons.append(Reason(
                    policy: policy, message: "threat model '\(model.id)' places \(option.name) on \(modelScope.rawValue)",
                    sources: model.sources))
            }
        }
        for regime in catalogue.compliance where description.compliance.contains(regime.id) && regime.minScope > scope {
            scope = regime.minScope
            reasons.append(Reason(
                policy: "compliance.yaml#\(regime.id).minScope",
                message: "\(regime.title) raises the scope to \(regime.minScope.rawValue)", sources: regime.sources))
        }
        for rule in catalogue.scopeRules
        where rule.options.contains(option.id) && rule.when.holds(facts) && rule.scope > scope {
            scope = rule.scope
            reasons.append(Reason(
                policy: "catalogue.yaml#scopeRules.\(rule.id)", message: "\(rule.reason): \(rule.scope.rawValue)",
                sources: rule.sources))
        }
        return (scope, reasons)
    }

    static func relaxations(_ description: WorkloadDescription) -> [String] {
        var result: [String] = []
        let needs = description.needs
        if needs.privileged { result.append("needs.privileged: the workload runs privileged, which disables most confinement inside the chosen option") }
        for namespace in needs.hostNamespaces {
            result.append("needs.hostNamespaces: shares the host's \(namespace.rawValue) namespace")
        }
        for device in needs.devices { result.append("needs.devices: host device \(device) is exposed") }
        for capability in needs.capabilities { result.append("needs.capabilities: keeps \(capability)") }
        return result
    }
}
