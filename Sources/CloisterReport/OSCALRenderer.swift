import CloisterCodec
import Crypto
import CloisterModel
import CloisterRules
import Foundation

/// NIST OSCAL 1.1.3 Assessment Results (the `assessment-results` model, JSON form): one result
/// for the scan or check, with
/// - an observation per workload (the posture examined, as evidence) and one per finding
///   (the posture fields it rests on, as relevant evidence); `TEST` for a live scan, which
///   reads the kernel, `EXAMINE` for a declared configuration, which reads a document;
/// - a finding per cloister finding, its target the objective of the first NIST SP 800-53
///   Rev. 5 control the rule cites, `not-satisfied`, with every cited 800-53 control and the
///   NIST SP 800-190 section as properties;
/// - a `satisfied` finding for every reviewed control no finding bears on, related to the
///   workload observations that show it.
///
/// Identifiers: the document, the result, the back-matter resource and the tool component
/// get random (version 4) UUIDs; inventory items, observations and findings get name-based
/// (version 5, SHA-1) UUIDs from the workload id and rule, so the same workload and finding
/// keep their UUID across runs, as OSCAL asks for "the same subject across revisions".
///
/// `import-ap` must name an assessment plan; cloister has none apart from its rule pack, so
/// it points (`#uuid`) at a back-matter resource that describes the rule pack as the plan.
///
/// Hostile text: JSON encoding keeps every string data. OSCAL's `title`, `description` and
/// `remarks` are Markdown, so workload text in them is Markdown-escaped (`SafeText.forMarkdown`);
/// property values must be one line without surrounding spaces, so there workload text has
/// its line breaks turned into spaces and its ends trimmed (`propertyValue`).
enum OSCALRenderer {
    static let oscalVersion = "1.1.3"
    /// Namespace of cloister's property names (OSCAL asks for one beside names it does not define).
    static let namespace = "https://github.com/cloister-project/cloister/ns/oscal"
    /// The name space of cloister's version 5 UUIDs (a fixed random UUID).
    static let uuidNamespace: [UInt8] = [
        0x6f, 0x1c, 0x2e, 0x3a, 0x9b, 0x54, 0x4d, 0x0e, 0x8a, 0x31, 0x52, 0x7d, 0xc4, 0x0b, 0x96, 0x2f,
    ]

