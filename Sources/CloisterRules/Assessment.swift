import CloisterModel
import Foundation

/// What `scan` and `check` do with postures, in one call: score each, apply the rules, mark
/// accepted findings. Each posture's tree is built once for both the rules and the score.
public struct Assessment: Sendable {
    /// The postures with `exposure` filled in.
    public var postures: [Posture]
    public var findings: [Finding]
    /// Rules that could not be decided because a field they read is unknown (no finding made).
    public var undetermined: [Undetermined]

    public init(
        postures: [Posture], pack: RulePack, policy: ExposurePolicy, baseline: Baseline? = nil, today: Date = Date()
    ) {
        self.init(postures: postures, engine: RuleEngine(pack: pack), policy: policy, baseline: baseline, today: today)
    }

    /// With an engine built once: building one compiles every rule's plan and message, which
    /// costs more than judging a pod, so `serve` keeps one for all its admission requests.
    public init(
        postures: [Posture], engine: RuleEngine, policy: ExposurePolicy, baseline: Baseline? = nil, today: Date = Date()
    ) {
        let trees = Parallel.map(postures, PostureTree.make)
        let scorer = ExposureScorer(policy: policy)
        let exposures = Parallel.map(Array(postures.indices)) { scorer.explain(postures[$0], tree: trees[$0]).exposure }
        var scored = postures
        for index in scored.indices { scored[index].exposure = exposures[index] }
        let evaluation = engine.evaluate(postures: scored, trees: trees)
        self.postures = scored
        self.findings = baseline.map { $0.apply(to: evaluation.findings, postures: scored, today: today) } ?? evaluation.findings
        self.undetermined = evaluation.undetermined
    }
}
