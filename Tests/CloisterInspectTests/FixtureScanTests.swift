import Testing
@testable import CloisterInspect
import CloisterModel

/// Whole scans of host trees captured from real hosts (see Fixtures/README.md).
@Suite struct FixtureScanTests {
    static func fixture(_ name: String) -> String {
        let here = #filePath
        let directory = here[..<here.lastIndex(of: "/")!]
        return "\(directory)/Fixtures/\(name)"
    }

    static func scan(_ name: String, pid: Int? = nil) throws -> HostScanner.Result {
        try HostScanner(root: HostRoot(prefix: fixture(name))).scan(pid: pid)
    }

    static func workload(_ result: HostScanner.Result, named name: String) throws -> Posture {
        try #require(result.workloads.first { $0.name == name }, "no workload named \(name)")
    }

    @Test func findsEachWorkloadOnceAndNoHostProcesses() throws {
        let result = try Self.scan("hybrid-host")
        let names = result.workloads.map { "\($0.runtime)/\($0.name)" }.sorted()
        #expect(names == ["bubblewrap/sleep", "podman/hard1", "podman/priv1", "podman/web1", "qemu/kvmguest"])
        // bwrap (PID 1 inside) and its child are one sandbox.
        #expect(try Self.workload(result, named: "sleep").processes == [16464, 16467])
        #expect(result.host.cgroupVersion == "hybrid")
        #expect(result.host.capLastCap == 40)
        // Captured on this lab's custom kernel (6.18.44-fc-v769): no version to match CVEs against.
        #expect(result.host.kernelBuild?.kind == .unknown)
        #expect(result.host.kernelBuild?.base == "6.18.44")
    }

    @Test func defaultPodmanContainer() throws {
        let web = try Self.workload(try Self.scan("hybrid-host"), named: "web1")
        #expect(web.kind == .container)
        #expect(web.id.hasPrefix("podman:aca08a9156cb"))
        #expect(web.namespaces.pid == .private && web.namespaces.net == .private && web.namespaces.mnt == .private)
        #expect(web.namespaces.user == .host)
        #expect(web.user.rootMappedToHost == true)
        #expect(web.capabilities.effective.count == 11)
        #expect(!web.capabilities.effective.contains("CAP_SYS_ADMIN"))
        #expect(web.capabilities.effective.contains("CAP_NET_BIND_SERVICE"))
        #expect(web.seccomp == Seccomp(mode: .filter, filters: 1))
        #expect(web.noNewPrivileges == false)
        #expect(web.readOnlyRootfs == false)
        #expect(web.cgroup?.pidsMax == .value(2048))
        #expect(web.cgroup?.memoryMax == .max)
        #expect(web.mac == MACLabels())
        // The rootfs bind mount resolves to its host directory.
        #expect(web.mounts.contains { $0.target == "/" && $0.hostPath == "/tmp/rootfs" })
        // Its own cgroup, proc and sysfs are not host directories, though v1 shares the superblock.
        #expect(web.mounts.filter { $0.target.hasPrefix("/sys/fs/cgroup/") }.allSatisfy { $0.hostPath == nil })
        #expect(web.mounts.filter { $0.type == "proc" || $0.type == "sysfs" }.allSatisfy { $0.hostPath == nil })
        #expect(web.unknown["capabilities"] == nil && web.unknown["seccomp"] == nil)
        // podman's OCI defaults, as the mounts show them (this kernel has no /proc/kcore or
        // /proc/sysrq-trigger, so runc skipped those).
        #expect(web.readOnlyPaths == ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys"])
        #expect(web.maskedPaths == ["/proc/acpi", "/proc/keys", "/proc/timer_list", "/sys/firmware", "/sys/dev/block"])
    }

    @Test func privilegedPodmanContainer() throws {
        let privileged = try Self.workload(try Self.scan("hybrid-host"), named: "priv1")
        // Every capability the host itself holds: this host's bounding set lacks CAP_SYS_RESOURCE
        // (it is why rlimits cannot be raised here), so 40 of the kernel's 41.
        #expect(privileged.capabilities.effective.count == 40)
        #expect(!privileged.capabilities.effective.contains("CAP_SYS_RESOURCE"))
        #expect(privileged.capabilities.effective.contains("CAP_SYS_ADMIN"))
        #expect(privileged.seccomp?.mode == .disabled)
        #expect(privileged.cgroup?.devicesAllowAll == true)
        // --privileged leaves /proc/sys writable and nothing masked.
        #expect(privileged.readOnlyPaths == [])
        #expect(privileged.maskedPaths == [])
    }

