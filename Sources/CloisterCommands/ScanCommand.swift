import ArgumentParser
import CloisterInspect
import CloisterModel
import CloisterReport

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Show how every container, sandbox and VM on this host is confined, read from /proc.")

    @Option(name: .long, help: "Output format: table or json.")
    var format: OutputFormat = .table

    @Flag(name: .shortAndLong, help: "Show every field of each workload in the table.")
    var verbose = false

    @Option(name: .long, help: "Scan only the workload this process belongs to.")
    var pid: Int?

    @Option(name: .long, help: "Read /proc, /sys, /run and /etc under this directory (a captured tree) instead of /.")
    var root: String?

    @Option(name: .shortAndLong, help: "Write the report to this file (atomically) instead of standard output.")
    var output: String?

    func run() throws {
        let scanner = HostScanner(root: HostRoot(prefix: root ?? ""))
        let result: HostScanner.Result
        do {
            result = try scanner.scan(pid: pid)
        } catch let error as HostScanner.ScanError {
            throw CLIError.input(error.description)
        }
        let report = ScanReport(
            scannedAt: Clock.rfc3339Now(), host: result.host, workloads: result.workloads, findings: [],
            issues: result.issues)
        let rendered: String
        switch format {
        case .json: rendered = try JSONRendering.render(report)
        case .table: rendered = TableRendering.scan(report, verbose: verbose)
        }
        try emit(rendered, to: output)
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}
