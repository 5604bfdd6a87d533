import ArgumentParser
import CloisterCodec
import CloisterPipeline
import CloisterReport
import CloisterRules
import CloisterSystem
import Foundation

/// `/proc/self/status` before `prepareProcess` drops capabilities: written once, before any
/// thread starts, and only read afterwards.
enum SelfStatus {
    nonisolated(unsafe) static var beforeDrop: String?
}

#if canImport(Glibc)
import Glibc
#endif

struct ScanCommand: CloisterSubcommand {
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

    @Flag(
        name: .long,
        help: "Also read each workload's declared configuration (a container's bundle config.json; a libvirt guest's live domain XML with the daemon's qemu.conf) and report where the kernel shows it less confined than declared (drift-* findings).")
    var declared = false

    @Flag(
        name: .long,
        help: "Do not read the workloads' seccomp filters from the kernel (each read stops a thread for microseconds with ptrace); seccomp.syscalls and seccomp.reachable are then unknown.")
    var noSeccompFilters = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Scan again every SECONDS (and at once on SIGHUP), printing each report as one line of JSON, until SIGINT or SIGTERM. Rescans read again only the workloads that changed.",
            valueName: "seconds"))
    var watch: Double?

    @Option(name: .long, help: "With --watch: every Nth scan reads every workload again, whatever the kernel's change signals say.")
    var fullScanEvery = 10

    @Flag(
        name: .customLong("self"),
        help: "Report the confinement of this cloister process itself (namespaces as far as they can be told from inside, capabilities, no_new_privs, LSM labels, seccomp): what a container or CI job was given.")
    var scanSelf = false

    func validate() throws {
        if scanSelf, pid != nil || root != nil || declared {
            throw ValidationError("--self reports this process only: it does not combine with --pid, --root or --declared")
        }
        guard let watch else { return }
        guard watch > 0, watch.isFinite else { throw ValidationError("--watch takes a positive number of seconds, not \(watch)") }
        guard assessment.format == .json, assessment.output == nil, pid == nil, !scanSelf else {
            throw ValidationError("--watch writes one JSON report per line to standard output: it takes --format json, and neither --output, --pid nor --self")
        }
        guard fullScanEvery >= 1 else { throw ValidationError("--full-scan-every takes 1 or more, not \(fullScanEvery)") }
    }

    func run() async throws {
        if let watch { return try watchHost(every: watch) }
        var timings = PhaseTimings()
        var options = ScanPipeline.Options(root: root, pid: pid, declared: declared, seccompFilters: !noSeccompFilters)
        if scanSelf {
            options.selfPID = Int(getpid())
            options.selfStatusBeforeDrop = SelfStatus.beforeDrop
        }
        let scanned = try ScanPipeline(options).run(settings: assessment.settings) {
            timings.mark($0)
        }
        try assessment.finish(scanned.report, pack: scanned.pack, verbose: verbose) { timings.mark($0) }
    }

    /// `--watch`: one report per line; rescans reuse unchanged workloads (`ScanMemory`), and a
    /// line on standard error says how many were read again. The gate is not applied: the
    /// reports are for a reader that keeps watching.
    func watchHost(every seconds: Double) throws {
        let options = ScanPipeline.Options(root: root, declared: declared, seccompFilters: !noSeccompFilters)
        let pipeline = ScanPipeline(options)
        var judges = try assessment.settings.loadJudges()
        // Built once, not at every rescan: building an engine compiles every rule.
        judges.engine = judges.engine ?? RuleEngine(pack: judges.pack)
        let memory = ScanMemory(fullScanEvery: fullScanEvery)
        let judged = AssessmentMemory()
        let rendered = RenderMemory()
        if !SignalWaiting.install(Self.watchSignals) {
            writeStandardError("cloister: warning: cannot take SIGHUP, SIGINT and SIGTERM between scans; they act as usual\n")
        }
        var scans = 0
        while true {
            let started = Clocks.seconds(.monotonic)
            var counts = (rebuilt: 0, reused: 0)
            let scanned = try pipeline.run(judges: judges, memory: memory, judged: judged, counts: { counts = ($0, $1) })
            do {
                // The report `scan --format json` writes, on one line (JSON escapes every
                // newline), in pieces; the workloads that did not change are not rendered again.
                try ScanJSON.write(scanned.report, lines: false, memory: rendered) {
                    try Files.write($0, to: STDOUT_FILENO, name: "standard output")
                }
            } catch let error as SystemError {
                throw CLIError.input("cannot write the report: \(error)")
            }
            scans += 1
            let milliseconds = Int((Clocks.seconds(.monotonic) - started) * 1000)
            writeStandardError(
                "cloister: scan \(scans): \(counts.rebuilt) of \(counts.rebuilt + counts.reused) workloads read again, \(counts.reused) reused, \(milliseconds) ms\n")
            switch SignalWaiting.wait(seconds: seconds) {
            case SIGINT, SIGTERM: return
            default: continue
            }
        }
    }

    static let watchSignals: [Int32] = [SIGHUP, SIGINT, SIGTERM]

    /// Keeps CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH for a live scan, nothing for a captured
    /// tree, and sets no_new_privs (see `Privileges` for why those two). With `--output`,
    /// CAP_DAC_OVERRIDE stays dormant, raised only for the write; CAP_SYS_ADMIN likewise for
    /// reading seccomp filters, unless `--no-seccomp-filters`. A failure to drop is
    /// a warning, and the report's `host.scannerCapabilities` shows what was held. Runs before
    /// any thread starts (see `CloisterSubcommand`), so every thread inherits the drop.
    func prepareProcess() {
        // What the process was given, read before it gives most of it up.
        if scanSelf { SelfStatus.beforeDrop = try? Files.readText("/proc/self/status", limit: 64 << 10) }
        do {
            try Privileges.reduce(
                keeping: root == nil ? Privileges.scannerCapabilities : [],
                dormant: (assessment.output == nil ? [] : [Privileges.outputCapability])
                    + (root == nil && !noSeccompFilters ? [Privileges.filterReadingCapability] : []))
        } catch {
            writeStandardError("cloister: warning: cannot drop capabilities (\(error)); scanning with those the process holds\n")
        }
    }
}
