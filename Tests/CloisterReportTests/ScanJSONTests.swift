import CloisterCodec
import CloisterModel
import Foundation
import Testing
@testable import CloisterReport

@Suite struct ScanJSONTests {
    static func sampleReport() -> ScanReport {
        var hostile = Posture(id: "podman:abc", kind: .container, runtime: "podman", name: "evil\u{1B}[2J\n\"name\"\\")
        hostile.command = ["sh", "-c", "echo \u{7}"]
        hostile.mounts = [Mount(source: "/dev/vda1", target: "/x y", readOnly: false, type: "ext4", root: "/srv", hostPath: "/srv")]
        hostile.cgroup = CgroupLimits(version: "v2", path: "/a")
        hostile.cgroup?.memoryMax = .max
        hostile.cgroup?.pidsMax = .value(50)
        hostile.exposure = Exposure(score: 4.3, level: "medium")
        hostile.unknown = ["mac.selinux": "because"]
        var vm = Posture(id: "qemu:pid-1", kind: .vm, runtime: "qemu", name: "g")
        vm.hypervisor = Hypervisor(emulator: "qemu", accelerator: "kvm", consoles: [Console(kind: "vnc", transport: "tcp", address: "0.0.0.0:5900", localOnly: false)])
        var host = HostFacts()
        host.kernel = "6.1"
        host.lsms = []
        return ScanReport(
            scannedAt: "2026-11-22T00:00:00Z", host: host, workloads: [hostile, vm],
            findings: [Finding(rule: "ct-x", severity: .high, workload: "podman:abc", message: "m", evidence: ["a": "b"])],
            issues: [ScanIssue(pid: 3, message: "gone")])
    }

    /// The streamed form is the same document as JSONEncoder's, value for value.
    @Test func decodesToTheSameReportAsFoundationsEncoding() throws {
        let report = Self.sampleReport()
        let streamed = try ScanJSON.render(report)
        let decoded = try JSONDecoder().decode(ScanReport.self, from: Data(streamed))
        #expect(decoded == report)
        let foundation = try JSONEncoder().encode(report)
        let fromFoundation = try JSONSerialization.jsonObject(with: foundation) as? NSDictionary
        let fromStreamed = try JSONSerialization.jsonObject(with: Data(streamed)) as? NSDictionary
        #expect(fromFoundation == fromStreamed)
    }

    @Test func oneWorkloadALineAndNoRawControlCharacters() throws {
        let text = String(decoding: try ScanJSON.render(Self.sampleReport()), as: UTF8.self)
        let lines = text.split(separator: "\n")
        #expect(lines.filter { $0.contains("\"kind\":\"container\"") || $0.contains("\"kind\":\"vm\"") }.count == 2)
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
    }
}

