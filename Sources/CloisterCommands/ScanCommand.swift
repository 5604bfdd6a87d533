import ArgumentParser
import CloisterPipeline
import CloisterSystem

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

    func run() async throws {
        var timings = PhaseTimings()
        let options = ScanPipeline.Options(root: root, pid: pid, declared: declared, seccompFilters: !noSeccompFilters)
        let scanned = try ScanPipeline(options).run(settings: assessment.settings) {
            timings.mark($0)
        }
        try assessment.finish(scanned.report, pack: scanned.pack, verbose: verbose) { timings.mark($0) }
    }

    /// Keeps CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH for a live scan, nothing for a captured
    /// tree, and sets no_new_privs (see `Privileges` for why those two). With `--output`,
    /// CAP_DAC_OVERRIDE stays dormant, raised only for the write; CAP_SYS_ADMIN likewise for
    /// reading seccomp filters, unless `--no-seccomp-filters`. A failure to drop is
    /// a warning, and the report's `host.scannerCapabilities` shows what was held. Runs before
    /// any thread starts (see `CloisterSubcommand`), so every thread inherits the drop.
    func prepareProcess() {
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
