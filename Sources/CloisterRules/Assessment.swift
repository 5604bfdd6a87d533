import CloisterModel
import Foundation
import Synchronization

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
    /// `memory`: what the previous assessment with the same engine and policy left (`serve`'s
    /// rescans, `scan --watch`); a posture equal to one judged then is not judged again while
    /// the cross-workload index is the same. The baseline is applied afresh every time, as its
    /// acceptances expire by the day.
    public init(
        postures: [Posture], engine: RuleEngine, policy: ExposurePolicy, baseline: Baseline? = nil, today: Date = Date(),
        memory: AssessmentMemory? = nil
    ) {
        // Each posture's tree lives only while that posture is scored and judged: holding the
        // trees of every posture at once was 4 MB at 200 containers, a tenth of a scan's peak.
        let scorer = ExposureScorer(policy: policy)
        let shared = engine.sharedIndex(postures: postures)
        let remembered = memory?.state.withLock { $0 }
        let reusable = remembered.flatMap { $0.shared == shared ? $0.judged : nil } ?? [:]
        let outcomes = Parallel.map(Array(postures.indices)) { index -> (judged: AssessmentMemory.Judged, reused: Bool) in
            if let known = reusable[postures[index].id], known.posture == postures[index] { return (known, true) }
            let tree = PostureTree.make(postures[index])
            var scored = postures[index]
            scored.exposure = scorer.explain(postures[index], tree: tree).exposure
            let evaluation = engine.evaluate(scored, tree: tree, shared: shared)
            return (AssessmentMemory.Judged(posture: postures[index], exposure: scored.exposure, evaluation: evaluation), false)
        }
        let judged = outcomes.map(\.judged)
        if let memory {
            var kept: [String: AssessmentMemory.Judged] = [:]
            kept.reserveCapacity(judged.count)
            for entry in judged where kept[entry.posture.id] == nil { kept[entry.posture.id] = entry }
            let reused = outcomes.count(where: \.reused)
            memory.state.withLock { $0 = AssessmentMemory.State(shared: shared, judged: kept, reused: reused) }
        }
        var scored = postures
        var findings: [Finding] = []
        var undetermined: [Undetermined] = []
        for index in scored.indices {
            scored[index].exposure = judged[index].exposure
            findings += judged[index].evaluation.findings
            undetermined += judged[index].evaluation.undetermined
        }
        self.postures = scored
        self.findings = baseline.map { $0.apply(to: findings, postures: scored, today: today) } ?? findings
        self.undetermined = undetermined
    }
}

/// What an assessment leaves for the next one of the same host, by the same engine and policy:
/// each posture as judged, its exposure and its rule evaluation, and the cross-workload index
/// they were judged with. One scan's assessment at a time.
public final class AssessmentMemory: Sendable {
    struct Judged: Sendable {
        var posture: Posture
        var exposure: Exposure?
        var evaluation: RuleEvaluation
    }

    struct State: Sendable {
        var shared: [String: [String: [String: [String]]]]
        var judged: [String: Judged]
        var reused: Int
    }

    let state = Mutex<State?>(nil)

    public init() {}

    /// How many postures the last assessment took from the one before (for tests and logs).
    public var lastReused: Int { state.withLock { $0?.reused ?? 0 } }
}
