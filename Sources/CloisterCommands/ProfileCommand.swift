import ArgumentParser
import CloisterModel
import CloisterOCI
import CloisterPlacement
import CloisterProfiles
import CloisterResourceFiles
import CloisterSeccomp
import Foundation

/// `cloister profile`: the profiles a workload's hardening needs, from its description, a
/// running process, a configuration file or learned records.
public struct ProfileCommand: CloisterSubcommand {
    public static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Generate hardening profiles (seccomp, capabilities, AppArmor, SELinux CIL, OCI config.json, Kubernetes, qemu, libvirt, Landlock) for a workload.",
        discussion: """
            Inputs: a workload description, --pid, --from FILE, and/or --learned RECORD (from \
            'cloister learn'; several merge). With only learned records the seccomp allowlist is \
            exactly what was recorded (the tightest); with a description too, groups and recording unite.
            """)

    public enum Kind: String, ExpressibleByArgument, CaseIterable, Sendable {
        case seccomp
        case seccompBPF = "seccomp-bpf"
        case capabilities
        case apparmor
        case selinux
        case ociConfig = "oci-config"
        case kubernetes
        case qemu
        case libvirt
        case landlock
    }

    @Argument(help: "A workload description (YAML, version 1).")
    public var description: String?

    @Option(help: "Derive the needs from the running workload this process belongs to.")
    public var pid: Int?

    @Option(name: .customLong("from"), help: "Derive the needs from a file 'cloister check' reads.")
    public var fromFile: String?

    @Option(name: .long, help: "With --from: the workload (id or name) when the file declares several.")
    public var workload: String?

    @Option(name: .customLong("learned"), help: "A record written by 'cloister learn' (repeatable; records merge).")
    public var learned: [String] = []

    @Option(help: "What to emit: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
    public var emit: Kind = .seccomp

    @Option(name: [.short, .long], help: "Write here, atomically (required for seccomp-bpf).")
    public var output: String?

    @Option(name: .customLong("allow-group"), help: "Allow a denied syscall group (io-uring, bpf, userfaultfd, keyring, perf, namespaces, mount, tracing). Repeatable; each is a warned relaxation.")
    public var allowGroups: [String] = []

    @Flag(name: .customLong("secondary-architectures"), help: "Allow i386 and x32 syscalls (blocked by default).")
    public var secondaryArchitectures = false

    @Flag(name: .customLong("no-runtime-init"), help: "Leave out the calls an OCI runtime's init makes after loading the filter (for 'cloister seccomp-exec', which loads it just before exec).")
    public var noRuntimeInit = false

    @Option(name: .customLong("runtime"), help: "The OCI runtime or engine the seccomp profile must start under: runc, crun, docker, podman, containerd, or RUNTIME:VERSION (repeatable; default: the runtimes installed here, every version cloister knows).")
    public var runtimes: [String] = []

    @Option(help: "The policies directory (default: $CLOISTER_POLICIES, or a 'policies' folder beside the executable or above it).")
    public var policies: String?

    @Option(help: "Kubernetes: the container image.")
    public var image: String?

    public enum KubernetesKind: String, ExpressibleByArgument, CaseIterable, Sendable {
        case deployment, pod
    }

    @Option(name: .customLong("kind"), help: "Kubernetes: deployment or pod.")
    public var kubernetesKind: KubernetesKind = .deployment

    @Option(name: .customLong("localhost-profile"), help: "Kubernetes: the seccomp profile's path under the kubelet's seccomp directory (default cloister/NAME.json).")
    public var localhostProfile: String?

    @Option(name: .customLong("guest-user"), help: "qemu: the unprivileged user the hypervisor runs as.")
    public var guestUser = "nobody"

    @Option(name: .customLong("guest-group"), help: "qemu: the group the hypervisor runs as.")
    public var guestGroup = "nogroup"

    @Option(name: .customLong("socket-dir"), help: "qemu, libvirt, landlock: where console and monitor sockets live.")
    public var socketDirectory = "/run/cloister"

    @Argument(parsing: .postTerminator, help: "oci-config and kubernetes: the workload's command, after --.")
    public var command: [String] = []

    public init() {}

    public func validate() throws {
        let inputs = [description != nil, pid != nil, fromFile != nil].filter { $0 }.count
        if inputs > 1 { throw ValidationError("give at most one of DESCRIPTION, --pid or --from") }
        if inputs == 0 && learned.isEmpty {
            throw ValidationError("give a description, --pid, --from or --learned RECORD")
        }
        // A path is written into qemu arguments, libvirt XML and a Landlock ruleset; a control
        // character cannot be written into XML 1.0 as itself, and escaping it would name
        // another path, so it is refused.
        if socketDirectory.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            throw ValidationError("--socket-dir holds a control character: give a plain path")
        }
        if emit == .seccompBPF && output == nil {
            throw ValidationError("--emit seccomp-bpf writes binary: give --output FILE")
        }
        if [.capabilities, .apparmor, .selinux, .ociConfig, .kubernetes, .qemu, .libvirt, .landlock].contains(emit) && inputs == 0 {
            throw ValidationError("--emit \(emit.rawValue) needs a description, --pid or --from (a syscall record says nothing of capabilities or files)")
        }
        if [.ociConfig, .kubernetes].contains(emit) && command.isEmpty {
            throw ValidationError("--emit \(emit.rawValue) needs the workload's command after --")
        }
        if emit == .kubernetes && image == nil {
            throw ValidationError("--emit kubernetes needs --image")
        }
        if noRuntimeInit && !runtimes.isEmpty {
            throw ValidationError("--runtime and --no-runtime-init contradict each other: give one")
        }
    }

    public func run() async throws {
        let directory = try AdviseCommand.policiesDirectory(explicit: policies)
        let groups = try SyscallGroups.load(contentsOf: directory.appendingPathComponent("syscall-groups.yaml"))
        var sources: [String] = []
        var description: WorkloadDescription?
        if let pid {
            description = try AdviseCommand.describeRunning(pid: pid)
            sources.append("pid \(pid)")
        } else if let fromFile {
            description = try AdviseCommand.describeDeclared(file: fromFile, workload: workload)
            sources.append(fromFile)
        } else if let path = self.description {
            description = try WorkloadDescription.load(contentsOf: URL(fileURLWithPath: path))
            sources.append(path)
        }
        var record: LearnedRecord?
        for path in learned {
            let next = try LearnedRecord.decode(try ProfileInputError.contents(of: path), file: path)
            record = record.map { $0.merged(with: next) } ?? next
            sources.append("learned record \(path)")
        }
        let from = sources.joined(separator: ", ")
        let runtimeInit = try noRuntimeInit ? RuntimeInitChoice(syscalls: [], runtimes: []) : Self.runtimeInit(
            named: runtimes, directory: directory)

        let bytes: [UInt8]
        switch emit {
        case .seccomp, .seccompBPF:
            let needs = Self.seccompNeeds(description: description, record: record, extraGroups: allowGroups,
                                          secondaryArchitectures: secondaryArchitectures,
                                          runtimeInit: runtimeInit, from: from)
            for relaxation in needs.relaxations { writeStandardError("cloister: warning: \(relaxation)\n") }
            // A recording is not a grant: denied calls it holds stay denied, and say so.
            if let record {
                let recorded = Set(record.architectures["x86_64"]?.keys.map { $0 } ?? [])
                let allowedDenied = Set(needs.deniedGroupsAllowed)
                for (group, members) in groups.denied.sorted(by: { $0.key < $1.key }) where !allowedDenied.contains(group) {
                    let seen = recorded.intersection(members.syscalls).sorted()
                    if !seen.isEmpty {
                        writeStandardError("cloister: warning: the recording used \(seen.joined(separator: ", ")) (group '\(group)'), which stays denied; add --allow-group \(group) if the workload needs it\n")
                    }
                }
                let cloneFlags = record.architectures["x86_64"]?["clone"]?.arguments?["0"] ?? []
                if !allowedDenied.contains("namespaces"), cloneFlags.contains(where: { $0 & groups.cloneNamespaceFlags != 0 }) {
                    writeStandardError("cloister: warning: the recording created namespaces with clone, which stays denied; add --allow-group namespaces if the workload needs it\n")
                }
            }
            let profile = try SeccompGenerator.profile(for: needs, groups: groups)
            if emit == .seccomp {
                bytes = try Self.prettyJSON(profile)
            } else {
                let compiled = try SeccompCompiler.compile(profile)
                bytes = compiled.program
            }
        case .qemu, .libvirt, .landlock:
            guard let description else { throw ValidationError("--emit \(emit.rawValue) needs a description") }
            let name = KubernetesGenerator.objectName(description.name)
            let guest = GuestNeeds(name: name, kvm: description.platform.kvm == .available,
                                   network: description.needs.network != .none, user: guestUser, group: guestGroup,
                                   socketDirectory: socketDirectory, generatedFrom: from)
            switch emit {
            case .qemu: bytes = Array(QemuArgumentsGenerator.script(for: guest).utf8)
            case .libvirt: bytes = Array(LibvirtDomainGenerator.domain(for: guest).utf8)
            default:
                bytes = try Self.prettyJSON(LandlockRuleset.launcher(
                    writablePaths: ["\(socketDirectory)/\(name)", "/tmp"], from: from))
            }
        case .capabilities, .apparmor, .selinux, .ociConfig, .kubernetes:
            guard let description else { throw ValidationError("--emit \(emit.rawValue) needs a description") }
            let capabilities = CapabilityProfile.minimal(
                for: description.needs.capabilities, privileged: description.needs.privileged, from: from)
            if description.needs.privileged {
                writeStandardError("cloister: warning: the description asks for privileged; profiles grant only the declared capabilities\n")
            }
            let mac = MACNeeds(name: description.name, capabilities: capabilities.bounding,
                               network: description.needs.network != .none, generatedFrom: from)
            switch emit {
            case .apparmor: bytes = Array(AppArmorGenerator.profile(for: mac).utf8)
            case .selinux: bytes = Array(SELinuxCILGenerator.module(for: mac).utf8)
            case .ociConfig, .kubernetes:
                let needs = Self.seccompNeeds(description: description, record: record, extraGroups: allowGroups,
                                              secondaryArchitectures: secondaryArchitectures,
                                              runtimeInit: runtimeInit, from: from)
                let seccomp = try SeccompGenerator.profile(for: needs, groups: groups)
                let name = KubernetesGenerator.objectName(description.name)
                let catalogue = try Catalogue.load(directory: directory)
                let advice = try PlacementEngine(catalogue: catalogue, measured: MeasuredFigures()).advise(description, threatModel: nil)
                let option = advice.recommendation?.option ?? "container"
                let deployment = DeploymentNeeds(
                    name: name, image: image ?? "", command: command, capabilities: capabilities, seccomp: seccomp,
                    runtimeClass: DeploymentNeeds.runtimeClass(forOption: option),
                    generatedFrom: from + " (advise: \(option))")
                if emit == .ociConfig {
                    bytes = try Self.prettyJSON(OCIConfigGenerator.config(for: deployment))
                } else {
                    bytes = Array(try KubernetesGenerator.manifest(
                        for: deployment, kind: kubernetesKind == .pod ? .pod : .deployment,
                        localhostProfile: localhostProfile ?? "cloister/\(name).json").utf8)
                }
            default: bytes = try Self.prettyJSON(capabilities)
            }
        }
        if let output {
            try OutputFile.write(bytes, to: output)
        } else {
            FileHandle.standardOutput.write(Data(bytes))
        }
    }

    /// The seccomp needs a description implies. Capabilities that make a denied group
    /// meaningful (CAP_SYS_ADMIN: namespaces and mounts) allow it, as moby does, with a warning.
    static func seccompNeeds(
        description: WorkloadDescription?, record: LearnedRecord?, extraGroups: [String],
        secondaryArchitectures: Bool, runtimeInit: RuntimeInitChoice, from: String
    ) -> SeccompNeeds {
        var groups: [String] = []
        var families: [String] = []
        var denied = extraGroups
        if let description {
            groups = SeccompNeeds.serviceGroups
            families = ["unix"]
            if description.needs.network != .none {
                groups.append("network-io")
                families += ["inet", "inet6", "netlink"]
            }
            let capabilities = Set(description.needs.capabilities)
            if description.needs.privileged || capabilities.contains("CAP_SYS_ADMIN") { denied += ["namespaces", "mount"] }
            if capabilities.contains("CAP_SYS_PTRACE") { denied.append("tracing") }
            if capabilities.contains("CAP_BPF") { denied.append("bpf") }
            if capabilities.contains("CAP_PERFMON") { denied.append("perf") }
        }
        var unique: [String] = []
        for name in denied where !unique.contains(name) { unique.append(name) }
        return SeccompNeeds(
            groups: groups, groupsWithLearned: description != nil, deniedGroupsAllowed: unique,
            socketFamilies: families, secondaryArchitectures: secondaryArchitectures, learned: record,
            runtimeInit: runtimeInit.syscalls, runtimeInitFor: runtimeInit.runtimes, generatedFrom: from)
    }

    /// The runtime-init calls a profile carries, and for which runtimes.
    struct RuntimeInitChoice {
        var syscalls: Set<String>
        var runtimes: [String]
    }

    /// `--runtime` resolved against `policies/runtime-init.yaml`; without it, the runtimes
    /// installed on this host (every version cloister knows of each, since the profile may be
    /// used on another host with another release), or all of them when none is installed.
    static func runtimeInit(named arguments: [String], directory: URL) throws -> RuntimeInitChoice {
        let data = try RuntimeInit.load(contentsOf: directory.appendingPathComponent("runtime-init.yaml"))
        var selections: [RuntimeInit.Selection] = []
        if arguments.isEmpty {
            let installed = data.runtimes.keys.sorted().filter { installedExecutable(named: $0) != nil }
            if installed.isEmpty {
                writeStandardError("cloister: note: no OCI runtime found on this host; the seccomp profile carries the init calls of every runtime cloister knows (\(data.runtimes.keys.sorted().joined(separator: ", "))); --runtime narrows it\n")
            }
            selections = (installed.isEmpty ? data.runtimes.keys.sorted() : installed).map { RuntimeInit.Selection(runtime: $0) }
        } else {
            for argument in arguments {
                do {
                    for selection in try data.selections(for: argument) where !selections.contains(selection) {
                        selections.append(selection)
                    }
                } catch let error as ProfileInputError {
                    throw ValidationError("--runtime \(error.message)")
                }
            }
        }
        let resolved = data.syscalls(for: selections)
        for selection in resolved.unmatched {
            writeStandardError("cloister: warning: runtime-init.yaml has no entry for \(selection.description); the profile carries the calls of every \(selection.runtime) version it knows\n")
        }
        return RuntimeInitChoice(syscalls: resolved.syscalls, runtimes: selections.map(\.description))
    }

    /// The path of an executable on $PATH or in the usual system directories.
    static func installedExecutable(named name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init)
            + ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        for directory in directories where !directory.isEmpty {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static func prettyJSON<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value)) + [0x0A]
    }
}

