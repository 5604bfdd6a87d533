import CloisterModel
import CloisterResourceFiles
import Foundation
import Testing
@testable import CloisterPlacement

@Suite struct DescriptionValidationTests {
    func failure(_ yaml: String) -> PlacementInputError? {
        do {
            _ = try WorkloadDescription.parse(yaml: yaml, file: "workload.yaml")
            return nil
        } catch let error as PlacementInputError {
            return error
        } catch {
            return nil
        }
    }

    @Test func badEnumNamesFieldLineAndAllowedValues() throws {
        let error = try #require(failure("version: 1\nname: a\ntrust: mostly\ntenancy: single\n"))
        #expect(error.file == "workload.yaml")
        #expect(error.field == "trust")
        #expect(error.line == 3)
        #expect(error.allowed == ["trusted", "internal", "semi-trusted", "untrusted"])
        #expect(error.description.contains("workload.yaml:3"))
        #expect(error.description.contains("allowed: trusted, internal, semi-trusted, untrusted"))
    }

    @Test func nestedFieldIsNamedWithItsPath() throws {
        let error = try #require(failure("""
            version: 1
            name: a
            trust: trusted
            tenancy: single
            needs:
              kernel: patched
            """))
        #expect(error.field == "needs.kernel")
        #expect(error.line == 6)
        #expect(error.allowed == ["host", "custom", "modules"])
    }

    @Test func listItemsAreChecked() throws {
        let error = try #require(failure("""
            version: 1
            name: a
            trust: trusted
            tenancy: single
            platform: {confidentialHardware: [sev-snp, sgx]}
            """))
        #expect(error.field == "platform.confidentialHardware")
        #expect(error.allowed == ["sev-snp", "tdx"])
    }

    @Test func misspeltFieldIsRefusedNotDefaulted() throws {
        let error = try #require(failure("version: 1\nname: a\ntrust: trusted\ntenacy: single\n"))
        #expect(error.field == "tenacy")
        #expect(error.allowed.contains("tenancy"))
    }

    @Test func requiredFieldsAreRequired() throws {
        let error = try #require(failure("version: 1\nname: a\ntrust: trusted\n"))
        #expect(error.field == "tenancy")
        #expect(error.message.contains("required"))
        #expect(error.allowed == ["single", "multi-cooperative", "multi-hostile"])
    }

    @Test func wrongTypesAreNamed() throws {
        let error = try #require(failure("version: 1\nname: a\ntrust: trusted\ntenancy: single\nneeds: {gpu: maybe}\n"))
        #expect(error.field == "needs.gpu")
        #expect(error.allowed == ["true", "false"])
        let startup = try #require(failure("version: 1\nname: a\ntrust: trusted\ntenancy: single\nperformance: {startupMs: fast}\n"))
        #expect(startup.field == "performance.startupMs")
    }

    @Test func newerVersionIsRefusedClearly() throws {
        let error = try #require(failure("version: 2\nname: a\ntrust: trusted\ntenancy: single\n"))
        #expect(error.field == "version")
        #expect(error.message.contains("newer than this cloister understands"))
        let missing = try #require(failure("name: a\ntrust: trusted\ntenancy: single\n"))
        #expect(missing.field == "version")
    }

    @Test func invalidYAMLNamesTheFile() throws {
        let error = try #require(failure("version: 1\nname: [unclosed\n"))
        #expect(error.file == "workload.yaml")
        #expect(error.message.contains("not valid YAML"))
    }

    /// The reader now composes with the basic resolver (YAMLText) rather than Yams' default one;
    /// it reads scalars by their text, so what the default resolver typed reads the same.
    @Test func scalarsTheDefaultResolverTypedReadTheSame() throws {
        let base = "version: 1\nname: a\ntrust: trusted\ntenancy: single\n"
        for absent in ["~", "null", "NULL", "", "!!null ''"] {
            let description = try WorkloadDescription.parse(yaml: base + "hostTrusted: \(absent)\n")
            #expect(description.hostTrusted, "hostTrusted: \(absent)")
            #expect(description.defaulted.contains("hostTrusted") == false)
        }
        for (text, value) in [("no", false), ("False", false), ("yes", true), ("TRUE", true), ("'false'", false)] {
            #expect(try WorkloadDescription.parse(yaml: base + "hostTrusted: \(text)\n").hostTrusted == value, "\(text)")
        }
        #expect(failure(base + "hostTrusted: off\n")?.message == "must be true or false, not 'off'")
        let performance = try WorkloadDescription.parse(yaml: base + "performance:\n  startupMs: 200\n")
        #expect(performance.performance.startupMs == 200)
        #expect(failure(base + "performance:\n  startupMs: 0x10\n")?.field == "performance.startupMs")
    }

    @Test func defaultsAreRecordedAsAssumptions() throws {
        let description = try WorkloadDescription.parse(yaml: "version: 1\nname: a\ntrust: trusted\ntenancy: single\n")
        #expect(description.defaulted.contains("hostTrusted"))
        #expect(description.defaulted.contains("needs.os"))
        #expect(description.needs.network == .egress)
        #expect(description.hostTrusted)
    }

    @Test func capabilitiesAreNormalised() throws {
        let description = try WorkloadDescription.parse(
            yaml: "version: 1\nname: a\ntrust: trusted\ntenancy: single\nneeds: {capabilities: [net_admin, CAP_CHOWN]}\n")
        #expect(description.needs.capabilities == ["CAP_NET_ADMIN", "CAP_CHOWN"])
    }
}

@Suite struct PolicyValidationTests {
    func copyPolicies() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-policies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in Catalogue.fileNames {
            try FileManager.default.copyItem(
                at: policiesDirectory.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        return directory
    }

    func replace(_ directory: URL, _ file: String, _ old: String, _ new: String) throws {
        let url = directory.appendingPathComponent(file)
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.contains(old))
        try text.replacingOccurrences(of: old, with: new).write(to: url, atomically: true, encoding: .utf8)
    }

    @Test func newerPolicyVersionIsRefused() throws {
        let directory = try copyPolicies()
        defer { try? FileManager.default.removeItem(at: directory) }
        try replace(directory, "catalogue.yaml", "\nversion: 1\n", "\nversion: 7\n")
        #expect {
            try Catalogue.load(directory: directory)
        } throws: { error in
            guard let error = error as? PlacementInputError else { return false }
            return error.field == "version" && error.file.hasSuffix("catalogue.yaml") && error.message.contains("newer")
        }
    }

    @Test func citingAnUnknownSourceIsRefused() throws {
        let directory = try copyPolicies()
        defer { try? FileManager.default.removeItem(at: directory) }
        try replace(directory, "threat-models.yaml", "sources: [amd-sev-snp, intel-tdx]\n", "sources: [amd-sev-snp, made-up]\n")
        #expect {
            try Catalogue.load(directory: directory)
        } throws: { error in
            guard let error = error as? PlacementInputError else { return false }
            return error.message.contains("made-up") && error.line != nil
        }
    }

    @Test func unknownOptionIDIsRefused() throws {
        let directory = try copyPolicies()
        defer { try? FileManager.default.removeItem(at: directory) }
        try replace(directory, "catalogue.yaml", "  - id: microvm\n", "  - id: unikernel\n")
        #expect {
            try Catalogue.load(directory: directory)
        } throws: { error in
            (error as? PlacementInputError)?.allowed.contains("microvm") == true
        }
    }
}
