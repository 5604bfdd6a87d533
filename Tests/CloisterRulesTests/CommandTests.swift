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
        #expect(output.contains("case(s) passed across 69 rule(s)"))
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
        #expect(!listed.output.contains("docker-icc-enabled"), "host rules have no workload kind")
        let all = try CloisterBinary.run(["rules", "list", "--rules", Repository.rulesDirectory])
        #expect(all.output.contains("host-cve-2024-21626"))
        #expect(all.output.contains("libvirt-security-driver-none"))
        let host = try CloisterBinary.run(["rules", "show", "host-cve-2024-21626", "--rules", Repository.rulesDirectory])
        #expect(host.status == 0)
        #expect(host.output.contains("applies to:  the host (component runc)"))
        let kernel = try CloisterBinary.run(["rules", "show", "host-cve-2022-0185", "--rules", Repository.rulesDirectory])
        #expect(kernel.output.contains("the running kernel's version"))
        #expect(kernel.output.contains("(medium where host.unprivilegedUserNamespaces is false)"))
        let daemon = try CloisterBinary.run(["rules", "show", "docker-no-userns-remap", "--rules", Repository.rulesDirectory])
        #expect(daemon.output.contains("CIS Docker Benchmark 1.6.0, recommendation 2.9"))
        #expect(daemon.output.contains("CIS Docker Benchmark 1.8.0, recommendation 2.10"))
        #expect(try CloisterBinary.run(["rules", "show", "no-such-rule", "--rules", Repository.rulesDirectory]).status == 2)
    }

    @Test("rules list, show, test and lint speak JSON with a schema name; the PSS controls are listed as decided by their data")
    func json() throws {
        func object(_ arguments: [String]) throws -> (status: Int32, json: [String: Any]) {
            let (status, output) = try CloisterBinary.run(arguments + ["--rules", Repository.rulesDirectory, "--format", "json"])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
            return (status, json)
        }
        let list = try object(["rules", "list"])
        #expect(list.json["schema"] as? String == "cloister.rules/v1")
        let rules = try #require(list.json["rules"] as? [[String: Any]])
        #expect(rules.contains { $0["id"] as? String == "ct-host-pid" && $0["decidedBy"] as? String == "rules" })
        #expect(rules.contains { $0["id"] as? String == "pss-baseline-host-namespaces" && $0["decidedBy"] as? String == "pod-security-standards" })
        // The host rules (host/daemons.yaml, host/advisories.yaml) are listed beside the pack's.
        #expect(rules.contains { $0["id"] as? String == "docker-icc-enabled" && $0["decidedBy"] as? String == "host-configuration" })
        let advisories = rules.filter { $0["decidedBy"] as? String == "host-advisories" }
        #expect(!advisories.isEmpty)
        #expect(advisories.allSatisfy { ($0["id"] as? String)?.hasPrefix("host-cve-") == true })
        let hostShow = try object(["rules", "show", "docker-icc-enabled"])
        #expect(hostShow.status == 0)
        #expect(hostShow.json["daemon"] as? String == "dockerd")
        #expect((hostShow.json["references"] as? [[String: Any]])?.contains { $0["id"] as? String == "2.2" } == true)
        let show = try object(["rules", "show", "ct-host-pid"])
        #expect(show.json["schema"] as? String == "cloister.rule/v1")
        #expect((show.json["reads"] as? [String]) == ["namespaces.pid"])
        let test = try object(["rules", "test"])
        #expect(test.status == 0)
        #expect(test.json["schema"] as? String == "cloister.rules-test/v1")
        #expect(test.json["failed"] as? Int == 0)
        #expect((test.json["results"] as? [Any])?.count == test.json["cases"] as? Int)
        let lint = try object(["rules", "lint"])
        #expect(lint.status == 0)
        #expect(lint.json["schema"] as? String == "cloister.rules-lint/v1")
        #expect((lint.json["files"] as? [String])?.contains { $0.hasSuffix("pss/pod-security-standards.yaml") } == true)
    }
}
