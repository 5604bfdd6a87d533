import CloisterModel
import Foundation
import Testing
@testable import CloisterPlacement

func describe(_ body: String, file: String = "test.yaml") throws -> WorkloadDescription {
    try WorkloadDescription.parse(yaml: "version: 1\n" + body, file: file)
}

func advise(_ body: String, threatModel: String? = nil) throws -> Advice {
    try PlacementEngine(catalogue: loadCatalogue()).advise(describe(body), threatModel: threatModel)
}

func rejections(_ advice: Advice, _ option: String) -> [String] {
    advice.alternatives.first { $0.option == option }?.reasons.map(\.policy).filter { $0.contains(".cannot.") } ?? []
}

@Suite struct DeterminismTests {
    @Test func sameInputGivesIdenticalJSON() throws {
        let body = """
            name: api
            trust: untrusted
            tenancy: multi-hostile
            compliance: [pci-dss, hipaa]
            needs: {gpu: true, network: both}
            """
        let first = try AdviceRenderer.json(advise(body))
        for _ in 0..<5 {
            #expect(try AdviceRenderer.json(advise(body)) == first)
        }
    }

    @Test func jsonCarriesTheContractFieldNames() throws {
        let json = try AdviceRenderer.json(advise("name: api\ntrust: internal\ntenancy: single\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let recommendation = try #require(object["recommendation"] as? [String: Any])
        #expect(recommendation["option"] as? String == "hardened-container")
        #expect(recommendation["scope"] as? String == "shared-nodes")
        for key in ["alternatives", "residualRisks", "hardening", "reasons", "complianceNotes", "sources"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        let reasons = try #require(object["reasons"] as? [[String: Any]])
        #expect(reasons.allSatisfy { ($0["policy"] as? String)?.isEmpty == false })
        let hardening = try #require(object["hardening"] as? [String: Any])
        #expect(hardening["targetPosture"] != nil)
        #expect(hardening["steps"] != nil)
    }

    @Test func everyAlternativeSaysWhyItLost() throws {
        let advice = try advise("name: jobs\ntrust: untrusted\ntenancy: single\n")
        #expect(advice.alternatives.count == Catalogue.optionIDs.count - 1)
        #expect(advice.alternatives.map(\.rank) == Array(2...(advice.alternatives.count + 1)))
        for alternative in advice.alternatives {
            #expect(!alternative.reasons.isEmpty, "\(alternative.option) has no reason")
        }
        // Feasible alternatives come before ruled-out ones, ranked by score.
        let feasible = advice.alternatives.prefix { $0.feasible }.compactMap(\.score)
        #expect(feasible == feasible.sorted(by: >))
    }
}

@Suite struct HardConstraintTests {
    @Test func windowsNeedsAVM() throws {
        let advice = try advise("name: w\ntrust: untrusted\ntenancy: multi-hostile\nneeds: {os: windows}\n")
        #expect(advice.recommendation?.option == "vm")
        for option in ["container", "hardened-container", "userns-container", "gvisor", "kata", "microvm"] {
            #expect(rejections(advice, option).contains { $0.hasSuffix(".non-linux-guest") }, "\(option)")
        }
    }

    @Test func gpuExcludesMicroVM() throws {
        let advice = try advise("name: g\ntrust: untrusted\ntenancy: multi-hostile\nneeds: {gpu: true}\n")
        #expect(advice.recommendation?.option != "microvm")
        #expect(rejections(advice, "microvm").contains("catalogue.yaml#options.microvm.cannot.gpu-passthrough"))
    }

    @Test func noKVMExcludesEveryKVMOptionBecauseTCGIsNoBoundary() throws {
        let advice = try advise("name: n\ntrust: untrusted\ntenancy: single\nplatform: {kvm: none}\n")
        #expect(advice.recommendation?.option == "gvisor")
        for option in ["kata", "microvm", "vm", "confidential-vm"] {
            #expect(rejections(advice, option).contains { $0.hasSuffix(".no-kvm") }, "\(option)")
        }
        let vmReason = advice.alternatives.first { $0.option == "vm" }?.reasons.first { $0.policy.hasSuffix(".no-kvm") }
        #expect(vmReason?.message.contains("TCG") == true)
        #expect(vmReason?.sources.contains("qemu-security") == true)
    }

    @Test func minimumBoundaryRulesOutContainersForUntrustedCode() throws {
        let advice = try advise("name: u\ntrust: untrusted\ntenancy: single\n")
        for option in ["container", "hardened-container", "userns-container"] {
            let alternative = try #require(advice.alternatives.first { $0.option == option })
            #expect(!alternative.feasible)
            #expect(alternative.reasons.contains { $0.policy == "threat-models.yaml#untrusted-code.minBoundary" })
        }
    }

    @Test func noFeasibleOptionIsSaidPlainly() throws {
        let advice = try advise("name: s\ntrust: trusted\ntenancy: single\nhostTrusted: false\n")
        #expect(advice.recommendation == nil)
        #expect(advice.hardening.targetPosture == nil)
        #expect(advice.alternatives.count == Catalogue.optionIDs.count)
        #expect(advice.alternatives.allSatisfy { !$0.feasible })
        #expect(AdviceRenderer.table(advice).contains("RECOMMENDATION  none"))
        let json = try AdviceRenderer.json(advice)
        #expect(json.contains("\"recommendation\" : null"))
        let decoded = try JSONDecoder().decode(Advice.self, from: Data(json.utf8))
        #expect(decoded == advice)
    }
}

@Suite struct ThreatModelTests {
    @Test func inferenceIsItselfAReason() throws {
        let advice = try advise("name: f\ntrust: untrusted\ntenancy: multi-hostile\n")
        #expect(advice.threatModels.map(\.id) == ["hostile-multi-tenancy", "untrusted-code"])
        #expect(advice.threatModels.allSatisfy { $0.selection == "inferred" })
        #expect(advice.reasons.contains { $0.policy == "threat-models.yaml#hostile-multi-tenancy.match" })
    }

    @Test func fallbackIsInternalTrusted() throws {
        let advice = try advise("name: f\ntrust: trusted\ntenancy: single\n")
        #expect(advice.threatModels.map(\.id) == ["internal-trusted"])
    }

    @Test func explicitThreatModelOverridesInference() throws {
        let advice = try advise("name: f\ntrust: trusted\ntenancy: single\n", threatModel: "untrusted-code")
        #expect(advice.threatModels.map(\.id) == ["untrusted-code"])
        #expect(advice.threatModels.first?.selection == "explicit")
        #expect(advice.recommendation?.option == "gvisor")
    }

    @Test func unknownThreatModelNamesTheKnownOnes() throws {
        #expect(throws: PlacementError.self) { try advise("name: f\ntrust: trusted\ntenancy: single\n", threatModel: "nope") }
        do {
            _ = try advise("name: f\ntrust: trusted\ntenancy: single\n", threatModel: "nope")
        } catch let error as PlacementError {
            #expect(error.description.contains("untrusted-code"))
        }
    }

    @Test func everyCatalogueAndThreatModelEntryCitesAKnownSource() throws {
        let catalogue = try loadCatalogue()
        #expect(catalogue.threatModels.count >= 5)
        for id in ["untrusted-code", "hostile-multi-tenancy", "internal-trusted", "regulated-data", "untrusted-host"] {
            #expect(catalogue.threatModel(id) != nil, "missing threat model \(id)")
        }
        #expect(catalogue.options.map(\.id) == Catalogue.optionIDs)
        for option in catalogue.options {
            let cited = option.propertySources + option.cannot.flatMap(\.sources)
                + option.residualRisks.flatMap(\.sources) + option.hardening.flatMap(\.sources)
            #expect(!cited.isEmpty)
            #expect(cited.allSatisfy { catalogue.sources[$0] != nil })
        }
    }
}

@Suite struct OutputTests {
    @Test func tableEscapesUserSuppliedText() throws {
        let advice = try advise("name: \"evil\\e]0;pwned\\a\"\ntrust: trusted\ntenancy: single\n")
        let table = AdviceRenderer.table(advice)
        #expect(!table.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 })
        #expect(table.contains("evil\\x1b]0;pwned\\x07"))
    }

    @Test func targetPostureIsHardened() throws {
        let advice = try advise("name: db\ntrust: trusted\ntenancy: single\nneeds: {capabilities: [net_bind_service]}\n")
        let posture = try #require(advice.hardening.targetPosture)
        #expect(posture.kind == .container)
        #expect(posture.seccomp?.mode == .filter)
        #expect(posture.noNewPrivileges == true)
        #expect(posture.readOnlyRootfs == true)
        #expect(posture.capabilities.effective == ["CAP_NET_BIND_SERVICE"])
        #expect(posture.namespaces.net == .private && posture.namespaces.pid == .private)
        #expect(posture.cgroup?.pidsMax != nil)
        #expect(posture.mac.apparmor?.confined == true)
        #expect(posture.source == .declared)
    }

    @Test func usernsTargetMapsRootAway() throws {
        let advice = try advise("name: t\ntrust: internal\ntenancy: multi-cooperative\n")
        #expect(advice.recommendation?.option == "userns-container")
        let user = try #require(advice.hardening.targetPosture?.user)
        #expect(user.rootMappedToHost == false)
        #expect(user.uidMap.first?.hostID(for: 0) == 100_000)
        #expect(advice.hardening.targetPosture?.namespaces.user == .private)
    }

    @Test func vmTargetHasASandboxedHypervisor() throws {
        let advice = try advise("name: w\ntrust: internal\ntenancy: single\nneeds: {os: windows}\n")
        let hypervisor = try #require(advice.hardening.targetPosture?.hypervisor)
        #expect(hypervisor.sandbox.enabled)
        #expect(hypervisor.sandbox.options["spawn"] == "deny")
        #expect(hypervisor.accelerator == "kvm")
        #expect(hypervisor.consoles.allSatisfy { $0.localOnly == true })
    }

    @Test func relaxationsAreNamed() throws {
        let advice = try advise("""
            name: agent
            trust: trusted
            tenancy: single
            needs: {privileged: true, hostNamespaces: [net]}
            """)
        #expect(advice.relaxations.contains { $0.hasPrefix("needs.privileged") })
        #expect(advice.relaxations.contains { $0.contains("net namespace") })
        #expect(advice.hardening.targetPosture?.namespaces.net == .host)
        // Privileged containers run unfiltered: the target does not pretend otherwise.
        #expect(advice.hardening.targetPosture?.seccomp == nil)
        #expect(!advice.hardening.steps.contains { $0.id == "seccomp-runtime-default" })
    }

    @Test func measuredFiguresReplaceTheCatalogue() throws {
        let engine = PlacementEngine(catalogue: try loadCatalogue(), measured: MeasuredFigures(startupMs: ["hardened-container": 42]))
        let advice = try engine.advise(describe("name: a\ntrust: internal\ntenancy: single\n"))
        #expect(advice.recommendation?.startupMs == 42)
        #expect(advice.recommendation?.startupSource == "measured")
    }
}
