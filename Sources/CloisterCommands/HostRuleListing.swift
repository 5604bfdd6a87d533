import CloisterCodec
import CloisterModel
import CloisterResourceFiles
import CloisterRules
import Foundation

/// The host rules (`rules/host/`) as `rules list` and `rules show` describe them: the daemons'
/// configuration checks (`host/daemons.yaml`, decided by code over the daemons' settings) and
/// the CVE advisories (`host/advisories.yaml`, decided against the package inventory). They
/// judge the host, not a workload, so they have no kinds and no condition of the rule language.
struct HostRuleEntry {
    var id: String
    var title: String
    var severity: Severity
    /// `host-configuration` or `host-advisories`.
    var decidedBy: String
    var file: String
    /// The daemon a configuration check reads, or the component an advisory concerns.
    var subject: String
    var remediation: String
    var references: [Reference]
    /// For an advisory: what decides it, and what a container needs to reach the flaw.
    var decidedWhen: String? = nil

    /// Both host files of the rules directory; absent files are simply not listed, a file that
    /// does not parse is an input error (printed with its line by the caller).
    static func load(directory: String) throws -> [HostRuleEntry] {
        var entries: [HostRuleEntry] = []
        let daemons = (directory as NSString).appendingPathComponent(HostConfigurationRules.relativePath)
        if FileManager.default.fileExists(atPath: daemons) {
            for rule in try HostConfigurationRules.load(path: daemons).rules {
                var references = rule.cis.map { CISDockerNumbering.references(forItem: $0) } ?? []
                references += rule.urls.map { Reference(source: "url", id: $0, url: $0) }
                entries.append(HostRuleEntry(
                    id: rule.id, title: rule.title, severity: rule.severity, decidedBy: "host-configuration",
                    file: daemons, subject: rule.daemon, remediation: rule.remediation, references: references))
            }
        }
        let advisories = (directory as NSString).appendingPathComponent(HostAdvisories.relativePath)
        if FileManager.default.fileExists(atPath: advisories) {
            for advisory in try HostAdvisories.load(path: advisories).advisories {
                var references = [Reference(source: "cve", id: advisory.id)]
                references += advisory.urls.map { Reference(source: "url", id: $0, url: $0) }
                var decidedWhen = advisory.component == HostAdvisories.kernelComponent
                    ? "the running kernel's version (Debian's package version from its version string, or a vanilla release) lies in an affected range (undecided for any other build, or where it cannot be read)"
                    : "the installed version lies in an affected range of the advisory (undecided when it cannot be read)"
                if let condition = advisory.condition {
                    decidedWhen += "; from a container: \(condition.text)"
                    if let fact = condition.fact, let lower = condition.severityWithout {
                        decidedWhen += " (\(lower.rawValue) where host.\(fact) is false)"
                    }
                }
                entries.append(HostRuleEntry(
                    id: advisory.ruleID, title: advisory.title, severity: advisory.severity, decidedBy: "host-advisories",
                    file: advisories, subject: advisory.component, remediation: advisory.remediation, references: references,
                    decidedWhen: decidedWhen))
            }
        }
        return entries
    }

    func json(full: Bool) -> JSONValue {
        var object: JSONObject = [
            "id": .string(id), "title": .string(title), "severity": .string(severity.rawValue), "kinds": .array([]),
            "decidedBy": .string(decidedBy), "file": .string(file), "line": .null,
            "workload": .string(HostAdvisories.hostWorkload),
            "references": .array(references.map { reference in
                .object([
                    "source": .string(reference.source), "id": .string(reference.id),
                    "title": RulesJSON.string(reference.title), "url": RulesJSON.string(reference.url),
                ])
            }),
        ]
        if full {
            object[decidedBy == "host-advisories" ? "component" : "daemon"] = .string(subject)
            object["remediation"] = .string(remediation)
        }
        return .object(object)
    }

    var text: String {
        var lines = [
            "\(id): \(title)",
            "  severity:    \(severity.rawValue)",
            "  applies to:  the host (\(decidedBy == "host-advisories" ? "component" : "daemon") \(subject))",
            "  defined in:  \(file)",
            "  condition:   " + (decidedWhen ?? "the check `\(id)` over the daemon's argv, configuration file and file modes"),
            "  remediation: \(remediation)",
            "  references:",
        ]
        for reference in references {
            lines.append("    - \(reference.title ?? "\(reference.source) \(reference.id)")\(reference.url.map { " <\($0)>" } ?? "")")
        }
        return lines.joined(separator: "\n")
    }
}
