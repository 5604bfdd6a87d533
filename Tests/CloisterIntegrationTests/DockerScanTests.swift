import CloisterModel
import Foundation
import Testing

/// Each test starts the real Docker engine (containerd and dockerd, by PID, stopped at the end
/// whatever happens) and one container with one configuration, and holds `cloister scan --pid`
/// to report exactly that configuration, its name and its engine. The data root is under
/// /var/lib/docker, so Docker's own per-container files lie where the sensitive-mount rules look.
@Suite("Docker containers", .serialized, .needsDocker)
struct DockerScanTests {
    /// What Docker 20.10 grants a container when nothing is added or dropped.
    static let defaultCapabilities: Set<String> = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]
    static let sensitiveMounts: Set<String> = ["ct-sensitive-mount-rw", "ct-sensitive-mount-ro"]

    /// Starts an engine, hands it to `body`, and stops it (and its containers) afterwards.
    func withEngine(_ flags: [String] = [], _ body: (DockerEngine) throws -> Void) throws {
        let engine = try DockerEngine.start(extraFlags: flags)
        defer { engine.stop() }
        try body(engine)
    }

    /// Identity: one workload, Docker's engine, the container's name (from its config.v2.json
    /// under the data root the daemon was given), its full ID.
    func expectIdentity(_ posture: Posture, of container: DockerContainer, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(posture.kind == .container, sourceLocation: sourceLocation)
        #expect(posture.runtime == "docker", sourceLocation: sourceLocation)
        // Engine and OCI runtime are both facts: runc's state.json under Docker's runtime root
        // (`runtime-runc`, or the capability-dropping wrapper's `runtime-cloister-runc`).
        #expect(posture.ociRuntime == "runc", "\(posture.unknown)", sourceLocation: sourceLocation)
        #expect(posture.name == container.name, sourceLocation: sourceLocation)
        #expect(posture.id == "docker:\(container.id)", sourceLocation: sourceLocation)
        #expect(posture.processes.contains(Int(container.pid)), sourceLocation: sourceLocation)
    }

    /// Docker's /etc/hosts, /etc/hostname and /etc/resolv.conf binds: this container's own files
    /// in `DATAROOT[/UID.GID]/containers/ID/`, recognised as Docker's.
    func expectOwnFiles(_ posture: Posture, of container: DockerContainer, under directory: String,
                        sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        for file in ["hosts", "hostname", "resolv.conf"] {
            let mount = posture.mounts.first { $0.target == "/etc/\(file)" }
            #expect(mount?.hostPath == "\(directory)/containers/\(container.id)/\(file)", sourceLocation: sourceLocation)
            #expect(mount?.managedBy == "docker", sourceLocation: sourceLocation)
        }
    }

    @Test("default container: private namespaces, Docker's default capabilities, its own files not sensitive")
    func defaultContainer() throws {
        try withEngine { engine in
            let container = try engine.run("default")
            defer { container.stop() }
            let scanned = try Assess.workload(pid: container.pid)
            let posture = scanned.posture

            expectIdentity(posture, of: container)
            for type in [NamespaceType.pid, .net, .mnt, .ipc, .uts] {
                #expect(posture.namespaces[type] == .private, "namespace \(type)")
            }
            #expect(posture.namespaces.user == .host)
            #expect(posture.user.uid == 0)
            #expect(posture.user.rootMappedToHost == true)
            #expect(Set(posture.capabilities.effective) == Self.defaultCapabilities)
            #expect(Set(posture.capabilities.bounding) == Self.defaultCapabilities)
            #expect(posture.seccomp?.mode == .filter)
            #expect(posture.noNewPrivileges == false)
            #expect(posture.readOnlyRootfs == false)
            #expect(posture.cgroup?.pidsMax == .max)
            expectOwnFiles(posture, of: container, under: engine.dataRoot)
            scanned.expect(
                fires: ["ct-writable-rootfs", "ct-root-no-userns", "ct-no-pids-limit", "ct-no-memory-limit"],
                silent: Self.sensitiveMounts.union(["ct-privileged", "ct-engine-socket", "ct-host-network"]))
        }
    }

    @Test("--privileged: every capability Docker knows that the host has, no seccomp, host devices")
    func privileged() throws {
        try withEngine { engine in
            let container = try engine.run("privileged", flags: ["--privileged", "--runtime", DockerEngine.wrapperRuntime])
            defer { container.stop() }
            let scanned = try Assess.workload(pid: container.pid)
            let posture = scanned.posture

            expectIdentity(posture, of: container)
            // Every capability Docker 20.10 knows (its list ends before CAP_PERFMON) that the
            // wrapper left, as the kernel shows them.
            let kernelEffective = try #require(ProcFS.capabilityCount(pid: container.pid, set: "CapEff"))
            #expect(posture.capabilities.effective.count == kernelEffective)
            #expect(posture.capabilities.effective.count >= 37)
            #expect(Set(posture.capabilities.bounding) == Set(posture.capabilities.effective))
            for capability in ["CAP_SYS_ADMIN", "CAP_SYS_MODULE", "CAP_SYS_PTRACE", "CAP_SYS_RAWIO", "CAP_NET_ADMIN"] {
                #expect(posture.capabilities.effective.contains(capability), "\(capability)")
            }
            #expect(posture.seccomp?.mode == .disabled)
            #expect(posture.devices.contains { !$0.standard })
            scanned.expect(fires: ["ct-privileged", "ct-seccomp-unconfined", "esc-cap-sys-module"], silent: Self.sensitiveMounts)
        }
    }

    @Test("--pid, --ipc, --uts and --network host: those namespaces are the host's")
    func hostNamespaces() throws {
        try withEngine { engine in
            let container = try engine.run(
                "hostns", network: "host", flags: ["--pid=host", "--ipc=host", "--uts=host"])
            defer { container.stop() }
            let scanned = try Assess.workload(pid: container.pid)
            let posture = scanned.posture

            expectIdentity(posture, of: container)
            for type in [NamespaceType.pid, .net, .ipc, .uts] {
                #expect(posture.namespaces[type] == .host, "namespace \(type)")
            }
            #expect(posture.namespaces.mnt == .private)
            scanned.expect(fires: ["ct-host-pid", "ct-host-network", "ct-host-ipc", "ct-host-uts"], silent: Self.sensitiveMounts)
        }
    }

    @Test("the engine's socket bind-mounted at /var/run/docker.sock")
    func engineSocket() throws {
        try withEngine { engine in
            let container = try engine.run("socket", flags: ["-v", "\(engine.socket):/var/run/docker.sock"])
            defer { container.stop() }
            let scanned = try Assess.workload(pid: container.pid)
            let posture = scanned.posture

            expectIdentity(posture, of: container)
            let mount = posture.mounts.first { $0.target == "/var/run/docker.sock" }
            #expect(mount?.hostPath == engine.socket)
            #expect(mount?.readOnly == false)
            #expect(mount?.managedBy == nil)
            scanned.expect(fires: ["ct-engine-socket"])
        }
    }

    @Test("hardened: read-only root, no capabilities, no_new_privs, a user, memory and PIDs limits")
    func hardened() throws {
        try withEngine { engine in
            let container = try engine.run(
                "hardened",
                flags: ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--user", "1000:1000",
                        "--memory", "64m", "--pids-limit", "50"])
            defer { container.stop() }
            let scanned = try Assess.workload(pid: container.pid)
            let posture = scanned.posture

            expectIdentity(posture, of: container)
            #expect(posture.readOnlyRootfs == true)
            #expect(posture.capabilities.effective.isEmpty)
            #expect(posture.capabilities.bounding.isEmpty)
            #expect(posture.noNewPrivileges == true)
            #expect(posture.user.uid == 1000)
            #expect(posture.cgroup?.memoryMax == .value(64 << 20))
            #expect(posture.cgroup?.pidsMax == .value(50))
            expectOwnFiles(posture, of: container, under: engine.dataRoot)
            scanned.expect(
                fires: [],
                silent: Self.sensitiveMounts.union([
                    "ct-writable-rootfs", "ct-no-pids-limit", "ct-no-memory-limit", "ct-no-new-privs-unset",
                    "ct-cap-added", "ct-root-no-userns",
                ]))
        }
    }

    @Test("--userns-remap=default: root inside maps to an unprivileged host UID; named from the remapped data root")
    func usernsRemap() throws {
        try withEngine(["--userns-remap=default"]) { engine in
            let container = try engine.run("remap")
            defer { container.stop() }
            let scanned = try Assess.workload(pid: container.pid)
            let posture = scanned.posture

            expectIdentity(posture, of: container)
            #expect(posture.namespaces.user == .private)
            #expect(posture.user.uid == 0)
            #expect(posture.user.rootMappedToHost == false)
            let hostUID = try #require(posture.user.hostUid)
            #expect(hostUID != 0)
            // Docker keeps a remapped engine's containers in DATAROOT/UID.GID/.
            let remapped = try FileManager.default.contentsOfDirectory(atPath: engine.dataRoot)
                .filter { $0.split(separator: ".").count == 2 && $0.allSatisfy { $0.isNumber || $0 == "." } }
            #expect(remapped.count == 1)
            if let directory = remapped.first {
                expectOwnFiles(posture, of: container, under: "\(engine.dataRoot)/\(directory)")
            }
            scanned.expect(fires: [], silent: Self.sensitiveMounts.union(["ct-root-no-userns"]))
        }
    }
}
