import CloisterCodec
import CloisterModel
import CloisterRules
import Crypto
import Foundation

/// The audit report as one self-contained HTML page: nothing fetched, every byte from a
/// workload escaped. In the order an auditor reads it: an overview (counts by severity and by
/// runtime, the exposure of every workload as an inline SVG chart, Pod Security levels, the
/// worst findings), then each rule once across every workload it hits, then each workload's
/// detail, folded. A small inline script filters by severity, runtime, rule and node; with
/// scripting off the filters stay hidden and the page reads whole. The Content-Security-Policy
/// allows that one script by its hash and nothing else.
enum HTMLRenderer {
    static func render(_ report: ScanReport, rules: RulePack?, nodes: [String: String] = [:]) -> String {
        let facts = ReportFacts(report: report, rules: rules, nodes: nodes)
        let h = SafeText.forXML
        let index = HTMLIndex(facts)
        var out = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src '\(scriptHash)'">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>cloister audit report: \(h(index.hostTitle))</title>
            <style>\(style)</style>
            </head>
            <body>
            <h1>cloister audit report</h1>

            """
        out.reserveCapacity(report.workloads.count * 6_000 + report.findings.count * 600 + 16_384)
        out += "<table class=\"host\">\n"
        for (label, value) in facts.hostLines { out += "<tr><th>\(h(label))</th><td>\(h(value))</td></tr>\n" }
        if !nodes.isEmpty { out += "<tr><th>Nodes</th><td>\(index.nodes.count): \(index.nodes.map(h).joined(separator: ", "))</td></tr>\n" }
        out += "</table>\n"
        overview(facts, index, into: &out)
        filters(facts, index, into: &out)
        byRule(facts, index, into: &out)
        byWorkload(facts, index, into: &out)
        out += ReportFacts.block(facts.issueGroups, header: "<h2 id=\"problems\">Problems during the scan</h2>\n<ul>\n", footer: "</ul>\n") { group in
            guard group.undecidedRule != nil else {
                return "<li>\(group.first.pid.map { "PID \($0): " } ?? "")\(h(group.first.message))</li>\n"
            }
            let names = group.workloads.map { id in
                "<a href=\"#\(index.anchor(id))\">\(h(index.label(id)))</a>"
            }
            return "<li>\(h(group.sentence))<details><summary>the \(group.workloads.count) workloads</summary>\(names.joined(separator: ", "))</details></li>\n"
        }
        out += "<script>\(script)</script>\n</body>\n</html>\n"
        return out
    }

    // MARK: - Overview

    static func overview(_ facts: ReportFacts, _ index: HTMLIndex, into out: inout String) {
        let h = SafeText.forXML
        let report = facts.report
        out += "<section id=\"overview\">\n<h2>Overview</h2>\n"
        let owners = facts.openFindingOwners
        out += "<p class=\"headline\">\(report.findings.filter { $0.accepted == nil }.count) open findings on \(owners.workloads) of \(report.workloads.count) workloads" + ReportFacts.andHosts(owners.hosts)
        if let worst = facts.worst, let exposure = worst.exposure {
            out += "; most exposed: <a href=\"#\(index.anchor(worst.id))\">\(h(worst.name.isEmpty ? worst.id : worst.name))</a> \(formatScore(exposure.score)) \(h(exposure.level))"
        }
        out += "</p>\n<div class=\"cards\">\n"
        out += "<table id=\"by-severity\"><caption>Findings by severity</caption>\n<tr><th>Severity</th><th>Open</th></tr>\n"
        for (severity, count) in facts.severityCounts {
            out += "<tr><td><span class=\"sev \(severity.rawValue)\">\(severity.rawValue)</span></td><td>\(count)</td></tr>\n"
        }
        out += "<tr><td>accepted</td><td>\(facts.acceptedCount)</td></tr>\n</table>\n"
        out += "<table id=\"by-runtime\"><caption>Workloads by runtime</caption>\n<tr><th>Runtime</th><th>Workloads</th><th>Open findings</th><th>Worst exposure</th></tr>\n"
        for runtime in index.runtimes {
            let postures = index.byRuntime[runtime] ?? []
            let open = postures.reduce(0) { $0 + (index.open[$1.id] ?? 0) }
            let worst = postures.compactMap { $0.exposure?.score }.max()
            out += "<tr><td>\(h(runtime))</td><td>\(postures.count)</td><td>\(open)</td><td>\(worst.map(formatScore) ?? "–")</td></tr>\n"
        }
        out += "</table>\n"
        let pss = report.workloads.compactMap { $0.kubernetes?.podSecurity }
        if !pss.isEmpty {
            out += "<table id=\"pod-security\"><caption>Pod Security Standards</caption>\n<tr><th>Level met</th><th>Pods</th></tr>\n"
            for level in ["restricted", "baseline", "privileged"] {
                out += "<tr><td>\(level)</td><td>\(pss.filter { $0.level == level }.count)</td></tr>\n"
            }
            let versions = Set(pss.map(\.version)).sorted()
            out += "<tr><td colspan=\"2\">standard version \(versions.map(h).joined(separator: ", "))</td></tr>\n</table>\n"
        }
        out += "</div>\n"
        chart(facts, index, into: &out)
        let worst = report.findings.enumerated().filter { $0.element.accepted == nil }.sorted { left, right in
            let leftScore = index.postures[left.element.workload]?.exposure?.score ?? -1
            let rightScore = index.postures[right.element.workload]?.exposure?.score ?? -1
            return (left.element.severity.rank, leftScore, -left.offset) > (right.element.severity.rank, rightScore, -right.offset)
        }.prefix(10).map(\.element)
        if !worst.isEmpty {
            out += "<h3>Worst findings</h3>\n<table id=\"worst\">\n<tr><th>Severity</th><th>Rule</th><th>Workload</th>\(index.nodeHeader)<th>Message</th></tr>\n"
            for finding in worst {
                out += "<tr><td><span class=\"sev \(finding.severity.rawValue)\">\(finding.severity.rawValue)</span></td>"
                out += "<td><a href=\"#\(index.ruleAnchor(finding.rule))\"><code>\(h(finding.rule))</code></a></td>"
                out += "<td><a href=\"#\(index.anchor(finding.workload))\">\(h(index.label(finding.workload)))</a></td>\(index.nodeCell(finding.workload))"
                out += "<td>\(h(finding.message))</td></tr>\n"
            }
            out += "</table>\n"
        }
        out += "</section>\n"
    }

    /// Every workload's exposure, most exposed first, as bars coloured by level: the picture of
    /// the host (or fleet) at a glance. Each bar links to its workload and names it in a tooltip.
    static func chart(_ facts: ReportFacts, _ index: HTMLIndex, into out: inout String) {
        let h = SafeText.forXML
        let scored = facts.report.workloads.filter { $0.exposure != nil }.sorted { ($0.exposure?.score ?? 0) > ($1.exposure?.score ?? 0) }
        guard !scored.isEmpty else { return }
        let plotWidth = 860.0, plotHeight = 160.0, left = 30.0, top = 10.0
        let step = plotWidth / Double(scored.count)
        let barWidth = min(40.0, max(1.0, step * 0.8))
        out += "<figure id=\"exposure-chart\">\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 900 200\" width=\"900\" height=\"200\" role=\"img\" aria-labelledby=\"chart-title\">\n"
        out += "<title id=\"chart-title\">Exposure of \(scored.count) workloads, most exposed first (0 perfect to 10 unsafe)</title>\n"
        for tick in [0, 2, 4, 6, 8, 10] {
            let y = top + plotHeight * (1 - Double(tick) / 10)
            out += "<line class=\"grid\" x1=\"\(left)\" x2=\"\(left + plotWidth)\" y1=\"\(svg(y))\" y2=\"\(svg(y))\"/>"
            out += "<text class=\"axis\" x=\"\(left - 6)\" y=\"\(svg(y + 4))\" text-anchor=\"end\">\(tick)</text>\n"
        }
        for (offset, posture) in scored.enumerated() {
            let score = min(max(posture.exposure?.score ?? 0, 0), 10)
            let height = max(1.0, plotHeight * score / 10)
            let x = left + Double(offset) * step + (step - barWidth) / 2
            out += "<a href=\"#\(index.anchor(posture.id))\"><rect class=\"bar \(levelClass(posture.exposure?.level))\" x=\"\(svg(x))\" y=\"\(svg(top + plotHeight - height))\" "
            out += "width=\"\(svg(barWidth))\" height=\"\(svg(height))\"><title>\(h(index.label(posture.id))) \(formatScore(score)) \(h(posture.exposure?.level ?? ""))</title></rect></a>\n"
        }
        out += "<text class=\"axis\" x=\"\(left)\" y=\"195\">\(scored.count) workloads, most exposed first</text>\n"
        out += "</svg>\n<figcaption>Exposure score of every workload (bars coloured by level; hover for the name).</figcaption>\n</figure>\n"
    }

    // MARK: - Filters

    /// Hidden until the script shows them: with scripting off they would do nothing.
    static func filters(_ facts: ReportFacts, _ index: HTMLIndex, into out: inout String) {
        let h = SafeText.forXML
        out += "<form id=\"filters\" hidden>\n<label>Severity at least <select id=\"filter-severity\">"
        for severity in Severity.allCases { out += "<option value=\"\(severity.rank)\">\(severity.rawValue)</option>" }
        out += "</select></label>\n<label>Runtime <select id=\"filter-runtime\"><option value=\"\">any</option>"
        for runtime in index.runtimes { out += "<option value=\"\(h(runtime))\">\(h(runtime))</option>" }
        out += "</select></label>\n<label>Rule <select id=\"filter-rule\"><option value=\"\">any</option>"
        for group in index.ruleGroups { out += "<option value=\"\(h(group.rule))\">\(h(group.rule))</option>" }
        out += "</select></label>\n"
        if !index.nodes.isEmpty {
            out += "<label>Node <select id=\"filter-node\"><option value=\"\">any</option>"
            for node in index.nodes { out += "<option value=\"\(h(node))\">\(h(node))</option>" }
            out += "</select></label>\n"
        }
        out += "<output id=\"filter-count\">\(facts.report.findings.count) findings shown</output>\n</form>\n"
    }

    // MARK: - Rule × workload

    static func byRule(_ facts: ReportFacts, _ index: HTMLIndex, into out: inout String) {
        let h = SafeText.forXML
        out += "<section id=\"by-rule\">\n<h2>Findings by rule</h2>\n"
        if index.ruleGroups.isEmpty { out += "<p>No findings.</p>\n" }
        let total = facts.report.workloads.count
        for group in index.ruleGroups {
            let hits = Set(group.findings.map(\.workload)).count
            out += "<details class=\"rule f\" id=\"\(index.ruleAnchor(group.rule))\" data-rule=\"\(h(group.rule))\" data-sev=\"\(group.severity.rank)\">\n"
            out += "<summary><span class=\"sev \(group.severity.rawValue)\">\(group.severity.rawValue)</span> <code>\(h(group.rule))</code> "
            out += "\(h(facts.title(of: group.rule))) <span class=\"hits\">on \(hits) of \(total) workloads</span></summary>\n"
            if let rule = facts.rules?.rule(id: group.rule) {
                out += "<p><strong>Remediation:</strong> \(h(rule.remediation))</p>\n"
            }
            if let references = group.findings.first?.references {
                out += ReportFacts.block(references, header: "<ul class=\"refs\">\n", footer: "</ul>\n") { reference in
                    let text = h(ReportFacts.label(of: reference))
                    return ReportFacts.link(of: reference).map { "<li><a href=\"\(h($0))\">\(text)</a></li>\n" } ?? "<li>\(text)</li>\n"
                }
            }
            out += "<table>\n<tr><th>Workload</th>\(index.nodeHeader)<th>Runtime</th><th>Exposure</th><th>Message</th></tr>\n"
            for finding in group.findings {
                let posture = index.postures[finding.workload]
                let runtime = posture?.runtime ?? ""
                out += "<tr class=\"f\(finding.accepted == nil ? "" : " accepted")\" data-rt=\"\(h(runtime))\"\(index.nodeAttribute(finding.workload)) data-sev=\"\(finding.severity.rank)\">"
                out += "<td><a href=\"#\(index.anchor(finding.workload))\">\(h(index.label(finding.workload)))</a></td>\(index.nodeCell(finding.workload))"
                out += "<td>\(h(runtime))</td><td>\(posture?.exposure.map { formatScore($0.score) } ?? "–")</td><td>\(h(finding.message))"
                if let reason = finding.accepted { out += " <em>(accepted: \(h(reason)))</em>" }
                out += "</td></tr>\n"
            }
            out += "</table>\n</details>\n"
        }
        out += "</section>\n"
    }

    // MARK: - Per workload

    static func byWorkload(_ facts: ReportFacts, _ index: HTMLIndex, into out: inout String) {
        let h = SafeText.forXML
        out += "<section id=\"workloads\">\n<h2>Workloads</h2>\n"
        out += facts.workloadTable(
            empty: "<p>No workloads were found.</p>\n",
            header: "<table id=\"workload-table\">\n<tr><th>Workload</th>\(index.nodeHeader)<th>Kind</th><th>Runtime</th><th>Name</th><th>Exposure</th><th>Level</th><th>PSS</th><th>Findings</th></tr>\n",
            footer: "</table>\n"
        ) { posture, row in
            "<tr class=\"f\" data-rt=\"\(h(posture.runtime))\"\(index.nodeAttribute(posture.id))><td><a href=\"#\(index.anchor(posture.id))\"><code>\(h(index.originalID(posture.id)))</code></a></td>\(index.nodeCell(posture.id))"
                + "<td>\(posture.kind.rawValue)</td><td>\(h(posture.runtime))</td><td>\(h(posture.name))</td><td>\(row.score)</td>"
                + "<td><span class=\"lvl \(levelClass(posture.exposure?.level))\">\(h(row.level))</span></td><td>\(h(posture.kubernetes?.podSecurity?.level ?? "–"))</td><td>\(row.open)</td></tr>\n"
        }
        for workload in facts.findingGroups {
            let posture = index.postures[workload]
            let findings = TableRendering.sortedBySeverity(index.findings[workload] ?? [])
            out += "<details class=\"workload f\" id=\"\(index.anchor(workload))\" data-rt=\"\(h(posture?.runtime ?? ""))\"\(index.nodeAttribute(workload))>\n"
            out += "<summary><code>\(h(index.originalID(workload)))</code>"
            if let posture, !posture.name.isEmpty { out += " \(h(posture.name))" }
            if let node = index.node(workload) { out += " on \(h(node))" }
            if let exposure = posture?.exposure {
                out += " <span class=\"lvl \(levelClass(exposure.level))\">\(formatScore(exposure.score)) \(h(exposure.level))</span>"
            }
            let open = findings.filter { $0.accepted == nil }
            let counts = Severity.allCases.reversed().compactMap { severity -> String? in
                let count = open.filter { $0.severity == severity }.count
                return count == 0 ? nil : "\(count) \(severity.rawValue)"
            }
            out += " — \(counts.isEmpty ? "no open findings" : counts.joined(separator: ", "))</summary>\n"
            if let posture { out += postureFacts(posture) }
            // One table a workload, one row a finding: at 200 workloads and thousands of
            // findings, a section and a nested table each made the page three times heavier
            // for the browser to lay out.
            if !findings.isEmpty {
                out += "<table class=\"findings\">\n<tr><th>Severity</th><th>Rule</th><th>Finding</th><th>Evidence</th></tr>\n"
            }
            for finding in findings {
                out += "<tr class=\"finding f\(finding.accepted == nil ? "" : " accepted")\" data-rule=\"\(h(finding.rule))\" data-sev=\"\(finding.severity.rank)\">"
                out += "<td><span class=\"sev \(finding.severity.rawValue)\">\(finding.severity.rawValue)</span></td>"
                out += "<td><code>\(h(finding.rule))</code><br>\(h(facts.title(of: finding.rule)))</td><td>\(h(finding.message))"
                if let location = finding.location {
                    out += "<br>at <code>\(h(location.file))\(location.line.map { ":\($0)" } ?? "")</code>\(location.path.map { " (<code>\(h($0))</code>)" } ?? "")"
                }
                if let reason = finding.accepted { out += "<br><strong>Accepted:</strong> \(h(reason))" }
                out += "</td><td class=\"evidence\">"
                out += ReportFacts.sortedEvidence(finding.evidence).map { "<code>\(h($0.0))</code> = <code>\(h(ReportFacts.shortEvidence($0.0, $0.1)))</code>" }.joined(separator: "<br>")
                out += "</td></tr>\n"
            }
            if !findings.isEmpty { out += "</table>\n" }
            out += "</details>\n"
        }
        out += "</section>\n"
    }

    /// The confinement facts an auditor checks first, summarised as the terminal does.
    static func postureFacts(_ posture: Posture) -> String {
        let h = SafeText.forXML
        var rows: [(String, String)] = [("Kind", posture.kind.rawValue), ("Runtime", posture.runtime)]
        if let pid = posture.pid { rows.append(("PID", String(pid))) }
        rows.append(("Capabilities (effective)", CapabilityNames.summary(posture.capabilities.effective)))
        rows.append(("Capabilities (bounding)", CapabilityNames.summary(posture.capabilities.bounding)))
        rows.append(("Seccomp", posture.seccomp?.mode.rawValue ?? "unknown"))
        rows.append(("User namespace", posture.namespaces.user?.rawValue ?? "unknown"))
        let shared = NamespaceType.allCases.filter { posture.namespaces[$0] == .host }.map(\.rawValue)
        rows.append(("Namespaces shared with the host", shared.isEmpty ? "none" : shared.joined(separator: ", ")))
        rows.append(("MAC", TableRendering.macSummary(posture.mac)))
        let devices = posture.devices.filter { !$0.standard }
        let allowAll = posture.cgroup?.devicesAllowAll == true
        rows.append(("Devices", devices.isEmpty && !allowAll ? "standard only" : DeviceClasses.summary(devices.map { ($0.path, $0.type) }, allowAll: allowAll)))
        return "<table class=\"posture\">\n" + rows.map { "<tr><th>\(h($0.0))</th><td>\(h($0.1))</td></tr>\n" }.joined() + "</table>\n"
    }

    // MARK: - Pieces

    static func formatScore(_ score: Double) -> String { TableRendering.formatScore(score) }

    /// SVG coordinates with one decimal: enough for a 900-pixel chart, and short.
    static func svg(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return tenths % 10 == 0 ? String(tenths / 10) : "\(tenths / 10).\(abs(tenths % 10))"
    }

    /// A CSS class for an exposure level: only the policy's known names, so no workload text
    /// ever reaches a class attribute.
    static func levelClass(_ level: String?) -> String {
        switch level {
        case "perfect", "safe", "ok", "medium", "exposed", "unsafe": "lvl-\(level ?? "")"
        default: "lvl-unknown"
        }
    }

    static let style = """
        body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px; }
        table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
        th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
        caption { text-align: left; font-weight: bold; padding-bottom: 0.3em; }
        code { font-family: ui-monospace, monospace; }
        .cards { display: flex; flex-wrap: wrap; gap: 2em; align-items: flex-start; }
        .headline { font-size: 1.2em; }
        .critical { color: #fff; background: #8b0000; } .high { color: #fff; background: #c0392b; }
        .medium { background: #f39c12; } .low { background: #f7dc6f; } .info { background: #d6eaf8; }
        .sev { padding: 0 0.4em; border-radius: 3px; font-weight: bold; }
        .accepted { opacity: 0.6; }
        details { margin: 0.4em 0; border: 1px solid #ddd; border-radius: 4px; padding: 0.3em 0.6em; }
        summary { cursor: pointer; }
        .hits { color: #555; }
        td.evidence { font-size: 0.85em; overflow-wrap: anywhere; }
        .grid { stroke: #ddd; stroke-width: 1; } .axis { font-size: 11px; fill: #555; }
        .bar.lvl-perfect, .lvl.lvl-perfect { fill: #2e7d32; background: #c8e6c9; }
        .bar.lvl-safe, .lvl.lvl-safe { fill: #66bb6a; background: #dcedc8; }
        .bar.lvl-ok, .lvl.lvl-ok { fill: #d4c21f; background: #fff9c4; }
        .bar.lvl-medium, .lvl.lvl-medium { fill: #f39c12; background: #ffe0b2; }
        .bar.lvl-exposed, .lvl.lvl-exposed { fill: #c0392b; background: #ffcdd2; }
        .bar.lvl-unsafe, .lvl.lvl-unsafe { fill: #8b0000; background: #ef9a9a; }
        .bar.lvl-unknown { fill: #999; }
        .lvl { padding: 0 0.4em; border-radius: 3px; }
        #filters { position: sticky; top: 0; background: #f5f5f5; padding: 0.5em; border: 1px solid #ddd; display: flex; gap: 1.5em; flex-wrap: wrap; }
        #filters[hidden] { display: none; }
        """

    /// Filters by hiding: an element of class `f` is shown only when each filter it carries an
    /// attribute for matches (`data-sev` at least the chosen severity, `data-rt`, `data-rule`,
    /// `data-node` equal to it). A filter may be preset from the address (#severity=3&rule=…).
    /// It reads attributes and sets `hidden`; it never writes markup.
    static let script = """
        (function () {
          var form = document.getElementById("filters");
          if (!form) return;
          var names = { severity: "sev", runtime: "rt", rule: "rule", node: "node" };
          var selects = {};
          Object.keys(names).forEach(function (name) { selects[name] = document.getElementById("filter-" + name); });
          var preset = new URLSearchParams(location.hash.slice(1));
          Object.keys(selects).forEach(function (name) {
            var select = selects[name];
            if (select && preset.has(name)) select.value = preset.get(name);
          });
          function apply() {
            var minimum = Number(selects.severity.value);
            var shown = 0;
            document.querySelectorAll(".f").forEach(function (element) {
              var visible = true;
              var severity = element.getAttribute("data-sev");
              if (severity !== null && Number(severity) < minimum) visible = false;
              ["runtime", "rule", "node"].forEach(function (name) {
                var select = selects[name];
                var value = element.getAttribute("data-" + names[name]);
                if (select && select.value !== "" && value !== null && value !== select.value) visible = false;
              });
              element.hidden = !visible;
            });
            document.querySelectorAll("details.workload").forEach(function (details) {
              if (details.hidden) return;
              var findings = details.querySelectorAll(".finding");
              if (findings.length > 0 && details.querySelectorAll(".finding:not([hidden])").length === 0) details.hidden = true;
            });
            shown = document.querySelectorAll("details.workload:not([hidden]) .finding:not([hidden])").length;
            document.getElementById("filter-count").value = shown + " findings shown";
          }
          Object.keys(selects).forEach(function (name) { if (selects[name]) selects[name].addEventListener("change", apply); });
          form.hidden = false;
          // Everything is shown as written: filter on load only when the address asks for it
          // (a 200-workload page need not touch its thousands of elements to show them).
          if (Object.keys(selects).some(function (name) { return selects[name] && preset.has(name); })) apply();
        })();
        """

    /// The script's hash for the Content-Security-Policy (CSP Level 2 hash source).
    static let scriptHash: String = "sha256-" + Data(SHA256.hash(data: Data(script.utf8))).base64EncodedString()
}

/// What the HTML report looks up many times, built once: postures and findings by workload,
/// rules grouped, runtimes and nodes in order, and anchors that never carry workload text.
struct HTMLIndex {
    let postures: [String: Posture]
    let findings: [String: [Finding]]
    let open: [String: Int]
    let ruleGroups: [(rule: String, severity: Severity, findings: [Finding])]
    let runtimes: [String]
    let byRuntime: [String: [Posture]]
    let nodes: [String]
    let nodeOf: [String: String]
    let anchors: [String: String]
    let ruleAnchors: [String: String]
    let hostTitle: String

    init(_ facts: ReportFacts) {
        let report = facts.report
        postures = Dictionary(report.workloads.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        findings = Dictionary(grouping: report.findings, by: \.workload)
        var open: [String: Int] = [:]
        for finding in report.findings where finding.accepted == nil { open[finding.workload, default: 0] += 1 }
        self.open = open
        ruleGroups = facts.findingsByRule
        var runtimes: [String] = []
        var byRuntime: [String: [Posture]] = [:]
        for posture in report.workloads {
            if byRuntime[posture.runtime] == nil { runtimes.append(posture.runtime) }
            byRuntime[posture.runtime, default: []].append(posture)
        }
        self.runtimes = runtimes.sorted()
        self.byRuntime = byRuntime
        nodeOf = facts.nodes
        nodes = Array(Set(facts.nodes.values)).sorted()
        anchors = Dictionary(facts.findingGroups.enumerated().map { ($1, "w\($0 + 1)") }, uniquingKeysWith: { first, _ in first })
        ruleAnchors = Dictionary(ruleGroups.enumerated().map { ($1.rule, "r\($0 + 1)") }, uniquingKeysWith: { first, _ in first })
        hostTitle = facts.nodes.isEmpty ? (report.host.hostname ?? "host") : "\(nodes.count) nodes"
    }

    func anchor(_ workload: String) -> String { anchors[workload] ?? "workloads" }
    func ruleAnchor(_ rule: String) -> String { ruleAnchors[rule] ?? "by-rule" }
    func node(_ workload: String) -> String? { nodeOf[workload] }

    /// The workload's id as its own report gave it (without the node a fleet merge put first).
    func originalID(_ workload: String) -> String {
        guard let node = nodeOf[workload], workload.hasPrefix(node + "/") else { return workload }
        return String(workload.dropFirst(node.count + 1))
    }

    func label(_ workload: String) -> String {
        guard let posture = postures[workload], !posture.name.isEmpty else { return originalID(workload) }
        return posture.name
    }

    var nodeHeader: String { nodes.isEmpty ? "" : "<th>Node</th>" }
    func nodeCell(_ workload: String) -> String { nodes.isEmpty ? "" : "<td>\(SafeText.forXML(nodeOf[workload] ?? ""))</td>" }
    func nodeAttribute(_ workload: String) -> String {
        nodes.isEmpty ? "" : " data-node=\"\(SafeText.forXML(nodeOf[workload] ?? ""))\""
    }
}
