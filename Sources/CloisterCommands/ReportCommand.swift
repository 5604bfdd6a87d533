import ArgumentParser
import CloisterCodec
import CloisterModel
import CloisterPipeline
import CloisterReport
import CloisterRules
import CloisterSystem
import Foundation

/// `cloister report FILE…`: saved `scan`/`check` JSON rendered again, in any format, and many
/// nodes' reports merged into one with the node as a dimension.
struct ReportCommand: CloisterSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render saved scan or check reports (JSON) in any format, and merge many nodes' reports into one.",
        discussion: """
            Reads cloister.scan/v1 and cloister.check/v1 documents (scan --format json, check --format json, \
            serve's /scan). One file is rendered as scan or check would have rendered it. Several are merged \
            with the node as a dimension: each node is named by its report's host.hostname, or by NAME=FILE \
            (a check report has no host: its file name is used). In the merged report workload ids are \
            NODE/ID; SARIF has one run a node, OSCAL one result with every node's inventory, HTML and \
            Markdown a node column (and a node filter in HTML), JSON is cloister.fleet/v1 ({schema, tool, \
            nodes: [{node, file, schema, report}]}, each report a cloister.scan/v1 object). \
            A file of another schema, of a newer version, or not whole JSON is named and nothing is written \
            (exit 2). Exit 0 otherwise: the report is rendered, not judged again.
            """)

    @Argument(help: ArgumentHelp("Saved reports, each FILE or NAME=FILE (NAME: the node).", valueName: "file"))
    var files: [String] = []

    @Option(name: .long, help: "Output format: table, json, sarif, junit, markdown, html or oscal.")
    var format: ReportFormat = .table

    @Option(name: .shortAndLong, help: "Write the report to this file (atomically) instead of standard output.")
    var output: String?

    @Option(name: .long, help: ArgumentHelp("Rule files for titles and remediation (default: $CLOISTER_RULES, or the rules/ shipped beside cloister; without any, reports are built from the findings alone).", valueName: "DIR"))
    var rules: String?

    @Option(name: .long, help: "Group the table's findings by workload (default) or by rule.")
    var groupBy: FindingGrouping = .workload

    @Flag(name: .shortAndLong, help: "Show every field of each workload, every workload under a rule, and each finding's evidence in the table.")
    var verbose = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one saved report: cloister report FILE… (or NAME=FILE…)") }
    }

    func run() async throws {
        // Every input is read and checked before anything is rendered: one bad file writes nothing.
        var saved: [SavedReport] = []
        var errors: [String] = []
        for argument in files {
            let (node, path) = Self.split(argument)
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: path))
                saved.append(try SavedReport.decode(data, file: path, node: node))
            } catch let error as SavedReportError {
                errors.append(error.description)
            } catch {
                errors.append("\(path): cannot be read: \((error as NSError).localizedDescription)")
            }
        }
        if !errors.isEmpty {
            for error in errors { writeStandardError("cloister report: error: \(SafeText.forTerminal(error))\n") }
            throw ExitCode(2)
        }
        let pack = try loadRules()
        let style = TerminalStyle.forOutput(
            isTerminal: output == nil && Terminal.isTerminal(STDOUT_FILENO),
            terminalColumns: output == nil ? Terminal.columns(STDOUT_FILENO) : nil,
            environment: ProcessInfo.processInfo.environment, grouping: groupBy)
        let bytes: [UInt8]
        if saved.count == 1, let only = saved.first {
            let heading = only.schema == ScanReport.schemaID ? nil : "checked (from \(only.file)): \(only.report.workloads.count) workloads, \(only.report.findings.count) findings"
            bytes = try Report.render(format: format, report: only.report, rules: pack, verbose: verbose, heading: heading, terminal: style)
        } else {
            let fleet: FleetReport
            do { fleet = try FleetReport(saved) } catch let error as SavedReportError {
                writeStandardError("cloister report: error: \(SafeText.forTerminal(error.description))\n")
                throw ExitCode(2)
            }
            bytes = try fleet.render(format: format, rules: pack, verbose: verbose, terminal: style)
        }
        do {
            if let output {
                try OutputFile.write(bytes, to: output)
            } else {
                try Files.write(bytes, to: STDOUT_FILENO, name: "standard output")
            }
        } catch {
            throw CLIError.input("\(error.localizedDescription)")
        }
    }

    /// `NAME=FILE` when what comes before the first `=` is a name (no slash); otherwise a path
    /// (which may hold `=` itself).
    static func split(_ argument: String) -> (node: String?, path: String) {
        guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else { return (nil, argument) }
        let name = String(argument[..<equals])
        guard !name.contains("/") else { return (nil, argument) }
        return (name, String(argument[argument.index(after: equals)...]))
    }

    /// The rule pack for titles and remediation: `--rules` must load; the default one is used
    /// when it is found, and its absence leaves reports built from the findings alone.
    func loadRules() throws -> RulePack? {
        guard let directory = CloisterResources.rulesDirectory(explicit: rules) else { return nil }
        do {
            return try RulePack.load(directory: directory, includeCases: false)
        } catch {
            InputErrors.print(error)
            throw ExitCode(Gate.usageOrInputError)
        }
    }
}
