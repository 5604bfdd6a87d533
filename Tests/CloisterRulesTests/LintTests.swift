import CloisterResourceFiles
import CloisterRules
import Testing

@Suite("Bad rule files are rejected with file and line")
struct LintTests {
    static let header = "version: 1\nrules:\n"

    static func rule(when condition: String, message: String = "m") -> String {
        header + """
              - id: bad-rule
                title: t
                severity: high
                kinds: [container]
                when: \(condition)
                message: "\(message)"
                remediation: r
                references: {nist: "4.4.3"}
                cases:
                  fires: [{posture: {namespaces: {pid: host}}}]
                  silent: [{posture: {}}]
            """
    }

    func errors(_ yaml: String) -> [InputFileError] {
        do {
            _ = try RulePack.parse(yaml: yaml, file: "rules/bad.yaml")
            return []
        } catch let error as InputFileErrors {
            return error.errors
        } catch let error as InputFileError {
            return [error]
        } catch {
            return []
        }
    }

    @Test(
        "Each mistake is named with the file and its line",
        arguments: [
            ("{field: namespaces.pidd, equals: host}", 7, "unknown posture field `namespaces.pidd`"),
            ("{field: namespaces.pid, equal: host}", 7, "unknown operator `equal`"),
            ("{field: noNewPrivileges, equals: maybe}", 7, "holds a boolean"),
            ("{field: seccomp.mode, equals: off}", 7, "is one of disabled, strict, filter"),
            ("{field: namespaces.net, in: [host, shared]}", 7, "is one of private, host, not `shared`"),
            ("{field: seccomp.mode, contains: disabled}", 7, "needs a list of values"),
            ("{field: mounts, where: {field: hostpath, equals: /}}", 7, "unknown posture field `hostpath` inside mounts[]"),
            ("{field: cgroup.pidsMax, greaterThan: lots}", 7, "takes a number"),
            ("{alll: []}", 7, "unknown condition keys alll"),
            ("{all: [{field: namespaces.pid, equals: host}], any: []}", 7, "stands alone"),
        ] as [(String, Int, String)])
    func conditionErrors(condition: String, line: Int, message: String) {
        let found = errors(Self.rule(when: condition))
        #expect(found.contains { $0.file == "rules/bad.yaml" && $0.line == line && $0.message.contains(message) },
                "\(found.map(\.description))")
    }

    @Test("A message citing a field that does not exist is rejected")
    func badPlaceholder() {
        let found = errors(Self.rule(when: "{field: namespaces.pid, equals: host}", message: "pid {{namespaces.pdi}}"))
        #expect(found.contains { $0.line == 8 && $0.message.contains("namespaces.pdi") })
    }

    @Test("A newer version is refused, naming the file")
    func newerVersion() {
        let found = errors("version: 2\nrules: []\n")
        #expect(found.first?.description == "rules/bad.yaml:1:10: rule file version 2 is newer than this program knows (1); upgrade cloister to read it")
    }

    @Test("Missing version, bad YAML, unknown keys, missing cases, bad CVE ids")
    func structure() {
        #expect(errors("rules: []\n").first?.message.contains("missing `version`") == true)
        #expect(errors("version: 1\nrules: [\n").first?.message.contains("not valid YAML") == true)
        let unknownKey = Self.rule(when: "{field: namespaces.pid, equals: host}").replacingOccurrences(of: "title: t", with: "titel: t")
        #expect(errors(unknownKey).contains { $0.line == 4 && $0.message.contains("unknown rule key `titel`") })
        let noCases = Self.header + """
              - id: x
                title: t
                severity: high
                kinds: [container]
                when: {field: namespaces.pid, equals: host}
                message: m
                remediation: r
                references: {cves: [CVE-19-1]}
            """
        let found = errors(noCases)
        #expect(found.contains { $0.message.contains("not a CVE id") && $0.line == 10 })
        #expect(found.contains { $0.message.contains("has no `cases:`") })
    }

    @Test("NIST SP 800-53 references are checked, and carried into findings")
    func sp80053() throws {
        let good = Self.rule(when: "{field: namespaces.pid, equals: host}")
            .replacingOccurrences(of: #"references: {nist: "4.4.3"}"#, with: #"references: {nist: "4.4.3", sp800-53: [SC-39, AC-3(3)]}"#)
        #expect(errors(good).isEmpty, "\(errors(good).map(\.description))")
        let rule = try #require(try RulePack.parse(yaml: good, file: "rules/good.yaml").first)
        #expect(rule.references.nist80053 == ["SC-39", "AC-3(3)"])
        #expect(rule.references.asReferences.filter { $0.source == NIST80053.source }.map(\.id) == ["SC-39", "AC-3(3)"])
        let bad = good.replacingOccurrences(of: "AC-3(3)", with: "ac6")
        #expect(errors(bad).contains { $0.line == 10 && $0.message.contains("`ac6` is not a NIST SP 800-53 control") },
                "\(errors(bad).map(\.description))")
        let notList = good.replacingOccurrences(of: "[SC-39, AC-3(3)]", with: "SC-39")
        #expect(errors(notList).contains { $0.message.contains("`sp800-53` is a list") })
    }

    @Test("A case that is not a valid posture is rejected at its line")
    func badCase() {
        let yaml = Self.rule(when: "{field: namespaces.pid, equals: host}")
            .replacingOccurrences(of: "silent: [{posture: {}}]", with: "silent: [{posture: {namespaces: {pid: sideways}}}]")
        let found = errors(yaml)
        #expect(found.contains { $0.line == 13 && $0.message.contains("not a valid posture") }, "\(found.map(\.description))")
        let unknownField = Self.rule(when: "{field: namespaces.pid, equals: host}")
            .replacingOccurrences(of: "silent: [{posture: {}}]", with: "silent: [{posture: {namespace: {pid: host}}}]")
        #expect(errors(unknownField).contains { $0.message.contains("unknown posture field `namespace`") })
    }

    @Test("Duplicate rule ids across files are rejected")
    func duplicates() throws {
        let directory = FileManagerHelper.temporaryDirectory()
        let text = Self.rule(when: "{field: namespaces.pid, equals: host}")
        try text.write(toFile: directory + "/a.yaml", atomically: true, encoding: .utf8)
        try text.write(toFile: directory + "/b.yaml", atomically: true, encoding: .utf8)
        #expect(throws: InputFileErrors.self) { try RulePack.load(directory: directory) }
    }
}
