import ArgumentParser
import CloisterCheck
import CloisterCodec
import CloisterPipeline
import CloisterReport
import CloisterRules
import CloisterSystem
import Foundation

/// `cloister check FILE… [DIR…] [--qemu -- ARGV…]`: the postures that configuration files
/// declare, before anything is deployed.
public struct CheckCommand: CloisterSubcommand {
    public static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check configuration files before deployment.",
        discussion: """
            Reads OCI runtime config.json, Kubernetes manifests (Pod, Deployment, StatefulSet, DaemonSet, \
            ReplicaSet, Job, CronJob, List; multi-document YAML), Compose files, libvirt domain XML, \
            Firecracker configurations and qemu command lines (a file holding one, or --qemu -- ARGV). \
            Directories are searched for .json, .yaml, .yml, .xml, .qemu, .args and .cmdline files. \
            Values a platform applies when a field is absent are filled in and listed under "defaulted". \
            Every declared posture is scored and judged by the same rules as `scan`; findings carry the file, \
            line and path inside the document that caused them. \
            A file that is not valid for its format is reported with its line; the others are still checked \
            and reported. \
            Kubernetes pods are also judged against the Pod Security Standards (every control of baseline and \
            restricted, at the newest version unless --pss names one), as Pod Security Admission judges them; \
            each violated control is a finding citing its level and control. Other kinds that carry a pod \
            template (spec.template, spec.jobTemplate.spec.template) are read through it; kinds that run no \
            pod are listed as skipped. \
            Exit 0 when the gate passes, 1 when --fail-on, --max-exposure or --pss fails it, 2 when an \
            input file is invalid (2 wins over 1) or on usage errors.
            """)

    @Argument(help: "Files and directories to check.")
    public var paths: [String] = []

    /// `--qemu -- ARGV…` (or `--qemu ARGV…`): everything after it is one qemu command line.
    @Option(
        name: .customLong("qemu"), parsing: .remaining,
        help: ArgumentHelp("Check a qemu command line: everything after --qemu [--].", valueName: "argv"))
    public var qemuOption: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Pod Security Standards level (and version) the gate enforces: baseline, restricted or privileged, optionally :v1.N or :latest (e.g. restricted:v1.25); none leaves the standard out. Without it both levels are reported at latest and neither fails the gate.",
            valueName: "level[:version]|none"))
    var pss: String?

    @Option(
        name: .customLong("libvirt-qemu-conf"),
        help: ArgumentHelp(
            "libvirt's qemu.conf, for what domains leave to it (graphics passwords, SASL and TLS, security_driver, user, seccomp_sandbox). Default: /etc/libvirt/qemu.conf when present; without one those fields are unknown.",
            valueName: "file"))
    public var libvirtQemuConf: String?

    @Option(
        name: .customLong("seccomp-root"),
        help: ArgumentHelp(
            "The kubelet's seccomp directory, where a pod's Localhost seccomp profiles are read (never followed out of it). Default: /var/lib/kubelet/seccomp.",
            valueName: "dir"))
    public var seccompRoot: String = "/var/lib/kubelet/seccomp"

    /// The same report, rule, policy, baseline and gate flags as `scan`.
    @OptionGroup var assessment: AssessmentOptions

    @Flag(name: .shortAndLong, help: "Show every field of each workload in the table.")
    var verbose = false

    /// The qemu argv, without the `--` that separates it.
    var qemuArguments: [String] { qemuOption.first == "--" ? Array(qemuOption.dropFirst()) : qemuOption }

    public init() {}

    public func validate() throws {
        if !qemuOption.isEmpty, qemuArguments.isEmpty {
            throw ValidationError("--qemu needs a command line after `--`, for example: cloister check --qemu -- qemu-system-x86_64 -enable-kvm …")
        }
        if paths.isEmpty, qemuOption.isEmpty {
            throw ValidationError("give at least one file or directory, or --qemu -- ARGV")
        }
        _ = try podSecurity
    }

    /// `--pss` as a setting: absent, both levels reported at latest with no gate.
    var podSecurity: PodSecuritySetting {
        get throws {
            guard let pss else { return .reportOnly }
            guard let setting = PodSecuritySetting(flag: pss) else {
                throw ValidationError("--pss takes none, or baseline, restricted or privileged with an optional :VERSION (v1.0 to v1.N, or latest), not \(pss)")
            }
            return setting
        }
    }

    public func run() async throws {
        // Bad rule, policy or baseline files stop here (exit 2): there is nothing to judge with.
        var settings = assessment.settings
        settings.podSecurity = try podSecurity
        let checked = try CheckPipeline(
            paths: paths, qemuArguments: qemuArguments, libvirtQemuConf: libvirtQemuConf, seccompRoot: seccompRoot
        ).run(settings: settings)
        let result = checked.result
        if assessment.format == .json {
            if assessment.output == nil {
                // Streamed: the document for thousands of workloads is never held whole.
                try CheckReportJSON.render(result, findings: checked.findings, issues: checked.undetermined) {
                    FileHandle.standardOutput.write($0)
                }
            } else {
                try assessment.write(
                    Array(try CheckReportJSON.render(result, findings: checked.findings, issues: checked.undetermined)))
            }
        } else {
            try assessment.write(
                try Report.render(
                    format: assessment.format, report: checked.report, rules: checked.pack, verbose: verbose,
                    heading: checked.heading, terminal: assessment.terminalStyle))
        }
        for error in result.errors {
            writeStandardError("cloister check: error: \(SafeTextLine.clean(error.description))\n")
        }
        // Every file has been reported; now the exit status. An invalid input (2) wins over a
        // failed gate (1): the gate judged an incomplete set of workloads, so passing it would
        // prove nothing and failing it is not the whole story. Gate reasons are still printed.
        let gatePassed = assessment.gatePasses(
            findings: checked.findings, postures: result.workloads, podSecurity: settings.podSecurity)
        if !result.errors.isEmpty { throw ExitCode(2) }
        if !gatePassed { throw ExitCode(1) }
    }
}

enum SafeTextLine {
    static func clean(_ text: String) -> String { SafeText.forTerminal(text) }
}
