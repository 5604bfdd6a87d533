import CloisterCodec
import CloisterFormats
import CloisterLaunch
import CloisterModel
import CloisterOCI
import Foundation
import Testing

/// The runc and hardened-rootless configurations `check` is tested on, read from the repository.
let ociFixtures = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("CloisterCheckTests/Fixtures/oci")

@Suite("OCI runtime-spec wire types")
struct SpecTests {
    @Test(
        "a runc config.json decodes into Spec and encodes back with every field preserved",
        arguments: ["config.json", "rootless-hardened.json"])
    func roundTrip(file: String) throws {
        let data = try Data(contentsOf: ociFixtures.appendingPathComponent(file))
        let spec = try JSONDecoder().decode(Spec.self, from: data)
        let encoded = try JSONEncoder().encode(spec)
        #expect(try JSONDecoder().decode(Spec.self, from: encoded) == spec)
        // Every key of the file is a modelled field, so the JSON trees are equal: nothing
        // dropped, nothing added (an absent optional stays absent).
        let original = try #require(try JSONSerialization.jsonObject(with: data) as? NSDictionary)
        let again = try #require(try JSONSerialization.jsonObject(with: encoded) as? NSDictionary)
        #expect(original.isEqual(again), "\(String(decoding: encoded, as: UTF8.self))")
    }

    @Test("check's reader and JSONDecoder read the same Spec")
    func documentDecoderAgreesWithJSONDecoder() throws {
        for file in ["config.json", "rootless-hardened.json"] {
            let data = try Data(contentsOf: ociFixtures.appendingPathComponent(file))
            let root = try JSONDocument.parse(String(decoding: data, as: UTF8.self))
            #expect(try DocNodeDecoder.decode(Spec.self, from: DocCursor(root)) == JSONDecoder().decode(Spec.self, from: data))
        }
    }

    @Test("a type error names the line and path of the value")
    func typeErrorHasItsLine() throws {
        let root = try JSONDocument.parse("{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {\"user\": {\"uid\": -1}}\n}")
        let uid = try #require(failure { try DocNodeDecoder.decode(Spec.self, from: DocCursor(root)) })
        #expect(uid.line == 3 && uid.path == "process.user.uid")
        #expect(uid.message == "process.user.uid must be a whole number from 0 to 4294967295, not -1")
        let mapping = try JSONDocument.parse("{\"ociVersion\": \"1\",\n\"linux\": {\"uidMappings\": [{\"hostID\": 1}]}}")
        let missing = try #require(failure { try OCIConfig.posture(mapping, file: "config.json") })
        #expect(missing.line == 2 && missing.message == "linux.uidMappings[0] needs containerID, hostID and size")
    }

    func failure(_ body: () throws -> some Any) -> DocumentError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error as? DocumentError
        }
    }

    @Test("the bundle launch --mode oci writes reads back, through check's reader, as the posture the plan asked for")
    func bundleIsThePlannedPosture() throws {
        var target = LaunchPlan.defaultTarget(command: ["/bin/true"])
        target.cgroup?.cpuQuota = .value(50_000)
        target.cgroup?.cpuPeriod = 100_000
        var options = LaunchOptions(command: ["/bin/true"])
        options.landlock = false
        let plan = try LaunchPlan.make(target: target, options: options)
        let data = try OCIBundle.encoded(plan, rootfs: "/srv/rootfs")
        #expect(try JSONDecoder().decode(Spec.self, from: data) == OCIBundle.config(plan, rootfs: "/srv/rootfs"))

        let posture = try OCIConfig.posture(JSONDocument.parse(String(decoding: data, as: UTF8.self)), file: "config.json")
        #expect(Verification.compare(plan: plan, observed: posture) == [])
        for type in plan.namespaces { #expect(posture.namespaces[type] == .private) }
        #expect(posture.user.uidMap == plan.uidMap && posture.user.gidMap == plan.gidMap)
        #expect(posture.user.rootMappedToHost == false)
        #expect(posture.seccomp?.mode == .filter)
        #expect(posture.noNewPrivileges == true && posture.readOnlyRootfs == true)
        #expect(posture.cgroup?.memoryMax == target.cgroup?.memoryMax)
        #expect(posture.cgroup?.pidsMax == target.cgroup?.pidsMax)
        #expect(posture.cgroup?.cpuQuota == .value(50_000) && posture.cgroup?.cpuPeriod == 100_000)
        #expect(posture.command == ["/bin/true"])
        // Every field the file declares points at its line.
        #expect(posture.fieldLocations["noNewPrivileges"]?.line != nil)
        #expect(posture.fieldLocations["seccomp.mode"]?.path == "linux.seccomp")

        // The typed value converts the same without the file, only without locations.
        var typed = try OCIConfig.posture(OCIBundle.config(plan, rootfs: "/srv/rootfs"), file: "config.json")
        #expect(typed.fieldLocations.isEmpty)
        typed.fieldLocations = posture.fieldLocations
        typed.location = posture.location
        #expect(typed == posture)
    }
}
