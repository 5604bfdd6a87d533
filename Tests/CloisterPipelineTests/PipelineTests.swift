import CloisterModel
import CloisterRules
import Foundation
import Testing

@testable import CloisterPipeline

/// The pipeline as a library: scan and check called without a command line, judged by the
/// shipped rules, with the same assessment path as `scan`, `check` and `serve`.
@Suite("scan and check pipelines")
struct PipelineTests {
    /// The repository checkout, from this file's path (Tests/CloisterPipelineTests/…).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let settings = AssessmentSettings(
        rules: "\(repository)/rules", policy: "\(repository)/policies/exposure.yaml", failOn: .high)
    static let hybridHost = "\(repository)/Tests/CloisterInspectTests/Fixtures/hybrid-host"

    @Test("a scan of a captured tree: the workloads judged, their exposure scored, no scanner capabilities")
    func scanOfCapturedTree() throws {
        let scanned = try ScanPipeline(ScanPipeline.Options(root: Self.hybridHost)).run(settings: Self.settings)
        let names = scanned.report.workloads.map { "\($0.runtime)/\($0.name)" }.sorted()
        #expect(names == ["bubblewrap/sleep", "podman/hard1", "podman/priv1", "podman/web1", "qemu/kvmguest"])
        #expect(scanned.report.workloads.allSatisfy { $0.exposure != nil })
        #expect(scanned.report.findings.contains { $0.workload == scanned.report.workloads.first { $0.name == "priv1" }?.id })
        // A captured tree is not this host: what the scanner held says nothing about it.
        #expect(scanned.report.host.scannerCapabilities == nil)
        #expect(!Self.settings.gate.evaluate(findings: scanned.report.findings, postures: scanned.report.workloads).passed)
    }

    @Test("preloaded judges (serve's rescans) and judges loaded alongside the scan (scan's) agree")
    func preloadedJudgesAgree() throws {
        let pipeline = ScanPipeline(ScanPipeline.Options(root: Self.hybridHost))
        let loaded = try pipeline.run(settings: Self.settings)
        var judges = try Self.settings.loadJudges()
        judges.engine = RuleEngine(pack: judges.pack)
        let preloaded = try pipeline.run(judges: judges)
        #expect(preloaded.report.findings == loaded.report.findings)
        #expect(preloaded.report.workloads == loaded.report.workloads)
    }

    @Test("phases are marked in order, for CLOISTER_DEBUG_TIMINGS")
    func phasesInOrder() throws {
        var phases: [String] = []
        _ = try ScanPipeline(ScanPipeline.Options(root: Self.hybridHost)).run(settings: Self.settings) { phases.append($0) }
        #expect(Array(phases.suffix(2)) == ["rules and policy loaded", "rules evaluated"])
    }

    @Test("input errors name what is wrong: a tree that is not there, a rules directory that is not there")
    func inputErrors() throws {
        #expect(throws: PipelineInputError.self) {
            try ScanPipeline(ScanPipeline.Options(root: "/nonexistent-cloister-tree")).run(settings: Self.settings)
        }
        var missingRules = Self.settings
        missingRules.rules = "/nonexistent-cloister-rules"
        let error = try #require(throws: PipelineInputError.self) {
            try CheckPipeline(paths: ["\(Self.repository)/Tests/CloisterCheckTests/Fixtures/oci"]).run(settings: missingRules)
        }
        #expect(error.description.contains("/nonexistent-cloister-rules"))
    }

    @Test("a check: declared postures judged; invalid and skipped files become the report's issues")
    func checkOfFixtures() throws {
        let checked = try CheckPipeline(
            paths: ["\(Self.repository)/Tests/CloisterCheckTests/Fixtures/bad"],
            qemuArguments: ["qemu-system-x86_64", "-enable-kvm"]
        ).run(settings: Self.settings)
        #expect(!checked.result.errors.isEmpty)
        #expect(checked.result.workloads.contains { $0.kind == .vm })
        #expect(checked.result.workloads.allSatisfy { $0.exposure != nil })
        let invalid = checked.report.issues.filter { $0.message.hasPrefix("invalid input: ") }
        #expect(invalid.count == checked.result.errors.count)
        #expect(checked.heading.hasPrefix("checked \(checked.result.files) files, \(checked.result.documents) documents"))
    }

    @Test("a check of a malformed List: the errors, and the privileged DaemonSet beside them judged by the rules and the PSS")
    func malformedListKeepsTheGoodParts() throws {
        let checked = try CheckPipeline(
            paths: ["\(Self.repository)/Tests/CloisterCheckTests/Fixtures/kubernetes-malformed/list.yaml"]
        ).run(settings: Self.settings)
        #expect(checked.result.errors.count == 2)
        let agent = "k8s:DaemonSet/kube-system/node-agent/agent"
        let rules = Set(checked.findings.filter { $0.workload == agent }.map(\.rule))
        #expect(rules.isSuperset(of: [
            "ct-privileged", "ct-host-pid", "pss-baseline-privileged-containers", "pss-baseline-host-namespaces",
            "pss-baseline-host-ports",
        ]))
        let legacy = "k8s:DeploymentConfig/shop/legacy/app"
        #expect(checked.findings.contains { $0.workload == legacy && $0.rule == "pss-baseline-hostpath-volumes" })
        #expect(checked.result.workloads.first { $0.id == agent }?.kubernetes?.podSecurity?.level == "privileged")
        // The PSS controls are in the pack the reports read titles and references from.
        #expect(checked.pack.rule(id: "pss-baseline-host-namespaces")?.references.podSecurityControl == "Host Namespaces")
        #expect(checked.report.issues.contains { $0.message.hasPrefix("skipped: ") && $0.message.contains("Service shop/web") })

        // --pss none leaves the standard out; --pss baseline fails the gate on the DaemonSet.
        var none = Self.settings
        none.podSecurity = .none
        let without = try CheckPipeline(
            paths: ["\(Self.repository)/Tests/CloisterCheckTests/Fixtures/kubernetes-malformed/list.yaml"]
        ).run(settings: none)
        #expect(!without.findings.contains { $0.rule.hasPrefix("pss-") })
        var enforcing = AssessmentSettings(rules: Self.settings.rules, policy: Self.settings.policy)
        enforcing.podSecurity = PodSecuritySetting(flag: "baseline")!
        let gate = enforcing.gate.evaluate(findings: checked.findings, postures: checked.result.workloads)
        #expect(!gate.passed)
        #expect(gate.reasons.first?.contains("violate PodSecurity \"baseline:latest\"") == true)
    }
}
