import CloisterModel
import Foundation
import Testing

/// CIS Docker Benchmark section 5 items about how a container is run, each on a real Docker
/// container: what the kernel shows (CPU weight, a bind's propagation, the user namespace) and
/// what only Docker keeps (config.v2.json and hostconfig.json: health check, restart policy,
/// ulimits, networks, the host ports it bound).
///
/// This engine runs with `--bridge=none --iptables=false` (DockerEngine): there is no docker0,
/// so the default-bridge item (5.30) is tested on Docker's files in DockerContainerSettingsTests,
/// not here; published ports are tested on a user-defined bridge network, where docker-proxy
/// binds them (a container on `--network none` asks for ports and Docker binds none).
@Suite("Docker runtime settings (CIS 5.x)", .serialized, .needsDocker)
struct DockerRuntimeSettingsTests {
    func withEngine(_ body: (DockerEngine) throws -> Void) throws {
        let engine = try DockerEngine.start()
        defer { engine.stop() }
        try body(engine)
    }

    @Test("defaults: default CPU weight, no health check, restart no, no ulimits, host user namespace for a non-root user")
    func defaults() throws {
        try withEngine { engine in
            let container = try engine.run("defaults", flags: ["--user", "1000:1000"])
            defer { container.stop() }
            let scanned = try Assess.workload(pid: container.pid)
            let posture = scanned.posture
            let settings = try #require(posture.engineSettings, "\(posture.unknown)")
            #expect(settings.healthCheck == false)
            #expect(settings.restartPolicy == "no")
            #expect(settings.networks == ["none"])
            #expect(settings.publishedPorts == [])
            #expect(settings.ulimits == [])
            #expect(settings.sources.allSatisfy { $0.hasPrefix(engine.dataRoot + "/containers/\(container.id)/") })
            #expect(posture.cgroup?.cpuPrioritySet == false)
            #expect(posture.user.uid == 1000)
            #expect(posture.namespaces.user == .host)
            scanned.expect(
                fires: ["ct-cpu-priority-unset", "ct-no-healthcheck", "ct-host-userns"],
                silent: ["ct-root-no-userns", "ct-restart-policy", "ct-ulimit-override", "ct-default-bridge",
                         "ct-privileged-port-mapped", "ct-port-all-interfaces", "ct-mount-propagation-shared"])
            let userns = try #require(scanned.findings.first { $0.rule == "ct-host-userns" })
            #expect(userns.severity == .low)
            #expect(userns.references.contains { $0.id == "5.31" })
        }
    }

    @Test("set: --cpu-shares, --health-cmd, --restart on-failure:3 and --ulimit; --restart always on another")
    func configured() throws {
        try withEngine { engine in
            let set = try engine.run(
                "configured",
                flags: ["--cpu-shares", "512", "--health-cmd", "true", "--restart", "on-failure:3",
                        "--ulimit", "nofile=100:200"])
            defer { set.stop() }
            let always = try engine.run("always", flags: ["--restart", "always", "--no-healthcheck"])
            defer { always.stop() }

            let scanned = try Assess.workload(pid: set.pid)
            let settings = try #require(scanned.posture.engineSettings)
            #expect(settings.healthCheck == true)
            #expect(settings.restartPolicy == "on-failure")
            #expect(settings.restartMaxRetries == 3)
            #expect(settings.ulimits == [ResourceLimit(name: "nofile", soft: "100", hard: "200")])
            #expect(scanned.posture.cgroup?.cpuPrioritySet == true)
            // The override is what the kernel enforces too.
            #expect(scanned.posture.rlimits?.contains { $0.name == "RLIMIT_NOFILE" && $0.soft == "100" && $0.hard == "200" } == true)
            scanned.expect(
                fires: ["ct-ulimit-override"],
                silent: ["ct-cpu-priority-unset", "ct-no-healthcheck", "ct-restart-policy"])
            #expect(scanned.findings.first { $0.rule == "ct-ulimit-override" }?.severity == .info)

            let restarting = try Assess.workload(pid: always.pid)
            #expect(restarting.posture.engineSettings?.restartPolicy == "always")
            // --no-healthcheck is Docker's Healthcheck.Test ["NONE"].
            #expect(restarting.posture.engineSettings?.healthCheck == false)
            restarting.expect(fires: ["ct-restart-policy", "ct-no-healthcheck"])
        }
    }

