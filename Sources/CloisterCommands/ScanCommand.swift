import ArgumentParser
import CloisterInspect
import CloisterModel
import CloisterReport
import CloisterRules
import CloisterSystem
import Dispatch

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Show how every container, sandbox and VM on this host is confined, read from /proc.",
        discussion: """
            Each workload's posture is read from the kernel, scored for exposure, and judged by the \
            rules. Exit 0 when the gate passes, 1 when --fail-on or --max-exposure fails it, 2 on \
            usage or input errors.
            """)

    @OptionGroup var assessment: AssessmentOptions

    @Flag(name: .shortAndLong, help: "Show every field of each workload in the table.")
    var verbose = false

    @Option(name: .long, help: "Scan only the workload this process belongs to.")
    var pid: Int?

    @Option(name: .long, help: "Read /proc, /sys, /run and /etc under this directory (a captured tree) instead of /.")
    var root: String?

    func run() throws {
        var timings = PhaseTimings()
        let scannedAt = Clocks.rfc3339Now()
        // The rules load on another core while this one reads /proc; a bad rule file is still
        // reported after a scan error, as before.
        let (rules, policy, baseline) = (assessment.rules, assessment.policy, assessment.baseline)
        let judges = BackgroundWork { try AssessmentOptions.loadJudges(rules: rules, policy: policy, baseline: baseline) }
        let result = try Self.scanHost(root: root, pid: pid) { timings.mark($0) }
        let (assessed, pack) = try assessment.assess(result.workloads, judges: try judges.value()) { timings.mark($0) }
        let report = Self.report(scannedAt: scannedAt, result: result, assessed: assessed, root: root)
        try assessment.finish(report, pack: pack, verbose: verbose) { timings.mark($0) }
    }

    /// One scan of this host (or of a captured tree under `root`) as a report: the path both
    /// `scan` and `serve` take, so the two never disagree.
    static func liveReport(
        root: String?, pid: Int?, assess: ([Posture]) throws -> (assessment: Assessment, pack: RulePack)
    ) throws -> (ScanReport, RulePack) {
        let scannedAt = Clocks.rfc3339Now()
        let result = try scanHost(root: root, pid: pid)
        let (assessed, pack) = try assess(result.workloads)
        return (report(scannedAt: scannedAt, result: result, assessed: assessed, root: root), pack)
    }

    /// Reads every workload's posture from the kernel; `phase` marks each step's end
    /// (CLOISTER_DEBUG_TIMINGS).
    static func scanHost(root: String?, pid: Int?, phase: (String) -> Void = { _ in }) throws -> HostScanner.Result {
        do {
            return try HostScanner(root: HostRoot(prefix: root ?? "")).scan(pid: pid, phase: phase)
        } catch let error as HostScanner.ScanError {
            throw CLIError.input(error.description)
        }
    }

    /// The report of a scan: the judged postures, the host facts with the capabilities the
    /// scanner held, and every issue (reduced coverage first).
    static func report(scannedAt: String, result: HostScanner.Result, assessed: Assessment, root: String?) -> ScanReport {
        var issues = result.issues
        var host = result.host
        if root == nil, let held = try? Privileges.heldByAnyThread() {
            host.scannerCapabilities = held.effective.sorted().map(CapabilityNames.name)
            let missing = Privileges.scannerCapabilities.filter { !held.effective.contains($0) }
            if !missing.isEmpty {
                issues.insert(
                    ScanIssue(
                        message: "cloister ran without \(missing.map(CapabilityNames.name).joined(separator: " and ")): "
                            + "other users' processes (containers run by root among them) may be missing, and what "
                            + "could not be read of the workloads shown is listed as unknown; run as root for full coverage"),
                    at: 0)
            }
        }
        for undetermined in assessed.undetermined { issues.append(undetermined.asIssue) }
        return ScanReport(
            scannedAt: scannedAt, host: host, workloads: assessed.postures, findings: assessed.findings,
            issues: issues)
    }

    /// Keeps CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH for a live scan, nothing for a captured
    /// tree, and sets no_new_privs (see `Privileges` for why those two). With `--output`,
    /// CAP_DAC_OVERRIDE stays dormant, raised only for the write. A failure to drop is
    /// a warning, and the report's `host.scannerCapabilities` shows what was held.
    func dropPrivileges() {
        do {
            try Privileges.reduce(
                keeping: root == nil ? Privileges.scannerCapabilities : [],
                dormant: assessment.output == nil ? [] : [Privileges.outputCapability])
        } catch {
            writeStandardError("cloister: warning: cannot drop capabilities (\(error)); scanning with those the process holds\n")
        }
    }
}

/// One piece of work started on a global queue at once, its result collected later.
final class BackgroundWork<Value: Sendable>: @unchecked Sendable {
    // Written once by the worker before `done` is signalled, read only after waiting on it.
    private var result: Result<Value, any Error> = .failure(CLIError.input("the background work did not finish"))
    private let done = DispatchSemaphore(value: 0)

    init(_ work: @escaping @Sendable () throws -> Value) {
        DispatchQueue.global().async {
            self.result = Result { try work() }
            self.done.signal()
        }
    }

    /// Waits for the work, then returns its value or throws its error.
    func value() throws -> Value {
        done.wait()
        return try result.get()
    }
}
