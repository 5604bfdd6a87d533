import CloisterModel
import CloisterRules
import Testing

/// Rule files are composed with Yams' basic resolver and their id and reference patterns are
/// matched by hand (no ICU on the scan's path); these hold both to what the default resolver
/// and the regular expressions they replace accepted.
@Suite("Rule file scalars and reference shapes")
struct ResolutionTests {
    static func rule(id: String = "bad-rule", when condition: String, references: String = #"{nist: "4.4.3"}"#) -> String {
        """
        version: 1
        rules:
          - id: \(id)
            title: t
            severity: high
            kinds: [container]
            when: \(condition)
            message: "m"
            remediation: r
            references: \(references)
            cases:
              fires: [{posture: {namespaces: {pid: host}}}]
              silent: [{posture: {}}]
        """
    }

    func messages(_ yaml: String) -> [String] {
        do {
            _ = try RulePack.parse(yaml: yaml, file: "rules/r.yaml", includeCases: false)
            return []
        } catch let error as InputFileErrors {
            return error.errors.map(\.message)
        } catch let error as InputFileError {
            return [error.message]
        } catch {
            return ["\(error)"]
        }
    }

    @Test(
        "YAML 1.1 booleans in every spelling the default resolver knew compare as booleans",
        arguments: [("OFF", false), ("no", false), ("False", false), ("On", true), ("YES", true), ("true", true)])
    func booleans(spelling: String, value: Bool) throws {
        let rules = try RulePack.parse(
            yaml: Self.rule(when: "{field: noNewPrivileges, equals: \(spelling)}"), file: "r.yaml", includeCases: false)
        var posture = Posture(id: "podman:a", kind: .container, runtime: "podman", name: "a")
        posture.noNewPrivileges = value
        #expect(RuleEngine(pack: RulePack(rules: rules)).evaluate([posture]).map(\.rule) == ["bad-rule"])
        posture.noNewPrivileges = !value
        #expect(RuleEngine(pack: RulePack(rules: rules)).evaluate([posture]).isEmpty)
    }

    @Test("A quoted or oddly cased boolean is text, and text is not a boolean field's value", arguments: [#""no""#, "'true'", "tRUE", "y"])
    func notBooleans(spelling: String) {
        #expect(!messages(Self.rule(when: "{field: noNewPrivileges, equals: \(spelling)}")).isEmpty)
    }

    @Test("Numbers stay numbers", arguments: ["20", "0x14", "2_0", "20.0"])
    func numbers(spelling: String) throws {
        let rules = try RulePack.parse(
            yaml: Self.rule(when: "{field: user.uid, greaterThan: \(spelling)}"), file: "r.yaml", includeCases: false)
        var posture = Posture(id: "podman:a", kind: .container, runtime: "podman", name: "a")
        posture.user.uid = 21
        #expect(RuleEngine(pack: RulePack(rules: rules)).evaluate([posture]).count == 1)
        posture.user.uid = 20
        #expect(RuleEngine(pack: RulePack(rules: rules)).evaluate([posture]).isEmpty)
    }

    @Test("Rule ids are lower-case words joined by single hyphens", arguments: [
        ("ct-privileged", true), ("kvm2-x", true), ("a", true),
        ("Ct-privileged", false), ("ct--x", false), ("-ct", false), ("ct-", false), ("ct_x", false), ("ct x", false),
    ])
    func ruleIDs(id: String, valid: Bool) {
        let found = messages(Self.rule(id: "\"\(id)\"", when: "{field: namespaces.pid, equals: host}"))
        #expect(found.contains { $0.contains("lower-case words") } == !valid, "\(found)")
    }

    @Test("NIST SP 800-53 control ids", arguments: [
        ("AC-6", true), ("CM-7(2)", true), ("SC-39", true), ("SI-4(12)", true),
        ("AC-123", false), ("ac-6", false), ("A-6", false), ("AC6", false), ("AC-", false), ("AC-6()", false),
        ("AC-6(123)", false), ("AC-6(2", false), ("AC-6(2)x", false), ("AC-6 (2)", false), ("ACX-6", false),
    ])
    func controls(text: String, valid: Bool) {
        #expect(NIST80053.isControl(text) == valid)
    }

    @Test("CIS and NIST section numbers and CVE ids", arguments: [
        (#"{cis: "5.5"}"#, true), (#"{cis: "5.5.1"}"#, true), (#"{cis: "5"}"#, false), (#"{cis: "5."}"#, false), (#"{cis: "a.5"}"#, false),
        (#"{nist: "4"}"#, true), (#"{nist: "4.4.3"}"#, true), (#"{nist: "4..3"}"#, false), (#"{nist: ""}"#, false),
        ("{cves: [CVE-2019-5736]}", true), ("{cves: [CVE-2019-57361]}", true), ("{cves: [CVE-19-5736]}", false),
        ("{cves: [CVE-2019-573]}", false), ("{cves: [cve-2019-5736]}", false), ("{cves: [CVE-2019-5736-1]}", false),
    ])
    func references(references: String, valid: Bool) {
        let found = messages(Self.rule(when: "{field: namespaces.pid, equals: host}", references: references))
        #expect(found.isEmpty == valid, "\(found)")
    }
}
