import ArgumentParser
import CloisterCheck
import CloisterModel
import Foundation

/// `cloister check FILE… [DIR…] [--qemu -- ARGV…]`: the postures that configuration files
/// declare, before anything is deployed.
public struct CheckCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check configuration files before deployment.",
        discussion: """
            Reads OCI runtime config.json, Kubernetes manifests (Pod, Deployment, StatefulSet, DaemonSet, \
            ReplicaSet, Job, CronJob, List; multi-document YAML), Compose files, libvirt domain XML, \
            Firecracker configurations and qemu command lines (a file holding one, or --qemu -- ARGV). \
            Directories are searched for .json, .yaml, .yml, .xml, .qemu, .args and .cmdline files. \
            Values a platform applies when a field is absent are filled in and listed under "defaulted". \
            A file that is not valid for its format is reported with its line; the others are still checked, \
            and the exit status is 2.
            """)

    @Argument(help: "Files and directories to check.")
    public var paths: [String] = []

    /// `--qemu -- ARGV…` (or `--qemu ARGV…`): everything after it is one qemu command line.
    @Option(
        name: .customLong("qemu"), parsing: .remaining,
        help: ArgumentHelp("Check a qemu command line: everything after --qemu [--].", valueName: "argv"))
    public var qemuOption: [String] = []

    @Option(help: "Output format: json or text.")
    public var format: OutputFormat = .json

    /// The qemu argv, without the `--` that separates it.
    var qemuArguments: [String] { qemuOption.first == "--" ? Array(qemuOption.dropFirst()) : qemuOption }

    public enum OutputFormat: String, ExpressibleByArgument, Sendable {
        case json, text
    }

    public init() {}

    public func validate() throws {
        if !qemuOption.isEmpty, qemuArguments.isEmpty {
            throw ValidationError("--qemu needs a command line after `--`, for example: cloister check --qemu -- qemu-system-x86_64 -enable-kvm …")
        }
        if paths.isEmpty, qemuOption.isEmpty {
            throw ValidationError("give at least one file or directory, or --qemu -- ARGV")
        }
    }

    public func run() throws {
        var result = Check.check(paths: paths)
        if !qemuArguments.isEmpty {
            result.workloads.append(Check.check(qemu: qemuArguments))
            result.documents += 1
        }

        // FINDINGS: when the rules engine (branch `rules`) merges, evaluate the rules on
        // `result.workloads` here, add `findings` to the report and exit 1 on --fail-on.

        switch format {
        case .json:
            try CheckReportJSON.render(result) { FileHandle.standardOutput.write($0) }
        case .text:
            var lines: [String] = []
            for workload in result.workloads {
                let place = workload.location.map { "\($0.file)\($0.line.map { ":\($0)" } ?? "")" } ?? ""
                lines.append("\(SafeTextLine.clean(workload.id))  \(workload.kind.rawValue)  \(SafeTextLine.clean(place))  defaulted: \(workload.defaulted.count)")
            }
            for file in result.skipped { lines.append("skipped (not a format check reads): \(SafeTextLine.clean(file))") }
            lines.append("\(result.files) files, \(result.documents) documents, \(result.workloads.count) workloads, \(result.errors.count) errors")
            print(lines.joined(separator: "\n"))
        }
        for error in result.errors {
            FileHandle.standardError.write(Data("error: \(SafeTextLine.clean(error.description))\n".utf8))
        }
        if !result.errors.isEmpty { throw ExitCode(2) }
    }
}

enum SafeTextLine {
    static func clean(_ text: String) -> String { SafeText.forTerminal(text) }
}
