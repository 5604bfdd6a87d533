import CloisterModel
import CloisterReport
import CloisterRules
import Foundation
import Testing

/// Debian's chromium, headless: the real browser the HTML report is loaded in.
enum Chromium {
    static let path = "/usr/bin/chromium"
    static let available = FileManager.default.isExecutableFile(atPath: path)

    /// Runs chromium headless on `url` with `arguments` (`--dump-dom`, `--screenshot=…`) and
    /// returns what it printed. Its profile lives in `directory`, so runs never share state.
    static func run(_ arguments: [String], url: URL, directory: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = [
            "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--hide-scrollbars",
            "--user-data-dir=\(directory.appendingPathComponent("profile").path)",
        ] + arguments + [url.absoluteString]
        let output = directory.appendingPathComponent("chromium-\(UUID().uuidString).out")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = FileHandle.nullDevice
        try process.run()
        // A browser that hangs fails the test instead of the whole run.
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        try handle.close()
        return String(decoding: try Data(contentsOf: output), as: UTF8.self)
    }

    static func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }
}

enum HTMLFixtures {
    /// `count` workloads as a busy host has them: mostly engine defaults, some hardened,
    /// user-namespaced, a few privileged.
    static func report(workloads count: Int, hostileEvery: Int = 0) -> ScanReport {
        let postures = (0..<count).map { index -> Posture in
            var posture: Posture = switch index % 10 {
            case 0: TerminalFixtures.privileged(id: "docker:p\(index)", name: "priv-\(index)")
            case 1, 2: TerminalFixtures.hardened(id: "podman:h\(index)", name: "locked-\(index)")
            case 3: TerminalFixtures.userNamespaced(id: "podman:u\(index)", name: "rootless-\(index)")
            default: TerminalFixtures.defaults(id: "docker:d\(index)", name: "web-\(index)")
            }
            if hostileEvery > 0, index % hostileEvery == 0 { posture.name = HTMLFixtures.hostile + String(index) }
            return posture
        }
        return TerminalFixtures.report(postures)
    }

    /// Markup that would end the page's style or open a script, quotes that would end an
    /// attribute, and a terminal escape.
    static let hostile = "</style><script>alert(\"x\")</script>'\" onload=\"alert(1)\u{1B}[31m"

    static func directory() throws -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("cloister-html-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ report: ScanReport, to directory: URL, name: String = "report.html") throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(try Report.render(format: .html, report: report, rules: Fixtures.pack)).write(to: url)
        return url
    }
}

@Suite("HTML report")
struct HTMLReportTests {
    @Test("Order: overview (severity, runtime, chart, worst findings), then by rule, then folded workloads")
    func order() throws {
        let report = HTMLFixtures.report(workloads: 20)
        let html = String(decoding: try Report.render(format: .html, report: report, rules: Fixtures.pack), as: UTF8.self)
        let positions = ["id=\"overview\"", "id=\"by-severity\"", "id=\"by-runtime\"", "id=\"exposure-chart\"", "id=\"worst\"",
                         "id=\"by-rule\"", "id=\"workloads\""].map { html.range(of: $0)?.lowerBound }
        let found = positions.compactMap { $0 }
        #expect(found.count == positions.count)
        #expect(found == found.sorted())
        #expect(Chromium.count("<rect class=\"bar ", in: html) == 20)
        // Each rule once in the rule × workload view, each workload once, folded.
        let rules = Set(report.findings.map(\.rule))
        #expect(Chromium.count("<details class=\"rule f\"", in: html) == rules.count)
        #expect(Chromium.count("<details class=\"workload f\"", in: html) == 20)
        #expect(!html.contains("<details class=\"workload f\" open"))
        let privilegedRule = try #require(html.range(of: "data-rule=\"ct-privileged\""))
        let hits = report.findings.filter { $0.rule == "ct-privileged" }.count
        #expect(html[privilegedRule.upperBound...].contains("on \(hits) of 20 workloads"))
    }

