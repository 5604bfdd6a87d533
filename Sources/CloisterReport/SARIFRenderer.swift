import CloisterCodec
import CloisterModel
import CloisterRules
import Foundation

/// SARIF 2.1.0 (OASIS), one run: the tool with every rule's metadata and help, one result per
/// finding. Findings from declared postures carry the file and line; live ones a logical
/// location naming the workload. Accepted findings are results with an external suppression.
enum SARIFRenderer {
    static let schemaURI = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"

    static func level(_ severity: Severity) -> String {
        switch severity {
        case .critical, .high: "error"
        case .medium: "warning"
        case .low, .info: "note"
        }
    }

    /// GitHub code scanning reads `security-severity` (0–10) to rank security results.
    static func securitySeverity(_ severity: Severity) -> String {
        switch severity {
        case .critical: "9.5"
        case .high: "8.0"
        case .medium: "5.5"
        case .low: "3.0"
        case .info: "0.0"
        }
    }

    static func render(_ report: ScanReport, rules: RulePack?) -> String {
        render(runs: [run(report, rules: rules)])
    }

    /// A log of runs: one for a host, one a node for a fleet.
    static func render(runs: [JSONValue]) -> String {
        let log: JSONValue = .object([
            "$schema": .string(schemaURI),
            "version": .string("2.1.0"),
            "runs": .array(runs),
        ])
        return log.serialized(pretty: true) + "\n"
    }

