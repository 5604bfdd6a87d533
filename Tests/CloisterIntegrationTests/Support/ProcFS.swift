import Foundation

/// The little of /proc the harness needs to find a workload's processes. (The scanner's own
/// /proc parsing is what is under test; this stays deliberately small and independent of it.)
enum ProcFS {
    static func exists(_ pid: Int32) -> Bool {
        guard let state = state(pid) else { return false }
        return state != "Z" && state != "X"
    }

    /// The one-letter state from /proc/PID/stat (R, S, Z, …), nil when the process is gone.
    static func state(_ pid: Int32) -> String? {
        guard let fields = statFields(pid), let state = fields.first else { return nil }
        return String(state)
    }

    static func parent(of pid: Int32) -> Int32? {
        guard let fields = statFields(pid), fields.count > 1 else { return nil }
        return Int32(fields[1])
    }

    static func comm(_ pid: Int32) -> String? {
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every live process whose ancestry reaches `pid`.
    static func descendants(of pid: Int32) -> [Int32] {
        var childrenByParent: [Int32: [Int32]] = [:]
        for candidate in allPIDs() {
            if let parent = parent(of: candidate) { childrenByParent[parent, default: []].append(candidate) }
        }
        var result: [Int32] = []
        var queue = childrenByParent[pid] ?? []
        while let next = queue.popLast() {
            result.append(next)
            queue += childrenByParent[next] ?? []
        }
        return result.sorted()
    }

    /// The first descendant of `pid` running `command`, waiting up to `timeout` seconds for it.
    static func waitForDescendant(of pid: Int32, named command: String, timeout: Double = 10) -> Int32? {
        var found: Int32?
        wait(timeout: timeout) {
            found = descendants(of: pid).first { comm($0) == command && exists($0) }
            return found != nil
        }
        return found
    }

    /// How many capabilities are in one set (`CapEff`, `CapBnd`, …) of /proc/PID/status.
    static func capabilityCount(pid: Int32, set: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("\(set):") }),
            let mask = UInt64(line.dropFirst(set.count + 1).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return nil }
        return mask.nonzeroBitCount
    }

    static func allPIDs() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
    }

    /// Fields of /proc/PID/stat after the command name, which may itself hold spaces and ')'.
    private static func statFields(_ pid: Int32) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    /// Kill a process that is not our child (a daemonized qemu) and wait until it is gone.
    static func terminate(_ pid: Int32, grace: Double = 5) {
        guard exists(pid) else { return }
        kill(pid, SIGTERM)
        if !wait(timeout: grace, { !exists(pid) }) {
            kill(pid, SIGKILL)
            wait(timeout: grace) { !exists(pid) }
        }
    }
}
