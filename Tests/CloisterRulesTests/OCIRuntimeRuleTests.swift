import CloisterModel
import CloisterRules
import Testing

/// Engine and OCI runtime are both facts: `esc-runc-exposure` reads the runtime that created the
/// container, so a podman container crun created is not runc's, and one whose runtime could not
/// be read is undecided rather than assumed to be runc.
@Suite("esc-runc-exposure reads the OCI runtime")
struct OCIRuntimeRuleTests {
    static func rootContainer(engine: String, ociRuntime: String?, unknown: [FieldPath: String] = [:]) -> Posture {
        var posture = HardenedPosture.make(kind: .container, id: "\(engine):x")
        posture.runtime = engine
        posture.ociRuntime = ociRuntime
        posture.user = UserIdentity(uid: 0, gid: 0, hostUid: 0, hostGid: 0, rootMappedToHost: true)
        posture.unknown = unknown
        return posture
    }

    static func verdict(_ posture: Posture) -> (fired: Bool, undecided: Bool) {
        let evaluation = RuleEngine(pack: Shipped.pack).evaluateDetailed([posture])
        return (evaluation.findings.contains { $0.rule == "esc-runc-exposure" },
                evaluation.undetermined.contains { $0.rule == "esc-runc-exposure" })
    }

    @Test("fires for runc, whatever the engine", arguments: ["podman", "docker", "containerd", "cri-o"])
    func runc(_ engine: String) {
        #expect(Self.verdict(Self.rootContainer(engine: engine, ociRuntime: "runc")) == (true, false))
    }

    @Test("silent for the runtimes CVE-2019-5736 and CVE-2024-21626 are not in", arguments: ["crun", "runsc", "kata", "youki"])
    func otherRuntimes(_ runtime: String) {
        #expect(Self.verdict(Self.rootContainer(engine: "podman", ociRuntime: runtime)) == (false, false))
    }

    @Test("undecided when the scan could not read the runtime")
    func unknownRuntime() {
        let posture = Self.rootContainer(engine: "docker", ociRuntime: nil, unknown: ["ociRuntime": "no state readable"])
        #expect(Self.verdict(posture) == (false, true))
    }

    @Test("a declared configuration names no runtime: its engine's default, runc, decides")
    func declaredWithoutRuntime() {
        #expect(Self.verdict(Self.rootContainer(engine: "docker", ociRuntime: nil)) == (true, false))
        #expect(Self.verdict(Self.rootContainer(engine: "bubblewrap", ociRuntime: nil)) == (false, false))
    }
}