    @Test("ports Docker bound on a user-defined bridge: a privileged port on every interface; a high one on loopback")
    func publishedPorts() throws {
        try withEngine { engine in
            let network = uniqueName("net")
            try engine.docker(["network", "create", "--driver", "bridge", network])
            let networkID = (try? engine.docker(["network", "inspect", "--format", "{{.Id}}", network]).stdout) ?? ""
            defer {
                _ = try? engine.docker(["network", "rm", network], check: false)
                // The bridge is the host's: gone with the network, removed by name if dockerd could not.
                let bridge = "br-" + networkID.prefix(12)
                if networkID.count >= 12 { _ = try? Shell.run(["ip", "link", "delete", bridge], check: false) }
            }
            let privileged = Int.random(in: 1001...1023)
            let high = Int.random(in: 40000...49999)
            let exposed = try engine.run("exposed", network: network, flags: ["-p", "\(privileged):80"])
            defer { exposed.stop() }
            let local = try engine.run("local", network: network, flags: ["-p", "127.0.0.1:\(high):80"])
            defer { local.stop() }
            // And on --network none: asked for, never bound.
            let unbound = try engine.run("unbound", flags: ["-p", "\(high + 1):80"])
            defer { unbound.stop() }

            let wide = try Assess.workload(pid: exposed.pid)
            let ports = try #require(wide.posture.engineSettings?.publishedPorts)
            #expect(!ports.isEmpty)
            #expect(ports.allSatisfy { $0.hostPort == privileged && $0.containerPort == 80 && $0.protocol == "tcp" && $0.allInterfaces })
            #expect(wide.posture.engineSettings?.networks == [network])
            wide.expect(fires: ["ct-privileged-port-mapped", "ct-port-all-interfaces"], silent: ["ct-default-bridge"])

            let narrow = try Assess.workload(pid: local.pid)
            #expect(narrow.posture.engineSettings?.publishedPorts == [
                PublishedPort(hostIP: "127.0.0.1", hostPort: high, containerPort: 80, protocol: "tcp")
            ])
            narrow.expect(fires: [], silent: ["ct-privileged-port-mapped", "ct-port-all-interfaces"])

            let none = try Assess.workload(pid: unbound.pid)
            #expect(none.posture.engineSettings?.publishedPorts == [])
            none.expect(fires: [], silent: ["ct-port-all-interfaces"])
        }
    }

    @Test("a bind with shared propagation (the kernel's shared:N), beside a private one")
    func sharedPropagation() throws {
        try withEngine { engine in
            let shared = engine.directory.appendingPathComponent("shared-source").path
            let plain = engine.directory.appendingPathComponent("plain-source").path
            for path in [shared, plain] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
            // Docker refuses `:shared` unless the source's mount is itself shared.
            try Shell.run(["mount", "--bind", shared, shared])
            defer { _ = try? Shell.run(["umount", "-l", shared], check: false) }
            try Shell.run(["mount", "--make-shared", shared])
            let container = try engine.run("propagation", flags: ["-v", "\(shared):/shared:shared", "-v", "\(plain):/plain"])
            defer { container.stop() }

            let scanned = try Assess.workload(pid: container.pid)
            let sharedMount = try #require(scanned.posture.mounts.first { $0.target == "/shared" })
            #expect(sharedMount.propagation == "shared")
            #expect(sharedMount.hostPath == shared)
            #expect(scanned.posture.mounts.first { $0.target == "/plain" }?.propagation == "private")
            scanned.expect(fires: ["ct-mount-propagation-shared"])
            let finding = try #require(scanned.findings.first { $0.rule == "ct-mount-propagation-shared" })
            #expect(finding.message.contains(shared))
            #expect(!finding.message.contains(plain))
        }
    }
}
