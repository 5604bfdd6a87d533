import CloisterInspect
import CloisterModel
import CloisterRules
import CloisterSystem
import Dispatch

/// A scan as one library call: discover the workloads on this host (or a captured tree), read
/// each one's posture from the kernel, assess the postures, and make the report. `scan`, `serve`
/// and `launch --verify` all take this path, so they never disagree about what a host shows.
/// Rendering and writing the report, and the gate's exit status, stay with the commands.
public struct ScanPipeline: Sendable {
    /// What to scan.
    public struct Options: Sendable, Equatable {
        /// Read /proc, /sys, /run and /etc under this directory (a captured tree); nil: this host.
        public var root: String?
        /// Only the workload this process belongs to; nil: every workload.
        public var pid: Int?
        /// Compare each container with its bundle's config.json (`drift`).
        public var declared: Bool
        /// Read and decode each workload's seccomp filters (`scan --no-seccomp-filters`: false).
        public var seccompFilters: Bool
        /// Why they are not read, in `unknown`, when `seccompFilters` is false.
        public var seccompFiltersSkipped: String
        /// `scan --self`: only this process (the scanner itself), seen from inside; nil: not.
        public var selfPID: Int?
        /// The process's `/proc/self/status` as it was before it dropped its capabilities, so
        /// `--self` shows what the process was given.
        public var selfStatusBeforeDrop: String?

        public init(
            root: String? = nil, pid: Int? = nil, declared: Bool = false, seccompFilters: Bool = true,
            seccompFiltersSkipped: String = "not read: scan --no-seccomp-filters"
        ) {
            self.root = root
            self.pid = pid
            self.declared = declared
            self.seccompFilters = seccompFilters
            self.seccompFiltersSkipped = seccompFiltersSkipped
        }
    }

    /// The report, and the rule pack that judged it (reports show its titles and references).
    public struct Output: Sendable {
        public var report: ScanReport
        public var pack: RulePack
    }

    public var options: Options

    public init(_ options: Options = Options()) {
        self.options = options
    }

    /// The whole scan, loading the judges named by `settings` on another core while this one
    /// reads /proc. A scan error is reported before a bad rule file, as the scan comes first.
    /// `phase` marks each step's end (CLOISTER_DEBUG_TIMINGS).
    public func run(settings: AssessmentSettings, phase: (String) -> Void = { _ in }) throws -> Output {
        let scannedAt = Clocks.rfc3339Now()
        let judges = BackgroundWork { try settings.loadJudges() }
        let result = try discover(phase: phase)
        return assessAndReport(result, judges: try judges.value(), scannedAt: scannedAt, phase: phase)
    }

    /// The whole scan with judges already loaded: `serve`'s rescans and `scan --watch`, which
    /// load them once. With `memory`, unchanged workloads' postures are reused (`ScanMemory`),
    /// and with `judged`, their exposure and findings (`AssessmentMemory`, kept with the same
    /// judges); `counts` is told how many were read and how many reused.
    public func run(
        judges: Judges, memory: ScanMemory? = nil, judged: AssessmentMemory? = nil,
        counts: (_ rebuilt: Int, _ reused: Int) -> Void = { _, _ in }, phase: (String) -> Void = { _ in }
    ) throws -> Output {
        let scannedAt = Clocks.rfc3339Now()
        let result = try discover(memory: memory, phase: phase)
        counts(result.rebuilt, result.reused)
        return assessAndReport(result, judges: judges, judged: judged, scannedAt: scannedAt, phase: phase)
    }

    /// Discovery and postures: every workload's posture read from the kernel, unjudged.
    public func discover(memory: ScanMemory? = nil, phase: (String) -> Void = { _ in }) throws -> HostScanner.Result {
        do {
            if let selfPID = options.selfPID {
                return try HostScanner(root: HostRoot(prefix: options.root ?? ""))
                    .scanSelf(pid: selfPID, statusBeforeDrop: options.selfStatusBeforeDrop)
            }
            return try HostScanner(
                root: HostRoot(prefix: options.root ?? ""), compareDeclared: options.declared,
                readSeccompFilters: options.seccompFilters, seccompFiltersSkipped: options.seccompFiltersSkipped)
                .scan(pid: options.pid, memory: memory, phase: phase)
        } catch let error as HostScanner.ScanError {
            throw PipelineInputError(error.description)
        }
    }

