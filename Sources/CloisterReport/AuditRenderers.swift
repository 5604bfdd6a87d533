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
