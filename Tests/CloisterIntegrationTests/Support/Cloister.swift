import CloisterModel
import Foundation

/// Runs the real `cloister` executable and decodes what it prints into the public model: the
/// JSON contract is what these tests hold the scanner to.
enum Cloister {
    /// `cloister scan --format json [--pid N]`, decoded.
    static func scan(pid: Int32? = nil, timeout: Int = 120) throws -> ScanReport {
        var arguments = [try Paths.cloisterExecutable().path, "scan", "--format", "json"]
        if let pid { arguments += ["--pid", String(pid)] }
        let result = try Shell.run(arguments, timeout: timeout, check: false)
        guard result.succeeded else { throw CommandFailed(result: result) }
        do {
            return try JSONDecoder().decode(ScanReport.self, from: Data(result.stdout.utf8))
        } catch {
            throw HarnessError(
                "`\(arguments.joined(separator: " "))` printed no ScanReport (\(error)); it printed: "
                    + String(result.stdout.prefix(2000)))
        }
    }

    /// The posture of the one workload that `pid` belongs to: `--pid` scans only that workload.
    static func scanWorkload(containing pid: Int32) throws -> Posture {
        let report = try scan(pid: pid)
        guard report.schema == ScanReport.schemaID else {
            throw HarnessError("scan schema is \(report.schema), expected \(ScanReport.schemaID)")
        }
        guard report.workloads.count == 1, let posture = report.workloads.first else {
            throw HarnessError(
                "`cloister scan --pid \(pid)` reported \(report.workloads.count) workloads, expected exactly 1: "
                    + report.workloads.map { "\($0.runtime):\($0.name)" }.joined(separator: ", "))
        }
        return posture
    }
}
