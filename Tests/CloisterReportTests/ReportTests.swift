import CloisterModel
import CloisterReport
import CloisterResourceFiles
import CloisterRules
import Foundation
import Testing

enum Fixtures {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let pack: RulePack = {
        do { return try RulePack.load(directory: root + "/rules") } catch { fatalError("\(error.localizedDescription)") }
    }()

    static let policy: ExposurePolicy = {
        do { return try ExposurePolicy.load(path: root + "/policies/exposure.yaml") } catch {
            fatalError("\(error.localizedDescription)")
        }
    }()

    static var sarifSchema: String {
        Bundle.module.path(forResource: "sarif-schema-2.1.0", ofType: "json", inDirectory: "Fixtures")
            ?? root + "/Tests/CloisterReportTests/Fixtures/sarif-schema-2.1.0.json"
    }

    /// A hostile name: a terminal escape, a bidi override, markup, a pipe, a backtick, a newline.
    static let hostile = "evil\u{1B}[31m\u{202E}<script>alert(1)</script>|`x`&\"'\nname\u{FFFE}"

    /// A scan with live and declared workloads, findings from the shipped pack, one accepted.
    static func report() -> ScanReport {
        var open = HardenedPosture.make(kind: .container, id: "podman:open")
        open.name = hostile
        open.seccomp = Seccomp(mode: .disabled)
        open.namespaces.pid = .host
        open.mounts.append(Mount(source: "/dev/sda1", target: "/host", readOnly: false, type: "ext4", hostPath: "/"))
        var declared = HardenedPosture.make(kind: .container, id: "k8s:default/pod/web")
        declared.source = .declared
        declared.capabilities.bounding = ["CAP_SYS_ADMIN"]
        declared.location = SourceLocation(file: "deploy/web pod.yaml", line: 3)
        declared.fieldLocations = ["capabilities.bounding": SourceLocation(file: "deploy/web pod.yaml", line: 21, column: 13)]
        var guest = HardenedPosture.make(kind: .vm, id: "qemu:pid-4242")
        guest.hypervisor?.accelerator = "tcg"
        guest.hypervisor?.consoles = [Console(kind: "vnc", transport: "tcp", address: "0.0.0.0:5900", localOnly: false, password: false)]
        let scorer = ExposureScorer(policy: policy)
        let postures = scorer.scored([open, declared, guest])
        var findings = RuleEngine(pack: pack).evaluate(postures)
        let baseline = Baseline(entries: [Baseline.Entry(rule: "vm-tcg", workload: "qemu:*", reason: "lab guest", expires: "2999-01-01")])
        findings = baseline.apply(to: findings, postures: postures)
        var host = HostFacts()
        host.hostname = "build-7"
        host.kernel = "Linux"
        host.kernelVersion = "6.1.0-28-amd64"
        host.lsms = ["lockdown", "capability", "landlock", "yama", "apparmor"]
        host.cgroupVersion = "v2"
        return ScanReport(
            scannedAt: "2026-11-22T14:00:00Z", host: host, workloads: postures, findings: findings,
            issues: [ScanIssue(pid: 99, message: "process 99 exited during the scan")])
    }