    @Test("Hostile names stay escaped: no script but the page's own, styles and attributes intact")
    func hostileNames() throws {
        let html = String(decoding: try Report.render(format: .html, report: HTMLFixtures.report(workloads: 12, hostileEvery: 3), rules: Fixtures.pack), as: UTF8.self)
        #expect(Chromium.count("<script", in: html) == 1)
        #expect(Chromium.count("</style>", in: html) == 1)
        #expect(!html.contains("onload=\"alert"))
        #expect(!html.contains("\u{1B}"))
        #expect(html.contains("&lt;/style&gt;&lt;script&gt;alert(&quot;x&quot;)"))
        #expect(!html.contains("http://") || !html.contains("src=\"http"))
        // The policy allows the one inline script by its hash, and nothing from anywhere.
        #expect(html.contains("default-src 'none'"))
        #expect(html.contains("script-src 'sha256-"))
    }

    @Test("Chromium loads the report: the script runs under the CSP, overview, chart and grouping are in the DOM",
          .enabled(if: Chromium.available, "needs Debian's chromium (scripts/install-deps.sh installs it)"))
    func browser() throws {
        let directory = try HTMLFixtures.directory()
        // Two workloads, as the issue's example host: a privileged one with a hostile name, and one with the engine's defaults.
        let report = TerminalFixtures.report([
            TerminalFixtures.privileged(name: HTMLFixtures.hostile), TerminalFixtures.defaults(),
        ])
        let url = try HTMLFixtures.write(report, to: directory)
        let dom = try Chromium.run(["--dump-dom"], url: url, directory: directory)
        #expect(dom.contains("id=\"overview\""))
        #expect(dom.contains("id=\"exposure-chart\""))
        #expect(Chromium.count("<rect class=\"bar ", in: dom) == 2)
        #expect(Chromium.count("<details class=\"rule f\"", in: dom) == Set(report.findings.map(\.rule)).count)
        // The filter form is hidden in the markup and shown by the script: the hash in the
        // Content-Security-Policy let it run.
        #expect(dom.contains("<form id=\"filters\">"))
        #expect(dom.contains("findings shown</output>"))
        // The hostile names were parsed as text: still one script element, no injected handler.
        #expect(Chromium.count("<script", in: dom) == 1)
        #expect(dom.range(of: #"<[a-zA-Z][^<>]*\sonload="#, options: .regularExpression) == nil)
        #expect(dom.contains("&lt;/style&gt;&lt;script&gt;alert"))
        let screenshot = directory.appendingPathComponent("report-2.png")
        _ = try Chromium.run(["--screenshot=\(screenshot.path)", "--window-size=1280,1800"], url: url, directory: directory)
        #expect(FileManager.default.fileExists(atPath: screenshot.path))
        print("HTML report screenshot (2 workloads): \(screenshot.path)")
    }

    /// Chromium's --dump-dom needs scripting, so "scripting off" is made by the page's own
    /// policy: a copy whose CSP hash no longer matches its script, which the browser must then
    /// refuse to run. That shows both that the CSP is enforced and that the page stands without it.
    @Test("Without its script (refused by a mismatched CSP hash) the page reads whole: filters hidden, nothing else",
          .enabled(if: Chromium.available, "needs Debian's chromium (scripts/install-deps.sh installs it)"))
    func withoutScript() throws {
        let directory = try HTMLFixtures.directory()
        let report = HTMLFixtures.report(workloads: 10)
        var html = String(decoding: try Report.render(format: .html, report: report, rules: Fixtures.pack), as: UTF8.self)
        let hash = try #require(html.firstMatch(of: #/'sha256-([A-Za-z0-9+\/=]+)'/#))
        html = html.replacingOccurrences(of: String(hash.1), with: String(repeating: "A", count: 43) + "=")
        let url = directory.appendingPathComponent("refused.html")
        try Data(html.utf8).write(to: url)
        let address = try #require(URL(string: url.absoluteString + "#severity=4"))
        let dom = try Chromium.run(["--dump-dom"], url: address, directory: directory)
        #expect(dom.contains("<form id=\"filters\" hidden=\"\">"))
        #expect(dom.contains("id=\"exposure-chart\""))
        #expect(Chromium.count("<details class=\"rule f\"", in: dom) == Set(report.findings.map(\.rule)).count)
        // The address asked for critical only, but without the script every finding stays shown.
        #expect(Chromium.count("<tr class=\"finding f", in: dom) == report.findings.count)
        #expect(!dom.contains("hidden=\"\" data-") && Chromium.count("hidden=\"\"", in: dom) == 1)
    }