    /// One run: the tool and its rules, the results. `node` names the fleet node it is for, in
    /// `automationDetails` (category `cloister`, the node as instance) and the run's properties.
    static func run(_ report: ScanReport, rules: RulePack?, node: String? = nil) -> JSONValue {
        var ruleIDs: [String] = rules?.rules.map(\.id) ?? []
        for finding in report.findings where !ruleIDs.contains(finding.rule) { ruleIDs.append(finding.rule) }
        let ruleIndex = Dictionary(ruleIDs.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let descriptors = ruleIDs.map { id -> JSONValue in
            if let rule = rules?.rule(id: id) { return descriptor(rule) }
            let severity = report.findings.first { $0.rule == id }?.severity ?? .medium
            return .object([
                "id": .string(id), "name": .string(id),
                "shortDescription": .object(["text": .string(id)]),
                "help": .object(["text": .string("No rule metadata was available for \(id).")]),
                "defaultConfiguration": .object(["level": .string(level(severity))]),
            ])
        }
        let postures = Dictionary(report.workloads.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let results = report.findings.map { result($0, ruleIndex: ruleIndex[$0.rule], posture: postures[$0.workload]) }
        var driver: JSONObject = [
            "name": .string(report.tool.name),
            "version": .string(report.tool.version),
            "semanticVersion": .string(report.tool.version),
            "informationUri": .string("https://github.com/cloister-project/cloister"),
            "rules": .array(descriptors),
        ]
        if rules == nil { driver["notifications"] = .array([]) }
        var invocation: JSONObject = ["executionSuccessful": .bool(true)]
        if isDateTime(report.scannedAt) { invocation["startTimeUtc"] = .string(report.scannedAt) }
        if !report.issues.isEmpty {
            invocation["toolExecutionNotifications"] = .array(report.issues.map { issue in
                .object([
                    "level": .string("warning"),
                    "message": .object(["text": .string(issue.message)]),
                ])
            })
        }
        var run: JSONObject = [
            "tool": .object(["driver": .object(driver)]),
            "invocations": .array([.object(invocation)]),
            "results": .array(results),
            "columnKind": .string("unicodeCodePoints"),
            "properties": .object([
                "host": .string(report.host.hostname ?? ""),
                "kernel": .string(report.host.kernelVersion ?? report.host.kernel ?? ""),
                "workloads": .array(report.workloads.map { posture in
                    var entry: JSONObject = [
                        "id": .string(posture.id), "kind": .string(posture.kind.rawValue), "name": .string(posture.name),
                    ]
                    if let exposure = posture.exposure {
                        entry["exposure"] = .number(exposure.score)
                        entry["level"] = .string(exposure.level)
                    }
                    if let podSecurity = posture.kubernetes?.podSecurity {
                        entry["podSecurityLevel"] = .string(podSecurity.level)
                        entry["podSecurityVersion"] = .string(podSecurity.version)
                    }
                    return .object(entry)
                }),
            ]),
        ]
        if let node {
            // The instance part of the id ends at its last slash: a node's own slashes would
            // move it, so they are written as underscores; the exact name is in the properties.
            run["automationDetails"] = .object(["id": .string("cloister/" + node.replacingOccurrences(of: "/", with: "_"))])
            if case .object(var properties)? = run["properties"] {
                properties["node"] = .string(node)
                run["properties"] = .object(properties)
            }
        }
        return .object(run)
    }

    static func descriptor(_ rule: Rule) -> JSONValue {
        let references = rule.references.asReferences
        var helpText = rule.remediation
        var helpMarkdown = "**Remediation:** " + rule.remediation
        if !references.isEmpty {
            helpText += "\n\nReferences:\n" + references.map { "- " + referenceText($0) }.joined(separator: "\n")
            helpMarkdown += "\n\n**References:**\n\n" + references.map { reference in
                if let url = reference.url { return "- [\(referenceText(reference))](\(url))" }
                return "- " + referenceText(reference)
            }.joined(separator: "\n")
        }
        var tags = ["security", "cloister"] + rule.kinds.map(\.rawValue).sorted()
        tags += rule.references.cves
        if let cis = rule.references.cisDocker { tags.append("CIS-Docker-\(cis)") }
        var descriptor: JSONObject = [
            "id": .string(rule.id),
            "name": .string(camelName(rule.id)),
            "shortDescription": .object(["text": .string(rule.title)]),
            "fullDescription": .object(["text": .string(rule.description ?? rule.title)]),
            "help": .object(["text": .string(helpText), "markdown": .string(helpMarkdown)]),
            "defaultConfiguration": .object(["level": .string(level(rule.severity))]),
            "properties": .object([
                "tags": .array(tags.map { .string($0) }),
                "security-severity": .string(securitySeverity(rule.severity)),
                "severity": .string(rule.severity.rawValue),
            ]),
        ]
        if let url = references.compactMap(\.url).first { descriptor["helpUri"] = .string(url) }
        return .object(descriptor)
    }

    static func referenceText(_ reference: Reference) -> String {
        reference.title ?? "\(reference.source) \(reference.id)"
    }

    /// `ct-host-pid` → `CtHostPid`: SARIF's `name` is an identifier-like form of the rule.
    static func camelName(_ id: String) -> String {
        id.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    static func result(_ finding: Finding, ruleIndex: Int?, posture: Posture?) -> JSONValue {
        var result: JSONObject = [
            "ruleId": .string(finding.rule),
            "level": .string(level(finding.severity)),
            "message": .object(["text": .string(finding.message)]),
        ]
        if let ruleIndex { result["ruleIndex"] = .number(Double(ruleIndex)) }
        var location: JSONObject = [
            "logicalLocations": .array([.object([
                "name": .string(posture?.name ?? finding.workload),
                "fullyQualifiedName": .string(finding.workload),
                "kind": .string("resource"),
            ])])
        ]
        if let source = finding.location {
            var physical: JSONObject = ["artifactLocation": .object(["uri": .string(uri(source.file))])]
            if let line = source.line, line >= 1 {
                var region: JSONObject = ["startLine": .number(Double(line))]
                if let column = source.column, column >= 1 { region["startColumn"] = .number(Double(column)) }
                physical["region"] = .object(region)
            }
            location["physicalLocation"] = .object(physical)
        }
        result["locations"] = .array([.object(location)])
        var properties: JSONObject = [
            "workload": .string(finding.workload),
            "severity": .string(finding.severity.rawValue),
            "evidence": .object(finding.evidence.jsonObject { .string($0) }),
        ]
        if !finding.references.isEmpty {
            properties["references"] = .array(finding.references.map { .string("\($0.source):\($0.id)") })
        }
        if let podSecurity = posture?.kubernetes?.podSecurity {
            // The level the workload's pod meets: restricted, baseline, or privileged (neither).
            properties["podSecurityLevel"] = .string(podSecurity.level)
        }
        result["properties"] = .object(properties)
        result["partialFingerprints"] = .object(["cloister/rule+workload/v1": .string("\(finding.rule):\(finding.workload)")])
        if let accepted = finding.accepted {
            result["suppressions"] = .array([.object([
                "kind": .string("external"), "justification": .string(accepted),
            ])])
        }
        return .object(result)
    }

    /// A relative URI reference for a file path (SARIF wants URIs, not paths).
    static func uri(_ path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: ":")
        let encoded = path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
        return path.hasPrefix("/") ? "file://" + encoded : encoded
    }

    static func isDateTime(_ text: String) -> Bool {
        InternetTime.parse(text) != nil
    }
}
