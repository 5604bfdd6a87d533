import ArgumentParser
import CloisterCheck
import CloisterCodec
import CloisterModel
import CloisterPipeline
import CloisterPlacement
import CloisterResourceFiles
import Foundation

/// `cloister advise`: where should this workload run, why, what lost, and what hardening the
/// choice still needs.
public struct AdviseCommand: CloisterSubcommand {
    public static let configuration = CommandConfiguration(
        commandName: "advise",
        abstract: "Recommend where a workload should run (container, sandbox, microVM, VM, confidential VM) and why.")

    public enum Format: String, ExpressibleByArgument, CaseIterable, Sendable {
        case table, json
    }

    @Argument(help: "A workload description (YAML, version 1).")
    public var description: String?

    @Option(name: .customLong("threat-model"), help: "Apply this threat model instead of inferring one.")
    public var threatModel: String?

    @Option(help: "The policies directory (default: $CLOISTER_POLICIES, or a 'policies' folder beside the executable or above it).")
    public var policies: String?

    @Option(help: "Output format: table or json.")
    public var format: Format = .table

    @Flag(help: "Time a container start and a VM start on this host and use those figures.")
    public var measure = false

    @Option(help: "Derive the needs from the running workload this process belongs to.")
    public var pid: Int?

    @Option(name: .customLong("from"), help: "Derive the needs from a file 'cloister check' reads (OCI config.json, Kubernetes, Compose, libvirt XML, qemu argv, Firecracker).")
    public var fromFile: String?

    @Option(name: .long, help: "With --from: the workload to advise on (its id or name), when the file declares several.")
    public var workload: String?

    public init() {}

    public func validate() throws {
        let inputs = [description != nil, pid != nil, fromFile != nil].filter { $0 }.count
        if inputs != 1 {
            throw ValidationError("give exactly one of DESCRIPTION, --pid or --from")
        }
        if workload != nil, fromFile == nil {
            throw ValidationError("--workload chooses among the workloads of a --from file; give --from FILE too")
        }
    }

    public func run() async throws {
        do {
            let directory = try Self.policiesDirectory(explicit: policies)
            let catalogue = try Catalogue.load(directory: directory)
            let workload: WorkloadDescription
            if let pid {
                workload = try Self.describeRunning(pid: pid)
            } else if let fromFile {
                workload = try Self.describeDeclared(file: fromFile, workload: self.workload)
            } else if let description {
                workload = try WorkloadDescription.load(contentsOf: URL(fileURLWithPath: description))
            } else {
                throw ExitCode(2)
            }
            var figures = MeasuredFigures()
            if measure {
                figures = StartupMeasurement.run()
                for note in figures.notes { printError("cloister advise: measure: \(note)") }
            }
            let advice = try PlacementEngine(catalogue: catalogue, measured: figures)
                .advise(workload, threatModel: threatModel)
            // Secure by default: every relaxation the description asks for is said out loud.
            for relaxation in advice.relaxations { printError("cloister advise: warning: relaxation: \(relaxation)") }
            switch format {
            case .json: print(try AdviceRenderer.json(advice))
            case .table: print(AdviceRenderer.table(advice), terminator: "")
            }
        } catch let error as PlacementInputError {
            printError("cloister advise: \(error.description)")
            throw ExitCode(2)
        } catch let error as PlacementError {
            printError("cloister advise: \(error.description)")
            throw ExitCode(2)
        }
    }

    /// "Should this be a VM?" for something already running: its observed posture says what it
    /// needs; the host says whether KVM is there.
    static func describeRunning(pid: Int) throws -> WorkloadDescription {
        let result = try ScanPipeline(ScanPipeline.Options(pid: pid)).discover()
        guard let posture = result.workloads.first else {
            throw CLIError.input("PID \(pid): the workload exited during the scan")
        }
        var workload = derive(from: posture)
        workload.platform.kvm = result.host.kvm.usable ? .available : .none
        workload.platform.hostKernel = result.host.kernel
        workload.defaulted.removeAll { $0 == "platform.kvm" }
        return workload
    }

    /// "Should this be a VM?" before deployment: the posture a configuration file declares says
    /// what the workload needs. The host is not this one, so the platform stays defaulted.
    static func describeDeclared(file: String, workload chosen: String?) throws -> WorkloadDescription {
        let result = Check.check(paths: [file])
        if !result.errors.isEmpty {
            throw CLIError.input(
                result.errors.map { SafeText.forTerminal($0.description) }.joined(separator: "\n")
                    + "\n(advise --from needs a file that `cloister check` reads without errors)")
        }
        let postures = result.workloads
        let listing = postures.map { SafeText.forTerminal($0.id) }.joined(separator: ", ")
        let posture: Posture
        if let chosen {
            let matches = postures.filter { $0.id == chosen }
            let byName = matches.isEmpty ? postures.filter { $0.name == chosen } : matches
            guard byName.count == 1, let found = byName.first else {
                throw CLIError.input(
                    byName.isEmpty
                        ? "\(file) declares no workload \"\(SafeText.forTerminal(chosen))\"; it declares: \(listing.isEmpty ? "none" : listing)"
                        : "\(file): \"\(SafeText.forTerminal(chosen))\" names \(byName.count) workloads; pass one of their ids: \(byName.map { SafeText.forTerminal($0.id) }.joined(separator: ", "))")
            }
            posture = found
        } else {
            guard let only = postures.first else {
                throw CLIError.input("\(file) declares no workload (a Service or ConfigMap runs nothing); give a file that runs one")
            }
            guard postures.count == 1 else {
                throw CLIError.input("\(file) declares \(postures.count) workloads; choose one with --workload ID: \(listing)")
            }
            posture = only
        }
        return derive(from: posture)
    }

    func printError(_ text: String) {
        FileHandle.standardError.write(Data((SafeText.forTerminal(text) + "\n").utf8))
    }

    /// `--policies`, then `$CLOISTER_POLICIES`, then the first `policies` folder holding a
    /// catalogue beside the executable or in one of its ancestors, then in the working directory.
    static func policiesDirectory(explicit: String?) throws -> URL {
        let fileManager = FileManager.default
        func usable(_ url: URL) -> Bool {
            fileManager.fileExists(atPath: url.appendingPathComponent("catalogue.yaml").path)
        }
        if let explicit {
            let url = URL(fileURLWithPath: explicit)
            guard usable(url) else {
                throw PlacementInputError(file: explicit, field: "", message: "is not a policies directory (no catalogue.yaml)")
            }
            return url
        }
        if let env = ProcessInfo.processInfo.environment["CLOISTER_POLICIES"], !env.isEmpty {
            let url = URL(fileURLWithPath: env)
            guard usable(url) else {
                throw PlacementInputError(file: env, field: "CLOISTER_POLICIES", message: "is not a policies directory (no catalogue.yaml)")
            }
            return url
        }
        var candidates: [URL] = []
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            var directory = executable.deletingLastPathComponent()
            while directory.path != "/" {
                candidates.append(directory.appendingPathComponent("policies"))
                directory = directory.deletingLastPathComponent()
            }
        }
        candidates.append(URL(fileURLWithPath: fileManager.currentDirectoryPath).appendingPathComponent("policies"))
        if let found = candidates.first(where: usable) { return found }
        throw PlacementInputError(
            file: "policies", field: "",
            message: "no policies directory found beside the executable or in the working directory; pass --policies DIR or set CLOISTER_POLICIES")
    }
}
