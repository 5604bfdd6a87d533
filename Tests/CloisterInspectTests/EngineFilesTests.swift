import CloisterModel
import Testing

/// An engine's own per-workload files are recognised for that workload only.
@Suite struct EngineFilesTests {
    static let id = String(repeating: "0123456789abcdef", count: 4)
    static let other = String(repeating: "fedcba9876543210", count: 4)
    static let pod = "0f0e4c7e-7f5a-4d5e-9b1c-3a1b2c3d4e5f"

    func manager(_ path: String, runtime: String = "docker", id: String = id, pod: String? = nil) -> String? {
        EngineFiles.manager(hostPath: path, runtime: runtime, containerID: id, podUID: pod)
    }

    @Test(arguments: ["resolv.conf", "hostname", "hosts"])
    func dockerFiles(file: String) {
        #expect(manager("/var/lib/docker/containers/\(Self.id)/\(file)") == "docker")
        // userns-remap's data root, and any --data-root.
        #expect(manager("/var/lib/docker/100000.100000/containers/\(Self.id)/\(file)") == "docker")
        #expect(manager("/srv/docker/containers/\(Self.id)/\(file)") == "docker")
    }

    @Test func dockerOtherThanOwnFiles() {
        #expect(manager("/var/lib/docker/containers/\(Self.other)/hosts") == nil)
        #expect(manager("/var/lib/docker/containers/\(Self.id)") == nil)
        #expect(manager("/var/lib/docker/containers/\(Self.id)/config.v2.json") == nil)
        #expect(manager("/var/lib/docker/containers") == nil)
        #expect(manager("/var/lib/docker") == nil)
        #expect(manager("/var/lib/docker/containers/\(Self.id)/hosts", runtime: "podman") == nil)
        #expect(manager("/var/lib/docker/containers/\(Self.id)/../\(Self.other)/hosts") == nil)
        #expect(manager("/var/lib/docker/volumes/data/_data") == "docker")
        #expect(manager("/var/lib/docker/volumes/data") == nil)
    }

    @Test func podmanFiles() {
        let base = "/run/containers/storage/overlay-containers/\(Self.id)/userdata"
        for file in ["resolv.conf", "hostname", "hosts", ".containerenv", "run/secrets"] {
            #expect(manager("\(base)/\(file)", runtime: "podman") == "podman", "\(file)")
        }
        #expect(manager("\(base)/run", runtime: "podman") == nil)
        #expect(manager("\(base)/config.json", runtime: "podman") == nil)
        #expect(manager("/var/lib/containers/storage/overlay-containers/\(Self.other)/userdata/hosts", runtime: "podman") == nil)
        #expect(manager("/var/lib/containers/storage/volumes/v/_data", runtime: "podman") == "podman")
    }

    @Test func kubeletFiles() {
        let pod = "/var/lib/kubelet/pods/\(Self.pod)"
        for path in [
            "etc-hosts", "containers/app/5a3d1c2b", "volumes/kubernetes.io~projected/kube-api-access-x1",
            "volumes/kubernetes.io~configmap/conf", "volumes/kubernetes.io~secret/tls",
            "volumes/kubernetes.io~downward-api/info", "volumes/kubernetes.io~empty-dir/cache",
        ] {
            #expect(manager("\(pod)/\(path)", runtime: "containerd", pod: Self.pod) == "kubelet", "\(path)")
        }
        // Not the pod's own, not a kind of volume the kubelet fills itself, or the whole directory.
        #expect(manager("\(pod)/etc-hosts", runtime: "containerd", pod: nil) == nil)
        #expect(manager("\(pod)/etc-hosts", runtime: "containerd", pod: "11111111-2222-3333-4444-555555555555") == nil)
        #expect(manager("\(pod)/volumes/kubernetes.io~csi/pv", runtime: "containerd", pod: Self.pod) == nil)
        #expect(manager(pod, runtime: "containerd", pod: Self.pod) == nil)
        #expect(manager("\(pod)/volumes", runtime: "containerd", pod: Self.pod) == nil)
        #expect(manager("/var/lib/kubelet", runtime: "containerd", pod: Self.pod) == nil)
    }

    @Test func containerdSandboxFiles() {
        let sandbox = Self.other
        let base = "/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/\(sandbox)"
        for file in ["hosts", "hostname", "resolv.conf"] {
            #expect(EngineFiles.manager(hostPath: "\(base)/\(file)", runtime: "containerd", containerID: Self.id, podUID: Self.pod,
                                        sandboxID: sandbox) == "containerd", "\(file)")
        }
        // Another pod's sandbox, no sandbox known, or the sandbox directory itself.
        #expect(EngineFiles.manager(hostPath: "\(base)/hosts", runtime: "containerd", containerID: Self.id, podUID: Self.pod,
                                    sandboxID: Self.id) == nil)
        #expect(EngineFiles.manager(hostPath: "\(base)/hosts", runtime: "containerd", containerID: Self.id, podUID: Self.pod) == nil)
        #expect(EngineFiles.manager(hostPath: base, runtime: "containerd", containerID: Self.id, podUID: Self.pod,
                                    sandboxID: sandbox) == nil)
    }

    @Test func nspawnHostFiles() {
        func nspawn(_ path: String, at target: String, runtime: String = "systemd-nspawn") -> String? {
            EngineFiles.manager(hostPath: path, runtime: runtime, containerID: "pid-42", podUID: nil, target: target)
        }
        #expect(nspawn("/usr/lib/os-release", at: "/run/host/os-release") == "systemd-nspawn")
        #expect(nspawn("/usr/share/zoneinfo/Europe/Paris", at: "/etc/localtime") == "systemd-nspawn")
        // Elsewhere, another file, or another engine: not nspawn's own.
        #expect(nspawn("/usr/lib/os-release", at: "/host/os-release") == nil)
        #expect(nspawn("/etc/shadow", at: "/etc/localtime") == nil)
        #expect(nspawn("/usr/lib/os-release", at: "/run/host/os-release", runtime: "docker") == nil)
    }

    @Test func podUIDFromCgroup() {
        #expect(EngineFiles.podUID(cgroupPath: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f0e4c7e_7f5a_4d5e_9b1c_3a1b2c3d4e5f.slice/cri-containerd-\(Self.id).scope") == Self.pod)
        #expect(EngineFiles.podUID(cgroupPath: "/kubepods/burstable/pod\(Self.pod)/\(Self.id)") == Self.pod)
        #expect(EngineFiles.podUID(cgroupPath: "/system.slice/pod\(Self.pod)") == nil)
        #expect(EngineFiles.podUID(cgroupPath: "/kubepods/burstable/podnot-a-uid") == nil)
    }
}
