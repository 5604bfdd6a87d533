import CloisterModel

/// The result of running one of a rule's cases.
public struct CaseResult: Sendable {
    public var rule: String
    public var name: String
    public var expectation: RuleCase.Expectation
    public var passed: Bool
    /// What happened, for a failure: the message it fired with, or why it stayed silent.
    public var detail: String
    public var file: String
    public var line: Int?
}

/// Runs the cases rule files ship (`cloister rules test`, and the test suite).
public enum RuleTester {
    public static func run(_ rule: Rule) -> [CaseResult] {
        let engine = RuleEngine(pack: RulePack(rules: [rule]))
        return rule.cases.map { ruleCase in
            let evaluation = engine.evaluateDetailed([ruleCase.posture] + ruleCase.peers)
            let fired = evaluation.findings.first { $0.workload == ruleCase.posture.id }
            let passed = (fired != nil) == (ruleCase.expectation == .fires)
            var detail: String
            if let fired {
                detail = "fired: \(fired.message)"
            } else if evaluation.undetermined.contains(where: { $0.workload == ruleCase.posture.id }) {
                detail = "stayed silent: a field it reads is unknown"
            } else {
                detail = "stayed silent"
            }
            if !passed { detail = "expected to \(ruleCase.expectation == .fires ? "fire" : "stay silent"), but " + detail }
            return CaseResult(
                rule: rule.id, name: ruleCase.name, expectation: ruleCase.expectation, passed: passed, detail: detail,
                file: ruleCase.file, line: ruleCase.line)
        }
    }

    public static func run(_ pack: RulePack) -> [CaseResult] {
        pack.rules.flatMap { run($0) }
    }
}