    @Test func hardenedUserNamespacedContainer() throws {
        let hard = try Self.workload(try Self.scan("hybrid-host"), named: "hard1")
        #expect(hard.namespaces.user == .private)
        #expect(hard.user.uidMap == [IDMapRange(inside: 0, outside: 100000, count: 65536)])
        #expect(hard.user.uid == 0)
        #expect(hard.user.hostUid == 100000)
        #expect(hard.user.rootMappedToHost == false)
        #expect(hard.capabilities.effective.isEmpty && hard.capabilities.bounding.isEmpty)
        #expect(hard.noNewPrivileges == true)
        #expect(hard.readOnlyRootfs == true)
        #expect(hard.cgroup?.memoryMax == .value(64 << 20))
        #expect(hard.cgroup?.pidsMax == .value(50))
    }

    @Test func kvmGuest() throws {
        let vm = try Self.workload(try Self.scan("hybrid-host"), named: "kvmguest")
        #expect(vm.kind == .vm)
        let hypervisor = try #require(vm.hypervisor)
        #expect(hypervisor.accelerator == "kvm")
        #expect(hypervisor.vcpus == 1)
        #expect(hypervisor.user == ProcessUser(uid: 0, name: "root"))
        #expect(hypervisor.listening == ["0.0.0.0:5977", "127.0.0.1:4555"])
        #expect(vm.devices.contains { $0.path == "/dev/kvm" && $0.source == .fd && $0.access == "rw" })
        #expect(vm.seccomp?.threadsUnfiltered == vm.seccomp?.threads)
    }

    @Test func scanOfOnePID() throws {
        let result = try Self.scan("hybrid-host", pid: 16467)
        #expect(result.workloads.map(\.name) == ["sleep"])
        #expect(throws: HostScanner.ScanError.self) { try Self.scan("hybrid-host", pid: 999_999) }
    }

    @Test func appArmorHostLabels() throws {
        let result = try Self.scan("apparmor-host")
        #expect(result.host.lsms?.contains("apparmor") == true)
        let web = try Self.workload(result, named: "web1")
        #expect(web.mac.apparmor == AppArmorLabel(profile: "containers-default-0.50.1", mode: "enforce"))
        #expect(web.mac.selinux == nil)
        #expect(try Self.workload(result, named: "priv1").mac.apparmor?.confined == false)
        #expect(try Self.workload(result, named: "hard1").mac.apparmor?.profile == "cloister-hard1")
        #expect(try Self.workload(result, named: "sleep").mac.apparmor?.mode == "complain")
        #expect(try Self.workload(result, named: "kvmguest").mac.apparmor?.profile.hasPrefix("libvirt-") == true)
    }

    @Test func seLinuxHostLabels() throws {
        let result = try Self.scan("selinux-host")
        let web = try Self.workload(result, named: "web1")
        #expect(web.mac.selinux?.type == "container_t")
        #expect(web.mac.selinux?.level == "s0:c123,c456")
        #expect(web.mac.apparmor == nil)
        #expect(try Self.workload(result, named: "priv1").mac.selinux?.confined == false)
        #expect(try Self.workload(result, named: "kvmguest").mac.selinux?.type == "svirt_t")
    }

    @Test func pureCgroupV2Host() throws {
        let result = try Self.scan("cgroupv2-host")
        #expect(result.host.cgroupVersion == "v2")
        let hard = try Self.workload(result, named: "hard1")
        #expect(hard.cgroup?.version == "v2")
        #expect(hard.cgroup?.memoryMax == .value(64 << 20))
        #expect(hard.cgroup?.pidsMax == .value(50))
        #expect(hard.cgroup?.cpuQuota == .max)
        #expect(try Self.workload(result, named: "web1").cgroup?.pidsMax == .value(2048))
    }

    @Test func noLSMHostHasNoLabelsAndNoGuesses() throws {
        let web = try Self.workload(try Self.scan("hybrid-host"), named: "web1")
        #expect(web.mac.apparmor == nil && web.mac.selinux == nil)
        #expect(web.unknown["mac.apparmor"] == nil)
    }

