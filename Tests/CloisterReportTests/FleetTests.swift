import CloisterModel
import CloisterReport
import CloisterRules
import Foundation
import Testing

/// Three nodes' saved reports, as a DaemonSet's pods serve them: every node runs the same
/// `docker:web` and `docker:db` (same ids, as container ids of one image may well be), and
/// each has workloads of its own.
enum FleetFixtures {
    static func node(_ name: String, extra: [Posture]) -> ScanReport {
        var report = TerminalFixtures.report(
            [TerminalFixtures.defaults(id: "docker:web", name: "web"), TerminalFixtures.hardened(id: "docker:db", name: "db")] + extra)
        report.host.hostname = name
        report.scannedAt = "2026-12-07T05:0\(name.count % 10):00Z"
        return report
    }

    static let reports: [ScanReport] = [
        node("node-a", extra: [TerminalFixtures.privileged(id: "docker:agent", name: "agent")]),
        node("node-b", extra: [TerminalFixtures.userNamespaced(id: "podman:batch", name: "batch")]),
        node("node-c", extra: []),
    ]

    static func saved() throws -> [SavedReport] {
        try reports.enumerated().map { index, report in
            try SavedReport.decode(Data(try Report.render(format: .json, report: report)), file: "nodes/\(index).json")
        }
    }

    static func fleet() throws -> FleetReport { try FleetReport(try saved()) }
}

@Suite("Fleet reports")
struct FleetTests {
    @Test("Saved reports read back whole; the node is the report's hostname unless NAME=FILE names it")
    func readBack() throws {
        let saved = try FleetFixtures.saved()
        #expect(saved.map(\.node) == ["node-a", "node-b", "node-c"])
        #expect(saved.map(\.report) == FleetFixtures.reports)
        let renamed = try SavedReport.decode(Data(try Report.render(format: .json, report: FleetFixtures.reports[0])), file: "a.json", node: "edge-1")
        #expect(renamed.node == "edge-1")
    }

    @Test("Merged: overlapping workloads stay apart under their node; counts add up")
    func merged() throws {
        let (report, nodes) = try FleetFixtures.fleet().merged()
        #expect(report.workloads.count == FleetFixtures.reports.reduce(0) { $0 + $1.workloads.count })
        #expect(report.findings.count == FleetFixtures.reports.reduce(0) { $0 + $1.findings.count })
        #expect(Set(report.workloads.map(\.id)).count == report.workloads.count)
        #expect(report.workloads.filter { $0.name == "web" }.map(\.id) == ["node-a/docker:web", "node-b/docker:web", "node-c/docker:web"])
        #expect(nodes["node-b/podman:batch"] == "node-b")
        #expect(report.findings.allSatisfy { nodes[$0.workload] != nil })
        #expect(report.scannedAt == FleetFixtures.reports.map(\.scannedAt).sorted().first)
    }

    @Test("JSON is cloister.fleet/v1: every node with its file, schema and whole scan report")
    func json() throws {
        let bytes = try FleetFixtures.fleet().render(format: .json, rules: Fixtures.pack)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object["schema"] as? String == "cloister.fleet/v1")
        let nodes = try #require(object["nodes"] as? [[String: Any]])
        #expect(nodes.map { $0["node"] as? String } == ["node-a", "node-b", "node-c"])
        for (index, node) in nodes.enumerated() {
            #expect(node["schema"] as? String == "cloister.scan/v1")
            let report = try JSONSerialization.data(withJSONObject: try #require(node["report"]))
            #expect(try JSONDecoder().decode(ScanReport.self, from: report) == FleetFixtures.reports[index])
        }
    }

    @Test("SARIF: one run a node, each naming it, valid against the 2.1.0 schema",
          .enabled(if: Fixtures.hasJSONSchema, "python3 -m pip install jsonschema to run this test"))
    func sarif() throws {
        let bytes = try FleetFixtures.fleet().render(format: .sarif, rules: Fixtures.pack)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let runs = try #require(object["runs"] as? [[String: Any]])
        #expect(runs.count == 3)
        for (run, report) in zip(runs, FleetFixtures.reports) {
            let node = try #require(report.host.hostname)
            #expect((run["automationDetails"] as? [String: Any])?["id"] as? String == "cloister/\(node)")
            #expect((run["properties"] as? [String: Any])?["node"] as? String == node)
            #expect((run["results"] as? [Any])?.count == report.findings.count)
        }
        let path = try Fixtures.write(bytes, suffix: ".sarif")
        let (status, output) = try Fixtures.python("""
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            log = json.load(open(sys.argv[2]))
            validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
            errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
            for error in errors[:10]:
                print("/".join(map(str, error.path)), error.message)
            sys.exit(1 if errors else 0)
            """, [Fixtures.sarifSchema, path])
        #expect(status == 0, "\(output)")
    }

