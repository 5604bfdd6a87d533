import CloisterModel
import CloisterRules
import Foundation
import Testing

@Suite("Gate and baseline")
struct GateBaselineTests {
    static let findings = [
        Finding(rule: "ct-cap-added", severity: .high, workload: "podman:web-1", message: "m"),
        Finding(rule: "ct-writable-rootfs", severity: .low, workload: "podman:web-1", message: "m"),
    ]

    static func posture(score: Double?) -> Posture {
        var posture = HardenedPosture.make(kind: .container, id: "podman:web-1")
        posture.name = "web-1"
        posture.exposure = score.map { Exposure(score: $0, level: "x") }
        return posture
    }

    @Test(
        "--fail-on sets the exit code",
        arguments: [
            (Severity.info, Int32(1)), (.low, 1), (.medium, 1), (.high, 1), (.critical, 0),
        ] as [(Severity, Int32)])
    func failOn(severity: Severity, expected: Int32) {
        let gate = Gate(failOn: severity)
        #expect(gate.exitCode(findings: Self.findings, postures: []) == expected)
    }

    @Test("No gate, no failure; no findings, clean")
    func noGate() {
        #expect(Gate().exitCode(findings: Self.findings, postures: []) == 0)
        #expect(Gate(failOn: .info).exitCode(findings: [], postures: []) == 0)
    }

    @Test(
        "--max-exposure sets the exit code",
        arguments: [(5.0, 4.9, Int32(0)), (5.0, 5.0, 0), (5.0, 5.1, 1), (0.0, 0.0, 0)] as [(Double, Double, Int32)])
    func maxExposure(limit: Double, score: Double, expected: Int32) {
        let gate = Gate(maxExposure: limit)
        #expect(gate.exitCode(findings: [], postures: [Self.posture(score: score)]) == expected)
    }

    @Test("A workload without a score cannot pass --max-exposure")
    func unscored() {
        let result = Gate(maxExposure: 9).evaluate(findings: [], postures: [Self.posture(score: nil)])
        #expect(!result.passed)
    }

    @Test("--max-exposure accepts 0 to 10 only")
    func parseMaxExposure() {
        #expect(Gate.parseMaxExposure("7.5") == 7.5)
        #expect(Gate.parseMaxExposure("11") == nil)
        #expect(Gate.parseMaxExposure("nan") == nil)
        #expect(Gate.parseMaxExposure("x") == nil)
    }

    static let baselineYAML = """
        version: 1
        accepted:
          - rule: ct-cap-added
            workload: "web-*"
            reason: NET_ADMIN for the VPN sidecar
            expires: 2026-12-31
          - rule: ct-writable-rootfs
            workload: "podman:web-?"
            reason: legacy image writes to /var/cache
            expires: 2026-01-31
        """

    @Test("Accepted findings are shown as accepted and do not fail; expired ones fail again and say so")
    func baseline() throws {
        let baseline = try Baseline.parse(yaml: Self.baselineYAML, file: "baseline.yaml")
        let today = try #require(ISO8601DateFormatter().date(from: "2026-11-22T12:00:00Z"))
        let applied = baseline.apply(to: Self.findings, postures: [Self.posture(score: 1)], today: today)
        #expect(applied[0].accepted == "NET_ADMIN for the VPN sidecar (accepted until 2026-12-31)")
        #expect(applied[1].accepted == nil)
        #expect(applied[1].message.contains("baseline acceptance expired on 2026-01-31"))
        #expect(Gate(failOn: .high).exitCode(findings: applied, postures: []) == 0)
        #expect(Gate(failOn: .low).exitCode(findings: applied, postures: []) == 1)
        let later = try #require(ISO8601DateFormatter().date(from: "2027-01-01T00:00:00Z"))
        let expired = baseline.apply(to: Self.findings, postures: [], today: later)
        #expect(expired.allSatisfy { $0.accepted == nil })
        #expect(Gate(failOn: .high).exitCode(findings: expired, postures: []) == 1)
    }

    @Test("A bad baseline is rejected with file and line")
    func badBaseline() {
        let yaml = """
            version: 1
            accepted:
              - rule: ct-cap-added
                workload: "*"
                expires: 2026-13-01
              - rule: ct-cap-added
                workload: "*"
                reason: r
                expires: next week
            """
        do {
            _ = try Baseline.parse(yaml: yaml, file: "baseline.yaml")
            Issue.record("accepted a bad baseline")
        } catch let error as InputFileErrors {
            #expect(error.errors.map(\.line) == [3, 9])
            #expect(error.errors[0].description.hasPrefix("baseline.yaml:3:"))
            #expect(error.errors[0].message.contains("missing reason"))
            #expect(error.errors[1].message.contains("YYYY-MM-DD"))
        } catch {
            Issue.record("\(error)")
        }
        #expect(throws: InputFileError.self) { try Baseline.parse(yaml: "version: 2\naccepted: []\n", file: "b.yaml") }
    }
}
