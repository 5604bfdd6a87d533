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

    static func same(_ one: Assessment, _ other: Assessment) -> Bool {
        one.postures == other.postures && one.findings == other.findings && one.undetermined == other.undetermined
    }

    @Test("With a memory: unchanged postures are not judged again, and the result is a fresh assessment's")
    func memoryReusesUnchanged() throws {
        let engine = RuleEngine(pack: Shipped.pack)
        var postures = RuleBenchmark.syntheticPostures(count: 90)
        let memory = AssessmentMemory()
        func assess(_ postures: [Posture], memory: AssessmentMemory?, today: Date = Date()) -> Assessment {
            let baseline = Baseline(entries: [Baseline.Entry(rule: "vm-tcg", workload: "*", reason: "lab", expires: "2030-06-30")])
            return Assessment(postures: postures, engine: engine, policy: Shipped.policy, baseline: baseline, today: today, memory: memory)
        }
        let first = assess(postures, memory: memory)
        #expect(memory.lastReused == 0)
        #expect(Self.same(first, assess(postures, memory: nil)))
        let again = assess(postures, memory: memory)
        #expect(memory.lastReused == 90)
        #expect(Self.same(again, first))

        // One container changed, one gone, one new: the rest are reused, the result is fresh.
        let container = try #require(postures.firstIndex { $0.kind == .container && $0.namespaces.pid != .host })
        postures[container].namespaces.pid = .host
        let gone = postures.removeLast()
        postures.append(HardenedPosture.make(kind: .container, id: "bench:new"))
        let changed = assess(postures, memory: memory)
        #expect(memory.lastReused == 88)
        #expect(Self.same(changed, assess(postures, memory: nil)))
        #expect(changed.findings.contains { $0.workload == postures[container].id && $0.rule == "ct-host-pid" })
        #expect(!changed.findings.contains { $0.workload == gone.id })

        // The baseline is applied afresh: past its expiry, a reused finding is no longer accepted.
        let later = try #require(ISO8601DateFormatter().date(from: "2031-01-01T00:00:00Z"))
        let expired = assess(postures, memory: memory, today: later)
        #expect(memory.lastReused == 90)
        #expect(Self.same(expired, assess(postures, memory: nil, today: later)))
        #expect(expired.findings.contains { $0.rule == "vm-tcg" })
        #expect(!expired.findings.contains { $0.rule == "vm-tcg" && $0.accepted != nil })
    }

    @Test("With a memory: a change of the cross-workload index judges every posture again")
    func memorySharedIndexChange() throws {
        let engine = RuleEngine(pack: Shipped.pack)
        var postures = RuleBenchmark.syntheticPostures(count: 60)
        let memory = AssessmentMemory()
        _ = Assessment(postures: postures, engine: engine, policy: Shipped.policy, memory: memory)
        // Two guests given one SELinux level no guest had: the level is now shared.
        let guests = postures.indices.filter { postures[$0].kind == .vm }
        try #require(guests.count >= 2)
        let label = SELinuxLabel(
            context: "system_u:system_r:svirt_t:s0:c7,c8", user: "system_u", role: "system_r", type: "svirt_t", level: "s0:c7,c8")
        postures[guests[0]].mac.selinux = label
        postures[guests[1]].mac.selinux = label
        let shared = Assessment(postures: postures, engine: engine, policy: Shipped.policy, memory: memory)
        #expect(memory.lastReused == 0)
        #expect(Self.same(shared, Assessment(postures: postures, engine: engine, policy: Shipped.policy)))
        #expect(shared.findings.contains { $0.rule == "vm-svirt-shared" && $0.workload == postures[guests[1]].id })
    }
}
