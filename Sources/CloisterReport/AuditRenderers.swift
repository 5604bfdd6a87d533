import CloisterCodec
import Foundation
import CloisterModel
import CloisterRules

/// The audit report in Markdown, for pull requests and tickets, in the HTML report's order: an
/// overview (host, counts by severity and by runtime, Pod Security levels, the worst findings,
/// every workload's score), each rule once with every workload it hits, then each workload's
/// findings with their evidence. Everything from workloads is escaped.
enum MarkdownRenderer {
    static func render(_ report: ScanReport, rules: RulePack?, nodes: [String: String] = [:]) -> String {
        let facts = ReportFacts(report: report, rules: rules, nodes: nodes)
        let index = HTMLIndex(facts)
        let md = SafeText.forMarkdown
        let fleet = !nodes.isEmpty
        func name(_ workload: String) -> String { md(index.label(workload)) }
        func nodeCell(_ workload: String) -> String { fleet ? " \(md(index.node(workload) ?? "")) |" : "" }
        var out = "# cloister audit report\n\n"
        out += "| | |\n|---|---|\n"
        for (label, value) in facts.hostLines { out += "| \(label) | \(md(value)) |\n" }
        if fleet { out += "| Nodes | \(index.nodes.count): \(index.nodes.map(md).joined(separator: ", ")) |\n" }

        out += "\n## Overview\n\n"
        let open = report.findings.filter { $0.accepted == nil }
        let owners = facts.openFindingOwners
        out += "\(open.count) open findings on \(owners.workloads) of \(report.workloads.count) workloads" + ReportFacts.andHosts(owners.hosts)
        if let worst = facts.worst, let exposure = worst.exposure {
            out += "; most exposed: \(name(worst.id)) \(TableRendering.formatScore(exposure.score)) \(md(exposure.level))"
        }
        out += ".\n\n"
        out += facts.severityCounts.map { "\($0.severity.rawValue): \($0.count)" }.joined(separator: " · ")
        out += " · accepted: \(facts.acceptedCount)\n\n"
        out += ReportFacts.block(index.runtimes, header: "| Runtime | Workloads | Open findings | Worst exposure |\n|---|---|---|---|\n", footer: "\n") { runtime in
            let postures = index.byRuntime[runtime] ?? []
            let openCount = postures.reduce(0) { $0 + (index.open[$1.id] ?? 0) }
            let worst = postures.compactMap { $0.exposure?.score }.max()
            return "| \(md(runtime)) | \(postures.count) | \(openCount) | \(worst.map(TableRendering.formatScore) ?? "–") |\n"
        }
        let pss = report.workloads.compactMap { $0.kubernetes?.podSecurity }
        if !pss.isEmpty {
            out += "Pod Security Standards (\(Set(pss.map(\.version)).sorted().map(md).joined(separator: ", "))): "
            out += ["restricted", "baseline", "privileged"].map { level in "\(level) \(pss.filter { $0.level == level }.count)" }.joined(separator: " · ")
            out += " pods\n\n"
        }
        let worst = open.enumerated().sorted { left, right in
            let leftScore = index.postures[left.element.workload]?.exposure?.score ?? -1
            let rightScore = index.postures[right.element.workload]?.exposure?.score ?? -1
            return (left.element.severity.rank, leftScore, -left.offset) > (right.element.severity.rank, rightScore, -right.offset)
        }.prefix(10).map(\.element)
        out += ReportFacts.block(
            worst, header: "### Worst findings\n\n| Severity | Rule | Workload |\(fleet ? " Node |" : "") Message |\n|---|---|---|\(fleet ? "---|" : "")---|\n", footer: "\n"
        ) { finding in
            "| \(finding.severity.rawValue) | \(md(finding.rule)) | \(name(finding.workload)) |\(nodeCell(finding.workload)) \(md(finding.message)) |\n"
        }
        out += "### Workloads\n\n"
        out += facts.workloadTable(
            empty: "No workloads were found.\n\n",
            header: "| Workload | Kind | Runtime | Name | Exposure | Level | Findings |\(fleet ? " Node |" : "")\n|---|---|---|---|---|---|---|\(fleet ? "---|" : "")\n", footer: "\n"
        ) { posture, row in
            "| \(md(index.originalID(posture.id))) | \(posture.kind.rawValue) | \(md(posture.runtime)) | \(md(posture.name)) | \(row.score) | \(md(row.level)) | \(row.open) |\(nodeCell(posture.id))\n"
        }

        out += "## Findings by rule\n\n"
        if report.findings.isEmpty { out += "No findings.\n\n" }
        for group in index.ruleGroups {
            let hits = Set(group.findings.map(\.workload)).count
            out += "### \(group.severity.rawValue.uppercased()) \(md(group.rule)): \(md(facts.title(of: group.rule))) — \(hits) of \(report.workloads.count) workloads\n\n"
            if let remediation = rules?.rule(id: group.rule)?.remediation {
                out += "Remediation: \(md(remediation))\n\n"
            }
            out += ReportFacts.block(group.findings.first?.references ?? [], header: "References:\n\n", footer: "\n") { reference in
                let label = md(ReportFacts.label(of: reference))
                return ReportFacts.link(of: reference).map { "- [\(label)](<\($0.replacingOccurrences(of: ">", with: "%3E"))>)\n" }
                    ?? "- \(label)\n"
            }
            out += "| Workload |\(fleet ? " Node |" : "") Message |\n|---|\(fleet ? "---|" : "")---|\n"
            for finding in group.findings {
                let status = finding.accepted.map { " (accepted: \(md($0)))" } ?? ""
                out += "| \(name(finding.workload)) |\(nodeCell(finding.workload)) \(md(finding.message))\(status) |\n"
            }
            out += "\n"
        }

        out += "## Findings by workload\n\n"
        for (workload, findings) in facts.groupedFindings {
            out += "### \(md(index.originalID(workload)))"
            if let posture = index.postures[workload], !posture.name.isEmpty, posture.name != workload { out += " (\(md(posture.name)))" }
            if let node = index.node(workload) { out += " on \(md(node))" }
            out += "\n\n"
            for finding in TableRendering.sortedBySeverity(findings) {
                let status = finding.accepted.map { " — accepted: \(md($0))" } ?? ""
                out += "#### \(finding.severity.rawValue.uppercased()) \(md(finding.rule)): \(md(facts.title(of: finding.rule)))\(status)\n\n"
                out += md(finding.message) + "\n\n"
                if let location = finding.location {
                    out += "Location: \(md(location.file))\(location.line.map { ":\($0)" } ?? "")\n\n"
                }
                out += ReportFacts.block(ReportFacts.sortedEvidence(finding.evidence), header: "| Evidence | Value |\n|---|---|\n", footer: "\n") {
                    "| \(md($0.0)) | \(md(ReportFacts.shortEvidence($0.0, $0.1))) |\n"
                }
            }
        }
        out += ReportFacts.block(facts.issueGroups, header: "## Problems during the scan\n\n", footer: "\n") { group in
            guard group.undecidedRule != nil else { return "- \(md(group.first.message))\n" }
            return "- \(md(group.sentence)); the workloads: \(group.workloads.map(md).joined(separator: ", "))\n"
        }
        return out
    }
}
