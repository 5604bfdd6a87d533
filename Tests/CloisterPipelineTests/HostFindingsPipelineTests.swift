import CloisterModel
import CloisterRules
import Foundation
import Testing

@testable import CloisterPipeline

/// Host findings through the pipeline: the shipped data loaded with the judges, affected
/// advisories and daemon checks as findings on `host`, a baseline accepting them like any other,
/// undecided ones as issues, and none of it in `scan --pid`.
@Suite("host findings in the scan pipeline")
struct HostFindingsPipelineTests {
    static let settings = PipelineTests.settings

    static func report(_ inventory: SoftwareInventory, daemons: [DaemonFacts] = []) -> ScanReport {
        var host = HostFacts()
        host.inventory = inventory
        host.daemons = daemons
        return ScanReport(scannedAt: "2026-12-07T00:00:00Z", host: host, workloads: [])
    }

    @Test("affected advisories and a loose socket become host findings; a baseline accepts one by rule and workload \"host\"")
    func findingsAndBaseline() throws {
        let judges = try Self.settings.loadJudges()
        let advisories = try #require(judges.advisories)
        let hostRules = try #require(judges.hostRules)
        var report = Self.report(
            SoftwareInventory(packageManager: "dpkg", distribution: "debian", distributionVersion: "12",
                              components: [InstalledComponent(component: "runc", package: "runc", version: "1.1.5+ds1-1", source: "dpkg")]),
            daemons: [DaemonFacts(daemon: "containerd", pid: 9, files: [FileFacts(role: "socket", path: "/run/containerd/containerd.sock", uid: 0, gid: 0, group: "root", mode: "0666")])])
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-host-baseline-\(getpid()).yaml")
        defer { try? FileManager.default.removeItem(at: scratch) }
        try """
            version: 1
            accepted:
              - rule: host-cve-2024-21626
                workload: host
                reason: runc is replaced at the next maintenance window (OPS-7)
                expires: 2999-12-31
            """.write(to: scratch, atomically: true, encoding: .utf8)
        let baseline = try Baseline.parse(yaml: try String(contentsOf: scratch, encoding: .utf8), file: scratch.path)
        ScanPipeline.judgeHost(&report, advisories: advisories, baseline: baseline)
        ScanPipeline.judgeHostConfiguration(&report, rules: hostRules, baseline: baseline)
        let rules = Set(report.findings.map(\.rule))
        #expect(rules.isSuperset(of: ["host-cve-2024-21626", "host-cve-2025-31133", "containerd-socket-permissions"]))
        #expect(report.findings.allSatisfy { $0.workload == "host" })
        #expect(report.findings.first { $0.rule == "host-cve-2024-21626" }?.accepted?.contains("OPS-7") == true)
        #expect(report.findings.first { $0.rule == "host-cve-2025-31133" }?.accepted == nil)
        #expect(report.host.advisories?.count == advisories.advisories.count)
    }

    @Test("an unread package database: every advisory undecided, an issue each, no finding")
    func undecided() throws {
        let judges = try Self.settings.loadJudges()
        var report = Self.report(SoftwareInventory(packageManager: "rpm", unknown: ["packages": "the rpm database is not read"]))
        ScanPipeline.judgeHost(&report, advisories: try #require(judges.advisories), baseline: nil)
        #expect(report.findings.isEmpty)
        #expect(report.issues.filter { $0.workload == "host" }.count == judges.advisories?.advisories.count)
    }

    @Test("scan --pid of a captured tree's workload carries no host verdicts")
    func scopedScan() throws {
        let scanned = try ScanPipeline(ScanPipeline.Options(root: PipelineTests.hybridHost, pid: 18041)).run(settings: Self.settings)
        #expect(scanned.report.host.advisories == nil)
        #expect(!scanned.report.findings.contains { $0.workload == "host" })
    }
}
