import CloisterSystem

/// `CLOISTER_DEBUG_TIMINGS=1`: after each phase of a scan, one line on standard error with the
/// wall and CPU time since the previous mark and the process's resident and peak memory, so
/// where a scan spends its time and memory is measured, not guessed. Off by default: reading
/// the clocks and /proc/self/status costs nothing worth keeping in a normal run.
struct PhaseTimings {
    let enabled: Bool
    /// `CLOISTER_DEBUG_TIMINGS=smaps`: also each mapping's resident size.
    let verbose: Bool
    private var lastWall: Double
    private var lastCPU: Double

    init() {
        let setting = ProcessEnvironment.value("CLOISTER_DEBUG_TIMINGS") ?? ""
        enabled = setting != "" && setting != "0"
        verbose = setting == "smaps"
        lastWall = Clocks.seconds(.monotonic)
        lastCPU = Clocks.seconds(.processCPU)
        if enabled { mark("start-up") }
    }

    mutating func mark(_ phase: String) {
        guard enabled else { return }
        let wall = Clocks.seconds(.monotonic)
        let cpu = Clocks.seconds(.processCPU)
        var line = "cloister: timing: \(phase): wall \(Self.milliseconds(wall - lastWall)) ms, cpu \(Self.milliseconds(cpu - lastCPU)) ms"
        if phase == "start-up" {
            // Since exec: the process's own CPU clock starts there.
            line = "cloister: timing: start-up: cpu \(Self.milliseconds(cpu)) ms"
        }
        if let status = try? Files.readText("/proc/self/status", limit: 64 << 10) {
            for row in status.split(separator: "\n") where row.hasPrefix("VmHWM:") || row.hasPrefix("RssAnon:") || row.hasPrefix("RssFile:") {
                line += ", " + row.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            }
        }
        if verbose, let smaps = try? Files.readText("/proc/self/smaps", limit: 16 << 20) {
            // Resident KiB of each mapped file, largest first: which libraries' pages a phase touched.
            var byFile: [String: Int] = [:]
            var current = ""
            for row in smaps.split(separator: "\n") {
                let fields = row.split(separator: " ", omittingEmptySubsequences: true)
                if let first = fields.first, first.contains("-"), fields.count >= 5 {
                    current = fields.count >= 6 ? String(fields[5]) : "[anon]"
                } else if fields.first == "Rss:", fields.count >= 2, let kib = Int(fields[1]) {
                    byFile[current, default: 0] += kib
                }
            }
            for (file, kib) in byFile.sorted(by: { $0.value > $1.value }).prefix(12) where kib >= 256 {
                line += "\n    \(kib) kB \(file)"
            }
        }
        writeStandardError(line + "\n")
        lastWall = wall
        lastCPU = cpu
    }

    private static func milliseconds(_ seconds: Double) -> String {
        let tenths = Int((seconds * 10_000).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
