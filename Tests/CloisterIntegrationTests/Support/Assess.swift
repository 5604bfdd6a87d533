import CloisterModel
import Foundation
import Testing

/// Runs `cloister scan` through the real CLI with the repository's rule pack, keeping the exit
/// status, so tests can hold both the findings and the gate to what a user would see.
enum Assess {
    static var rulesDirectory: URL { Paths.repositoryRoot.appendingPathComponent("rules") }
    static var exposurePolicy: URL { Paths.repositoryRoot.appendingPathComponent("policies/exposure.yaml") }

    /// `cloister ARGUMENTS…`, whatever its exit status.
    static func cloister(_ arguments: [String], timeout: Int = 120) throws -> CommandResult {
        try Shell.run([try Paths.cloisterExecutable().path] + arguments, timeout: timeout, check: false)
    }

    /// `cloister scan --pid PID --rules rules/ --policy policies/exposure.yaml EXTRA…`.
    static func scan(pid: Int32, format: String = "json", _ extra: [String] = []) throws -> CommandResult {
        try cloister(
            ["scan", "--format", format, "--pid", String(pid),
             "--rules", rulesDirectory.path, "--policy", exposurePolicy.path] + extra)
    }

    /// A JSON scan of the one workload `pid` belongs to, with the gate's exit status. The
    /// report is printed before the gate is applied, so it is there for exit 1 too.
    static func workload(pid: Int32, _ extra: [String] = []) throws -> Assessed {
        let result = try scan(pid: pid, extra)
        guard result.status == 0 || result.status == 1 else { throw CommandFailed(result: result) }
        let report: ScanReport
        do {
            report = try JSONDecoder().decode(ScanReport.self, from: Data(result.stdout.utf8))
        } catch {
            throw HarnessError("scan --pid \(pid) printed no ScanReport (\(error)): \(result.stdout.prefix(2000))")
        }
        guard report.workloads.count == 1, let posture = report.workloads.first else {
            throw HarnessError("scan --pid \(pid) reported \(report.workloads.count) workloads, expected 1")
        }
        return Assessed(result: result, report: report, posture: posture)
    }
}

/// One workload's scan: the command's result, the decoded report and the workload's posture.
struct Assessed {
    var result: CommandResult
    var report: ScanReport
    var posture: Posture

    /// The findings about this workload.
    var findings: [Finding] { report.findings.filter { $0.workload == posture.id } }
    var rules: Set<String> { Set(findings.map(\.rule)) }

    /// Every rule in `fire` raised a finding and none in `silent` did; the message lists what
    /// was raised, so a failure shows the whole picture.
    func expect(fires fire: Set<String>, silent: Set<String> = [], sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let raised = rules.sorted().joined(separator: ", ")
        for rule in fire.sorted() {
            #expect(rules.contains(rule), "\(rule) must fire on \(posture.name); raised: \(raised)",
                    sourceLocation: sourceLocation)
        }
        for rule in silent.sorted() {
            #expect(!rules.contains(rule), "\(rule) must not fire on \(posture.name); raised: \(raised)",
                    sourceLocation: sourceLocation)
        }
    }

    /// A short description of the findings, for failure messages.
    var summary: String {
        findings.map { "\($0.rule) (\($0.severity.rawValue)\($0.accepted == nil ? "" : ", accepted"))" }
            .sorted().joined(separator: ", ")
    }
}
