import CloisterSystem
import CloisterCheck
import CloisterInspect
import CloisterModel
import CloisterRules
import Foundation

/// A check as one library call: read configuration files (and a qemu command line), map each
/// to the posture it declares, and assess the postures with the same judges as a scan.
/// Rendering, writing and the exit status (an invalid file wins over a failed gate) stay with
/// the command.
public struct CheckPipeline: Sendable {
    /// Files and directories to read; directories are searched for the formats check reads.
    public var paths: [String]
    /// One qemu command line to check beside the files; empty: none.
    public var qemuArguments: [String]
    /// libvirt's qemu.conf to settle domains' host-wide settings from; nil: the host's, if any.
    public var libvirtQemuConf: String?
    /// The kubelet's seccomp directory, where a pod's Localhost profiles are read.
    public var seccompRoot: String

    public init(
        paths: [String], qemuArguments: [String] = [], libvirtQemuConf: String? = nil,
        seccompRoot: String = KubernetesSeccomp.defaultRoot
    ) {
        self.paths = paths
        self.qemuArguments = qemuArguments
        self.libvirtQemuConf = libvirtQemuConf
        self.seccompRoot = seccompRoot
    }

    /// What a check found.
    public struct Output: Sendable {
        /// When the check began (RFC 3339).
        public var checkedAt: String
        /// Files and documents read, invalid and skipped files, and the declared postures with
        /// their exposure scored.
        public var result: CheckResult
        public var findings: [Finding]
        /// Rules left undecided by unknown fields.
        public var undetermined: [ScanIssue]
        /// The rule pack that judged the postures (reports show its titles and references).
        public var pack: RulePack

        /// The scan report's shape, for every format but `cloister.check/v1`: invalid and
        /// skipped files become issues, so a SARIF or JUnit reader sees them too.
        public var report: ScanReport {
            let issues =
                result.errors.map { ScanIssue(message: "invalid input: \($0.description)") }
                + result.skippedMessages.map { ScanIssue(message: $0) } + undetermined
            return ScanReport(
                scannedAt: checkedAt, host: HostFacts(), workloads: result.workloads, findings: findings, issues: issues)
        }

        /// The table's first line.
        public var heading: String {
            "checked \(result.files) files, \(result.documents) documents: \(result.workloads.count) workloads, \(findings.count) findings, \(result.errors.count) invalid files"
        }
    }

    /// Reads and maps every input, then loads the judges `settings` names and assesses. Bad
    /// rule, policy or baseline files throw `PipelineInputError`: there is nothing to judge with.
    /// An invalid input file does not throw; it is in `result.errors`.
    public func run(settings: AssessmentSettings) throws -> Output {
        let checkedAt = Clocks.rfc3339Now()
        var result = Check.check(paths: paths, libvirtQemuConf: libvirtQemuConf)
        if !qemuArguments.isEmpty {
            result.workloads.append(Check.check(qemu: qemuArguments))
            result.documents += 1
        }
        // A declared seccomp profile, compiled with libseccomp and decoded as a live filter is.
        DeclaredSeccomp.decodeDeclared(&result.workloads, seccompRoot: seccompRoot)
        let judges = try settings.loadJudges(podSpecs: !result.pods.isEmpty)
        let assessed = judges.assess(result.workloads)
        result.workloads = assessed.postures
        var findings = assessed.findings
        if let standards = judges.podSecurity {
            let subjects = result.pods.map {
                PodSecuritySubject(input: PodSecurityInput(spec: $0.spec, metadata: $0.metadata), file: $0.file, containers: $0.containers)
            }
            let judged = standards.judge(subjects, version: settings.podSecurity.version)
            for index in result.workloads.indices {
                if let verdict = judged.verdicts[result.workloads[index].id] {
                    result.workloads[index].kubernetes?.podSecurity = verdict
                }
            }
            findings += judges.baseline.map { $0.apply(to: judged.findings, postures: result.workloads, today: Date()) } ?? judged.findings
        }
        // The pod specs' trees are not needed past here: let the report be rendered without them.
        result.pods = []
        return Output(
            checkedAt: checkedAt, result: result, findings: findings,
            // Thousands of pods leave tens of thousands of rules undecided: their messages on every core.
            undetermined: Parallel.map(assessed.undetermined) { $0.asIssue }, pack: judges.pack)
    }
}
