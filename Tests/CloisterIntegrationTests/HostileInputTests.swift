import CloisterModel
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Workloads are hostile: they choose their names, labels, cgroup and mount paths, and their
/// `/proc` entries vanish between reads. These tests write such inputs into a copy of a
/// captured host tree and run the real `cloister scan --root` on it (no root needed).
@Suite("hostile input")
struct HostileInputTests {
    static let rules = Paths.repositoryRoot.appendingPathComponent("rules").path
    static let policy = Paths.repositoryRoot.appendingPathComponent("policies/exposure.yaml").path

    /// A copy of a fixture tree; removed by the caller.
    func copyOfFixture(_ name: String) throws -> URL {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-hostile-\(UUID().uuidString)")
        try Shell.run([
            "cp", "-a", Paths.repositoryRoot.appendingPathComponent("Tests/CloisterInspectTests/Fixtures/\(name)").path, copy.path,
        ])
        return copy
    }

    func scan(_ tree: URL, _ extra: [String] = []) throws -> CommandResult {
        try Shell.run(
            [try Paths.cloisterExecutable().path, "scan", "--root", tree.path, "--rules", Self.rules, "--policy", Self.policy]
                + extra, timeout: 120, check: false)
    }

    func append(_ bytes: [UInt8], to file: URL) throws {
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(bytes))
    }

    /// web1 (PID 17518): a mount path, an AppArmor label and a cgroup path with terminal
    /// escapes, a newline and invalid UTF-8, and an 8 MiB command line.
    @Test func hostileMountPathsLabelsCgroupsAndHugeCommandLines() throws {
        let tree = try copyOfFixture("apparmor-host")
        defer { try? FileManager.default.removeItem(at: tree) }
        let process = tree.appendingPathComponent("proc/17518")
        // The kernel writes a newline in a mount path as \012; ESC, BEL and 0xFF it writes raw.
        try append(
            Array("999 27 0:99 / /data/ev\u{1B}[31mil\\012x".utf8) + [0xFF]
                + Array(" rw,relatime - tmpfs tm\u{1B}]0;pwn\u{07} rw\n".utf8),
            to: process.appendingPathComponent("mountinfo"))
        let label = Data("ev\u{1B}[31mil\u{1B}[2J (enforce)\n".utf8)
        try label.write(to: process.appendingPathComponent("attr/current"))
        if FileManager.default.fileExists(atPath: process.appendingPathComponent("attr/apparmor/current").path) {
            try label.write(to: process.appendingPathComponent("attr/apparmor/current"))
        }
        let cgroup = try String(contentsOf: process.appendingPathComponent("cgroup"), encoding: .utf8)
        try cgroup.replacingOccurrences(of: "c9c4\n", with: "c9c4/\u{1B}[2Jx\n")
            .write(to: process.appendingPathComponent("cgroup"), atomically: true, encoding: .utf8)
        try Data(Array("sleep\0".utf8) + [UInt8](repeating: 0x41, count: 8 << 20) + Array("\u{1B}[31m\0".utf8))
            .write(to: process.appendingPathComponent("cmdline"))

        for extra in [[], ["--verbose"], ["--format", "markdown"]] {
            let result = try scan(tree, extra)
            #expect(result.status == 0, "\(extra): \(result.stderr)")
            // Nothing a workload wrote reaches the terminal as a control character.
            #expect(!result.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, "\(extra)")
            // What is read is bounded: 8 MiB of command line does not become 8 MiB of output.
            #expect(result.stdout.utf8.count < 1 << 20, "\(extra)")
        }
        // The label in full, escaped: in --verbose (the default table clips columns to fit 100).
        #expect(try scan(tree, ["--verbose"]).stdout.contains("aa:ev\\x1b[31mil\\x1b[2J"))

        let json = try scan(tree, ["--format", "json"])
        #expect(json.status == 0)
        let report = try JSONDecoder().decode(ScanReport.self, from: Data(json.stdout.utf8))
        let web = try #require(report.workloads.first { $0.name == "web1" })
        // In JSON the text is data, kept whole: the escape as the workload wrote it, the
        // octal newline undone, the invalid byte as \xff (never U+FFFD).
        #expect(web.mounts.contains { $0.target == "/data/ev\u{1B}[31mil\nx\\xff" })
        #expect(web.mac.apparmor?.profile == "ev\u{1B}[31mil\u{1B}[2J")
        // The hostile cgroup path has no limit files: unknown, not guessed.
        #expect(web.unknown["cgroup.memoryMax"] != nil)
        #expect(web.command.joined().utf8.count < 64 << 10)
    }

    /// A cgroup path with an invalid UTF-8 byte, beside decoy cgroups named as its U+FFFD and
    /// its `\xff` spellings with a tight memory limit: the path is shown escaped, and its limits
    /// are unknown rather than read from a decoy the workload could have made.
    @Test func invalidUTF8CgroupPathIsShownButNeverOpenedThroughADecoy() throws {
        let tree = try copyOfFixture("apparmor-host")
        defer { try? FileManager.default.removeItem(at: tree) }
        let container = "libpod_parent/libpod-aca08a9156cb9e45065545a5dc3f9fc13b95840e2bc180db6844e6fdb9d3c9c4"
        let cgroupFile = tree.appendingPathComponent("proc/17518/cgroup")
        let original = try String(contentsOf: cgroupFile, encoding: .utf8)
        var bytes: [UInt8] = []
        for line in original.split(separator: "\n") {
            bytes += Array(line.utf8) + Array("/x".utf8) + [0xFF] + [0x0A]
        }
        try Data(bytes).write(to: cgroupFile)
        for decoy in ["x\u{FFFD}", "x\\xff"] {
            let directory = tree.appendingPathComponent("sys/fs/cgroup/memory/\(container)/\(decoy)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data("4096\n".utf8).write(to: directory.appendingPathComponent("memory.limit_in_bytes"))
        }
        let json = try scan(tree, ["--format", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        let report = try JSONDecoder().decode(ScanReport.self, from: Data(json.stdout.utf8))
        let web = try #require(report.workloads.first { $0.name == "web1" })
        #expect(web.cgroup?.memoryMax != .value(4096), "a decoy's limit was read")
        #expect(web.cgroup == nil)
        #expect(web.unknown["cgroup"]?.contains("/\(container)/x\\xff is not valid UTF-8") == true, "\(web.unknown)")
    }

    /// Files of a process that vanish between the listing and the reads: a workload whose
    /// namespace links and mount table are gone is shown with those fields unknown; one whose
    /// only process is gone is not reported at all, never as a half-read posture.
    @Test func procEntriesThatVanishMidScan() throws {
        let tree = try copyOfFixture("hybrid-host")
        defer { try? FileManager.default.removeItem(at: tree) }
        let priv1 = tree.appendingPathComponent("proc/17616")
        try FileManager.default.removeItem(at: priv1.appendingPathComponent("mountinfo"))
        try FileManager.default.removeItem(at: priv1.appendingPathComponent("ns"))
        try FileManager.default.removeItem(at: tree.appendingPathComponent("proc/18041/status"))

        let result = try scan(tree, ["--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONDecoder().decode(ScanReport.self, from: Data(result.stdout.utf8))
        #expect(!report.workloads.contains { $0.name == "hard1" })
        let privileged = try #require(report.workloads.first { $0.name == "priv1" })
        #expect(privileged.mounts.isEmpty)
        #expect(privileged.unknown["mounts"] != nil && privileged.unknown["readOnlyRootfs"] != nil)
        for namespace in ["pid", "net", "mnt", "ipc", "uts", "user", "cgroup"] {
            #expect(privileged.unknown["namespaces.\(namespace)"] != nil, "namespaces.\(namespace)")
        }
        // Rules that read what vanished are reported as undecided, not fired or passed.
        #expect(report.issues.contains { $0.workload == privileged.id && $0.message.contains("ct-host-pid") })
        #expect(!report.findings.contains { $0.workload == privileged.id && $0.rule == "ct-host-pid" })
    }
}

/// The scanner keeps only what reading needs, and works without privileges, saying what it
/// could not see.
@Suite("least privilege", .serialized)
struct LeastPrivilegeTests {
    @Test(.enabled(if: Host.requires(Host.isRoot), "needs root: checks which capabilities a root scan keeps"))
    func rootScanKeepsOnlyPtraceAndDacReadSearch() throws {
        let report = try Cloister.scan()
        #expect(report.host.scannerCapabilities == ["CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE"])
        #expect(!report.issues.contains { $0.message.contains("cloister ran without") })
    }

    /// Root writes its report into a directory another user owns: CAP_DAC_OVERRIDE is kept
    /// dormant and raised only for that write, so it is not among what the scan read with.
    @Test(.enabled(if: Host.requires(Host.isRoot), "needs root: writes into a directory nobody owns"))
    func outputIntoAnotherUsersDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-owned-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Shell.run(["chown", "nobody", directory.path])
        try Shell.run(["chmod", "755", directory.path])
        let output = directory.appendingPathComponent("scan.json")
        let result = try Shell.run(
            [try Paths.cloisterExecutable().path, "scan", "--format", "json", "--output", output.path,
             "--rules", HostileInputTests.rules, "--policy", HostileInputTests.policy], timeout: 120, check: false)
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONDecoder().decode(ScanReport.self, from: try Data(contentsOf: output))
        #expect(report.host.scannerCapabilities == ["CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE"])
    }

    /// As `nobody`, from a world-readable copy of the executable, rules and policy (the
    /// checkout may sit under a directory only root can enter).
    @Test(.enabled(if: Host.requires(Host.isRoot && Shell.has("setpriv")), "needs root and setpriv to become nobody"))
    func unprivilegedScanWorksAndReportsReducedCoverage() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-nobody-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // The front and, beside it, cloister-full, which it execs for scan.
        let executable = try Paths.cloisterExecutable()
        try Shell.run(["cp", executable.path, directory.appendingPathComponent("cloister").path])
        try Shell.run([
            "cp", executable.deletingLastPathComponent().appendingPathComponent("cloister-full").path,
            directory.appendingPathComponent("cloister-full").path,
        ])
        try Shell.run(["cp", "-r", HostileInputTests.rules, directory.appendingPathComponent("rules").path])
        try Shell.run(["cp", HostileInputTests.policy, directory.appendingPathComponent("exposure.yaml").path])
        try Shell.run(["chmod", "-R", "a+rX", directory.path])

        // A root-owned workload the unprivileged scan cannot inspect.
        let container = try? PodmanContainer.run("nobody")
        defer { container?.stop() }

        let result = try Shell.run(
            [
                "setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "--inh-caps", "-all",
                directory.appendingPathComponent("cloister").path, "scan", "--format", "json",
                "--rules", directory.appendingPathComponent("rules").path,
                "--policy", directory.appendingPathComponent("exposure.yaml").path,
            ], timeout: 120, check: false)
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONDecoder().decode(ScanReport.self, from: Data(result.stdout.utf8))
        #expect(report.host.scannerCapabilities == [])
        #expect(report.issues.contains {
            $0.message.contains("cloister ran without CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH")
        })
        // What it did show is not guessed: each workload it could not fully read lists why.
        for workload in report.workloads where workload.pid.map({ !ownedByNobody($0) }) ?? false {
            #expect(!workload.unknown.isEmpty, "\(workload.id) shown with nothing unknown")
        }
    }

    func ownedByNobody(_ pid: Int) -> Bool {
        var status = stat()
        return stat("/proc/\(pid)", &status) == 0 && status.st_uid == 65534
    }
}