    @Test("OSCAL: one result holding every node's inventory, each item naming its node; valid OSCAL 1.1.3",
          .enabled(if: OSCALValidator.required, "needs compliance-trestle (scripts/install-deps.sh)"))
    func oscal() throws {
        let bytes = try FleetFixtures.fleet().render(format: .oscal, rules: Fixtures.pack)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let results = try #require((object["assessment-results"] as? [String: Any])?["results"] as? [[String: Any]])
        #expect(results.count == 1)
        let items = try #require((results.first?["local-definitions"] as? [String: Any])?["inventory-items"] as? [[String: Any]])
        #expect(items.count == 8)
        let nodes = items.compactMap { item in
            (item["props"] as? [[String: Any]])?.first { $0["name"] as? String == "node" }?["value"] as? String
        }
        #expect(nodes.sorted() == ["node-a", "node-a", "node-a", "node-b", "node-b", "node-b", "node-c", "node-c"])
        let (status, output) = try OSCALValidator.validate(bytes)
        #expect(status == 0, "\(output)")
    }

    @Test("HTML and Markdown: a node column, and a node filter in the HTML")
    func nodeColumn() throws {
        let fleet = try FleetFixtures.fleet()
        let html = String(decoding: try fleet.render(format: .html, rules: Fixtures.pack), as: UTF8.self)
        #expect(html.contains("<select id=\"filter-node\"><option value=\"\">any</option><option value=\"node-a\">node-a</option><option value=\"node-b\">node-b</option><option value=\"node-c\">node-c</option></select>"))
        #expect(html.contains("<th>Node</th>"))
        #expect(Chromium.count(" data-node=\"node-b\"", in: html) > 0)
        #expect(Chromium.count("<rect class=\"bar ", in: html) == 8)
        let markdown = String(decoding: try fleet.render(format: .markdown, rules: Fixtures.pack), as: UTF8.self)
        #expect(markdown.contains("| docker:web | container | runc | web |"))
        #expect(markdown.contains("### docker:web (web) on node-c"))
        let table = String(decoding: try fleet.render(format: .table, rules: Fixtures.pack), as: UTF8.self)
        #expect(table.contains("fleet of 3 nodes: node-a, node-b, node-c"))
        #expect(table.contains("node-b/web"))
    }

    @Test("Refused with the file named: another schema, a newer version, truncated JSON, two files for one node")
    func refused() throws {
        let good = try Report.render(format: .json, report: FleetFixtures.reports[0])
        func error(_ bytes: [UInt8], _ file: String) -> String? {
            do {
                _ = try SavedReport.decode(Data(bytes), file: file)
                return nil
            } catch let error as SavedReportError {
                return error.description
            } catch {
                return "unexpected \(error)"
            }
        }
        let truncated = error(Array(good.prefix(good.count / 2)), "nodes/a.json")
        #expect(truncated?.hasPrefix("nodes/a.json: is not a whole JSON document") == true)
        let newer = String(decoding: good, as: UTF8.self).replacingOccurrences(of: "\"cloister.scan/v1\"", with: "\"cloister.scan/v2\"")
        #expect(error(Array(newer.utf8), "b.json")?.hasPrefix("b.json: is a cloister.scan/v2 report, newer than this cloister reads") == true)
        let sarif = try Report.render(format: .sarif, report: FleetFixtures.reports[0])
        #expect(error(sarif, "c.sarif")?.hasPrefix("c.sarif: has no `schema`") == true)
        #expect(error(Array(#"{"schema": "cloister.launch-plan/v1"}"#.utf8), "d.json")?.contains("has schema \"cloister.launch-plan/v1\", not a report this command reads") == true)
        let broken = String(decoding: good, as: UTF8.self).replacingOccurrences(of: "\"workloads\":[", with: "\"workloads\":[7,")
        #expect(error(Array(broken.utf8), "e.json")?.hasPrefix("e.json: is not a valid cloister.scan/v1 report") == true)
        let saved = try FleetFixtures.saved()
        #expect(throws: SavedReportError.self) { try FleetReport([saved[0], saved[1], saved[0]]) }
    }

    @Test("A check report is read into the scan report's shape")
    func checkReport() throws {
        let document = """
            {"schema": "cloister.check/v1", "files": 1, "documents": 1, "errors": [], "skipped": [],
             "workloads": [], "findings": [{"rule": "ct-privileged", "severity": "critical", "workload": "k8s:a", "message": "m", "evidence": {}, "references": []}],
             "issues": []}
            """
        let saved = try SavedReport.decode(Data(document.utf8), file: "ci/check-output.json")
        #expect(saved.node == "check-output")
        #expect(saved.schema == "cloister.check/v1")
        #expect(saved.report.findings.count == 1)
    }
}
