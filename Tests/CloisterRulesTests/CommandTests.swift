import Foundation
import Testing

/// `cloister rules …` run as a user would, for exit codes and messages.
enum CloisterBinary {
    static let path: String? = {
        let directory = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        for candidate in [directory, directory.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("cloister").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path ?? "cloister")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

@Suite("rules commands", .enabled(if: CloisterBinary.path != nil, "the cloister executable was not built beside the tests"))
struct CommandTests {
    @Test("rules test runs every case of the shipped pack and passes")
    func rulesTest() throws {
        let (status, output) = try CloisterBinary.run(["rules", "test", "--rules", Repository.rulesDirectory])
        #expect(status == 0, "\(output)")
        #expect(output.contains("case(s) passed across 45 rule(s)"))
    }

    @Test("rules lint: 0 clean, 1 problems named by file and line, 2 no such directory")
    func lintExitCodes() throws {
        #expect(try CloisterBinary.run(["rules", "lint", "--rules", Repository.rulesDirectory,
                                        "--policy", Repository.exposurePolicy]).status == 0)
        let directory = FileManagerHelper.temporaryDirectory()
        try "version: 1\nrules:\n  - id: x\n    title: t\n    severity: severe\n".write(
            toFile: directory + "/bad.yaml", atomically: true, encoding: .utf8)
        let (status, output) = try CloisterBinary.run(["rules", "lint", "--rules", directory])
        #expect(status == 1)
        #expect(output.contains(directory + "/bad.yaml:5:15: unknown severity `severe`"))
        #expect(try CloisterBinary.run(["rules", "lint", "--rules", directory + "/missing"]).status == 2)
    }

    @Test("rules show and list; an unknown rule is a usage error")
    func showAndList() throws {
        let shown = try CloisterBinary.run(["rules", "show", "esc-cgroup-release-agent", "--rules", Repository.rulesDirectory])
        #expect(shown.status == 0)
        #expect(shown.output.contains("CVE-2022-0492"))
        #expect(shown.output.contains("condition:   all("))
        let listed = try CloisterBinary.run(["rules", "list", "--kind", "vm", "--rules", Repository.rulesDirectory])
        #expect(listed.output.contains("vm-svirt-shared"))
        #expect(!listed.output.contains("ct-privileged"))
        #expect(try CloisterBinary.run(["rules", "show", "no-such-rule", "--rules", Repository.rulesDirectory]).status == 2)
    }
}
