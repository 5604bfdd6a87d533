// One fuzz harness per parser of untrusted input. Each takes the raw bytes libFuzzer makes and
// feeds them to the parser the way cloister does when it reads the file: `/proc` and `/sys`
// text decoded as `Files.readText` decodes it, argv split on NULs, configuration files through
// the same entry point `cloister check` uses. A crash, a trap or an ASan report is a finding;
// the few properties checked below (with `precondition`) are the parsers' own promises.
import CFuzzDriver
import CloisterAdmission
import CloisterBPF
import CloisterCheck
import CloisterCodec
import CloisterFormats
import CloisterInspect
import CloisterModel
import CloisterPlacement
import CloisterResourceFiles
import CloisterRules
import Foundation

public struct FuzzTarget: Sendable {
    public var name: String
    public var run: @Sendable ([UInt8]) -> Void
}

/// Text as `Files.readText` makes it: invalid UTF-8 repaired, never rejected.
@inline(__always) func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

public enum FuzzTargets {
    /// The target the driver's callback runs; set once, before the driver starts.
    nonisolated(unsafe) static var current: FuzzTarget?

    /// The entry point of every fuzz executable: libFuzzer's driver, on `name`'s harness.
    public static func main(_ name: String, _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
        guard let target = all.first(where: { $0.name == name }) else { fatalError("no fuzz target \(name)") }
        current = target
        return cl_fuzz_run_driver(argc, argv) { data, count in
            guard let run = FuzzTargets.current?.run else { return 0 }
            run(count == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: count)))
            return 0
        }
    }

    public static let all: [FuzzTarget] = [
        FuzzTarget(name: "proc-status") { bytes in
            let status = bytes.withUnsafeBufferPointer { ProcStatus.parse(bytes: $0) }
            _ = ProcStatus.parse(text(bytes)) == status
        },
        FuzzTarget(name: "id-map") { bytes in
            let map = IDMapParser.parse(text(bytes))
            for id: UInt32 in [0, 1, 1000, 65534, 100_000, .max] { _ = IDMapParser.hostID(id, in: map) }
        },
        FuzzTarget(name: "seccomp-bpf") { bytes in
            // A filter as PTRACE_SECCOMP_GET_FILTER hands it over: refused or evaluated, never a
            // trap, and always to an end (paths and instructions are bounded).
            let whole = Array(bytes.prefix(bytes.count - bytes.count % 8))
            guard let program = try? SeccompProgram(bytes: whole) else { return }
            for architecture in SeccompArchitecture.allCases {
                for number: UInt32 in [0, 1, 56, 101, 435] {
                    let decision = SeccompEvaluator.decide(
                        program, architecture: architecture.auditArchitecture, number: architecture.numberBase | number)
                    _ = SeccompSurface.reach(decision)
                    _ = SeccompEvaluator.combine([decision, decision])
                }
            }
        },
        FuzzTarget(name: "ns-link") { bytes in
            _ = NamespaceLink.inode(text(bytes))
        },
        FuzzTarget(name: "cmdline") { bytes in
            let arguments = CmdlineParser.parse(bytes, maxArguments: 64)
            precondition(arguments.count <= 64, "cmdline: more arguments than the bound")
        },
        FuzzTarget(name: "mountinfo") { bytes in
            let parsed = MountInfoParser.parse(text(bytes))
            for entry in parsed.entries { _ = (entry.mountPoint, entry.source) }
            _ = MountInfoParser.unescape(Substring(text(bytes)))
        },
        FuzzTarget(name: "cgroup") { bytes in
            let content = text(bytes)
            _ = CgroupFileParser.parse(content)
            _ = CgroupFileParser.limit(content)
            _ = CgroupFileParser.cpuMax(content)
            let rules = CgroupFileParser.deviceRules(content)
            _ = CgroupFileParser.access(for: rules, type: "c", major: 10, minor: 232)
            _ = CgroupFileParser.devicesAllowAll(content)
        },
        FuzzTarget(name: "mac-label") { bytes in
            _ = MACLabelParser.apparmor(text(bytes))
            _ = MACLabelParser.selinux(text(bytes))
        },
        FuzzTarget(name: "socket-table") { bytes in
            for ipv6 in [false, true] {
                for address in SocketTableParser.listeningSockets(text(bytes), ipv6: ipv6).values {
                    _ = SocketTableParser.isLoopback(address)
                }
            }
        },
        FuzzTarget(name: "fdinfo") { bytes in
            _ = FDInfoParser.access(text(bytes))
        },
        FuzzTarget(name: "passwd") { bytes in
            _ = PasswdParser.names(text(bytes))
        },
        FuzzTarget(name: "runc-state") { bytes in
            if let pid = RuncStateFile.initProcessPID(in: bytes) { precondition(pid > 0, "runc state: PID \(pid)") }
            if let bundle = RuncBundle.bundle(stateJSON: bytes) { precondition(bundle.hasPrefix("/"), "runc state: bundle \(bundle)") }
        },
        FuzzTarget(name: "libvirt-status") { bytes in
            _ = LibvirtStatusParser.parse(text(bytes), path: "/run/libvirt/qemu/fuzz.xml")
            // scan --declared's reading of the same file, compared with itself.
            if let declared = try? LibvirtLiveDomain.declared(statusText: text(bytes), file: "/run/libvirt/qemu/fuzz.xml", qemuConf: nil) {
                _ = LibvirtLiveDomain.drift(declared: declared, observed: declared, source: "fuzz")
            }
        },
        FuzzTarget(name: "engine-state") { bytes in
            _ = EngineStateParser.crunPID(status: bytes)
            _ = EngineStateParser.dockerName(configV2: bytes)
            _ = EngineStateParser.criName(bundleConfig: bytes)
            _ = EngineStateParser.criSandboxID(bundleConfig: bytes)
            _ = EngineStateParser.dockerDaemonDataRoot(daemonJSON: bytes)
            _ = RuncBundle.bundle(crunStatus: bytes)
        },
        FuzzTarget(name: "json-document") { bytes in
            _ = try? JSONDocument.parse(text(bytes))
        },
        FuzzTarget(name: "qemu-options") { bytes in
            let options = QemuOptionList.parse(text(bytes), impliedKey: "type")
            _ = QemuEndpoint.parseChardev(options)
            _ = QemuEndpoint.parseLegacy(text(bytes))
        },
        FuzzTarget(name: "rule-file") { bytes in
            _ = try? RulePack.parse(yaml: text(bytes), file: "rule.yaml")
        },
        FuzzTarget(name: "exposure-policy") { bytes in
            _ = try? ExposurePolicy.parse(yaml: text(bytes), file: "exposure.yaml")
        },
        FuzzTarget(name: "baseline") { bytes in
            _ = try? Baseline.parse(yaml: text(bytes), file: "baseline.yaml")
        },
        FuzzTarget(name: "workload-description") { bytes in
            _ = try? WorkloadDescription.parse(yaml: text(bytes), file: "workload.yaml")
        },
        FuzzTarget(name: "admission-review") { bytes in
            // The body `cloister serve` reads on /admission and /mutate: parsed, judged with the
            // shipped rules and catalogue, answered. The answer must be JSON that echoes the uid.
            guard let request = try? AdmissionReview.parse(bytes) else { return }
            let decision = AdmissionJudges.shipped?.review(request, mutate: true) ?? AdmissionDecision(uid: request.uid, allowed: true)
            let answer = decision.responseJSON()
            let decoded = try? JSONSerialization.jsonObject(with: Data(answer)) as? [String: Any]
            let response = decoded?["response"] as? [String: Any]
            precondition(response?["uid"] as? String == request.uid, "admission-review: the answer is not JSON echoing the uid")
        },
        FuzzTarget(name: "safe-text") { bytes in
            // What cloister prints of a workload's name must not hold a control character.
            let shown = SafeText.forTerminal(SafeText.decode(bytes, limit: 256))
            for scalar in shown.unicodeScalars {
                precondition(scalar.value >= 0x20 && !(0x7F...0x9F).contains(scalar.value), "control character shown")
            }
        },
        FuzzTarget(name: "libvirt-qemu-conf") { bytes in
            // libvirt's qemu.conf as check reads it, and what it settles applied to a domain
            // whose graphics password, label and user it leaves unknown.
            guard let conf = try? LibvirtQemuConf.parse(text(bytes), file: "qemu.conf") else { return }
            var posture = Posture(id: "libvirt:g", kind: .vm, runtime: "libvirt", name: "g")
            posture.hypervisor = Hypervisor(
                emulator: "qemu", accelerator: "kvm",
                consoles: [Console(kind: "vnc", transport: "tcp"), Console(kind: "spice", transport: "unix")])
            posture.unknown[.mac] = "left to qemu.conf"
            posture.unknown[.hypervisorUser] = "left to qemu.conf"
            conf.apply(to: &posture)
        },
    ] + FormatRegistry.formats.map(formatTarget)

    /// One target a configuration format, from the registry: the bytes as `check` reads a file
    /// (syntax told from its first bytes, the first format that recognises it), then straight
    /// through the format's own reader whether or not its signature is there, so the fuzzer
    /// reaches the reader without first having to find the signature.
    static func formatTarget(_ format: any DeclaredFormat.Type) -> FuzzTarget {
        FuzzTarget(name: format.name) { bytes in
            let content = text(bytes)
            _ = Check.check(contents: content, file: format.exampleFile)
            for document in documents(content, syntaxes: format.syntaxes) {
                _ = try? format.postures(document, file: format.exampleFile)
            }
            if format.syntaxes.contains(.commandLine) {
                // As `scan` reads a live guest's NUL-separated argv.
                _ = QemuCommandLine.parse(CmdlineParser.parse(bytes)).declaredPosture(file: "/proc/1/cmdline", line: nil)
            }
        }
    }

    /// The trees `content` gives in each syntax, as far as it parses.
    static func documents(_ content: String, syntaxes: [DocumentSyntax]) -> [ParsedDocument] {
        var parsed: [ParsedDocument] = []
        for syntax in syntaxes {
            switch syntax {
            case .json:
                if let root = try? JSONDocument.parse(content) { parsed.append(.tree(root, .json)) }
            case .yaml:
                guard var sequence = try? YAMLText.documents(content, file: "fuzz.yaml") else { continue }
                while let root = try? sequence.next() { parsed.append(.tree(root, .yaml)) }
            case .xml:
                if let root = try? XMLText.parse(content) { parsed.append(.xml(root)) }
            case .commandLine:
                parsed.append(.commandLine(ShellWords.splitWithLines(content)))
            }
        }
        return parsed
    }
}

/// The judge `serve` builds, from the repository's rules/ and policies/ (loaded once).
enum AdmissionJudges {
    static let shipped: AdmissionJudge? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        guard let pack = try? RulePack.load(directory: root.appendingPathComponent("rules").path, includeCases: false),
            let policy = try? ExposurePolicy.load(path: root.appendingPathComponent("policies/exposure.yaml").path),
            let catalogue = try? Catalogue.load(directory: root.appendingPathComponent("policies")),
            let standards = try? PodSecurityStandards.load(
                path: root.appendingPathComponent("rules/" + PodSecurityStandards.relativePath).path)
        else { fatalError("admission-review: cannot load rules/ and policies/ under \(root.path)") }
        // As serve runs it: the Pod Security Standards enforced, warned and audited, and the
        // namespace's labels honoured, so every control's reading of hostile specs is fuzzed.
        return AdmissionJudge(
            pack: pack, policy: policy, catalogue: catalogue, threatModel: "untrusted-code", podSecurity: standards,
            podSecurityModes: PodSecurityModes(audit: PodSecurityPolicy(level: .restricted, version: PodSecurityVersion(minor: 18))),
            namespaceLabels: true)
    }()
}
