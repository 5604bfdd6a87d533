import CloisterCodec
import CloisterModel
@testable import CloisterReport
import CloisterRules
import Foundation
import Testing

/// The OSCAL validator: compliance-trestle's models of NIST's OSCAL 1.1.3 schema, through
/// scripts/validate-oscal.py (installed by scripts/install-deps.sh).
enum OSCALValidator {
    static var script: String { Fixtures.root + "/scripts/validate-oscal.py" }

    static let available: Bool = (try? Fixtures.python("import trestle.oscal.assessment_results", []))?.0 == 0

    /// In CI (`CI` set) the validator must be there: a missing one fails, it does not skip.
    static let required: Bool = {
        let value = ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? ""
        return available || (!value.isEmpty && value != "0" && value != "false")
    }()

    static func validate(_ bytes: [UInt8]) throws -> (Int32, String) {
        let path = try Fixtures.write(bytes, suffix: ".oscal.json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try Fixtures.python("import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')", [script, path])
    }
}

@Suite("OSCAL assessment results")
struct OSCALTests {
    let report = Fixtures.report()

    func document(_ bytes: [UInt8]) throws -> [String: Any] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        return try #require(object["assessment-results"] as? [String: Any])
    }

    func result(_ document: [String: Any]) throws -> [String: Any] {
        let results = try #require(document["results"] as? [[String: Any]])
        #expect(results.count == 1)
        return try #require(results.first)
    }

    @Test("validates against OSCAL 1.1.3 (compliance-trestle), with and without the rule pack",
          .enabled(if: OSCALValidator.required, "needs compliance-trestle (scripts/install-deps.sh)"))
    func validates() throws {
        for rules in [Fixtures.pack, nil] as [RulePack?] {
            let bytes = try Report.render(format: .oscal, report: report, rules: rules)
            let (status, output) = try OSCALValidator.validate(bytes)
            #expect(status == 0, "\(output)")
            #expect(output.contains("valid OSCAL 1.1.3"))
        }
    }

    @Test("the validator rejects a document that breaks the schema",
          .enabled(if: OSCALValidator.required, "needs compliance-trestle (scripts/install-deps.sh)"))
    func validatorRejects() throws {
        let text = String(decoding: try Report.render(format: .oscal, report: report, rules: Fixtures.pack), as: UTF8.self)
        let broken = text.replacingOccurrences(of: "\"not-satisfied\"", with: "\"failed\"")
        #expect(broken != text)
        let (status, output) = try OSCALValidator.validate(Array(broken.utf8))
        #expect(status == 1, "\(output)")
        #expect(output.contains("INVALID"))
    }

    @Test("metadata, import-ap and its back-matter resource, reviewed 800-53 controls")
    func structure() throws {
        let document = try document(try Report.render(format: .oscal, report: report, rules: Fixtures.pack))
        let metadata = try #require(document["metadata"] as? [String: Any])
        #expect(metadata["oscal-version"] as? String == "1.1.3")
        #expect(metadata["version"] as? String == CloisterVersion.current)
        let href = try #require((document["import-ap"] as? [String: Any])?["href"] as? String)
        let resources = try #require((document["back-matter"] as? [String: Any])?["resources"] as? [[String: Any]])
        #expect(resources.contains { "#" + ($0["uuid"] as? String ?? "") == href })
        let result = try result(document)
        #expect(result["start"] as? String == "2026-11-22T14:00:00Z")
        let selections = try #require((result["reviewed-controls"] as? [String: Any])?["control-selections"] as? [[String: Any]])
        let controls = (selections.first?["include-controls"] as? [[String: Any]] ?? []).compactMap { $0["control-id"] as? String }
        // Every 800-53 control the pack cites, in OSCAL catalog form.
        var cited = Set<String>()
        for rule in Fixtures.pack.rules { cited.formUnion(rule.references.nist80053.map(OSCALRenderer.controlID)) }
        #expect(!cited.isEmpty)
        #expect(Set(controls) == cited)
        #expect(controls.contains("ac-6") && controls.contains("sc-39") && controls.contains("ac-3.3"))
    }

