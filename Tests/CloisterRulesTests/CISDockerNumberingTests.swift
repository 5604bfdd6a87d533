import CloisterModel
import CloisterRules
import Testing

/// CIS Docker Benchmark 1.8.0's numbers beside 1.6.0's: every item the pack and the daemon
/// checks cite has one, and findings carry both (1.6.0's first, never replaced).
@Suite("CIS Docker Benchmark 1.8.0 numbering")
struct CISDockerNumberingTests {
    @Test("every CIS item cited by a rule or a daemon check has its 1.8.0 number")
    func everyCitedItemMapped() throws {
        let cited = Set(Shipped.pack.rules.compactMap(\.references.cisDocker)).union(HostConfigurationTests.rules.rules.compactMap(\.cis))
        #expect(cited.count > 30)
        for item in cited { #expect(CISDockerNumbering.v1_8_0[item] != nil, "CIS 1.6.0 \(item) has no 1.8.0 number") }
    }

    @Test("a container finding cites 5.16 in both versions; a daemon finding 2.9 in 1.6.0 and 2.10 in 1.8.0")
    func findingsCarryBoth() throws {
        var posture = HardenedPosture.make(kind: .container, id: "podman:abc")
        posture.namespaces.pid = .host
        let finding = try #require(RuleEngine(pack: Shipped.pack).evaluate([posture]).first { $0.rule == "ct-host-pid" })
        let cis = finding.references.filter { $0.source.hasPrefix("cis-docker-") }.map { "\($0.source):\($0.id)" }
        #expect(cis == ["cis-docker-1.6.0:5.16", "cis-docker-1.8.0:5.16"])

        let daemon = HostConfigurationTests.docker(HostConfigurationTests.hardenedDocker.filter { $0.key != "userns-remap" })
        let userns = try #require(HostConfigurationTests.rules.judge([daemon]).findings.first { $0.rule == "docker-no-userns-remap" })
        #expect(userns.references.contains { $0.source == "cis-docker-1.6.0" && $0.id == "2.9" })
        #expect(userns.references.contains { $0.source == "cis-docker-1.8.0" && $0.id == "2.10" })
    }

    @Test("section 2 moves one up from TLS on; an item nobody cites gets no 1.8.0 reference")
    func shifts() {
        #expect(CISDockerNumbering.v1_8_0["2.3"] == "2.3")
        #expect(CISDockerNumbering.v1_8_0["2.7"] == "2.8")
        #expect(CISDockerNumbering.v1_8_0["2.16"] == "2.17")
        #expect(CISDockerNumbering.references(forItem: "2.5").map(\.source) == ["cis-docker-1.6.0"])
    }
}
