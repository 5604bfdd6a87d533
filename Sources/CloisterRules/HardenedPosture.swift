import CloisterModel

/// The postures rule cases start from: confined as well as each kind can be, so a case names
/// only what it changes. Documented in rules/README.md; change both together.
public enum HardenedPosture {
    public static func make(kind: WorkloadKind, id: String = "case") -> Posture {
        var posture = Posture(id: id, kind: kind, runtime: kind == .vm ? "qemu" : "runc", name: id, pid: 4242)
        posture.processes = [4242]
        posture.source = .observed
        // What the guest or container shares with every confinement: the same for all kinds.
        posture.capabilities = CapabilitySets()
        posture.seccomp = Seccomp(mode: .filter, filters: 1)
        posture.noNewPrivileges = true
        posture.mac = MACLabels(apparmor: AppArmorLabel(profile: "cloister-hardened", mode: "enforce"))
        posture.cgroup = {
            var cgroup = CgroupLimits(version: "v2", path: "/sys/fs/cgroup/cloister/\(id)")
            cgroup.memoryMax = .value(536_870_912)
            cgroup.pidsMax = .value(512)
            return cgroup
        }()
        switch kind {
        case .container, .sandbox:
            for type in NamespaceType.allCases { posture.namespaces[type] = .private }
            posture.namespaces.time = .host
            posture.user = UserIdentity(
                uid: 1000, gid: 1000, hostUid: 101000, hostGid: 101000,
                uidMap: [IDMapRange(inside: 0, outside: 100000, count: 65536)],
                gidMap: [IDMapRange(inside: 0, outside: 100000, count: 65536)], rootMappedToHost: false)
            posture.devices = ["/dev/null", "/dev/zero", "/dev/urandom"].map {
                Device(path: $0, access: "rw", source: .rootfs, type: "char")
            }
            posture.mounts = [
                Mount(source: "overlay", target: "/", readOnly: true, type: "overlay"),
                Mount(source: "proc", target: "/proc", readOnly: false, type: "proc"),
                Mount(source: "proc", target: "/proc/sys", readOnly: true, type: "proc", root: "/sys"),
                Mount(source: "sysfs", target: "/sys", readOnly: true, type: "sysfs"),
                Mount(source: "tmpfs", target: "/tmp", readOnly: false, type: "tmpfs"),
            ]
            posture.readOnlyRootfs = true
        case .vm:
            // A hypervisor process under libvirt: private mount namespace, its own unprivileged user.
            posture.namespaces.mnt = .private
            for type in [NamespaceType.pid, .net, .ipc, .uts, .user, .cgroup, .time] { posture.namespaces[type] = .host }
            posture.user = UserIdentity(uid: 64055, gid: 64055, hostUid: 64055, hostGid: 64055, rootMappedToHost: false)
            posture.devices = [
                Device(path: "/dev/kvm", access: "rw", source: .fd, type: "char", major: 10, minor: 232),
                Device(path: "/dev/net/tun", access: "rw", source: .fd, type: "char", major: 10, minor: 200),
            ]
            posture.mounts = []
            posture.readOnlyRootfs = nil
            posture.hypervisor = Hypervisor(
                emulator: "qemu", binary: "/usr/bin/qemu-system-x86_64", accelerator: "kvm", vcpus: 2, machine: "q35",
                sandbox: HypervisorSandbox(
                    enabled: true,
                    options: ["obsolete": "deny", "elevateprivileges": "deny", "spawn": "deny", "resourcecontrol": "deny"]),
                user: ProcessUser(uid: 64055, name: "libvirt-qemu"),
                consoles: [Console(kind: "qmp", transport: "unix", address: "/run/libvirt/qemu/\(id).monitor", localOnly: true)],
                network: [NetworkBackend(type: "tap", id: "net0")],
                uuid: "6f1c2b8e-0000-4000-8000-000000000001")
        }
        return posture
    }
}