    static func write(_ bytes: [UInt8], suffix: String) throws -> String {
        let path = NSTemporaryDirectory() + "cloister-report-" + UUID().uuidString + suffix
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Runs python3 with a script; returns (status, output).
    static func python(_ script: String, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static let hasJSONSchema: Bool = {
        (try? python("import jsonschema", []))?.0 == 0
    }()
}

@Suite("Reports")
struct ReportTests {
    let report = Fixtures.report()

    @Test("SARIF validates against the official 2.1.0 schema (needs python3 with jsonschema: pip install jsonschema)",
          .enabled(if: Fixtures.hasJSONSchema, "python3 -m pip install jsonschema to run this test"))
    func sarifValidates() throws {
        let bytes = try Report.render(format: .sarif, report: report, rules: Fixtures.pack)
        let path = try Fixtures.write(bytes, suffix: ".sarif")
        let script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            log = json.load(open(sys.argv[2]))
            validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
            errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
            for error in errors[:10]:
                print("/".join(map(str, error.path)), error.message)
            sys.exit(1 if errors else 0)
            """
        let (status, output) = try Fixtures.python(script, [Fixtures.sarifSchema, path])
        #expect(status == 0, "\(output)")
        // Also without rule metadata (rules synthesised from the findings).
        let bare = try Fixtures.write(try Report.render(format: .sarif, report: report), suffix: ".sarif")
        let (bareStatus, bareOutput) = try Fixtures.python(script, [Fixtures.sarifSchema, bare])
        #expect(bareStatus == 0, "\(bareOutput)")
    }

    @Test("SARIF carries the tool name, rule metadata with help, and the declared line")
    func sarifContent() throws {
        let bytes = try Report.render(format: .sarif, report: report, rules: Fixtures.pack)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object["version"] as? String == "2.1.0")
        let run = try #require((object["runs"] as? [[String: Any]])?.first)
        let driver = try #require((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
        #expect(driver["name"] as? String == "cloister")
        let rules = try #require(driver["rules"] as? [[String: Any]])
        #expect(rules.count == Fixtures.pack.rules.count)
        for rule in rules {
            let help = try #require(rule["help"] as? [String: Any])
            #expect((help["text"] as? String)?.isEmpty == false)
            #expect(rule["shortDescription"] != nil)
        }
        let results = try #require(run["results"] as? [[String: Any]])
        let declared = try #require(results.first {
            $0["ruleId"] as? String == "ct-cap-added"
                && ($0["properties"] as? [String: Any])?["workload"] as? String == "k8s:default/pod/web"
        })
        let physical = try #require(((declared["locations"] as? [[String: Any]])?.first)?["physicalLocation"] as? [String: Any])
        #expect((physical["artifactLocation"] as? [String: Any])?["uri"] as? String == "deploy/web%20pod.yaml")
        #expect((physical["region"] as? [String: Any])?["startLine"] as? Int == 21)
        let suppressed = results.filter { $0["suppressions"] != nil }
        #expect(suppressed.count == 1)
    }

    @Test("JSON is the contract: schema, workloads with exposure, findings")
    func json() throws {
        let bytes = try Report.render(format: .json, report: report)
        let decoded = try JSONDecoder().decode(ScanReport.self, from: Data(bytes))
        #expect(decoded == report)
        #expect(decoded.schema == "cloister.scan/v1")
        #expect(decoded.workloads.allSatisfy { $0.exposure != nil })
    }

    @Test("The table escapes hostile strings for the terminal")
    func table() throws {
        let text = String(decoding: try Report.render(format: .table, report: report), as: UTF8.self)
        #expect(!text.contains("\u{1B}"))
        #expect(!text.contains("\u{202E}"))
        #expect(text.contains("evil\\x1b[31m"))
        #expect(text.contains("(accepted)"))
        #expect(text.contains("ct-sensitive-mount-rw"))
    }

    @Test("JUnit XML is well-formed, escapes, and counts failures and accepted findings",
          .enabled(if: (try? Fixtures.python("import xml.dom.minidom", []))?.0 == 0, "needs python3"))
    func junit() throws {
        var hostileReport = report
        hostileReport.findings[0].message = Fixtures.hostile + "\u{01}"
        let bytes = try Report.render(format: .junit, report: hostileReport, rules: Fixtures.pack)
        let path = try Fixtures.write(bytes, suffix: ".xml")
        let (status, output) = try Fixtures.python("""
            import sys, xml.dom.minidom
            document = xml.dom.minidom.parse(sys.argv[1])
            root = document.documentElement
            print(root.getAttribute("tests"), root.getAttribute("failures"), root.getAttribute("skipped"))
            """, [path])
        #expect(status == 0, "\(output)")
        let unaccepted = report.findings.filter { $0.accepted == nil }.count
        let parts = output.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(parts.count == 3)
        #expect(parts.count == 3 && parts[1] == String(unaccepted))
        #expect(parts.count == 3 && parts[2] == "1")
    }

    @Test("Markdown escapes table pipes, backticks and markup from workloads")
    func markdown() throws {
        let text = String(decoding: try Report.render(format: .markdown, report: report, rules: Fixtures.pack), as: UTF8.self)
        #expect(text.contains("# cloister audit report"))
        #expect(text.contains("build-7"))
        #expect(text.contains("2026-11-22T14:00:00Z"))
        #expect(text.contains("\\|\\`x\\`"))
        #expect(!text.contains("<script>"))
        #expect(text.contains("CVE-2022-0185"))
        let workloadRow = try #require(text.split(separator: "\n").first { $0.hasPrefix("| podman:open") })
        // Seven columns: eight unescaped pipes.
        let unescapedPipes = workloadRow.enumerated().filter { index, character in
            character == "|" && (index == 0 || Array(workloadRow)[index - 1] != "\\")
        }.count
        #expect(unescapedPipes == 8)
    }

    @Test("HTML is self-contained and escapes everything from workloads")
    func html() throws {
        let text = String(decoding: try Report.render(format: .html, report: report, rules: Fixtures.pack), as: UTF8.self)
        #expect(text.hasPrefix("<!DOCTYPE html>"))
        // The page's own filter script, and no other.
        #expect(text.components(separatedBy: "<script").count == 2)
        #expect(!text.contains("<script>alert"))
        #expect(text.contains("&lt;script&gt;"))
        #expect(!text.contains("\u{1B}"))
        #expect(!text.contains("src=\"http"))
        #expect(text.contains("Exposure"))
        #expect(text.contains("Accepted:"))
        #expect(text.contains("build-7"))
    }
}

@Suite("Problems grouped in the human formats")
struct IssueGroupingTests {
    /// Five workloads whose pids limit cannot be read, one (hostile) of them also without a user;
    /// and a process that went away. The JSON keeps every issue; the human formats say each
    /// undecided rule once with the workloads it covers.
    static func report() -> ScanReport {
        var postures: [Posture] = []
        var issues: [ScanIssue] = []
        for index in 0..<5 {
            var posture = HardenedPosture.make(kind: .container, id: "k8s:Pod/default/job-\(index)/main")
            posture.name = index == 4 ? Fixtures.hostile : "job-\(index)"
            postures.append(posture)
            let reason = "cgroup.pidsMax: set per node by the kubelet"
            issues.append(ScanIssue(
                workload: posture.id, message: "rule ct-no-pids-limit was not decided for \(posture.id): \(reason)",
                rule: "ct-no-pids-limit", reason: reason))
        }
        issues.append(ScanIssue(
            workload: postures[4].id, message: "rule ct-root-no-userns was not decided for \(postures[4].id): user.uid: the image's USER",
            rule: "ct-root-no-userns", reason: "user.uid: the image's USER"))
        issues.append(ScanIssue(pid: 77, message: "process 77 exited during the scan"))
        return ScanReport(scannedAt: "2026-12-07T15:00:00Z", host: HostFacts(), workloads: postures, findings: [], issues: issues)
    }

    @Test("HTML: one entry per rule and reason, every workload linked, names escaped")
    func html() throws {
        let text = String(decoding: try Report.render(format: .html, report: Self.report(), rules: Fixtures.pack), as: UTF8.self)
        #expect(text.components(separatedBy: "was not decided on 5 workloads: cgroup.pidsMax").count == 2)
        #expect(!text.contains("was not decided for k8s:Pod/default/job-0/main"))
        // A rule undecided on one workload keeps its own sentence.
        #expect(text.contains("rule ct-root-no-userns was not decided for k8s:Pod/default/job-4/main"))
        #expect(text.contains("PID 77: process 77 exited during the scan"))
        #expect(text.contains("<summary>the 5 workloads</summary>"))
        for index in 0..<4 { #expect(text.contains(">job-\(index)</a>")) }
        #expect(!text.contains("<script>alert"))
        #expect(!text.contains("\u{1B}"))
    }

    @Test("Markdown: one line per rule and reason naming every workload")
    func markdown() throws {
        let text = String(decoding: try Report.render(format: .markdown, report: Self.report(), rules: Fixtures.pack), as: UTF8.self)
        let lines = text.split(separator: "\n").filter { $0.contains("ct-no-pids-limit") }
        #expect(lines.count == 1)
        let line = try #require(lines.first)
        for index in 0..<5 { #expect(line.contains("job-\(index)")) }
        #expect(line.contains("on 5 workloads"))
    }

    @Test("Terminal: names cut to three with a count, all of them with --verbose")
    func table() throws {
        // Lines are wrapped to the terminal's width: compare with whitespace runs made one space.
        func words(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        let plain = words(try Report.render(format: .table, report: Self.report()))
        #expect(plain.contains("(job-0, job-1, job-2 and 2 more)"))
        #expect(!plain.contains("was not decided for k8s:Pod/default/job-1/main"))
        let verbose = words(try Report.render(format: .table, report: Self.report(), verbose: true))
        #expect(!verbose.contains("more)"))
        #expect(verbose.contains("job-3"))
        #expect(!verbose.contains("\u{1B}"))
    }

    @Test("JSON keeps every issue, with its rule and reason")
    func json() throws {
        let bytes = try Report.render(format: .json, report: Self.report())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let issues = try #require(object["issues"] as? [[String: Any]])
        #expect(issues.count == 7)
        #expect(issues.filter { $0["rule"] as? String == "ct-no-pids-limit" }.count == 5)
        #expect(issues.last?["rule"] == nil)
    }
}