@Suite struct ScanJSONStreamingTests {
    /// `scan` writes the report to standard output in pieces; the pieces, joined, are the
    /// document `render` returns, whatever the piece size and however many workloads (more
    /// than one encoding batch of 64).
    @Test(arguments: [1, 100, 64 << 10, Int.max])
    func piecesJoinToTheRenderedDocument(chunkSize: Int) throws {
        var report = ScanJSONTests.sampleReport()
        let template = report.workloads[0]
        report.workloads = (0..<150).map { index in
            var posture = template
            posture.id = "podman:\(index)"
            posture.name = "c\(index)"
            return posture
        }
        var pieces: [[UInt8]] = []
        try ScanJSON.write(report, chunkSize: chunkSize) { pieces.append($0) }
        #expect(pieces.joined().elementsEqual(try ScanJSON.render(report)))
        #expect(pieces.allSatisfy { !$0.isEmpty })
        if chunkSize == Int.max { #expect(pieces.count == 1) }
        if chunkSize == 64 << 10 { #expect(pieces.count > 1) }
    }
}

@Suite struct ScanJSONMemoryTests {
    static func report(_ count: Int) -> ScanReport {
        var report = ScanJSONTests.sampleReport()
        let template = report.workloads[0]
        report.workloads = (0..<count).map { index in
            var posture = template
            posture.id = "podman:\(index)"
            posture.name = "c\(index)"
            return posture
        }
        // Each workload's findings and issues together, as an assessment lists them; some
        // workloads have none, and the host has issues of its own (no workload).
        report.findings = report.workloads.indices.flatMap { index -> [Finding] in
            (0..<(index % 4)).map { rule in
                Finding(
                    rule: "ct-\(rule)", severity: rule == 0 ? .critical : .medium, workload: "podman:\(index)",
                    message: "finding \(rule) of c\(index)", evidence: ["capabilities.effective": "CAP_SYS_ADMIN"],
                    references: [Reference(source: "cis-docker-1.6.0", id: "5.4", title: "capabilities")])
            }
        }
        report.issues = [ScanIssue(pid: 3, message: "gone"), ScanIssue(pid: 4, message: "also gone")]
            + report.workloads.indices.filter { $0 % 3 == 0 }.flatMap { index in
                [
                    ScanIssue(workload: "podman:\(index)", message: "rule a undecided", rule: "a", reason: "why"),
                    ScanIssue(workload: "podman:\(index)", message: "rule b undecided", rule: "b", reason: "why"),
                ]
            }
        return report
    }

    /// `scan --watch`'s line: CompactJSON's bytes of the whole report, then a newline.
    @Test func oneLineIsCompactJSONOfTheReport() throws {
        let report = Self.report(70)
        var expected = try CompactJSON.encode(report)
        expected.append(UInt8(ascii: "\n"))
        #expect(try ScanJSON.render(report, lines: false) == expected)
        #expect(try ScanJSON.render(report, lines: false, memory: RenderMemory()) == expected)
    }

    /// Rendered again with a memory, under churn (a changed, a gone and a new workload), the
    /// bytes are always those of a rendering without one, in both forms.
    @Test(arguments: [true, false])
    func memoryRendersWhatAFreshRenderingDoes(lines: Bool) throws {
        let memory = RenderMemory()
        var report = Self.report(130)
        #expect(try ScanJSON.render(report, lines: lines, memory: memory) == ScanJSON.render(report, lines: lines))
        #expect(memory.count == 130)
        #expect(try ScanJSON.render(report, lines: lines, memory: memory) == ScanJSON.render(report, lines: lines))
        report.workloads[5].exposure = Exposure(score: 9.1, level: "critical")
        report.workloads[6].name = "renamed"
        report.workloads.remove(at: 7)
        var new = report.workloads[0]
        new.id = "podman:new"
        report.workloads.insert(new, at: 2)
        report.scannedAt = "2026-11-22T00:00:30Z"
        let again = try ScanJSON.render(report, lines: lines, memory: memory)
        #expect(again == (try ScanJSON.render(report, lines: lines)))
        #expect(String(decoding: again, as: UTF8.self).contains("\"score\":9.1"))
        #expect(memory.count == 130)
    }

    /// Findings and issues kept by workload: under churn (a finding accepted by a baseline, one
    /// gone, a workload's findings gone, a new workload's, a host issue changed, a workload's
    /// findings split in two stretches) the bytes are always a fresh rendering's, and only
    /// what the report holds is kept.
    @Test(arguments: [true, false])
    func findingsAndIssuesRenderWhatAFreshRenderingDoes(lines: Bool) throws {
        let memory = RenderMemory()
        var report = Self.report(90)
        let total = report.findings.count + report.issues.count
        #expect(try ScanJSON.render(report, lines: lines, memory: memory) == ScanJSON.render(report, lines: lines))
        #expect(memory.findingsAndIssues == total)
        #expect(try ScanJSON.render(report, lines: lines, memory: memory) == ScanJSON.render(report, lines: lines))
        #expect(memory.findingsAndIssues == total)

        let accepted = try #require(report.findings.firstIndex { $0.workload == "podman:5" })
        report.findings[accepted].accepted = "risk accepted until 2027-01-01"
        report.findings.removeAll { $0.workload == "podman:3" || ($0.workload == "podman:6" && $0.rule == "ct-1") }
        let at = try #require(report.findings.firstIndex { $0.workload == "podman:10" })
        report.findings.insert(Finding(rule: "ct-new", severity: .high, workload: "podman:new", message: "new"), at: at)
        report.findings.append(Finding(rule: "ct-9", severity: .low, workload: "podman:2", message: "second stretch"))
        report.issues[1].message = "also gone, differently"
        report.issues.removeAll { $0.workload == "podman:9" }
        for _ in 0..<2 {
            let again = try ScanJSON.render(report, lines: lines, memory: memory)
            #expect(again == (try ScanJSON.render(report, lines: lines)))
            let text = String(decoding: again, as: UTF8.self)
            #expect(text.contains("risk accepted until 2027-01-01"))
            #expect(text.contains("also gone, differently"))
            #expect(!text.contains("finding 1 of c3\""))
        }
        // podman:2's findings, now in two stretches, are not kept: each rendering writes them.
        let runs = RenderMemory.runs(report.findings, by: \.workload)
        #expect(runs.count == Set(report.findings.map(\.workload)).count + 1)
        #expect(memory.findingsAndIssues == report.findings.count + report.issues.count - 3)
    }

    @Test func runsCutWhereTheKeyChanges() {
        #expect(RenderMemory.runs([Int](), by: { $0 }).isEmpty)
        #expect(RenderMemory.runs([1, 1, 2, 1, 3, 3], by: { $0 }) == [[1, 1], [2], [1], [3, 3]])
        #expect(RenderMemory.runs([7], by: { $0 }) == [[7]])
    }
}