    /// `nodes`: for a fleet, the node each workload id was scanned on; each inventory item then
    /// carries a `node` property, in the one result that holds every node's inventory.
    static func render(_ report: ScanReport, rules: RulePack?, now: Date = Date(), nodes: [String: String] = [:]) -> String {
        let finished = timestamp(now)
        let started = validTimestamp(report.scannedAt) ?? finished
        let toolUUID = UUID().uuidString.lowercased()
        let planUUID = UUID().uuidString.lowercased()
        let postures = Dictionary(report.workloads.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let declared = report.workloads.contains { $0.source == .declared }
            || report.findings.contains { $0.location != nil }

        // Inventory items: one per workload, and one per finding's workload not in the report.
        var workloadIDs = report.workloads.map(\.id)
        for finding in report.findings where postures[finding.workload] == nil && !workloadIDs.contains(finding.workload) {
            workloadIDs.append(finding.workload)
        }
        let origins: JSONValue = .array([.object([
            "actors": .array([.object(["type": .string("tool"), "actor-uuid": .string(toolUUID)])])
        ])])
        var inventory: [JSONValue] = []
        var workloadObservations: [String: String] = [:]
        var observations: [JSONValue] = []
        for id in workloadIDs {
            let posture = postures[id]
            let itemUUID = nameUUID("inventory-item", id)
            let observationUUID = nameUUID("workload-observation", id)
            workloadObservations[id] = observationUUID
            var itemProps = [prop("workload-id", id)]
            if let node = nodes[id] { itemProps.append(prop("node", node)) }
            if let posture {
                itemProps.append(prop("workload-kind", posture.kind.rawValue))
                itemProps.append(prop("runtime", posture.runtime))
                itemProps.append(prop("workload-name", posture.name))
                if let pid = posture.pid { itemProps.append(prop("pid", String(pid))) }
                if let exposure = posture.exposure {
                    itemProps.append(prop("exposure-score", score(exposure.score)))
                    itemProps.append(prop("exposure-level", exposure.level))
                }
            }
            inventory.append(.object([
                "uuid": .string(itemUUID),
                "description": .string(workloadDescription(id: id, posture: posture)),
                "props": .array(itemProps),
            ]))
            let isDeclared = posture.map { $0.source == .declared } ?? declared
            var evidence = [JSONValue]()
            if let posture {
                evidence.append(.object(["description": .string(postureSummary(posture))]))
                if let location = posture.location {
                    evidence.append(.object([
                        "href": .string(SARIFRenderer.uri(location.file)),
                        "description": .string("Declared in " + SafeText.forMarkdown(locationText(location)) + "."),
                    ]))
                }
            } else {
                evidence.append(.object(["description": .string("The workload's posture was not in the report; only its findings are.")]))
            }
            observations.append(.object([
                "uuid": .string(observationUUID),
                "title": .string("Posture of " + SafeText.forMarkdown(posture?.name ?? id)),
                "description": .string(
                    (isDeclared ? "The declared configuration of " : "The live confinement, read from the kernel, of ")
                        + SafeText.forMarkdown(posture?.name ?? id) + "."),
                "methods": .array([.string(isDeclared ? "EXAMINE" : "TEST")]),
                // No `types`: OSCAL's (finding, historic, mitigation, …) name none that fits
                // the posture examined as evidence.
                "origins": origins,
                "subjects": .array([subject(itemUUID, posture: posture, id: id)]),
                "relevant-evidence": .array(evidence),
                "collected": .string(started),
            ]))
        }

        // Findings, each with its own observation.
        var findings: [JSONValue] = []
        var controlsWithFindings = Set<String>()
        var usedNames = Set<String>()
        for finding in report.findings {
            var name = "\(finding.rule)|\(finding.workload)"
            if let location = finding.location { name += "|" + locationText(location) }
            var candidate = name
            var ordinal = 1
            while usedNames.contains(candidate) {
                ordinal += 1
                candidate = name + "|#\(ordinal)"
            }
            usedNames.insert(candidate)
            let posture = postures[finding.workload]
            let isDeclared = posture.map { $0.source == .declared } ?? (finding.location != nil)
            let observationUUID = nameUUID("finding-observation", candidate)
            let controls = controls800_53(finding.references)
            controlsWithFindings.formUnion(controls)
            let section800190 = finding.references.first { $0.source == "nist-800-190" }?.id
            let title = SafeText.forMarkdown(rules?.rule(id: finding.rule)?.title ?? finding.rule)

            var evidence: [JSONValue] = ReportFacts.sortedEvidence(finding.evidence).map { field, value in
                .object([
                    "description": .string("`" + SafeText.forMarkdown(field) + "` = " + SafeText.forMarkdown(value)),
                    "props": .array([prop("posture-field", field)]),
                ])
            }
            if let location = finding.location {
                evidence.append(.object([
                    "href": .string(SARIFRenderer.uri(location.file)),
                    "description": .string("Declared at " + SafeText.forMarkdown(locationText(location)) + "."),
                ]))
            }
            if evidence.isEmpty {
                evidence.append(.object(["description": .string(SafeText.forMarkdown(finding.message))]))
            }
            observations.append(.object([
                "uuid": .string(observationUUID),
                "title": .string(title),
                "description": .string(SafeText.forMarkdown(finding.message)),
                "props": .array([prop("rule", finding.rule), prop("severity", finding.severity.rawValue)]),
                "methods": .array([.string(isDeclared ? "EXAMINE" : "TEST")]),
                "types": .array([.string("finding")]),
                "origins": origins,
                "subjects": .array([subject(nameUUID("inventory-item", finding.workload), posture: posture, id: finding.workload)]),
                "relevant-evidence": .array(evidence),
                "collected": .string(started),
            ]))

            var targetProps = controls.map { prop("nist-sp800-53-control", $0) }
            if let section800190 { targetProps.append(prop("nist-sp800-190-section", section800190)) }
            for reference in finding.references where reference.source == "cis-docker-1.6.0" || reference.source == "cis-docker-1.8.0" {
                targetProps.append(prop(reference.source, reference.id))
            }
            var status: JSONObject = ["state": .string("not-satisfied"), "reason": .string("fail")]
            if let accepted = finding.accepted {
                status["remarks"] = .string("Accepted by a baseline: " + SafeText.forMarkdown(accepted))
            }
            var target: JSONObject = [
                "type": .string("objective-id"),
                // Without an 800-53 control the rule itself is the objective assessed.
                "target-id": .string(controls.first.map(controlID) ?? finding.rule),
                "title": .string(controls.first.map { "NIST SP 800-53 Rev. 5 \($0)" } ?? "cloister rule \(finding.rule)"),
                "status": .object(status),
            ]
            if !targetProps.isEmpty { target["props"] = .array(targetProps) }
            var related = [JSONValue.object(["observation-uuid": .string(observationUUID)])]
            if let workloadObservation = workloadObservations[finding.workload] {
                related.append(.object(["observation-uuid": .string(workloadObservation)]))
            }
            var findingProps = [
                prop("rule", finding.rule), prop("severity", finding.severity.rawValue), prop("workload-id", finding.workload),
            ]
            if finding.accepted != nil { findingProps.append(prop("accepted", "true")) }
            findings.append(.object([
                "uuid": .string(nameUUID("finding", candidate)),
                "title": .string(title),
                "description": .string(SafeText.forMarkdown(finding.message)),
                "props": .array(findingProps),
                "origins": origins,
                "target": .object(target),
                "related-observations": .array(related),
            ]))
        }

        // Controls reviewed: every 800-53 control the rule pack cites (or, without one, the
        // findings cite). Those no finding bears on are satisfied by the workloads examined.
        var reviewed: [String] = []
        let citing = rules.map { $0.rules.map { $0.references.asReferences } } ?? report.findings.map(\.references)
        for references in citing {
            for control in controls800_53(references) where !reviewed.contains(control) { reviewed.append(control) }
        }
        for control in controlsWithFindings.sorted() where !reviewed.contains(control) { reviewed.append(control) }
        if !report.workloads.isEmpty {
            let examined = report.workloads.compactMap { workloadObservations[$0.id] }.map {
                JSONValue.object(["observation-uuid": .string($0)])
            }
            for control in reviewed where !controlsWithFindings.contains(control) {
                findings.append(.object([
                    "uuid": .string(nameUUID("satisfied", control + "|" + report.workloads.map(\.id).joined(separator: "|"))),
                    "title": .string("NIST SP 800-53 Rev. 5 \(control): no finding"),
                    "description": .string(
                        "No rule citing \(control) fired on any of the \(report.workloads.count) workloads assessed."),
                    "origins": origins,
                    "target": .object([
                        "type": .string("objective-id"),
                        "target-id": .string(controlID(control)),
                        "title": .string("NIST SP 800-53 Rev. 5 \(control)"),
                        "status": .object(["state": .string("satisfied"), "reason": .string("pass")]),
                    ]),
                    "related-observations": .array(examined),
                ]))
            }
        }
        var selection: JSONObject = [
            "description": .string(
                "NIST SP 800-53 Rev. 5 controls cited by cloister's rules (rules/README.md lists the mapping and its sources)."),
        ]
        if !reviewed.isEmpty {
            selection["include-controls"] = .array(reviewed.map { .object(["control-id": .string(controlID($0))]) })
        }

        var localDefinitions: JSONObject = [
            "components": .array([.object([
                "uuid": .string(toolUUID),
                "type": .string("software"),
                "title": .string("\(report.tool.name) \(report.tool.version)"),
                "description": .string("Linux isolation advisor and hardening scanner that produced these results."),
                "props": .array([prop("version", report.tool.version, ns: nil)]),
                "status": .object(["state": .string("operational")]),
            ])])
        ]
        if !inventory.isEmpty { localDefinitions["inventory-items"] = .array(inventory) }

        let hostName = report.host.hostname.map(SafeText.forMarkdown)
        var result: JSONObject = [
            "uuid": .string(UUID().uuidString.lowercased()),
            "title": .string(declared ? "cloister check" : "cloister scan" + (hostName.map { " of " + $0 } ?? "")),
            "description": .string(
                declared
                    ? "Declared configurations checked against cloister's rules before deployment."
                    : "Running workloads' confinement read from the kernel and assessed against cloister's rules."),
            "start": .string(started),
            "end": .string(finished),
            "local-definitions": .object(localDefinitions),
            "reviewed-controls": .object(["control-selections": .array([.object(selection)])]),
        ]
        if !observations.isEmpty { result["observations"] = .array(observations) }
        if !findings.isEmpty { result["findings"] = .array(findings) }
        if !report.issues.isEmpty {
            result["remarks"] = .string("Problems met:\n\n" + report.issues.map { "- " + SafeText.forMarkdown($0.message) }.joined(separator: "\n"))
        }

        let document: JSONValue = .object([
            "assessment-results": .object([
                "uuid": .string(UUID().uuidString.lowercased()),
                "metadata": .object([
                    "title": .string(declared ? "cloister check: assessment results" : "cloister scan: assessment results"),
                    "last-modified": .string(finished),
                    "version": .string(report.tool.version),
                    "oscal-version": .string(oscalVersion),
                ]),
                "import-ap": .object(["href": .string("#" + planUUID)]),
                "results": .array([.object(result)]),
                "back-matter": .object([
                    "resources": .array([.object([
                        "uuid": .string(planUUID),
                        "title": .string("cloister rule pack (the assessment plan)"),
                        "description": .string(
                            "cloister has no separate assessment plan: the plan is its rule pack (rules/*.yaml), every rule a test of a workload's confinement, each citing the NIST SP 800-53 Rev. 5 controls and NIST SP 800-190 section it bears on."),
                        "props": .array([prop("rule-count", String(rules?.rules.count ?? 0))]),
                        "rlinks": .array([.object([
                            "href": .string("https://github.com/cloister-project/cloister/tree/main/rules")
                        ])]),
                    ])])
                ]),
            ])
        ])
        return document.serialized(pretty: true) + "\n"
    }

    // MARK: Pieces

    static func subject(_ itemUUID: String, posture: Posture?, id: String) -> JSONValue {
        .object([
            "subject-uuid": .string(itemUUID),
            "type": .string("inventory-item"),
            "title": .string(SafeText.forMarkdown(posture?.name ?? id)),
        ])
    }

    static func workloadDescription(id: String, posture: Posture?) -> String {
        guard let posture else { return "Workload " + SafeText.forMarkdown(id) + "." }
        return "A \(posture.kind.rawValue) run by " + SafeText.forMarkdown(posture.runtime) + ": " + SafeText.forMarkdown(posture.name)
            + " (" + SafeText.forMarkdown(id) + ")."
    }

    /// The posture facts a reader checks first, as Markdown.
    static func postureSummary(_ posture: Posture) -> String {
        var lines: [String] = []
        let namespaces = posture.namespaces
        let shared = [
            ("pid", namespaces.pid), ("net", namespaces.net), ("mnt", namespaces.mnt), ("ipc", namespaces.ipc),
            ("uts", namespaces.uts), ("user", namespaces.user), ("cgroup", namespaces.cgroup), ("time", namespaces.time),
        ].filter { $0.1 == .host }.map(\.0)
        lines.append("- namespaces shared with the host: " + (shared.isEmpty ? "none" : shared.joined(separator: ", ")))
        let effective = posture.capabilities.effective
        lines.append("- effective capabilities: " + (effective.isEmpty ? "none" : SafeText.forMarkdown(effective.joined(separator: ", "))))
        lines.append("- seccomp: " + SafeText.forMarkdown(posture.seccomp?.mode.rawValue ?? "unknown"))
        lines.append("- no_new_privs: " + (posture.noNewPrivileges.map { $0 ? "set" : "not set" } ?? "unknown"))
        lines.append("- read-only root filesystem: " + (posture.readOnlyRootfs.map { $0 ? "yes" : "no" } ?? "unknown"))
        if let exposure = posture.exposure {
            lines.append("- exposure: \(score(exposure.score)) (" + SafeText.forMarkdown(exposure.level) + ")")
        }
        return lines.joined(separator: "\n")
    }

    static func score(_ value: Double) -> String {
        value.rounded() == value ? String(Int(value)) : String(format: "%.1f", value)
    }

    static func locationText(_ location: SourceLocation) -> String {
        location.file + (location.line.map { ":\($0)" } ?? "")
    }

    /// The 800-53 controls among a finding's references, in the order cited.
    static func controls800_53(_ references: [Reference]) -> [String] {
        var controls: [String] = []
        for reference in references where reference.source == NIST80053.source && !controls.contains(reference.id) {
            controls.append(reference.id)
        }
        return controls
    }

    /// `AC-6` → `ac-6`, `AC-3(3)` → `ac-3.3`: the control ids of NIST's OSCAL 800-53 Rev. 5 catalog.
    static func controlID(_ control: String) -> String {
        control.lowercased().replacingOccurrences(of: "(", with: ".").replacingOccurrences(of: ")", with: "")
    }

    static func prop(_ name: String, _ value: String, ns: String? = namespace) -> JSONValue {
        var object: JSONObject = ["name": .string(name), "value": .string(propertyValue(value))]
        if let ns { object["ns"] = .string(ns) }
        return .object(object)
    }

    /// OSCAL's `string` datatype is one line with no surrounding white space
    /// (`^\S(.*\S)?$`): line breaks become spaces, the ends are trimmed, and an empty value
    /// is written `(empty)`. Everything else, quotes and controls included, stays as it is.
    static func propertyValue(_ text: String) -> String {
        func isLineBreak(_ scalar: Unicode.Scalar) -> Bool {
            scalar == "\n" || scalar == "\r" || scalar == "\u{2028}" || scalar == "\u{2029}" || scalar == "\u{85}"
        }
        func isSpace(_ scalar: Unicode.Scalar) -> Bool {
            scalar.properties.isWhitespace || scalar == "\u{FEFF}"
        }
        let scalars = text.unicodeScalars
        // Nearly every value (ids, kinds, numbers) is already one trimmed line.
        if let first = scalars.first, let last = scalars.last, !isSpace(first), !isSpace(last),
            !scalars.contains(where: isLineBreak) {
            return text
        }
        var lower = scalars.startIndex
        var upper = scalars.endIndex
        while lower < upper, isSpace(scalars[lower]) { scalars.formIndex(after: &lower) }
        while lower < upper, isSpace(scalars[scalars.index(before: upper)]) { scalars.formIndex(before: &upper) }
        if lower == upper { return "(empty)" }
        var output = String.UnicodeScalarView()
        for scalar in scalars[lower..<upper] { output.append(isLineBreak(scalar) ? " " : scalar) }
        return String(output)
    }

    static func timestamp(_ date: Date) -> String { InternetTime.format(date) }

    /// The scan's start, if it is an RFC 3339 time with a zone (OSCAL requires the zone).
    static func validTimestamp(_ text: String) -> String? {
        InternetTime.parse(text).map(timestamp)
    }

    // MARK: UUIDs

    /// A version 5 (SHA-1, name-based) UUID, RFC 4122 §4.3, in cloister's name space.
    static func nameUUID(_ kind: String, _ name: String) -> String {
        uuid5(namespace: uuidNamespace, name: kind + ":" + name)
    }

    static func uuid5(namespace: [UInt8], name: String) -> String {
        // SHA-1 only because RFC 4122 defines version 5 UUIDs with it; nothing here needs collision
        // resistance.
        var hash = Array(Insecure.SHA1.hash(data: namespace + Array(name.utf8)).prefix(16))
        hash[6] = (hash[6] & 0x0F) | 0x50
        hash[8] = (hash[8] & 0x3F) | 0x80
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (index, byte) in hash.enumerated() {
            if [4, 6, 8, 10].contains(index) { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
