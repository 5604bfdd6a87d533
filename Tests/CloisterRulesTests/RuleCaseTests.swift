import CloisterModel
import CloisterResourceFiles
import CloisterRules
import Testing

@Suite("Shipped rule pack")
struct RuleCaseTests {
    @Test("The shipped rules load without errors")
    func packLoads() throws {
        let pack = try RulePack.load(directory: Repository.rulesDirectory)
        #expect(pack.rules.count >= 30)
        #expect(Set(pack.rules.map(\.id)).count == pack.rules.count)
    }

    @Test("Each rule's cases fire and stay silent as declared", arguments: Shipped.ruleIDs)
    func cases(ruleID: String) throws {
        let rule = try #require(Shipped.pack.rule(id: ruleID))
        let results = RuleTester.run(rule)
        #expect(results.contains { $0.expectation == .fires })
        #expect(results.contains { $0.expectation == .silent })
        for result in results {
            #expect(result.passed, "\(result.file):\(result.line ?? 0) \(result.name): \(result.detail)")
        }
    }

    @Test("Every rule cites at least one standard, and escape rules say which CVEs or why none", arguments: Shipped.ruleIDs)
    func references(ruleID: String) throws {
        let rule = try #require(Shipped.pack.rule(id: ruleID))
        let references = rule.references
        #expect(references.cisDocker != nil || references.nist800190 != nil || references.podSecurityControl != nil)
        if ruleID.hasPrefix("esc-") {
            #expect(!references.cves.isEmpty || rule.description != nil)
        }
    }

    @Test("A hardened posture of each kind sets off no rule")
    func hardenedIsClean() {
        let postures = WorkloadKind.allCases.map { HardenedPosture.make(kind: $0, id: "hardened-\($0.rawValue)") }
        let findings = RuleEngine(pack: Shipped.pack).evaluate(postures)
        #expect(findings.isEmpty, "\(findings.map { "\($0.workload): \($0.rule)" })")
    }
}
