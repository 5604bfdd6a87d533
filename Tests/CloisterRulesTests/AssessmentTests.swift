import CloisterModel
import CloisterRules
import Foundation
import Testing

@Suite("Assessment")
struct AssessmentTests {
    @Test("One call scores, evaluates and applies the baseline, as the separate calls do")
    func sameAsSeparateCalls() throws {
        let postures = RuleBenchmark.syntheticPostures(count: 90)
        let baseline = Baseline(entries: [Baseline.Entry(rule: "vm-tcg", workload: "*", reason: "lab", expires: "2999-12-31")])
        let assessment = Assessment(postures: postures, pack: Shipped.pack, policy: Shipped.policy, baseline: baseline)
        let scorer = ExposureScorer(policy: Shipped.policy)
        #expect(assessment.postures == scorer.scored(postures))
        let findings = baseline.apply(to: RuleEngine(pack: Shipped.pack).evaluate(postures), postures: postures)
        #expect(assessment.findings == findings)
        #expect(assessment.findings.contains { $0.rule == "vm-tcg" && $0.accepted != nil })
        #expect(!assessment.undetermined.isEmpty)
    }
}
