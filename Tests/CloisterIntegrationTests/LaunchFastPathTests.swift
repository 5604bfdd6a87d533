import CloisterModel
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `cloister launch --no-verify -- CMD` runs in the small `cloister` front executable
/// (FastLaunch) instead of `cloister-full`. The workload it starts must be confined exactly as
/// the full command's: both are started side by side and compared from /proc and by a scan.
@Suite("cloister launch, fast path against the full command", .serialized)
struct LaunchFastPathTests {
    /// `cloister launch FLAGS -- /bin/sleep 60` (host /usr view), the sleeper's PID, and the
    /// executable of the process that started it.
    static func startSleeper(_ flags: [String]) throws -> (BackgroundProcess, Int32, String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-fast-\(UUID().uuidString).log")
        let process = try BackgroundProcess(
            [try Paths.cloisterExecutable().path, "launch"] + flags + ["--", "/bin/sleep", "60"], log: log)
        guard let pid = ProcFS.waitForDescendant(of: process.pid, named: "sleep", timeout: 20) else {
            process.stop()
            throw HarnessError("the launched sleep did not appear; cloister said: \(process.log)")
        }
        let parent = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(process.pid)/exe")) ?? ""
        return (process, pid, parent)
    }

    static func status(_ pid: Int32) throws -> [String: String] {
        let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    /// Mount points with their options and filesystem type, as the workload sees them.
    static func mounts(_ pid: Int32) throws -> [String] {
        try String(contentsOfFile: "/proc/\(pid)/mountinfo", encoding: .utf8).split(separator: "\n").map { line in
            let fields = line.split(separator: " ")
            let separator = fields.firstIndex(of: "-") ?? fields.endIndex
            let type = separator < fields.endIndex - 1 ? fields[separator + 1] : ""
            return "\(fields[4]) \(fields[5]) \(type)"
        }
    }

    /// Limits from the files the kernel enforces, v1 or v2, read through the workload's cgroups.
    static func limits(_ pid: Int32) throws -> [String] {
        var found: [String] = []
        for line in try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8).split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2).map(String.init)
            guard parts.count == 3, parts[2].contains("/cloister/launch-") else { continue }
            let base = parts[1].isEmpty ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup/\(parts[1].split(separator: ",")[0])"
            let directory = (FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") && parts[1].isEmpty)
                ? "/sys/fs/cgroup" + parts[2] : base + parts[2]
            for file in ["memory.max", "memory.limit_in_bytes", "pids.max"] {
                if let value = try? String(contentsOfFile: directory + "/" + file, encoding: .utf8) {
                    found.append("\(file)=\(value.trimmingCharacters(in: .whitespacesAndNewlines))")
                }
            }
        }
        return found.sorted()
    }

    @Test("the fast path confines exactly as the full command: /proc status, mounts, cgroups, scan", .needsLaunch)
    func sameConfinement() throws {
        let (fastProcess, fast, fastParent) = try Self.startSleeper(["--no-verify"])
        defer { fastProcess.stop() }
        // With verification the whole command runs (cloister-full); its scan found no drift.
        let (fullProcess, full, fullParent) = try Self.startSleeper([])
        defer { fullProcess.stop() }
        #expect(fastParent.hasSuffix("/cloister"), "the fast path ran in \(fastParent)")
        #expect(fullParent.hasSuffix("/cloister-full"), "the full command ran in \(fullParent)")
        // cloister-full takes the name users know back, so ps and the scanner see "cloister".
        #expect(ProcFS.comm(fullProcess.pid) == "cloister")

        let fastStatus = try Self.status(fast)
        let fullStatus = try Self.status(full)
        for field in ["Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs",
                      "Seccomp", "Seccomp_filters", "Name"] {
            #expect(fastStatus[field] != nil, "\(field) missing")
            #expect(fastStatus[field] == fullStatus[field], "\(field): fast \(fastStatus[field] ?? "-"), full \(fullStatus[field] ?? "-")")
        }
        // PID 1 of its own PID namespace in both.
        #expect(fastStatus["NSpid"]?.split(separator: "\t").last == "1")
        #expect(fullStatus["NSpid"]?.split(separator: "\t").last == "1")
        #expect(fastStatus["Seccomp"] == "2")
        #expect(fastStatus["NoNewPrivs"] == "1")
        #expect(fastStatus["CapBnd"] == "0000000000000000")
        for file in ["uid_map", "gid_map", "setgroups"] {
            let fastText = try String(contentsOfFile: "/proc/\(fast)/\(file)", encoding: .utf8)
            #expect(fastText == (try String(contentsOfFile: "/proc/\(full)/\(file)", encoding: .utf8)), "\(file)")
        }
        for type in ["pid", "net", "mnt", "ipc", "uts", "user", "cgroup"] {
            let mine = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/\(type)")
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(fast)/ns/\(type)") != mine, "\(type)")
        }
        #expect(try Self.mounts(fast) == Self.mounts(full))
        #expect(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(fast)/fd").sorted() == ["0", "1", "2"])
        let fastLimits = try Self.limits(fast)
        #expect(fastLimits == (try Self.limits(full)))
        #expect(fastLimits.contains("pids.max=128"), "\(fastLimits)")

        // The scanner's whole reading of both, apart from identity and where the cgroup is.
        var fastPosture = try Cloister.scanWorkload(containing: fast)
        var fullPosture = try Cloister.scanWorkload(containing: full)
        for posture in [fastPosture, fullPosture] {
            #expect(posture.seccomp?.mode == .filter && posture.noNewPrivileges == true && posture.readOnlyRootfs == true)
        }
        for index in 0..<2 {
            var posture = index == 0 ? fastPosture : fullPosture
            posture.id = ""
            posture.pid = nil
            posture.processes = []
            posture.cgroup?.path = ""
            posture.exposure = nil
            if index == 0 { fastPosture = posture } else { fullPosture = posture }
        }
        #expect(fastPosture == fullPosture)
        #expect(fastProcess.isRunning && fullProcess.isRunning, "fast: \(fastProcess.log) full: \(fullProcess.log)")
    }

    @Test("the fast path's exit codes: the workload's, and 2 with the control named when it cannot start", .needsLaunch)
    func fastExitCodes() throws {
        let cloister = try Paths.cloisterExecutable().path
        let seven = try Shell.run([cloister, "launch", "--no-verify", "--", "sh", "-c", "exit 7"], check: false)
        #expect(seven.status == 7, "\(seven.stderr)")
        let missing = try Shell.run([cloister, "launch", "--no-verify", "--", "no-such-program-here"], check: false)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("cannot apply command: no-such-program-here is not an executable"), "\(missing.stderr)")
        // A blocked call fails under the built-in filter, as in the full command.
        let unshare = try Shell.run([cloister, "launch", "--no-verify", "--", "/usr/bin/unshare", "-n", "/bin/true"], check: false)
        #expect(unshare.status != 0)
    }

    @Test("the fast path: SIGTERM stops the workload, and its cgroups are removed", .needsLaunch)
    func fastStopCleansUp() throws {
        let (process, pid, _) = try Self.startSleeper(["--no-verify"])
        defer { process.stop() }
        // The workload's cgroup directories on the host, v1 or v2, from outside its namespace.
        var directories: [String] = []
        for line in try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8).split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2).map(String.init)
            guard parts.count == 3, parts[2].contains("/cloister/launch-") else { continue }
            let hierarchy = parts[1].isEmpty
                ? (FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") ? "" : "/unified")
                : "/" + (parts[1].split(separator: ",").first.map(String.init) ?? "")
            directories.append("/sys/fs/cgroup\(hierarchy)\(parts[2])")
        }
        #expect(!directories.isEmpty)
        for directory in directories { #expect(FileManager.default.fileExists(atPath: directory), "\(directory)") }
        kill(process.pid, SIGTERM)
        #expect(wait(timeout: 10) { !process.isRunning }, "cloister did not stop on SIGTERM")
        #expect(kill(pid, 0) != 0, "the workload outlived cloister")
        for directory in directories { #expect(!FileManager.default.fileExists(atPath: directory), "\(directory) left behind") }
    }

    @Test("other commands still work through the front: --version and a usage error exit 2")
    func delegates() throws {
        let cloister = try Paths.cloisterExecutable().path
        let version = try Shell.run([cloister, "--version"], check: false)
        #expect(version.status == 0)
        #expect(version.stdout.contains("0."), "\(version.stdout)")
        let bad = try Shell.run([cloister, "launch", "--no-verify", "--mode", "nope", "--", "/bin/true"], check: false)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--mode"), "\(bad.stderr)")
    }
}
