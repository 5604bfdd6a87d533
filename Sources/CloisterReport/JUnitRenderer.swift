import CloisterCodec
import CloisterModel
import CloisterRules

/// JUnit XML for CI dashboards: one test suite per workload; with the rule pack, one test case
/// per rule that applies to the workload (passing when it did not fire), else one per finding.
/// Accepted findings are skipped tests that say why.
enum JUnitRenderer {
    static func render(_ report: ScanReport, rules: RulePack?) -> String {
        let facts = ReportFacts(report: report, rules: rules)
        var suites: [String] = []
        var totalTests = 0
        var totalFailures = 0
        var totalSkipped = 0
        var workloads = report.workloads.map { (id: $0.id, name: $0.name, kind: Optional($0.kind)) }
        for finding in facts.orphanFindings where !workloads.contains(where: { $0.id == finding.workload }) {
            workloads.append((id: finding.workload, name: finding.workload, kind: nil))
        }
        for workload in workloads {
            let findings = facts.findings(for: workload.id)
            var cases: [String] = []
            var failures = 0
            var skipped = 0
            var ruleIDs: [String]
            if let rules, let kind = workload.kind {
                ruleIDs = rules.rules.filter { $0.applies(to: kind) }.map(\.id)
            } else {
                ruleIDs = []
            }
            for finding in findings where !ruleIDs.contains(finding.rule) { ruleIDs.append(finding.rule) }
            for ruleID in ruleIDs {
                let name = "\(ruleID): \(facts.title(of: ruleID))"
                var body = ""
                for finding in findings where finding.rule == ruleID {
                    if let accepted = finding.accepted {
                        body += "      <skipped message=\"\(SafeText.forXML("accepted: " + accepted))\"/>\n"
                        skipped += 1
                    } else {
                        let details = ([finding.message] + ReportFacts.sortedEvidence(finding.evidence).map { "\($0) = \($1)" }
                            + finding.references.map { "\($0.source) \($0.id)" }).joined(separator: "\n")
                        body += "      <failure type=\"\(finding.severity.rawValue)\" message=\"\(SafeText.forXML(finding.message))\">"
                            + SafeText.forXML(details) + "</failure>\n"
                        failures += 1
                    }
                }
                let open = "    <testcase classname=\"\(SafeText.forXML(workload.id))\" name=\"\(SafeText.forXML(name))\""
                cases.append(body.isEmpty ? open + "/>\n" : open + ">\n" + body + "    </testcase>\n")
            }
            totalTests += cases.count
            totalFailures += failures
            totalSkipped += skipped
            suites.append(
                "  <testsuite name=\"\(SafeText.forXML(workload.id))\" tests=\"\(cases.count)\" failures=\"\(failures)\" "
                    + "errors=\"0\" skipped=\"\(skipped)\" timestamp=\"\(SafeText.forXML(report.scannedAt))\" "
                    + "hostname=\"\(SafeText.forXML(report.host.hostname ?? "localhost"))\">\n"
                    + cases.joined() + "  </testsuite>\n")
        }
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<testsuites name=\"cloister\" tests=\"\(totalTests)\" failures=\"\(totalFailures)\" errors=\"0\" skipped=\"\(totalSkipped)\">\n"
            + suites.joined() + "</testsuites>\n"
    }
}
