import CloisterCodec
import Foundation
import CloisterModel
import CloisterRules

/// The audit report in Markdown: host, time, what was scanned, each workload's score, and each
/// finding with its evidence, remediation and references.
enum MarkdownRenderer {
    static func render(_ report: ScanReport, rules: RulePack?) -> String {
        let facts = ReportFacts(report: report, rules: rules)
        let md = SafeText.forMarkdown
        var out = "# cloister audit report\n\n"
        out += "| | |\n|---|---|\n"
        for (label, value) in facts.hostLines { out += "| \(label) | \(md(value)) |\n" }
        out += "\n## Summary\n\n"
        out += facts.severityCounts.map { "\($0.severity.rawValue): \($0.count)" }.joined(separator: " · ")
        out += " · accepted: \(facts.acceptedCount)\n\n"
        out += "## Workloads scanned\n\n"
        out += facts.workloadTable(
            empty: "No workloads were found.\n\n",
            header: "| Workload | Kind | Runtime | Name | Exposure | Level | Findings |\n|---|---|---|---|---|---|---|\n", footer: "\n"
        ) { posture, row in
            "| \(md(posture.id)) | \(posture.kind.rawValue) | \(md(posture.runtime)) | \(md(posture.name)) | \(row.score) | \(md(row.level)) | \(row.open) |\n"
        }
        out += "## Findings\n\n"
        if report.findings.isEmpty { out += "No findings.\n\n" }
        for (workload, findings) in facts.groupedFindings {
            out += "### \(md(workload))\n\n"
            for finding in findings {
                let status = finding.accepted.map { " — accepted: \(md($0))" } ?? ""
                out += "#### \(finding.severity.rawValue.uppercased()) \(md(finding.rule)): \(md(facts.title(of: finding.rule)))\(status)\n\n"
                out += md(finding.message) + "\n\n"
                if let location = finding.location {
                    out += "Location: \(md(location.file))\(location.line.map { ":\($0)" } ?? "")\n\n"
                }
                out += ReportFacts.block(ReportFacts.sortedEvidence(finding.evidence), header: "| Evidence | Value |\n|---|---|\n", footer: "\n") {
                    "| \(md($0.0)) | \(md($0.1)) |\n"
                }
                if let remediation = rules?.rule(id: finding.rule)?.remediation {
                    out += "Remediation: \(md(remediation))\n\n"
                }
                out += ReportFacts.block(finding.references, header: "References:\n\n", footer: "\n") { reference in
                    let label = md(ReportFacts.label(of: reference))
                    return ReportFacts.link(of: reference).map { "- [\(label)](<\($0.replacingOccurrences(of: ">", with: "%3E"))>)\n" }
                        ?? "- \(label)\n"
                }
            }
        }
        out += ReportFacts.block(report.issues, header: "## Problems during the scan\n\n", footer: "\n") { "- \(md($0.message))\n" }
        return out
    }
}

/// The audit report as one self-contained HTML page (inline style, no scripts, nothing fetched).
enum HTMLRenderer {
    static func render(_ report: ScanReport, rules: RulePack?) -> String {
        let facts = ReportFacts(report: report, rules: rules)
        let h = SafeText.forXML
        var out = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
            <title>cloister audit report: \(h(report.host.hostname ?? "host"))</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
            table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
            th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
            code { font-family: ui-monospace, monospace; }
            .critical { color: #fff; background: #8b0000; } .high { color: #fff; background: #c0392b; }
            .medium { background: #f39c12; } .low { background: #f7dc6f; } .info { background: #d6eaf8; }
            .sev { padding: 0 0.4em; border-radius: 3px; font-weight: bold; }
            .accepted { opacity: 0.6; }
            </style>
            </head>
            <body>
            <h1>cloister audit report</h1>

            """
        out += "<table>\n"
        for (label, value) in facts.hostLines { out += "<tr><th>\(h(label))</th><td>\(h(value))</td></tr>\n" }
        out += "</table>\n<h2>Summary</h2>\n<p>"
        out += facts.severityCounts.map { "<span class=\"sev \($0.severity.rawValue)\">\($0.severity.rawValue)</span> \($0.count)" }
            .joined(separator: " · ")
        out += " · accepted \(facts.acceptedCount)</p>\n"
        out += "<h2>Workloads scanned</h2>\n"
        out += facts.workloadTable(
            empty: "<p>No workloads were found.</p>\n",
            header: "<table>\n<tr><th>Workload</th><th>Kind</th><th>Runtime</th><th>Name</th><th>Exposure</th><th>Level</th><th>Findings</th></tr>\n",
            footer: "</table>\n"
        ) { posture, row in
            "<tr><td><code>\(h(posture.id))</code></td><td>\(posture.kind.rawValue)</td><td>\(h(posture.runtime))</td>"
                + "<td>\(h(posture.name))</td><td>\(row.score)</td><td>\(h(row.level))</td><td>\(row.open)</td></tr>\n"
        }
        out += "<h2>Findings</h2>\n"
        if report.findings.isEmpty { out += "<p>No findings.</p>\n" }
        for (workload, findings) in facts.groupedFindings {
            out += "<h3><code>\(h(workload))</code></h3>\n"
            for finding in findings {
                let accepted = finding.accepted != nil
                out += "<section\(accepted ? " class=\"accepted\"" : "")>\n"
                out += "<h4><span class=\"sev \(finding.severity.rawValue)\">\(finding.severity.rawValue)</span> "
                    + "<code>\(h(finding.rule))</code> \(h(facts.title(of: finding.rule)))</h4>\n"
                if let reason = finding.accepted { out += "<p><strong>Accepted:</strong> \(h(reason))</p>\n" }
                out += "<p>\(h(finding.message))</p>\n"
                if let location = finding.location {
                    out += "<p>Location: <code>\(h(location.file))\(location.line.map { ":\($0)" } ?? "")</code></p>\n"
                }
                out += ReportFacts.block(
                    ReportFacts.sortedEvidence(finding.evidence), header: "<table>\n<tr><th>Evidence</th><th>Value</th></tr>\n", footer: "</table>\n"
                ) { "<tr><td><code>\(h($0.0))</code></td><td><code>\(h($0.1))</code></td></tr>\n" }
                if let remediation = rules?.rule(id: finding.rule)?.remediation {
                    out += "<p><strong>Remediation:</strong> \(h(remediation))</p>\n"
                }
                out += ReportFacts.block(finding.references, header: "<ul>\n", footer: "</ul>\n") { reference in
                    let text = h(ReportFacts.label(of: reference))
                    return ReportFacts.link(of: reference).map { "<li><a href=\"\(h($0))\">\(text)</a></li>\n" } ?? "<li>\(text)</li>\n"
                }
                out += "</section>\n"
            }
        }
        out += ReportFacts.block(report.issues, header: "<h2>Problems during the scan</h2>\n<ul>\n", footer: "</ul>\n") {
            "<li>\(h($0.message))</li>\n"
        }
        out += "</body>\n</html>\n"
        return out
    }
}
