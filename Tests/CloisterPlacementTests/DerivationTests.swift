import CloisterModel
import Testing
@testable import CloisterPlacement

@Suite struct DerivationTests {
    func container(_ name: String) -> Posture {
        var posture = Posture(id: "podman:\(name)", kind: .container, runtime: "podman", name: name)
        for type in NamespaceType.allCases { posture.namespaces[type] = .private }
        posture.namespaces.user = .host
        posture.capabilities = CapabilitySets(
            effective: ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"], permitted: [], bounding: [], ambient: [], inheritable: [])
        posture.devices = [Device(path: "/dev/null", access: "rw", source: .rootfs)]
        return posture
    }

    @Test func plainContainerNeedsLittle() {
        let description = derive(from: container("web"))
        #expect(description.name == "web")
        #expect(!description.needs.privileged)
        #expect(description.needs.hostNamespaces.isEmpty)
        #expect(description.needs.devices.isEmpty)
        #expect(description.needs.capabilities == ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"])
        #expect(description.defaulted.contains("trust"))
        #expect(description.defaulted.contains("tenancy"))
    }

    @Test func privilegedHostNetworkedAgent() {
        var posture = container("agent")
        posture.namespaces.net = .host
        posture.namespaces.pid = .host
        posture.capabilities.effective = ["CAP_SYS_ADMIN", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_PTRACE", "CAP_NET_ADMIN"]
        let description = derive(from: posture)
        #expect(description.needs.privileged)
        #expect(description.needs.kernel == .modules)
        #expect(description.needs.hostNamespaces == [.pid, .net])
        #expect(description.needs.network == .both)
    }

    @Test func devicesMapToNeeds() {
        var posture = container("ml")
        posture.devices += [
            Device(path: "/dev/nvidia0", access: "rw", source: .fd),
            Device(path: "/dev/nvidiactl", access: "rw", source: .fd),
            Device(path: "/dev/dri/renderD128", access: "rw", source: .rootfs),
            Device(path: "/dev/kvm", access: "rw", source: .fd),
            Device(path: "/dev/fuse", access: "rw", source: .rootfs),
        ]
        let description = derive(from: posture)
        #expect(description.needs.gpu)
        #expect(description.needs.devices == ["/dev/kvm"])
        #expect(description.needs.filesystems == ["fuse"])
    }

    @Test func fuseAndNFSMountsAreFilesystems() {
        var posture = container("files")
        posture.mounts = [
            Mount(source: "sshfs", target: "/data", readOnly: false, type: "fuse.sshfs"),
            Mount(source: "nas:/export", target: "/nas", readOnly: true, type: "nfs4"),
        ]
        #expect(derive(from: posture).needs.filesystems == ["fuse", "nfs"])
    }

    @Test func devicesAllowAllMeansPrivileged() {
        var posture = container("dind")
        var cgroup = CgroupLimits(version: "v1", path: "/docker/x")
        cgroup.devicesAllowAll = true
        posture.cgroup = cgroup
        #expect(derive(from: posture).needs.privileged)
    }

    @Test func derivedNestedKVMNeedKeepsSandboxesOut() throws {
        var posture = container("emulator-tests")
        posture.devices.append(Device(path: "/dev/kvm", access: "rw", source: .fd))
        var description = derive(from: posture)
        description.trust = .untrusted
        let advice = try PlacementEngine(catalogue: loadCatalogue()).advise(description)
        #expect(advice.recommendation?.option == "vm")
        #expect(rejections(advice, "kata").contains("catalogue.yaml#options.kata.cannot.nested-kvm-device"))
        #expect(rejections(advice, "microvm").contains("catalogue.yaml#options.microvm.cannot.device-passthrough"))
        #expect(rejections(advice, "gvisor").contains("catalogue.yaml#options.gvisor.cannot.host-devices"))
    }
}
