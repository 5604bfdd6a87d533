import Foundation

/// One case of the scenario suite: a workload, the answer public guidance gives for it, and
/// the sources that say so. `cloister advise` must reproduce every one.
public struct Scenario: Sendable, Equatable, CustomStringConvertible {
    public var id: String
    public var title: String
    public var file: String
    /// Source ids from sources.yaml.
    public var source: [String]
    public var rationale: String
    public var threatModel: String?
    public var workload: WorkloadDescription
    public var expectOption: String?
    public var expectScope: PlacementScope?
    public var expectHardening: [String]
    public var expectResidualRisks: [String]
    /// `option:restriction` pairs that must appear among the rejections.
    public var expectRejected: [String]

    public var description: String { id }

    /// Parses a scenario file's text. `file` (its path) names it in errors; `name` (its file
    /// name) is what `Scenario.file` keeps. Reading it is `CloisterResourceFiles`'.
    public static func parse(yaml text: String, file: String, name: String) throws -> Scenario {
        let root = try YAMLMap.document(text, file: file)
        try root.checkKeys(["version", "id", "title", "source", "rationale", "threatModel", "description", "expect"])
        _ = try root.checkVersion(supported: 1, kind: "scenario")
        guard let descriptionMap = try root.map("description") else { throw root.error("description", "is required") }
        guard let expect = try root.map("expect") else { throw root.error("expect", "is required") }
        try expect.checkKeys(["option", "scope", "hardening", "residualRisks", "rejected"])
        let source = try root.strings("source")
        if source.isEmpty { throw root.error("source", "must cite the public guidance the expectation rests on") }
        let option = try expect.requiredString("option")
        return Scenario(
            id: try root.requiredString("id"), title: try root.requiredString("title"), file: name,
            source: source, rationale: try root.string("rationale") ?? "", threatModel: try root.string("threatModel"),
            workload: try WorkloadDescription.read(descriptionMap),
            expectOption: option == "none" ? nil : option, expectScope: try expect.enumValue("scope", PlacementScope.self),
            expectHardening: try expect.strings("hardening"), expectResidualRisks: try expect.strings("residualRisks"),
            expectRejected: try expect.strings("rejected"))
    }

    /// What differs between the advice and the expectation; empty when the scenario passes.
    public func check(_ advice: Advice) -> [String] {
        var problems: [String] = []
        if advice.recommendation?.option != expectOption {
            problems.append("expected option \(expectOption ?? "none"), got \(advice.recommendation?.option ?? "none")")
        }
        if let expectScope, advice.recommendation?.scope != expectScope {
            problems.append("expected scope \(expectScope.rawValue), got \(advice.recommendation?.scope.rawValue ?? "none")")
        }
        let steps = Set(advice.hardening.steps.map(\.id))
        for id in expectHardening where !steps.contains(id) {
            problems.append("hardening '\(id)' missing (got \(steps.sorted().joined(separator: ", ")))")
        }
        let risks = Set(advice.residualRisks.map(\.id))
        for id in expectResidualRisks where !risks.contains(id) {
            problems.append("residual risk '\(id)' missing (got \(risks.sorted().joined(separator: ", ")))")
        }
        let rejected = Set(advice.alternatives.flatMap { alternative in
            alternative.reasons.compactMap { reason -> String? in
                guard let range = reason.policy.range(of: ".cannot.") else { return nil }
                return "\(alternative.option):\(reason.policy[range.upperBound...])"
            }
        })
        for pair in expectRejected where !rejected.contains(pair) {
            problems.append("rejection '\(pair)' missing (got \(rejected.sorted().joined(separator: ", ")))")
        }
        return problems
    }
}