/// Fail closed and lose nothing: a run killed at any moment leaves the previous report whole.
@Suite("interrupted runs")
struct InterruptedRunTests {
    @Test func killedRunsLeaveThePreviousReportWhole() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-kill-\(UUID().uuidString)")
        let manifests = directory.appendingPathComponent("manifests")
        try FileManager.default.createDirectory(at: manifests, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Enough documents that a check takes a while, so kills land mid-run and mid-write.
        let fixtures = Paths.repositoryRoot.appendingPathComponent("Tests/CloisterCheckTests/Fixtures/kubernetes")
        let names = try FileManager.default.contentsOfDirectory(atPath: fixtures.path).filter { $0.hasSuffix(".yaml") }
        for copy in 0..<150 {
            for name in names {
                try FileManager.default.copyItem(
                    at: fixtures.appendingPathComponent(name), to: manifests.appendingPathComponent("\(copy)-\(name)"))
            }
        }
        let output = directory.appendingPathComponent("check.json")
        let arguments = [try Paths.cloisterExecutable().path, "check", manifests.path, "--format", "json", "--output", output.path]
        let started = Date()
        try Shell.run(arguments, timeout: 300, check: false)
        let duration = Date().timeIntervalSince(started)
        let complete = try Data(contentsOf: output)
        #expect(try JSONSerialization.jsonObject(with: complete) is [String: Any])

        for attempt in 0..<8 {
            let run = try BackgroundProcess(arguments, log: directory.appendingPathComponent("log"))
            Thread.sleep(forTimeInterval: duration * Double(attempt + 1) / 9)
            kill(run.pid, SIGKILL)
            run.stop()
            // The old report, or a whole new one (the run finished first): never a part.
            let now = try Data(contentsOf: output)
            #expect(now == complete, "attempt \(attempt): the report changed after a kill")
        }
    }
}
