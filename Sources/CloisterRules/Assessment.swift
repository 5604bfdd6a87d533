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
        // Each posture's tree lives only while that posture is scored and judged: holding the
        // trees of every posture at once was 4 MB at 200 containers, a tenth of a scan's peak.
        let scorer = ExposureScorer(policy: policy)
        let shared = engine.sharedIndex(postures: postures)
        let judged = Parallel.map(Array(postures.indices)) { index -> (Exposure?, RuleEvaluation) in
            let tree = PostureTree.make(postures[index])
            var scored = postures[index]
            scored.exposure = scorer.explain(postures[index], tree: tree).exposure
            return (scored.exposure, engine.evaluate(scored, tree: tree, shared: shared))
        }
        var scored = postures
        var findings: [Finding] = []
        var undetermined: [Undetermined] = []
        for index in scored.indices {
            scored[index].exposure = judged[index].0
            findings += judged[index].1.findings
            undetermined += judged[index].1.undetermined
        }
        self.postures = scored
        self.findings = baseline.map { $0.apply(to: findings, postures: scored, today: today) } ?? findings
        self.undetermined = undetermined
    }
}