/// `cloister seccomp-exec PROFILE -- CMD`: compile an OCI seccomp profile with libseccomp and
/// run CMD under it (no_new_privs, filter, exec). Hidden: it is how tests and the tightness
/// benchmark load a generated profile without a container runtime.
public struct SeccompExecCommand: CloisterSubcommand {
    public static let configuration = CommandConfiguration(
        commandName: "seccomp-exec", abstract: "Run a command under an OCI seccomp profile compiled by libseccomp.",
        shouldDisplay: false)

    @Argument(help: "An OCI seccomp profile (JSON).")
    public var profile: String

    @Argument(parsing: .postTerminator, help: "The command.")
    public var command: [String] = []

    public init() {}

    public func validate() throws {
        if command.isEmpty { throw ValidationError("give the command after --") }
    }

    public func run() async throws {
        let data = try ProfileInputError.contents(of: profile)
        let seccomp: LinuxSeccomp
        do { seccomp = try JSONDecoder().decode(LinuxSeccomp.self, from: data) } catch {
            throw ProfileInputError(file: profile, message: "is not an OCI seccomp profile: \(error)")
        }
        let compiled = try SeccompCompiler.compile(seccomp)
        let status = try FilteredProcess.run(command, program: compiled.program)
        throw ExitCode(status)
    }
}

extension ProfileInputError {
    /// The bytes of a file a profile is made from (a learned record, a profile), or the error
    /// that names it. Here, not in CloisterProfiles, which reads no files.
    static func contents(of path: String) throws -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ProfileInputError(file: path, message: "cannot be read: \(error.localizedDescription)")
        }
    }
}
