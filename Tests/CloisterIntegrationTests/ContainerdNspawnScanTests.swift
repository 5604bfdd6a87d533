import CloisterModel
import Foundation
import Testing

/// containerd's own client: `ctr run` on a containerd started for the test (by PID, stopped at
/// the end). containerd manages the container and runc creates it: the workload is
/// containerd's, named as `ctr` named it.
@Suite("containerd (ctr) containers", .serialized, .needsContainerd)
struct ContainerdScanTests {
    func withEngine(_ body: (ContainerdEngine) throws -> Void) throws {
        let engine = try ContainerdEngine.start()
        defer { engine.stop() }
        try body(engine)
    }

    func expectIdentity(_ posture: Posture, of container: CtrContainer, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(posture.kind == .container, sourceLocation: sourceLocation)
        #expect(posture.runtime == "containerd", sourceLocation: sourceLocation)
        #expect(posture.ociRuntime == "runc", "\(posture.unknown)", sourceLocation: sourceLocation)
        #expect(posture.name == container.name, sourceLocation: sourceLocation)
        #expect(posture.id == "containerd:\(container.name)", sourceLocation: sourceLocation)
    }

    @Test("ctr run: private namespaces, containerd's default capabilities")
    func defaultContainer() throws {
        try withEngine { engine in
            let container = try engine.run("ctr")
            defer { container.stop() }
            let scanned = try Assess.workload(pid: container.pid)
            let posture = scanned.posture

            expectIdentity(posture, of: container)
            for type in [NamespaceType.pid, .net, .mnt, .ipc, .uts] {
                #expect(posture.namespaces[type] == .private, "namespace \(type)")
            }
            #expect(posture.user.rootMappedToHost == true)
            #expect(!posture.capabilities.effective.contains("CAP_SYS_ADMIN"))
            #expect(posture.capabilities.effective.contains("CAP_CHOWN"))
            scanned.expect(fires: ["ct-root-no-userns", "ct-host-userns"], silent: ["ct-host-network", "ct-privileged"])
            // Health check and restart policy are Docker's records: for containerd they are
            // unknown (the rules on them undecided), never silently false.
            #expect(posture.engineSettings == nil)
            for field in ["healthCheck", "restartPolicy", "networks", "publishedPorts", "ulimits"] {
                #expect(posture.unknown[FieldPath("engineSettings.\(field)")] != nil, "engineSettings.\(field)")
            }
            scanned.expect(fires: [], silent: ["ct-no-healthcheck", "ct-restart-policy", "ct-default-bridge", "ct-ulimit-override"])
        }
    }

    @Test("ctr run --net-host: the host's network namespace")
    func hostNetwork() throws {
        try withEngine { engine in
            let container = try engine.run("ctr-hostnet", flags: ["--net-host"])
            defer { container.stop() }
            let scanned = try Assess.workload(pid: container.pid)

            expectIdentity(scanned.posture, of: container)
            #expect(scanned.posture.namespaces.net == .host)
            #expect(scanned.posture.namespaces.pid == .private)
            scanned.expect(fires: ["ct-host-network"])
        }
    }
}

/// systemd-nspawn, without systemd as PID 1: `--register=no --keep-unit`, started and stopped
/// by PID. The machine is named by its `-M`; on this hybrid host its pids cgroup is the root,
/// where no limit applies, and that is known, not unknown.
@Suite("systemd-nspawn containers", .serialized, .needsNspawn)
struct NspawnScanTests {
    @Test("-M NAME names the machine; a pids cgroup at the root has no limit")
    func machine() throws {
        let machine = try NspawnMachine.start("nspawn")
        defer { machine.stop() }
        let scanned = try Assess.workload(pid: machine.pid)
        let posture = scanned.posture

        #expect(posture.kind == .container)
        #expect(posture.runtime == "systemd-nspawn")
        // No OCI runtime is involved: none named, and none missing.
        #expect(posture.ociRuntime == nil)
        #expect(posture.unknown["ociRuntime"] == nil)
        #expect(posture.name == machine.machine)
        #expect(posture.namespaces.pid == .private)
        #expect(posture.namespaces.mnt == .private)
        #expect(posture.unknown["cgroup.pidsMax"] == nil, "\(posture.unknown)")
        // nspawn binds the host's os-release (and a zone file) into every machine: its own files.
        let osRelease = posture.mounts.filter { $0.target == "/run/host/os-release" }
        #expect(!osRelease.isEmpty)
        #expect(osRelease.allSatisfy { $0.managedBy == "systemd-nspawn" })
        scanned.expect(fires: ["ct-root-no-userns"], silent: ["ct-sensitive-mount-rw", "ct-sensitive-mount-ro"])
        // nspawn makes every mount inside shared, among the machine's own mounts: the kernel
        // shows `shared:N` on them all, but no host mount is in those peer groups, so nothing
        // propagates to or from the host.
        let tagged = try String(contentsOfFile: "/proc/\(machine.pid)/mountinfo", encoding: .utf8)
            .split(separator: "\n").filter { $0.contains(" shared:") }
        #expect(tagged.count > 5, "nspawn's mounts carry shared:N")
        #expect(!posture.mounts.contains { $0.propagation == "shared" }, "\(posture.mounts.filter { $0.propagation == "shared" })")
        scanned.expect(fires: [], silent: ["ct-mount-propagation-shared"])
        let cgroups = (try? String(contentsOfFile: "/proc/\(machine.pid)/cgroup", encoding: .utf8)) ?? ""
        let pidsPath = cgroups.split(separator: "\n").first { $0.split(separator: ":").dropFirst().first?.split(separator: ",").contains("pids") == true }
            .map { String($0.split(separator: ":", maxSplits: 2).last ?? "") }
            ?? cgroups.split(separator: "\n").first { $0.hasPrefix("0::") }.map { String($0.dropFirst(3)) }
        if pidsPath == "/" {
            #expect(posture.cgroup?.pidsMax == .max)
        }
    }
}
