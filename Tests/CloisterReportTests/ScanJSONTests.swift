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
}