    @Test("one observation per workload and per finding; findings point at them and name their controls")
    func observationsAndFindings() throws {
        let result = try result(try document(try Report.render(format: .oscal, report: report, rules: Fixtures.pack)))
        let observations = try #require(result["observations"] as? [[String: Any]])
        let findings = try #require(result["findings"] as? [[String: Any]])
        #expect(observations.count == report.workloads.count + report.findings.count)
        let observationIDs = Set(observations.compactMap { $0["uuid"] as? String })
        #expect(observationIDs.count == observations.count)

        // Subjects name inventory items that exist.
        let items = try #require((result["local-definitions"] as? [String: Any])?["inventory-items"] as? [[String: Any]])
        let itemIDs = Set(items.compactMap { $0["uuid"] as? String })
        for observation in observations {
            for subject in observation["subjects"] as? [[String: Any]] ?? [] {
                #expect(itemIDs.contains(subject["subject-uuid"] as? String ?? ""))
            }
        }
        // Every related observation exists.
        for finding in findings {
            for related in finding["related-observations"] as? [[String: Any]] ?? [] {
                #expect(observationIDs.contains(related["observation-uuid"] as? String ?? ""))
            }
        }
        // Live workloads are tested, declared ones examined.
        for posture in report.workloads {
            let observation = try #require(observations.first { observation in
                observation["types"] == nil
                    && (observation["subjects"] as? [[String: Any]])?.first?["title"] as? String == SafeText.forMarkdown(posture.name)
            })
            #expect(observation["methods"] as? [String] == [posture.source == .declared ? "EXAMINE" : "TEST"])
        }
        #expect(report.workloads.contains { $0.source == .declared } && report.workloads.contains { $0.source == .observed })

        // The host-PID finding: not satisfied, target SC-39, props with SC-4 and 800-190 4.4.3.
        let hostPID = try #require(findings.first { finding in
            (finding["props"] as? [[String: Any]] ?? []).contains { $0["name"] as? String == "rule" && $0["value"] as? String == "ct-host-pid" }
        })
        let target = try #require(hostPID["target"] as? [String: Any])
        #expect(target["type"] as? String == "objective-id")
        #expect(target["target-id"] as? String == "sc-39")
        #expect((target["status"] as? [String: Any])?["state"] as? String == "not-satisfied")
        let props = (target["props"] as? [[String: Any]] ?? []).map { "\($0["name"] ?? ""):\($0["value"] ?? "")" }
        #expect(props.contains("nist-sp800-53-control:SC-4"))
        #expect(props.contains("nist-sp800-190-section:4.4.3"))
        #expect(props.contains("cis-docker-1.6.0:5.16"))
        let evidenceObservation = try #require(observations.first {
            $0["uuid"] as? String == (hostPID["related-observations"] as? [[String: Any]])?.first?["observation-uuid"] as? String
        })
        let evidence = (evidenceObservation["relevant-evidence"] as? [[String: Any]] ?? []).compactMap { $0["description"] as? String }
        #expect(evidence.contains { $0.contains("namespaces.pid") && $0.contains("host") })
        #expect(evidenceObservation["types"] as? [String] == ["finding"])

        // The baseline-accepted finding says so; controls nothing fired on are satisfied.
        #expect(findings.contains { finding in
            let status = (finding["target"] as? [String: Any])?["status"] as? [String: Any]
            return (status?["remarks"] as? String)?.contains("lab guest") == true
        })
        let satisfied = findings.filter {
            ((($0["target"] as? [String: Any])?["status"] as? [String: Any])?["state"] as? String) == "satisfied"
        }
        let unsatisfiedTargets = Set(findings.compactMap { finding -> String? in
            guard let target = finding["target"] as? [String: Any],
                  (target["status"] as? [String: Any])?["state"] as? String == "not-satisfied" else { return nil }
            return target["target-id"] as? String
        })
        for finding in satisfied {
            let control = (finding["target"] as? [String: Any])?["target-id"] as? String ?? ""
            #expect(!unsatisfiedTargets.contains(control), "\(control) is both satisfied and not")
        }
    }

    @Test("document and result UUIDs are random v4; observations and findings are stable v5")
    func identifiers() throws {
        let first = try result(try document(try Report.render(format: .oscal, report: report, rules: Fixtures.pack)))
        let secondDocument = try document(try Report.render(format: .oscal, report: report, rules: Fixtures.pack))
        let second = try result(secondDocument)
        let version4 = #/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/#
        let version5 = #/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/#
        #expect((first["uuid"] as? String)?.wholeMatch(of: version4) != nil)
        #expect(first["uuid"] as? String != second["uuid"] as? String)
        #expect((secondDocument["uuid"] as? String)?.wholeMatch(of: version4) != nil)
        let firstIDs = (first["observations"] as? [[String: Any]] ?? []).compactMap { $0["uuid"] as? String }
        let secondIDs = (second["observations"] as? [[String: Any]] ?? []).compactMap { $0["uuid"] as? String }
        #expect(!firstIDs.isEmpty && firstIDs == secondIDs)
        #expect(firstIDs.allSatisfy { $0.wholeMatch(of: version5) != nil })
    }

    @Test("version 5 UUIDs match Python's uuid.uuid5 (RFC 4122)",
          .enabled(if: (try? Fixtures.python("import uuid", []))?.0 == 0, "needs python3"))
    func uuid5MatchesPython() throws {
        let namespace = OSCALRenderer.uuidNamespace.map { String(format: "%02x", $0) }.joined()
        for name in ["", "a", "workload-observation:podman:open", String(repeating: "é", count: 100), "x\n\"y"] {
            let (status, output) = try Fixtures.python(
                "import sys, uuid; print(uuid.uuid5(uuid.UUID(hex=sys.argv[1]), sys.argv[2]))", [namespace, name])
            #expect(status == 0)
            #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == OSCALRenderer.uuid5(namespace: OSCALRenderer.uuidNamespace, name: name))
        }
    }

    @Test("a hostile workload name stays data: exact in JSON, escaped in Markdown fields, one line in properties")
    func hostileName() throws {
        var hostile = report
        let invalidUTF8 = String(decoding: [0x62, 0x61, 0x64, 0xFF, 0xC3, 0x28, 0xED, 0xA0, 0x80], as: UTF8.self)
        let decoded = SafeText.decode([0x73, 0x61, 0x66, 0x65, 0xFE, 0x0A] as [UInt8])
        hostile.workloads[1].name = "  " + Fixtures.hostile + " " + invalidUTF8 + " " + decoded + "\u{2028}**bold** [link](http://x) "
        hostile.findings[0].message = Fixtures.hostile + "\u{01}"
        let bytes = try Report.render(format: .oscal, report: hostile, rules: Fixtures.pack)
        #expect(String(validating: bytes, as: UTF8.self) != nil)
        let result = try result(try document(bytes))
        let items = try #require((result["local-definitions"] as? [String: Any])?["inventory-items"] as? [[String: Any]])
        let names = items.flatMap { $0["props"] as? [[String: Any]] ?? [] }
            .filter { $0["name"] as? String == "workload-name" }.compactMap { $0["value"] as? String }
        // The property carries the name with its line breaks as spaces and its ends trimmed.
        let expected = hostile.workloads[1].name.replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: "\u{2028}", with: " ").trimmingCharacters(in: .whitespaces)
        #expect(expected.hasPrefix("evil") && expected.hasSuffix("(http://x)"))
        #expect(names.contains(expected), "\(names)")
        // No Markdown field lets markup or a raw control character through.
        var markup: [String] = []
        func collect(_ value: Any, key: String) {
            if let object = value as? [String: Any] {
                for (key, member) in object { collect(member, key: key) }
            } else if let array = value as? [Any] {
                for member in array { collect(member, key: key) }
            } else if let text = value as? String, ["title", "description", "remarks"].contains(key) {
                markup.append(text)
            }
        }
        collect(result, key: "")
        #expect(!markup.isEmpty)
        for text in markup {
            #expect(!text.contains("<script>"), "\(text)")
            #expect(!text.contains("[link](http"), "\(text)")
            #expect(!text.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x01 }, "\(text)")
        }
        #expect(markup.contains { $0.contains("&lt;script&gt;") })
        if OSCALValidator.required {
            let (status, output) = try OSCALValidator.validate(bytes)
            #expect(status == 0, "\(output)")
        }
    }
}