    /// The posture of the live workload `pid` belongs to, as a scan reads it: what `launch`
    /// compares with its plan. Throws the scanner's own error when `pid` is no workload.
    public static func observe(pid: Int) throws -> Posture {
        let result = try HostScanner(root: HostRoot()).scan(pid: pid)
        guard let observed = result.workloads.first else { throw HostScanner.ScanError.notAWorkload(pid) }
        return observed
    }

    private func assessAndReport(
        _ result: HostScanner.Result, judges: Judges, judged: AssessmentMemory? = nil, scannedAt: String,
        phase: (String) -> Void
    ) -> Output {
        phase("rules and policy loaded")
        let assessed = judges.assess(result.workloads, memory: judged)
        phase("rules evaluated")
        var output = Output(report: report(scannedAt: scannedAt, result: result, assessed: assessed), pack: judges.pack)
        // Host findings answer a whole-host scan; `scan --pid` (and launch's verification) asks
        // about one workload, whose gate must not fail on the host's runc version.
        if options.pid == nil, options.selfPID == nil, let advisories = judges.advisories {
            Self.judgeHost(&output.report, advisories: advisories, baseline: judges.baseline)
        }
        if options.pid == nil, options.selfPID == nil, let hostRules = judges.hostRules {
            Self.judgeHostConfiguration(&output.report, rules: hostRules, baseline: judges.baseline)
        }
        return output
    }

    /// Host findings: each advisory judged against the host's package inventory. The affected
    /// ones join `findings` with `workload: "host"` (so the gate, the baseline and every report
    /// format treat them as findings); the undecided ones are issues, never findings.
    public static func judgeHost(_ report: inout ScanReport, advisories: HostAdvisories, baseline: Baseline?) {
        guard let inventory = report.host.inventory else { return }
        let verdicts = advisories.judge(inventory, host: report.host)
        report.host.advisories = verdicts
        var findings = advisories.findings(verdicts)
        if let baseline { findings = baseline.apply(to: findings) }
        report.findings += findings
        for verdict in verdicts where verdict.status == .undecided {
            report.issues.append(ScanIssue(
                workload: HostAdvisories.hostWorkload,
                message: "\(verdict.advisory) (\(verdict.component)) undecided: \(verdict.reason)"))
        }
    }

    /// Host configuration findings: the daemons' settings and files, each finding the host's.
    public static func judgeHostConfiguration(_ report: inout ScanReport, rules: HostConfigurationRules, baseline: Baseline?) {
        guard let daemons = report.host.daemons else { return }
        let judged = rules.judge(daemons)
        var findings = judged.findings
        if let baseline { findings = baseline.apply(to: findings) }
        report.findings += findings
        for undecided in judged.undecided {
            report.issues.append(ScanIssue(
                workload: HostAdvisories.hostWorkload, message: "\(undecided.rule) (\(undecided.daemon)) undetermined: \(undecided.why)"))
        }
    }

    /// The report of a scan: the judged postures, the host facts with the capabilities the
    /// scanner held, and every issue (reduced coverage first).
    public func report(scannedAt: String, result: HostScanner.Result, assessed: Assessment) -> ScanReport {
        var issues = result.issues
        var host = result.host
        if options.root == nil, let held = try? Privileges.heldByAnyThread() {
            host.scannerCapabilities = held.effective.sorted().map(CapabilityNames.name)
            let missing = Privileges.scannerCapabilities.filter { !held.effective.contains($0) }
            // `--self` reads only this process: the other workloads' coverage is not in question.
            if !missing.isEmpty, options.selfPID == nil {
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
}

/// One piece of work started on a global queue at once, its result collected later.
final class BackgroundWork<Value: Sendable>: @unchecked Sendable {
    // Written once by the worker before `done` is signalled, read only after waiting on it.
    private var result: Result<Value, any Error> = .failure(PipelineInputError("the background work did not finish"))
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

/// What rescans remember (`serve`, `scan --watch`), for the commands that do not read /proc
/// themselves.
public typealias ScanMemory = CloisterInspect.ScanMemory
