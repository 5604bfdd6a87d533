import ArgumentParser
import CloisterCodec
import CloisterModel
import CloisterPipeline
import CloisterReport
import CloisterResourceFiles
import CloisterRules
import CloisterSystem
import Foundation

/// The flags `scan` and `check` share: which rules and weights judge the postures, which
/// findings are accepted, how the report is written and what fails the gate.
struct AssessmentOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: table, json, sarif, junit, markdown, html or oscal (NIST OSCAL 1.1.3 assessment results).")
    var format: ReportFormat = .table

    @Option(name: .shortAndLong, help: "Write the report to this file (atomically) instead of standard output.")
    var output: String?

    @Option(name: .long, help: "Group the table's findings by workload (default) or by rule (each rule once, then the workloads it hits).")
    var groupBy: FindingGrouping = .workload

    @Option(name: .long, help: "Rules directory (default: $CLOISTER_RULES, or the rules/ shipped beside cloister).")
    var rules: String?

    @Option(name: .long, help: "Exposure weights (default: $CLOISTER_POLICY, or policies/exposure.yaml).")
    var policy: String?

    @Option(name: .long, help: "Baseline of accepted findings (rule, workload, reason, expires).")
    var baseline: String?

    @Option(name: .long, help: "Exit 1 when a finding at or above this severity is not accepted: info, low, medium, high, critical.")
    var failOn: Severity?

    @Option(name: .long, help: "Exit 1 when a workload's exposure score is above this (0.0 to 10.0).")
    var maxExposure: Double?

    func validate() throws {
        if let maxExposure, !(0...10).contains(maxExposure) {
            throw ValidationError("--max-exposure takes a score from 0.0 to 10.0, not \(maxExposure)")
        }
    }

    /// What the pipeline judges with and what fails the gate, as these flags name them.
    var settings: AssessmentSettings {
        AssessmentSettings(rules: rules, policy: policy, baseline: baseline, failOn: failOn, maxExposure: maxExposure)
    }

    /// Writes the report, then applies the gate: 0 clean, 1 failed.
    func finish(_ report: ScanReport, pack: RulePack, verbose: Bool, phase: (String) -> Void = { _ in }) throws {
        if format == .json, output == nil {
            // Streamed: encoded and written a piece at a time, never the whole report at once.
            do {
                try ScanJSON.write(report) { try Files.write($0, to: STDOUT_FILENO, name: "standard output") }
            } catch let error as SystemError {
                throw CLIError.input("cannot write the report: \(error)")
            }
            phase("report rendered and written")
        } else {
            let rendered = try Report.render(format: format, report: report, rules: pack, verbose: verbose, terminal: terminalStyle)
            phase("report rendered")
            try write(rendered)
            phase("report written")
        }
        if !gatePasses(report) { throw ExitCode(1) }
    }

    /// The table's width, colour and grouping: a file written with `--output` is plain (100
    /// columns, no colour); standard output is measured (see `TerminalStyle.forOutput`).
    var terminalStyle: TerminalStyle {
        let isTerminal = output == nil && Terminal.isTerminal(STDOUT_FILENO)
        return TerminalStyle.forOutput(
            isTerminal: isTerminal, terminalColumns: isTerminal ? Terminal.columns(STDOUT_FILENO) : nil,
            environment: ProcessInfo.processInfo.environment, grouping: groupBy)
    }

    /// Writes rendered bytes to `--output` (atomically) or standard output.
    func write(_ bytes: [UInt8]) throws {
        if let output {
            do {
                // A scan keeps CAP_DAC_OVERRIDE dormant for this write only (see ScanCommand).
                try Privileges.withEffective(Privileges.outputCapability) { try OutputFile.write(bytes, to: output) }
            } catch {
                throw CLIError.input("\(error.localizedDescription)")
            }
        } else {
            // Straight from the rendered bytes: wrapping them in Data first copied the whole
            // report (2.5 MB at 200 containers) at the scan's peak of memory.
            do {
                try Files.write(bytes, to: STDOUT_FILENO, name: "standard output")
            } catch {
                throw CLIError.input("cannot write the report: \(error)")
            }
        }
    }

    /// Applies `--fail-on` and `--max-exposure` (and `check`'s `--pss`), saying on standard
    /// error why the gate failed.
    func gatePasses(_ report: ScanReport, podSecurity: PodSecuritySetting? = nil) -> Bool {
        gatePasses(findings: report.findings, postures: report.workloads, podSecurity: podSecurity)
    }

    /// The gate reads only findings and postures: `check` passes them without assembling a
    /// report (whose issues list copies every undecided rule).
    func gatePasses(findings: [Finding], postures: [Posture], podSecurity: PodSecuritySetting? = nil) -> Bool {
        var gate = settings.gate
        gate.podSecurity = podSecurity
        let result = gate.evaluate(findings: findings, postures: postures)
        for reason in result.reasons where !result.passed {
            writeStandardError("cloister: gate: \(SafeText.forTerminal(reason))\n")
        }
        return result.passed
    }
}

extension ReportFormat: ExpressibleByArgument {}
extension Severity: ExpressibleByArgument {}
extension FindingGrouping: ExpressibleByArgument {}