    @Test("Filters preset from the address hide what does not match, in the browser",
          .enabled(if: Chromium.available, "needs Debian's chromium (scripts/install-deps.sh installs it)"))
    func filters() throws {
        let directory = try HTMLFixtures.directory()
        let report = HTMLFixtures.report(workloads: 10)
        let url = try HTMLFixtures.write(report, to: directory)
        let critical = try #require(URL(string: url.absoluteString + "#severity=4&runtime=runc"))
        let dom = try Chromium.run(["--dump-dom"], url: critical, directory: directory)
        // Each finding's row, its opening tag only (attribute values are escaped: no raw `>`).
        let sections = dom.components(separatedBy: "<tr class=\"finding f").dropFirst().map { String($0.prefix { $0 != ">" }) }
        #expect(!sections.isEmpty)
        for section in sections {
            let shown = !section.contains("hidden=\"\"")
            #expect(shown == section.contains("data-sev=\"4\""), "\(section)")
        }
        // The crun (user-namespaced) workloads' rows are hidden under runtime=runc.
        let rows = dom.components(separatedBy: "<tr class=\"f\" data-rt=\"crun\"").dropFirst()
        #expect(!rows.isEmpty)
        #expect(rows.allSatisfy { $0.prefix { $0 != ">" }.contains("hidden=\"\"") })
        let shownCount = report.findings.filter { $0.severity == .critical }
            .filter { finding in report.workloads.first { $0.id == finding.workload }?.runtime == "runc" }.count
        #expect(dom.contains("\(shownCount) findings shown"))
    }

    @Test("200 workloads: the chart has every workload; a screenshot for a person to look at",
          .enabled(if: Chromium.available, "needs Debian's chromium (scripts/install-deps.sh installs it)"))
    func twoHundred() throws {
        let directory = try HTMLFixtures.directory()
        let report = HTMLFixtures.report(workloads: 200)
        let started = Date()
        let bytes = try Report.render(format: .html, report: report, rules: Fixtures.pack)
        let rendered = Date().timeIntervalSince(started)
        let url = directory.appendingPathComponent("report-200.html")
        try Data(bytes).write(to: url)
        let dom = try Chromium.run(["--dump-dom"], url: url, directory: directory)
        #expect(Chromium.count("<rect class=\"bar ", in: dom) == 200)
        #expect(dom.contains("<form id=\"filters\">"))
        let screenshot = directory.appendingPathComponent("report-200.png")
        _ = try Chromium.run(["--screenshot=\(screenshot.path)", "--window-size=1280,1800"], url: url, directory: directory)
        #expect(FileManager.default.fileExists(atPath: screenshot.path))
        // Reported, not asserted: tests never fail on timing (scripts/bench-html.sh measures it).
        print("HTML report of 200 workloads: \(bytes.count) bytes rendered in \(String(format: "%.3f", rendered)) s (debug build); screenshot: \(screenshot.path)")
    }
}

@Suite("Markdown report")
struct MarkdownReportTests {
    @Test("Same order as the HTML: overview, each rule once with its workloads, then each workload")
    func order() throws {
        let report = HTMLFixtures.report(workloads: 20, hostileEvery: 7)
        let text = String(decoding: try Report.render(format: .markdown, report: report, rules: Fixtures.pack), as: UTF8.self)
        let headings = ["## Overview", "### Worst findings", "### Workloads", "## Findings by rule", "## Findings by workload"]
        let positions = headings.compactMap { text.range(of: "\n" + $0 + "\n")?.lowerBound }
        #expect(positions.count == headings.count)
        #expect(positions == positions.sorted())
        let rules = Set(report.findings.map(\.rule))
        for rule in rules {
            let hits = Set(report.findings.filter { $0.rule == rule }.map(\.workload)).count
            let escaped = SafeTextForTests.markdown(rule)
            #expect(Chromium.count("\n### ", in: text) >= rules.count)
            #expect(text.contains(" \(escaped): ") && text.contains("— \(hits) of 20 workloads"))
        }
        #expect(!text.contains("<script>"))
        #expect(!text.contains("\u{1B}"))
    }
}

/// The Markdown escaping of a rule id (dashes pass, underscores would not).
enum SafeTextForTests {
    static func markdown(_ text: String) -> String { text.replacingOccurrences(of: "_", with: "\\_") }
}