    /// Captured inside the guest lab (a real AppArmor kernel on a pure cgroup v2 hierarchy):
    /// every label and limit is the kernel's own output, not a synthesized one.
    @Test func capturedAppArmorCgroupV2Guest() throws {
        let result = try Self.scan("guest-apparmor-v2")
        #expect(result.host.lsms?.contains("apparmor") == true)
        #expect(result.host.cgroupVersion == "v2")
        #expect(result.workloads.map(\.name).sorted() == ["limited1", "runc1", "unconfined1", "web1"])
        let web = try Self.workload(result, named: "web1")
        #expect(web.mac.apparmor == AppArmorLabel(profile: "containers-default-0.50.1", mode: "enforce"))
        #expect(try Self.workload(result, named: "unconfined1").mac.apparmor?.confined == false)
        let limited = try Self.workload(result, named: "limited1")
        #expect(limited.cgroup?.memoryMax == .value(96 << 20))
        #expect(limited.cgroup?.pidsMax == .value(60))
        #expect(limited.cgroup?.cpuQuota == .value(50000))
        #expect(try Self.workload(result, named: "runc1").cgroup?.memoryMax == .value(64 << 20))
        // Debian's kernel, told by the package version its captured version string carries.
        #expect(result.host.kernelBuild?.kind == .debian)
        #expect(result.host.kernelBuild?.release == "6.1.0-57-cloud-amd64")
        #expect(result.host.kernelBuild?.packageVersion == "6.1.192-3")
    }

    /// Captured inside the guest lab booted with SELinux (Debian's reference policy, permissive):
    /// every context is the kernel's own, NUL-terminated as SELinux writes it.
    @Test func capturedSELinuxGuest() throws {
        let result = try Self.scan("guest-selinux-v2")
        #expect(result.host.lsms?.contains("selinux") == true)
        #expect(result.host.lsms?.contains("apparmor") == false)
        #expect(result.host.selinuxEnforcing == false)
        #expect(result.host.cgroupVersion == "v2")
        #expect(result.workloads.map(\.name).sorted() == ["se-default", "se-disabled", "se-generated", "se-runc", "sleep"])
        let generated = try Self.workload(result, named: "se-generated")
        #expect(generated.mac.selinux?.context == "system_u:system_r:cloister_guest_web_t:s0:c60,c653")
        #expect(generated.mac.selinux?.type == "cloister_guest_web_t")
        #expect(generated.mac.selinux?.level == "s0:c60,c653")
        #expect(generated.mac.apparmor == nil)
        #expect(try Self.workload(result, named: "se-disabled").mac.selinux?.type == "kernel_t")
        #expect(try Self.workload(result, named: "se-runc").ociRuntime == "runc")
        // cloister launch --selinux: its workload in the generated domain, without categories.
        let launched = try Self.workload(result, named: "sleep")
        #expect(launched.runtime == "cloister")
        #expect(launched.mac.selinux?.context == "system_u:system_r:cloister_guest_web_t:s0")
        // Permissive: the kernel refuses nothing, so no label confines.
        #expect(result.workloads.allSatisfy { $0.mac.selinux?.confined == false })
    }

    /// Captured inside the guest lab booted with SELinux enforcing, the generated module installed
    /// (GuestLab/selinux.sh): labels that confine, as the kernel wrote them.
    @Test func capturedEnforcingSELinuxGuest() throws {
        let result = try Self.scan("guest-selinux-enforcing-v2")
        #expect(result.host.lsms?.contains("selinux") == true)
        #expect(result.host.selinuxEnforcing == true)
        #expect(result.host.cgroupVersion == "v2")
        #expect(result.workloads.map(\.name).sorted() == ["se-default", "se-disabled", "se-generated", "se-runc", "sleep"])
        let generated = try Self.workload(result, named: "se-generated")
        #expect(generated.mac.selinux?.context == "system_u:system_r:cloister_guest_web_t:s0:c424,c753")
        #expect(generated.mac.selinux?.level == "s0:c424,c753")
        #expect(generated.mac.apparmor == nil)
        // Enforcing: the generated domain confines, under podman (crun, runc) and launch alike;
        // the kernel's own domain (label=disable) does not.
        for name in ["se-default", "se-generated", "se-runc", "sleep"] {
            let posture = try Self.workload(result, named: name)
            #expect(posture.mac.selinux?.type == "cloister_guest_web_t", "\(name)")
            #expect(posture.mac.selinux?.confined == true, "\(name)")
        }
        let disabled = try Self.workload(result, named: "se-disabled")
        #expect(disabled.mac.selinux?.context == "system_u:system_r:kernel_t:s0")
        #expect(disabled.mac.selinux?.confined == false)
        #expect(try Self.workload(result, named: "se-runc").ociRuntime == "runc")
        #expect(try Self.workload(result, named: "sleep").runtime == "cloister")
    }

    @Test func enforcingSELinuxHostKeepsItsConfinedTypesConfined() throws {
        let result = try Self.scan("selinux-host")
        #expect(result.host.selinuxEnforcing == true)
        #expect(result.workloads.contains { $0.mac.selinux?.confined == true })
    }
}
