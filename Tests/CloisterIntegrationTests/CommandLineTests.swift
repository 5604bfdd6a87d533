import CloisterModel
import Foundation
import Testing

/// The command line as a user and a CI pipeline meet it: help, exit codes, bad input, and
/// scanning a captured tree (no root or workloads needed).
@Suite("command line")
struct CommandLineTests {
    static var fixture: String {
        Paths.repositoryRoot.appendingPathComponent("Tests/CloisterInspectTests/Fixtures/hybrid-host").path
    }

    func cloister(_ arguments: [String]) throws -> CommandResult {
        try Shell.run([try Paths.cloisterExecutable().path] + arguments, timeout: 120, check: false)
    }

    @Test(arguments: [["--help"], ["scan", "--help"], ["rules", "--help"], ["help", "advise"], ["--version"]])
    func helpAndVersionExitZero(arguments: [String]) throws {
        let result = try cloister(arguments)
        #expect(result.status == 0)
        #expect(!result.stdout.isEmpty)
        #expect(!result.stderr.contains("CommandError"))
    }

    @Test(arguments: [["scan", "--bogus"], ["scan", "--fail-on", "extreme"], ["scan", "--max-exposure", "11"], ["frobnicate"]])
    func usageErrorsExitTwo(arguments: [String]) throws {
        let result = try cloister(arguments)
        #expect(result.status == 2)
        #expect(!result.stderr.isEmpty)
    }

    @Test func scanOfACapturedTreeFollowsTheContract() throws {
        let result = try cloister(["scan", "--root", Self.fixture, "--format", "json"])
        #expect(result.status == 0)
        let report = try JSONDecoder().decode(ScanReport.self, from: Data(result.stdout.utf8))
        #expect(report.schema == "cloister.scan/v1")
        #expect(report.workloads.count == 5)
        #expect(report.workloads.allSatisfy { $0.exposure != nil })
        // Every finding names a workload that is in the report.
        let ids = Set(report.workloads.map(\.id))
        #expect(!report.findings.isEmpty)
        #expect(report.findings.allSatisfy { ids.contains($0.workload) || $0.workload == "host" })
    }

    @Test func gateExitCodes() throws {
        #expect(try cloister(["scan", "--root", Self.fixture, "--fail-on", "critical"]).status == 1)
        #expect(try cloister(["scan", "--root", Self.fixture, "--max-exposure", "10"]).status == 0)
        #expect(try cloister(["scan", "--root", Self.fixture, "--max-exposure", "2.0"]).status == 1)
        // A process that is no workload is an input error, named.
        let notAWorkload = try cloister(["scan", "--root", Self.fixture, "--pid", "1"])
        #expect(notAWorkload.status == 2)
        #expect(notAWorkload.stderr.contains("PID 1"))
    }

    @Test func outputIsWrittenAtomicallyAndAFailedRunLeavesTheOldFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("scan.json").path
        #expect(try cloister(["scan", "--root", Self.fixture, "--format", "json", "--output", output]).status == 0)
        let first = try String(contentsOfFile: output, encoding: .utf8)
        #expect(first.hasPrefix("{"))
        // A bad rules directory fails before anything is written: the old report stays whole.
        let failed = try cloister(["scan", "--root", Self.fixture, "--format", "json", "--output", output, "--rules", "/nonexistent"])
        #expect(failed.status == 2)
        #expect(try String(contentsOfFile: output, encoding: .utf8) == first)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(leftovers == ["scan.json"])
    }

    /// The completion scripts the Containerfile installs: generated from the command tree, so
    /// every subcommand and flag is in them; bash's parses.
    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScripts(shell: String) throws {
        let result = try cloister(["--generate-completion-script", shell])
        #expect(result.status == 0)
        for word in ["scan", "check", "report", "group-by", "format"] {
            #expect(result.stdout.contains(word), "\(shell) completion lacks \(word)")
        }
        if shell == "bash" {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-completion-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let script = directory.appendingPathComponent("cloister.bash")
            try result.stdout.write(to: script, atomically: true, encoding: .utf8)
            let syntax = try Shell.run(["bash", "-n", script.path], check: false)
            #expect(syntax.status == 0, "\(syntax.stderr)")
        }
    }

    @Test func reportRendersSavedScansAndMergesNodes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let saved = directory.appendingPathComponent("node.json").path
        #expect(try cloister(["scan", "--root", Self.fixture, "--format", "json", "--output", saved]).status == 0)
        // One file renders as the scan did; three (the same scan as three nodes) merge.
        let table = try cloister(["report", saved])
        #expect(table.status == 0)
        #expect(table.stdout.contains("findings by workload:"))
        let merged = directory.appendingPathComponent("fleet.sarif").path
        let fleet = try cloister(["report", "--format", "sarif", "--output", merged, "a=\(saved)", "b=\(saved)", "c=\(saved)"])
        #expect(fleet.status == 0, "\(fleet.stderr)")
        let log = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: merged))) as? [String: Any])
        #expect((log["runs"] as? [Any])?.count == 3)
        let json = try cloister(["report", "--format", "json", "a=\(saved)", "b=\(saved)"])
        #expect(json.stdout.hasPrefix("{\"schema\":\"cloister.fleet/v1\""))
        // A truncated input is named, exit 2, and the old output is left as it was.
        let truncated = directory.appendingPathComponent("cut.json").path
        let bytes = try Data(contentsOf: URL(fileURLWithPath: saved))
        try bytes.prefix(bytes.count / 3).write(to: URL(fileURLWithPath: truncated))
        let before = try Data(contentsOf: URL(fileURLWithPath: merged))
        let failed = try cloister(["report", "--format", "sarif", "--output", merged, saved, truncated])
        #expect(failed.status == 2)
        #expect(failed.stderr.contains("\(truncated): is not a whole JSON document"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: merged)) == before)
        // The same node twice is refused rather than merged under one name.
        let twice = try cloister(["report", saved, saved])
        #expect(twice.status == 2)
        #expect(twice.stderr.contains("NAME=FILE"))
    }

    @Test func hostileNamesAreEscapedInTheTable() throws {
        // The fixture's names are ordinary; a hostile one is written into a copy of the tree.
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-hostile-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: copy) }
        try Shell.run(["cp", "-a", Self.fixture, copy.path])
        let status = copy.appendingPathComponent("proc/16467/status")
        var text = try String(contentsOf: status, encoding: .utf8)
        text = text.replacingOccurrences(of: "Name:\tsleep", with: "Name:\tev\u{1B}[31mil\u{1B}]0;x\u{7}")
        try text.write(to: status, atomically: true, encoding: .utf8)
        // argv[0] names the sandbox: escape sequences, a newline and invalid UTF-8 in it.
        let hostileArgument: [UInt8] = Array("ev\u{1B}[31mil\n".utf8) + [0xFF, 0x00] + Array("1000".utf8) + [0x00]
        try Data(hostileArgument).write(to: copy.appendingPathComponent("proc/16467/cmdline"))
        let result = try cloister(["scan", "--root", copy.path])
        #expect(result.status == 0)
        #expect(!result.stdout.contains("\u{1B}"))
        #expect(result.stdout.contains("ev\\x1b[31mil\\n\\xff"))
    }
}
