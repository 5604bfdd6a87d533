import CloisterModel
import Foundation
import Testing

/// Each test starts one real podman container with one configuration and holds
/// `cloister scan --pid` to report exactly that configuration, read from the kernel.
/// Serialized: podman takes a global lock per container start, and two cores are not more.
@Suite("podman containers", .serialized, .needsPodman)
struct PodmanScanTests {
    /// What podman grants a container when nothing is added or dropped.
    static let defaultCapabilities: Set<String> = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
        "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
    ]

    /// Identity fields every podman posture must get right.
    func expectIdentity(_ posture: Posture, of container: PodmanContainer) {
        #expect(posture.kind == .container)
        #expect(posture.runtime == "podman")
        // conmon's `-r` names the runtime podman chose (runc here: crun refuses this hybrid host).
        #expect(posture.ociRuntime == "runc", "\(posture.unknown)")
        #expect(posture.name == container.name)
        #expect(posture.id.contains(container.id))
        #expect(posture.processes.contains(Int(container.pid)) || posture.pid == Int(container.pid))
    }

    @Test("default container: private namespaces, podman's default capabilities, seccomp filter")
    func defaultContainer() throws {
        let container = try PodmanContainer.run("default")
        defer { container.stop() }
        let posture = try Cloister.scanWorkload(containing: container.pid)

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
    }

    @Test("--privileged: every capability, no seccomp, host devices")
    func privileged() throws {
        let container = try PodmanContainer.run("privileged", flags: ["--privileged"])
        defer { container.stop() }
        let posture = try Cloister.scanWorkload(containing: container.pid)

        expectIdentity(posture, of: container)
        // Every capability podman itself may hold: the host's full set, unless (as on the CI
        // and development sandboxes, which lack CAP_SYS_RESOURCE) the bounding set is smaller.
        let ownBounding = try #require(ProcFS.capabilityCount(pid: getpid(), set: "CapBnd"))
        #expect(posture.capabilities.effective.count == ownBounding)
        #expect(posture.capabilities.effective.contains("CAP_SYS_ADMIN"))
        #expect(posture.capabilities.effective.contains("CAP_SYS_MODULE"))
        #expect(posture.seccomp?.mode == .disabled)
        // --privileged gives the container the host's /dev: a host device shows up in it.
        if FileManager.default.fileExists(atPath: "/dev/kvm") {
            #expect(posture.devices.contains { $0.path == "/dev/kvm" && $0.source == .rootfs })
        }
        #expect(posture.devices.contains { !$0.standard })
    }

    @Test("--cap-add SYS_ADMIN --security-opt seccomp=unconfined")
    func addedCapabilityWithoutSeccomp() throws {
        let container = try PodmanContainer.run(
            "sysadmin", flags: ["--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined"])
        defer { container.stop() }
        let posture = try Cloister.scanWorkload(containing: container.pid)

        expectIdentity(posture, of: container)
        #expect(Set(posture.capabilities.effective) == Self.defaultCapabilities.union(["CAP_SYS_ADMIN"]))
        #expect(posture.seccomp?.mode == .disabled)
    }

    @Test("--pid=host --network=host: those two namespaces are the host's, the rest private")
    func hostNamespaces() throws {
        let container = try PodmanContainer.run("hostns", flags: ["--pid=host", "--network=host"])
        defer { container.stop() }
        let posture = try Cloister.scanWorkload(containing: container.pid)

        expectIdentity(posture, of: container)
        #expect(posture.namespaces.pid == .host)
        #expect(posture.namespaces.net == .host)
        #expect(posture.namespaces.mnt == .private)
        #expect(posture.namespaces.ipc == .private)
        #expect(posture.namespaces.uts == .private)
    }

    @Test("a host directory (read-only) and a UNIX socket bind-mounted in")
    func bindMounts() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("share"))
        let shared = scratch.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let socketPath = scratch.appendingPathComponent("agent.sock").path
        let listener = try UnixSocket(listeningAt: socketPath)
        defer { listener.close() }

        let container = try PodmanContainer.run(
            "mounts", flags: ["-v", "\(shared.path):/data/share:ro", "-v", "\(socketPath):/run/agent.sock"])
        defer { container.stop() }
        let posture = try Cloister.scanWorkload(containing: container.pid)

        expectIdentity(posture, of: container)
        let directory = try #require(posture.mounts.first { $0.target == "/data/share" })
        #expect(directory.hostPath == shared.path)
        #expect(directory.readOnly)
        let socket = try #require(posture.mounts.first { $0.target == "/run/agent.sock" })
        #expect(socket.hostPath == socketPath)
        #expect(!socket.readOnly)
    }

    @Test("--device /dev/net/tun shows up as a rootfs device")
    func device() throws {
        let container = try PodmanContainer.run("device", flags: ["--device", "/dev/net/tun"])
        defer { container.stop() }
        let posture = try Cloister.scanWorkload(containing: container.pid)

        expectIdentity(posture, of: container)
        let tun = try #require(posture.devices.first { $0.path == "/dev/net/tun" })
        #expect(tun.source == .rootfs)
        #expect(tun.type == "char")
        #expect(tun.major == 10)
        #expect(tun.minor == 200)
        #expect(!tun.standard)
    }

    @Test("hardened: read-only, no capabilities, no_new_privs, root mapped to an unprivileged range")
    func hardened() throws {
        let container = try PodmanContainer.run(
            "hardened",
            flags: ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                    "--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536"])
        defer { container.stop() }
        let posture = try Cloister.scanWorkload(containing: container.pid)

        expectIdentity(posture, of: container)
        #expect(posture.namespaces.user == .private)
        #expect(posture.user.uidMap == [IDMapRange(inside: 0, outside: 100_000, count: 65_536)])
        #expect(posture.user.gidMap == [IDMapRange(inside: 0, outside: 100_000, count: 65_536)])
        #expect(posture.user.rootMappedToHost == false)
        #expect(posture.user.hostUid == 100_000)
        #expect(posture.capabilities.effective.isEmpty)
        #expect(posture.capabilities.permitted.isEmpty)
        #expect(posture.capabilities.bounding.isEmpty)
        #expect(posture.noNewPrivileges == true)
        #expect(posture.readOnlyRootfs == true)
        #expect(posture.seccomp?.mode == .filter)
    }

    @Test("--memory 64m --pids-limit 50: cgroup limits")
    func cgroupLimits() throws {
        let container = try PodmanContainer.run("limits", flags: ["--memory", "64m", "--pids-limit", "50"])
        defer { container.stop() }
        let posture = try Cloister.scanWorkload(containing: container.pid)

        expectIdentity(posture, of: container)
        let cgroup = try #require(posture.cgroup)
        #expect(cgroup.memoryMax == .value(64 * 1024 * 1024))
        #expect(cgroup.pidsMax == .value(50))
        #expect(cgroup.path.contains(container.id))
    }
}
