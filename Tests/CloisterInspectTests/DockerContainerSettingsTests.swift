import CloisterModel
import Foundation
import Testing

@testable import CloisterInspect

/// Docker's own record of a container, parsed from files a real dockerd 20.10 wrote
/// (Fixtures/docker-20.10-container/README.md says how each was made).
@Suite("Docker container settings")
struct DockerContainerSettingsTests {
    static func file(_ name: String) throws -> [UInt8] {
        let path = FixtureScanTests.fixture("docker-20.10-container") + "/" + name
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test("a default container: no health check, restart no, network none, no ports, no ulimits")
    func defaults() throws {
        let settings = try #require(DockerContainerSettings.parse(
            configV2: try Self.file("default.config.v2.json"), hostConfig: try Self.file("default.hostconfig.json"),
            directory: "/var/lib/docker/containers/c0"))
        #expect(settings.healthCheck == false)
        #expect(settings.restartPolicy == "no")
        #expect(settings.restartMaxRetries == 0)
        #expect(settings.networks == ["none"])
        #expect(settings.publishedPorts == [])
        #expect(settings.ulimits == [])
        #expect(settings.sources == ["/var/lib/docker/containers/c0/config.v2.json", "/var/lib/docker/containers/c0/hostconfig.json"])
    }

    @Test("restart on-failure:3 and --ulimit nofile=100:200 from hostconfig.json")
    func configured() throws {
        let settings = try #require(DockerContainerSettings.parse(
            configV2: try Self.file("default.config.v2.json"), hostConfig: try Self.file("configured.hostconfig.json"),
            directory: "/d"))
        #expect(settings.restartPolicy == "on-failure")
        #expect(settings.restartMaxRetries == 3)
        #expect(settings.ulimits == [ResourceLimit(name: "nofile", soft: "100", hard: "200")])
        // PortBindings (asked for) are not ports Docker bound: NetworkSettings.Ports decides.
        #expect(settings.publishedPorts == [])
    }

    @Test("the default bridge, ports on 0.0.0.0 and ::, an unbound port, and HEALTHCHECK NONE")
    func bridge() throws {
        let settings = try #require(DockerContainerSettings.parse(
            configV2: try Self.file("bridge.config.v2.json"), hostConfig: try Self.file("default.hostconfig.json"),
            directory: "/d"))
        #expect(settings.networks == ["bridge"])
        #expect(settings.healthCheck == false)
        let ports = try #require(settings.publishedPorts)
        #expect(ports.count == 2)
        #expect(ports.allSatisfy { $0.hostPort == 80 && $0.containerPort == 80 && $0.allInterfaces })
        #expect(Set(ports.map(\.hostIP)) == ["0.0.0.0", "::"])
    }

    @Test("a file that is not Docker's JSON claims nothing", arguments: ["", "[]", "{\"RestartPolicy\": 7}", "{\"Ulimits\": [{\"Name\": 1}]}"])
    func malformed(_ text: String) throws {
        #expect(DockerContainerSettings.parse(
            configV2: try Self.file("default.config.v2.json"), hostConfig: Array(text.utf8), directory: "/d") == nil)
        #expect(DockerContainerSettings.parse(configV2: nil, hostConfig: try Self.file("default.hostconfig.json"), directory: "/d") == nil)
    }

    @Test("mount propagation from mountinfo's optional fields", arguments: [
        ([] as [String], "private"), (["shared:12"], "shared"), (["master:3"], "slave"),
        (["shared:7", "master:3"], "shared"), (["unbindable"], "unbindable"), (["propagate_from:2", "master:3"], "slave"),
    ])
    func propagation(_ fields: [String], _ expected: String) {
        #expect(MountInfoParser.propagation(fields) == expected)
    }
}
