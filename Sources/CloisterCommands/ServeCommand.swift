import ArgumentParser
import CloisterAdmission
import CloisterPipeline
import CloisterPlacement
import CloisterResourceFiles
import CloisterRules
import CloisterSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `cloister serve`: rescans on an interval and serves the result to Prometheus (`/metrics`),
/// as JSON (`/scan`), and judges Kubernetes admission requests (`/admission`, `/mutate`).
///
/// The HTTP server lives in the `cloister-serve` executable, installed beside `cloister`: this
/// command execs it, so `cloister` itself does not link the HTTP stack (and starts as fast as
/// it did). `cloister-serve` runs this same command with `server` set.
public struct ServeCommand: CloisterSubcommand {
    public static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve scan results (Prometheus /metrics, /scan JSON) and a Kubernetes admission webhook over HTTP.",
        discussion: """
            Listens on 127.0.0.1:9464 unless --listen says otherwise (an address off loopback is a \
            relaxation, logged as a warning). Endpoints: GET /metrics (Prometheus text format 0.0.4), \
            GET /scan (the last scan, cloister.scan/v1 JSON), GET /healthz, POST /admission and \
            /validate (a validating admission webhook, admission.k8s.io/v1), POST /mutate with --mutate \
            (sets runtimeClassName to the runtime advise chose). Bodies over --max-body-bytes get 413, \
            requests over --max-concurrent-requests get 503, requests not answered within \
            --request-timeout get 503. SIGTERM or SIGINT stops accepting, finishes the requests in \
            flight and exits 0.
            """)

    /// Set by `cloister-serve` before it parses the command line: the in-process server.
    /// Unset in `cloister`, which execs `cloister-serve` instead.
    public nonisolated(unsafe) static var server: (@Sendable (ServeConfiguration) async throws -> Void)?

    @Option(name: .long, help: ArgumentHelp("Address to listen on; off loopback is a relaxation.", valueName: "host:port"))
    var listen = "\(ServeConfiguration.defaultHost):\(ServeConfiguration.defaultPort)"

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("PEM certificate chain: serve HTTPS.", valueName: "file"))
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key of --tls-cert.", valueName: "file"))
    var tlsKey: String?

    @Option(name: .long, help: "Seconds between the end of one scan and the start of the next.")
    var interval: Double = 30

    @Option(
        name: .long,
        help: "Every Nth rescan reads every workload again; the others read again only the workloads the kernel shows changed (1: every rescan reads everything).")
    var fullScanEvery = 10

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Nice value of the rescan thread, 0 (normal) to 19 (lowest): admission requests and scrapes preempt rescans; on a busy node rescans slow down first.",
            valueName: "n"))
    var rescanNice: Int32 = ServeConfiguration.defaultRescanNice

    @Option(name: .long, help: "Scan a captured tree under this directory instead of / (as `scan --root`).")
    var root: String?

    @Flag(
        name: .customLong("no-scan"),
        help: "Answer admission requests only: no rescans, no /metrics or /scan, and no scanning capabilities kept.")
    var noScan = false

    @Flag(name: .long, help: "Answer POST /mutate with a JSON patch that sets runtimeClassName to the runtime advise chose.")
    var mutate = false

    @Option(
        name: .customLong("runtime-class"),
        help: ArgumentHelp(
            "Map an advise choice to a RuntimeClass (repeatable). Defaults: gvisor=gvisor, kata=kata, microvm=kata-fc.",
            valueName: "choice=name"))
    var runtimeClass: [String] = []

    @Option(
        name: .customLong("threat-model"),
        help: "Threat model advise applies to admitted pods (as `advise --threat-model`; untrusted-code chooses gVisor).")
    var threatModel: String?

    @Option(name: .long, help: "Policies directory for advise (default: $CLOISTER_POLICIES, or policies/ beside cloister).")
    var policies: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Pod Security Standards level (and version) that denies, as PSA's enforce label: baseline, restricted or privileged, optionally :v1.N; none turns it off. Default: baseline:latest.",
            valueName: "level[:version]|none"))
    var enforce: String = "baseline:latest"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Pod Security Standards level (and version) whose violations are returned as warnings, as PSA's warn label. Default: restricted:latest.",
            valueName: "level[:version]|none"))
    var warn: String = "restricted:latest"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Pod Security Standards level (and version) whose violations go to the audit log (auditAnnotations), as PSA's audit label. Default: none.",
            valueName: "level[:version]|none"))
    var audit: String = "none"

    @Flag(
        name: .customLong("namespace-labels"),
        help: "Honour the pod-security.kubernetes.io/{enforce,warn,audit}[-version] labels of the namespace when the request carries them (request.namespaceObject).")
    var namespaceLabels = false

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body read; larger gets 413.")
    var maxBodyBytes = 1 << 20

    @Option(name: .customLong("request-timeout"), help: "Seconds a request may take, body included; then 503.")
    var requestTimeout: Double = 10

    @Option(name: .customLong("max-concurrent-requests"), help: "Requests handled at once; more get 503.")
    var maxConcurrentRequests = 64

    @Option(name: .customLong("idle-timeout"), help: "Seconds before an idle connection is closed.")
    var idleTimeout: Double = 60

    /// Rules, exposure weights, baseline and gate, as `scan` and `check` take them. Admission
    /// denies on a Pod Security Standards violation at --enforce (default baseline:latest), and on
    /// cloister's own findings only when --fail-on or --max-exposure is given.
    @OptionGroup var assessment: AssessmentOptions

    public init() {}

    public func validate() throws {
        guard let address = ServeConfiguration.parseListen(listen) else {
            throw ValidationError("--listen takes HOST:PORT (for example 127.0.0.1:9464 or [::1]:9464), not \(listen)")
        }
        _ = address
        if (tlsCertificate == nil) != (tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together: give both or neither")
        }
        if assessment.output != nil {
            throw ValidationError("serve answers over HTTP; --output has no meaning here")
        }
        for (name, value) in [("--interval", interval), ("--request-timeout", requestTimeout), ("--idle-timeout", idleTimeout)]
        where !(value > 0 && value <= 86400) {
            throw ValidationError("\(name) takes seconds, more than 0 and at most 86400, not \(value)")
        }
        if fullScanEvery < 1 { throw ValidationError("--full-scan-every takes 1 or more, not \(fullScanEvery)") }
        if !(0...19).contains(rescanNice) { throw ValidationError("--rescan-nice takes 0 to 19, not \(rescanNice)") }
        if maxBodyBytes < 1 { throw ValidationError("--max-body-bytes must be at least 1") }
        if maxConcurrentRequests < 1 { throw ValidationError("--max-concurrent-requests must be at least 1") }
        _ = try runtimeClasses()
        _ = try podSecurityModes()
    }

    /// `--enforce`, `--warn` and `--audit` as PSA's three modes.
    func podSecurityModes() throws -> PodSecurityModes {
        func policy(_ flag: String, _ text: String) throws -> PodSecurityPolicy? {
            if text == "none" { return nil }
            guard let policy = PodSecurityPolicy(text) else {
                throw ValidationError("\(flag) takes none, or baseline, restricted or privileged with an optional :VERSION (v1.N or latest), not \(text)")
            }
            return policy
        }
        return PodSecurityModes(
            enforce: try policy("--enforce", enforce), warn: try policy("--warn", warn), audit: try policy("--audit", audit))
    }

    func runtimeClasses() throws -> [String: String] {
        var classes = AdmissionJudge.defaultRuntimeClasses
        for mapping in runtimeClass {
            let parts = mapping.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, Self.isRuntimeClassName(parts[1]) else {
                throw ValidationError(
                    "--runtime-class takes CHOICE=NAME with NAME a DNS subdomain (for example gvisor=gvisor), not \(mapping)")
            }
            classes[parts[0]] = parts[1]
        }
        return classes
    }

    /// RuntimeClass names are DNS subdomains: lower-case alphanumerics, '-' and '.', at most 253.
    static func isRuntimeClassName(_ name: String) -> Bool {
        guard !name.isEmpty, name.count <= 253, let first = name.first, let last = name.last,
            first.isLetter || first.isNumber, last.isLetter || last.isNumber
        else { return false }
        return name.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "." }
    }

    public func run() async throws {
        guard let server = Self.server else {
            try Self.execServeExecutable()
            return
        }
        try await server(try makeConfiguration())
    }

    func makeConfiguration() throws -> ServeConfiguration {
        guard let address = ServeConfiguration.parseListen(listen) else { throw ExitCode(2) }
        for path in [tlsCertificate, tlsKey].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: path) {
            throw CLIError.input("cannot read the TLS file \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")")
        }
        let modes = try podSecurityModes()
        let judging = modes.enforce != nil || modes.warn != nil || modes.audit != nil || namespaceLabels
        let judges = try assessment.settings.loadJudges(podSpecs: judging)
        let catalogue: Catalogue
        do {
            catalogue = try Catalogue.load(directory: try AdviseCommand.policiesDirectory(explicit: policies))
        } catch let error as PlacementInputError {
            throw CLIError.input(error.description)
        }
        if let threatModel, catalogue.threatModel(threatModel) == nil {
            throw CLIError.input(
                "--threat-model \(threatModel) is not in the catalogue; it has: \(catalogue.threatModels.map(\.id).joined(separator: ", "))")
        }
        let judge = AdmissionJudge(
            pack: judges.pack, policy: judges.weights, baseline: judges.baseline, catalogue: catalogue,
            failOn: assessment.failOn, maxExposure: assessment.maxExposure, runtimeClasses: try runtimeClasses(),
            threatModel: threatModel, podSecurity: judges.podSecurity, podSecurityModes: modes, namespaceLabels: namespaceLabels)
        // The judge's engine serves every rescan too: building one compiles every rule.
        var rescanJudges = judges
        rescanJudges.engine = judge.engine
        // Rescans reuse the postures of workloads that did not change (ScanMemory).
        let memory = ScanMemory(fullScanEvery: fullScanEvery)
        let judged = AssessmentMemory()
        let pipeline = ScanPipeline(
            ScanPipeline.Options(
                root: root, seccompFilters: false,
                seccompFiltersSkipped: "not read: serve holds no CAP_SYS_ADMIN (cloister scan reads the filters)"))
        return ServeConfiguration(
            host: address.host, port: address.port, tlsCertificate: tlsCertificate, tlsKey: tlsKey,
            interval: .milliseconds(Int64(interval * 1000)),
            limits: ServeLimits(
                maxBodyBytes: maxBodyBytes, requestTimeout: .milliseconds(Int64(requestTimeout * 1000)),
                maxConcurrentRequests: maxConcurrentRequests, idleTimeout: .milliseconds(Int64(idleTimeout * 1000))),
            mutate: mutate, judge: judge, scanning: !noScan, rescanNice: rescanNice,
            scan: { [rescanJudges, memory, judged] in try pipeline.run(judges: rescanJudges, memory: memory, judged: judged).report })
    }

    /// Replaces this process with `cloister-serve` from cloister's own directory, with the same
    /// arguments; its exit status is serve's.
    static func execServeExecutable() throws {
        let selfPath = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let directory = (selfPath as NSString).deletingLastPathComponent
        let path = directory + "/cloister-serve"
        let arguments = ["cloister-serve"] + CommandLine.arguments.dropFirst()
        var cArguments = arguments.map { strdup($0) }
        cArguments.append(nil)
        execv(path, cArguments)
        let error = errno
        throw CLIError.input(
            "cannot start \(path) (\(String(cString: strerror(error)))): `cloister serve` runs the cloister-serve executable installed beside cloister")
    }

    /// As `scan`: keep only what reading /proc needs (and binding a port below 1024, if asked),
    /// before any thread starts (see `CloisterSubcommand`). Unlike `scan`, not CAP_SYS_ADMIN, even
    /// dormant: a long-running network server does not read seccomp filters.
    func prepareProcess() {
        // An admission-only server reads no other process: it keeps no scanning capability.
        var keep = root == nil && !noScan ? Privileges.scannerCapabilities : []
        if let port = ServeConfiguration.parseListen(listen)?.port, port > 0, port < 1024 {
            keep.append(Privileges.bindServiceCapability)
        }
        do {
            try Privileges.reduce(keeping: keep)
        } catch {
            writeStandardError("cloister: warning: cannot drop capabilities (\(error)); serving with those the process holds\n")
        }
    }
}
