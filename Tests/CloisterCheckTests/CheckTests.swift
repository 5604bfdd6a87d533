import CloisterCodec
import CloisterFormats
import CloisterModel
import Foundation
import Testing

@testable import CloisterCheck

/// The fixture tree, copied into the test bundle.
let fixtures: String = {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)?.path ?? "Tests/CloisterCheckTests/Fixtures"
}()

func checkFixture(_ relative: String) -> CheckResult {
    Check.check(paths: ["\(fixtures)/\(relative)"])
}

func workload(_ result: CheckResult, _ id: String) throws -> Posture {
    try #require(result.workloads.first { $0.id == id }, "no workload \(id) in \(result.workloads.map(\.id))")
}

@Suite("OCI config.json")
struct OCITests {
    /// process.user.additionalGids, process.rlimits, linux.sysctl and linux.intelRdt land in the
    /// posture fields the scan fills from the kernel, each with its line.
    @Test func groupsLimitsSysctlsAndIntelRdt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-oci-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("config.json")
        try """
            {"ociVersion": "1.0.2",
             "process": {"args": ["sh"], "cwd": "/",
                         "user": {"uid": 1000, "gid": 1000, "additionalGids": [6, 10]},
                         "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 18446744073709551615}]},
             "root": {"path": "rootfs"},
             "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}],
                       "sysctl": {"net.ipv4.ping_group_range": "0 0"},
                       "intelRdt": {"closID": "guaranteed", "l3CacheSchema": "L3:0=ff"}}}
            """.write(to: file, atomically: true, encoding: .utf8)
        let result = Check.check(paths: [file.path])
        #expect(result.errors.isEmpty, "\(result.errors)")
        let posture = try #require(result.workloads.first)
        #expect(posture.user.groups == [6, 10])
        #expect(posture.rlimits == [ResourceLimit(name: "RLIMIT_NOFILE", soft: "1024", hard: "unlimited")])
        #expect(posture.sysctls == ["net.ipv4.ping_group_range": "0 0"])
        #expect(posture.intelRdt == IntelRDT(closID: "guaranteed", l3CacheSchema: "L3:0=ff"))
        #expect(posture.fieldLocations["user.groups"]?.line == 3)
        #expect(posture.fieldLocations["rlimits"]?.line == 4)
    }

    @Test func runcDefaultSpec() throws {
        let result = checkFixture("oci/config.json")
        #expect(result.errors.isEmpty)
        let posture = try #require(result.workloads.first)
        #expect(posture.kind == .container)
        #expect(posture.runtime == "oci")
        #expect(posture.source == .declared)
        #expect(posture.name == "runc")
        #expect(posture.namespaces.pid == .private)
        #expect(posture.namespaces.net == .private)
        // No user namespace listed: the host's, defaulted, and root is host root.
        #expect(posture.namespaces.user == .host)
        #expect(posture.defaulted.contains("namespaces.user"))
        #expect(posture.user.rootMappedToHost == true)
        #expect(posture.capabilities.bounding == ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"])
        #expect(posture.capabilities.inheritable.isEmpty)
        #expect(posture.seccomp?.mode == .disabled)
        #expect(posture.defaulted.contains("seccomp.mode"))
        #expect(posture.noNewPrivileges == true)
        #expect(posture.readOnlyRootfs == true)
        #expect(posture.maskedPaths?.contains("/proc/kcore") == true)
        #expect(posture.readOnlyPaths?.contains("/proc/sys") == true)
        #expect(posture.devices.contains { $0.path == "/dev/console" })
        #expect(posture.mounts.first { $0.target == "/sys" }?.readOnly == true)
        #expect(posture.cgroup?.devicesAllowAll == false)
        #expect(posture.cgroup?.memoryMax == .max)
        #expect(posture.defaulted.contains("cgroup.memoryMax"))
        let noNewPrivileges = try #require(posture.fieldLocations["noNewPrivileges"])
        #expect(noNewPrivileges.line == 46)
        #expect(noNewPrivileges.path == "process.noNewPrivileges")
    }

    @Test func rootlessHardened() throws {
        let posture = try #require(checkFixture("oci/rootless-hardened.json").workloads.first)
        #expect(posture.namespaces.user == .private)
        #expect(posture.user.uidMap == [IDMapRange(inside: 0, outside: 100_000, count: 65_536)])
        #expect(posture.user.rootMappedToHost == false)
        #expect(posture.user.hostUid == 101_000)
        #expect(posture.namespaces.time == .host)
        #expect(posture.seccomp?.mode == .filter)
        #expect(posture.mac.apparmor?.profile == "cloister-worker")
        #expect(posture.mac.selinux?.type == "container_t")
        #expect(posture.mac.selinux?.level == "s0:c12,c34")
        #expect(posture.capabilities.effective.isEmpty)
        let data = try #require(posture.mounts.first { $0.target == "/data" })
        #expect(data.hostPath == "/srv/worker/data")
        #expect(data.readOnly)
        let scratch = try #require(posture.mounts.first { $0.target == "/scratch" })
        #expect(scratch.hostPath == "/var/tmp/worker")
        #expect(!scratch.readOnly)
        #expect(posture.devices.contains { $0.path == "/dev/fuse" && !$0.standard && $0.major == 10 })
        #expect(posture.cgroup?.memoryMax == .value(536_870_912))
        #expect(posture.cgroup?.pidsMax == .value(256))
        #expect(posture.cgroup?.cpuQuota == .value(50_000))
        #expect(posture.fieldLocations["cgroup.pidsMax"]?.line == 32)
        #expect(!posture.defaulted.contains("seccomp.mode"))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/runc"), "needs runc to write its default spec"))
    func whatRuncSpecWrites() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-runc-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/runc")
        process.arguments = ["spec", "--rootless"]
        process.currentDirectoryURL = directory
        try process.run()
        process.waitUntilExit()
        let result = Check.check(paths: [directory.appendingPathComponent("config.json").path])
        #expect(result.errors.isEmpty, "\(result.errors)")
        let posture = try #require(result.workloads.first)
        #expect(posture.namespaces.user == .private)
        // runc writes the invoking user's IDs as the mapping's host side.
        #expect(posture.user.rootMappedToHost == (getuid() == 0))
    }
}

@Suite("Kubernetes manifests")
struct KubernetesTests {
    @Test func docsSecurityContextExample() throws {
        let result = checkFixture("kubernetes/security-context.yaml")
        let posture = try workload(result, "k8s:Pod/default/security-context-demo/sec-ctx-demo")
        #expect(posture.runtime == "kubernetes")
        #expect(posture.user.uid == 1000)
        #expect(posture.user.gid == 3000)
        #expect(posture.noNewPrivileges == true)
        // Pod-level runAsUser, inherited by the container, points at the pod's line.
        #expect(posture.fieldLocations["user.uid"]?.path == "spec.securityContext.runAsUser")
        #expect(posture.fieldLocations["user.uid"]?.line == 8)
        // No seccompProfile: Unconfined, and said so.
        #expect(posture.seccomp?.mode == .disabled)
        #expect(posture.defaulted.contains("seccomp.mode"))
        #expect(posture.defaultSources?["seccomp.mode"]?.contains("Unconfined") == true)
        // Default capabilities in the bounding set; a non-root process keeps none effective.
        #expect(posture.capabilities.bounding == LinuxCapabilities.containerDefault)
        #expect(posture.capabilities.effective.isEmpty)
        #expect(posture.defaulted.contains("capabilities.bounding"))
        #expect(posture.namespaces.user == .host)
        #expect(posture.user.rootMappedToHost == true)
        #expect(posture.readOnlyRootfs == false)
        #expect(posture.defaulted.contains("readOnlyRootfs"))
        #expect(posture.mounts == [Mount(source: "sec-ctx-vol", target: "/data/demo", readOnly: false, type: "emptyDir")])
        #expect(posture.command == ["sh", "-c", "sleep 1h"])
        #expect(posture.location?.line == 16)
    }

    @Test func privilegedDaemonSet() throws {
        let result = checkFixture("kubernetes/cni-daemonset.yaml")
        #expect(result.workloads.count == 2)
        let agent = try workload(result, "k8s:DaemonSet/kube-system/cni-node/agent")
        #expect(agent.namespaces.net == .host)
        #expect(agent.namespaces.pid == .host)
        #expect(agent.namespaces.uts == .host)
        #expect(agent.namespaces.ipc == .private)
        #expect(agent.capabilities.bounding.count == 41)
        #expect(agent.capabilities.bounding.last == "CAP_CHECKPOINT_RESTORE")
        #expect(agent.seccomp?.mode == .disabled)
        #expect(agent.mac.apparmor?.confined == false)
        #expect(agent.noNewPrivileges == false)
        #expect(agent.cgroup?.devicesAllowAll == true)
        #expect(agent.maskedPaths == [])
        let privileged = try #require(agent.fieldLocations["capabilities.bounding"])
        #expect(privileged.path == "spec.template.spec.containers[0].securityContext.privileged")
        #expect(privileged.line == 39)
        let modules = try #require(agent.mounts.first { $0.target == "/lib/modules" })
        #expect(modules.hostPath == "/lib/modules")
        #expect(modules.readOnly)
        #expect(agent.mounts.first { $0.target == "/var/run/cni" }?.readOnly == false)
        #expect(agent.fieldLocations["mounts[0].hostPath"]?.line == 54)
        #expect(agent.fieldLocations["namespaces.net"]?.line == 19)
        let install = try workload(result, "k8s:DaemonSet/kube-system/cni-node/install-cni")
        #expect(install.mounts.map(\.hostPath) == ["/opt/cni/bin", "/etc/cni/net.d"])
    }

    @Test func hardenedDeploymentBesideAService() throws {
        let result = checkFixture("kubernetes/hardened-deployment.yaml")
        #expect(result.documents == 2)
        #expect(result.workloads.count == 1)
        let web = try workload(result, "k8s:Deployment/shop/web/web")
        #expect(web.runtimeClass == "gvisor")
        #expect(web.namespaces.user == .private)
        #expect(web.user.rootMappedToHost == false)
        #expect(web.user.uid == 10001)
        #expect(web.capabilities.bounding == ["CAP_NET_BIND_SERVICE"])
        #expect(!web.defaulted.contains("capabilities.bounding"))
        #expect(web.seccomp?.mode == .filter)
        #expect(web.fieldLocations["seccomp.mode"]?.line == 37)
        #expect(web.noNewPrivileges == true)
        #expect(web.readOnlyRootfs == true)
        #expect(web.mac.apparmor?.profile == "runtime/default")
        #expect(web.cgroup?.memoryMax == .value(268_435_456))
        #expect(web.cgroup?.cpuQuota == .value(50_000))
        // The node's kubelet sets it (podPidsLimit); the pod spec cannot, so it is unknown.
        #expect(web.cgroup?.pidsMax == nil)
        #expect(web.unknown[.cgroupPidsMax]?.contains("podPidsLimit") == true)
        #expect(web.maskedPaths?.contains("/proc/kcore") == true)
        #expect(web.readOnlyPaths?.contains("/proc/sysrq-trigger") == true)
    }

    @Test func listWithCronJobJobAndConfigMap() throws {
        let result = checkFixture("kubernetes/cronjob-list.yaml")
        #expect(result.errors.isEmpty)
        #expect(result.workloads.map(\.id) == ["k8s:CronJob/ops/backup/dump", "k8s:Job/default/migrate/migrate"])
        let dump = try workload(result, "k8s:CronJob/ops/backup/dump")
        #expect(dump.capabilities.bounding.contains("CAP_SYS_ADMIN"))
        // CAP_SYS_ADMIN forces privilege escalation on.
        #expect(dump.noNewPrivileges == false)
        #expect(dump.seccomp?.mode == .disabled)
        #expect(!dump.defaulted.contains("seccomp.mode"))
        #expect(dump.mac.apparmor?.profile == "unconfined")
        #expect(dump.mounts.first?.hostPath == "/srv/backups/nightly")
        #expect(dump.fieldLocations["seccomp.mode"]?.path == "items[0].spec.jobTemplate.spec.template.spec.containers[0].securityContext.seccompProfile.type")
        let migrate = try workload(result, "k8s:Job/default/migrate/migrate")
        #expect(migrate.unknown["user.uid"] != nil)
        #expect(migrate.capabilities.effective == LinuxCapabilities.containerDefault)
    }

    @Test func quantities() {
        #expect(Kubernetes.quantity("128Mi") == 134_217_728)
        #expect(Kubernetes.quantity("500m") == 0.5)
        #expect(Kubernetes.quantity("1.5Gi") == 1_610_612_736)
        #expect(Kubernetes.quantity("2") == 2)
        #expect(Kubernetes.quantity("1e3") == 1000)
        #expect(Kubernetes.quantity("lots") == nil)
    }

    @Test func capabilityAdjustmentOrder() {
        #expect(LinuxCapabilities.adjust(LinuxCapabilities.containerDefault, add: ["NET_ADMIN"], drop: ["ALL"]) == ["CAP_NET_ADMIN"])
        #expect(LinuxCapabilities.adjust([], add: ["ALL"], drop: ["SYS_ADMIN"]).count == 40)
        #expect(LinuxCapabilities.adjust(["CAP_KILL"], add: ["kill"], drop: ["KILL"]).isEmpty)
    }
}

@Suite("Compose")
struct ComposeTests {
    @Test func services() throws {
        let result = checkFixture("compose/compose.yaml")
        #expect(result.errors.isEmpty)
        #expect(result.workloads.count == 3)
        let proxy = try workload(result, "compose:monitoring/proxy")
        #expect(proxy.readOnlyRootfs == true)  // from the merged x-defaults anchor
        #expect(proxy.noNewPrivileges == true)
        #expect(proxy.capabilities.bounding == ["CAP_NET_BIND_SERVICE"])
        #expect(proxy.mounts.first?.hostPath == "/var/run/docker.sock")
        #expect(proxy.mounts.first?.readOnly == true)
        #expect(proxy.cgroup?.memoryMax == .value(268_435_456))
        #expect(proxy.cgroup?.pidsMax == .value(100))
        #expect(proxy.cgroup?.cpuQuota == .value(50_000))
        #expect(proxy.seccomp?.mode == .filter)
        #expect(proxy.defaulted.contains("seccomp.mode"))

        let exporter = try workload(result, "compose:monitoring/node-exporter")
        #expect(exporter.namespaces.pid == .host)
        #expect(exporter.namespaces.net == .host)
        #expect(exporter.capabilities.bounding.count == 41)
        #expect(exporter.capabilities.effective.isEmpty)  // runs as 65534
        #expect(exporter.seccomp?.mode == .disabled)
        #expect(exporter.mounts.first?.hostPath == "/")
        #expect(exporter.devices.contains { $0.path == "/dev/kmsg" && $0.access == "r" })
        #expect(exporter.fieldLocations["namespaces.pid"]?.line == 22)

        let db = try workload(result, "compose:monitoring/db")
        #expect(db.seccomp?.mode == .disabled)
        #expect(db.mac.apparmor?.confined == false)
        #expect(db.mac.selinux?.confined == false)
        #expect(db.mounts.map(\.type) == ["volume", "bind"])
        #expect(db.cgroup?.memoryMax == .value(1_073_741_824))
        #expect(db.cgroup?.cpuQuota == .value(200_000))
    }

    @Test("runtime: an OCI runtime's own name is the posture's ociRuntime, at its line; a wrapper's is not")
    func runtimeNames() throws {
        let text = "services:\n  sandboxed:\n    image: busybox\n    runtime: runsc\n  gpu:\n    image: cuda\n    runtime: nvidia\n  plain:\n    image: busybox\n"
        var documents = try YAMLText.documents(text, file: "compose.yaml")
        let root = try #require(try documents.next())
        let postures = try Compose.postures(root, file: "compose.yaml", project: "p")
        let byName = Dictionary(uniqueKeysWithValues: postures.map { ($0.name, $0) })
        #expect(byName["p/sandboxed"]?.ociRuntime == "runsc")
        #expect(byName["p/sandboxed"]?.fieldLocations["ociRuntime"]?.line == 4)
        #expect(byName["p/gpu"]?.ociRuntime == nil)
        #expect(byName["p/plain"]?.ociRuntime == nil)
        #expect(Compose.ociRuntime(named: "io.containerd.kata.v2") == "kata")
        #expect(Compose.ociRuntime(named: "/usr/bin/crun") == "crun")
    }

    @Test func sizes() {
        #expect(Compose.bytes("512m") == 536_870_912)
        #expect(Compose.bytes("1gb") == 1_073_741_824)
        #expect(Compose.bytes("2048k") == 2_097_152)
        #expect(Compose.bytes("100") == 100)
        #expect(Compose.bytes("-1") == nil)
    }
}

@Suite("libvirt, Firecracker and qemu files")
struct VirtualMachineTests {
    @Test func libvirtDomain() throws {
        let posture = try #require(checkFixture("libvirt/domain.xml").workloads.first)
        #expect(posture.kind == .vm)
        #expect(posture.runtime == "libvirt")
        let hypervisor = try #require(posture.hypervisor)
        #expect(hypervisor.accelerator == "kvm")
        #expect(hypervisor.machine == "pc-i440fx-7.2")
        #expect(hypervisor.binary == "/usr/bin/qemu-system-x86_64")
        #expect(hypervisor.user.uid == 0)
        #expect(hypervisor.sandbox.enabled)
        #expect(posture.defaulted.contains("hypervisor.sandbox"))
        #expect(posture.mac.selinux?.confined == false)
        let vnc = try #require(hypervisor.consoles.first { $0.kind == "vnc" })
        #expect(vnc.localOnly == false)
        // No passwd: qemu.conf's vnc_password or vnc_sasl decide, and no qemu.conf was read.
        #expect(vnc.password == nil)
        let spice = try #require(hypervisor.consoles.first { $0.kind == "spice" })
        #expect(spice.localOnly == true)
        #expect(spice.password == true)
        let serial = try #require(hypervisor.consoles.first { $0.kind == "serial" && $0.transport == "telnet" })
        #expect(serial.address == "0.0.0.0:2445")
        #expect(serial.localOnly == false)
        #expect(hypervisor.consoles.contains { $0.kind == "gdb" && $0.localOnly == false })
        #expect(hypervisor.consoles.contains { $0.kind == "qmp" && $0.localOnly == true })
        #expect(hypervisor.passthrough == [
            Passthrough(kind: "vfio", host: "0000:06:02.0"),
            Passthrough(kind: "usb-host", host: "vendorid=0x1234,productid=0xbeef"),
        ])
        #expect(Set(hypervisor.legacyDevices) == ["isa-fdc", "floppy", "pcnet", "sb16"])
        #expect(hypervisor.network.map(\.type) == ["network", "bridge"])
        #expect(posture.fieldLocations["hypervisor.passthrough[0]"]?.line == 49)
    }

    @Test func firecrackerConfiguration() throws {
        let posture = try #require(checkFixture("firecracker/vm_config.json").workloads.first)
        let hypervisor = try #require(posture.hypervisor)
        #expect(posture.runtime == "firecracker")
        #expect(hypervisor.accelerator == "kvm")
        #expect(hypervisor.vcpus == 2)
        #expect(hypervisor.sandbox.enabled)
        #expect(posture.defaulted.contains("hypervisor.sandbox"))
        #expect(hypervisor.network == [NetworkBackend(type: "tap", id: "eth0")])
        #expect(hypervisor.consoles.contains { $0.kind == "serial" && $0.transport == "stdio" })
        #expect(hypervisor.consoles.contains { $0.kind == "vsock" && $0.address == "/tmp/firecracker-vsock.sock" })
        #expect(posture.mounts.first?.source == "bionic.rootfs.ext4")
    }

    @Test func qemuScript() throws {
        let posture = try #require(checkFixture("qemu/guest.qemu").workloads.first)
        let hypervisor = try #require(posture.hypervisor)
        #expect(posture.name == "lab01")
        #expect(hypervisor.accelerator == "kvm")
        #expect(hypervisor.consoles.contains { $0.kind == "monitor" && $0.transport == "telnet" && $0.localOnly == false })
        #expect(hypervisor.consoles.contains { $0.kind == "vnc" && $0.address == "0.0.0.0:5901" })
        #expect(hypervisor.network == [NetworkBackend(type: "user", id: "n0")])
        #expect(hypervisor.legacyDevices.isEmpty)
    }

    @Test func qemuArgvFromCommandLine() throws {
        let posture = Check.check(qemu: ["qemu-system-x86_64", "-enable-kvm", "-nodefaults", "-sandbox", "on"])
        #expect(posture.source == .declared)
        #expect(posture.hypervisor?.sandbox.enabled == true)
        #expect(posture.hypervisor?.network.isEmpty == true)
    }

    @Test func procCmdlineDump() throws {
        let result = Check.check(contents: "qemu-system-x86_64\0-name\0guest=nul\0-vnc\0:0\0", file: "cmdline")
        #expect(result.workloads.first?.name == "nul")
    }
}

@Suite("invalid files")
struct InvalidFileTests {
    @Test func badFilesAreReportedWithLinesAndOthersStillChecked() throws {
        let result = Check.check(paths: ["\(fixtures)/bad", "\(fixtures)/kubernetes/security-context.yaml"])
        #expect(result.workloads.count == 1)
        #expect(result.errors.count == 4)
        let byFile = Dictionary(grouping: result.errors) { ($0.file as NSString).lastPathComponent }
        #expect(byFile["broken.yaml"]?.first?.line == 9)
        #expect(byFile["trailing-comma.json"]?.first?.line == 5)
        #expect(byFile["unclosed.xml"]?.first?.line == 5)
        #expect(byFile["unclosed.xml"]?.first?.message.contains("<devices> opened on line 3") == true)
        let wrongType = try #require(byFile["wrong-type.yaml"]?.first)
        #expect(wrongType.line == 10)
        #expect(wrongType.path == "spec.containers[0].securityContext.privileged")
    }

    @Test(arguments: [
        ("{\"ociVersion\": \"1.0\", \"linux\": {\"namespaces\": [{\"type\": \"pidx\"}]}}", 1),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers: {}\n", 6),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  hostNetwork: true\n", 5),
        ("just: a mapping\n", 1),
        ("{\"a\": [1, 2,]}", 1),
        ("a: &a [*a]\n", nil),
        ("<domain type='kvm'></domain>", 1),
        ("<!DOCTYPE d [<!ENTITY a \"b\">]>\n<domain/>", 1),
        ("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 1),
    ] as [(String, Int?)])
    func invalidContents(text: String, line: Int?) {
        let result = Check.check(contents: text, file: "input")
        #expect(result.errors.count == 1, "\(result.workloads.map(\.id))")
        if let line { #expect(result.errors.first?.line == line, "\(result.errors)") }
        #expect(result.workloads.isEmpty)
    }

    @Test func aliasBombIsRefused() {
        var yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        var previous = "a"
        for level in 0..<8 {
            let name = "l\(level)"
            yaml += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ", ") + "]\n"
            previous = name
        }
        let result = Check.check(contents: yaml, file: "bomb.yaml")
        #expect(result.errors.first?.message.contains("aliases") == true)
    }

    @Test func missingPath() {
        let result = Check.check(paths: ["/nonexistent/cloister/file.yaml"])
        #expect(result.errors.first?.message == "no such file or directory")
    }
}

@Suite("qemu field locations")
struct QemuLocationTests {
    @Test func consolesPointAtTheirLines() throws {
        let posture = try #require(checkFixture("qemu/guest.qemu").workloads.first)
        let consoles = try #require(posture.hypervisor?.consoles)
        let monitor = try #require(consoles.firstIndex { $0.kind == "monitor" })
        #expect(posture.fieldLocations["hypervisor.consoles[\(monitor)]"]?.line == 10)
        let vnc = try #require(consoles.firstIndex { $0.kind == "vnc" })
        #expect(posture.fieldLocations["hypervisor.consoles[\(vnc)]"]?.line == 9)
        #expect(posture.fieldLocations["hypervisor.accelerator"]?.line == 5)
        #expect(posture.location?.line == 3)
    }

    @Test func argvIndexesForLiveCommandLines() {
        let config = QemuCommandLine.parse(["qemu-system-x86_64", "-m", "1", "-vnc", ":0", "-device", "vfio-pci,host=01:00.0"])
        #expect(config.argumentIndexes["hypervisor.consoles[0]"] == 3)
        #expect(config.argumentIndexes["hypervisor.passthrough[0]"] == 5)
    }
}

@Suite("directories")
struct DirectoryTests {
    @Test func unrelatedFilesInADirectoryAreSkippedButNamedOnesAreErrors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-dir-\(getpid())")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent(".git"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("{\"name\": \"web\", \"version\": \"1.0.0\"}".utf8).write(to: directory.appendingPathComponent("package.json"))
        try Data("on: push\njobs: {}\n".utf8).write(to: directory.appendingPathComponent("ci.yml"))
        try Data("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n".utf8)
            .write(to: directory.appendingPathComponent("pod.yaml"))
        try Data("not: [valid".utf8).write(to: directory.appendingPathComponent(".git/config.yaml"))
        try Data("README".utf8).write(to: directory.appendingPathComponent("README.md"))

        let result = Check.check(paths: [directory.path])
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(result.workloads.map(\.id) == ["k8s:Pod/default/p/c"])
        #expect(result.skipped.count == 2)

        let named = Check.check(paths: [directory.appendingPathComponent("ci.yml").path])
        #expect(named.errors.count == 1)
    }

    @Test func reportJSONIsValidAndComplete() throws {
        let result = Check.check(paths: ["\(fixtures)/kubernetes", "\(fixtures)/bad/broken.yaml"])
        let data = try CheckReportJSON.render(result)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["schema"] as? String == "cloister.check/v1")
        #expect((object["workloads"] as? [Any])?.count == result.workloads.count)
        #expect((object["errors"] as? [[String: Any]])?.first?["line"] as? Int == 9)
        let decoded = try JSONDecoder().decode([Posture].self, from: JSONSerialization.data(withJSONObject: object["workloads"] ?? []))
        #expect(decoded == result.workloads)
    }
}

@Suite("compact JSON")
struct CompactJSONTests {
    /// The report's own encoder must write exactly what Foundation's writes.
    @Test func sameBytesAsFoundation() throws {
        let result = Check.check(paths: [fixtures])
        let foundation = JSONEncoder()
        foundation.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(result.workloads.count > 10)
        for posture in result.workloads {
            let expected = try foundation.encode(posture)
            let actual = Data(try CompactJSON.encode(posture))
            #expect(actual == expected, "\(posture.id)")
        }
        var hostile = Posture(id: "x", kind: .vm, runtime: "qemu", name: "a\"b\\c/d\u{0}\u{1b}[31m\u{7f}é\u{202e}\n\t")
        hostile.exposure = Exposure(score: 7.25, level: "high")
        hostile.cgroup = CgroupLimits(version: "v2", path: "/")
        hostile.cgroup?.memoryMax = .max
        hostile.cgroup?.pidsMax = .value(42)
        // String lists and string-to-string tables take CompactJSON's direct path.
        hostile.command = ["a\"b", "\u{1b}[0m", "é", ""]
        hostile.defaultSources = ["b": "1", "B": "\u{0}", "é": "x", "a\"": "\\", "a": "", "a.b": "\u{2028}"]
        hostile.maskedPaths = []
        #expect(Data(try CompactJSON.encode(hostile)) == (try foundation.encode(hostile)))
        for table in [[:], ["k": "v"], hostile.defaultSources ?? [:]] as [[String: String]] {
            #expect(Data(try CompactJSON.encode(table)) == (try foundation.encode(table)))
        }
        for list in [[], ["x"], hostile.command] as [[String]] {
            #expect(Data(try CompactJSON.encode(list)) == (try foundation.encode(list)))
        }
        for error in result.errors {
            #expect(Data(try CompactJSON.encode(error)) == (try foundation.encode(error)))
        }
    }
}

@Suite("findings written straight to bytes")
struct FindingJSONTests {
    static let hostile = "a\"b\\c/d\u{0}\u{1b}[31m\u{7f}é\u{202e}\u{2028}\n\t\u{8}\u{c}"

    /// Findings with every optional field set and unset, hostile text everywhere, evidence keys
    /// whose byte order differs from their character order, and reference lists shared by
    /// several findings (the cache) beside equal lists in other storage.
    static func findings() -> [Finding] {
        let shared = [
            Reference(source: "cis-docker-1.6.0", id: "5.4", title: "CIS \(hostile)"),
            Reference(source: "url", id: "x", url: "https://example.org/a?b=\"c\""),
        ]
        var copy = shared
        copy[0].title = "other"
        var findings: [Finding] = []
        for number in 0..<80 {
            findings.append(
                Finding(
                    rule: number % 3 == 0 ? "rule-\(hostile)" : "privileged", severity: Severity.allCases[number % 5],
                    workload: "k8s:Pod/ns/p\(number)/c", message: number % 2 == 0 ? hostile : "plain message \(number)",
                    evidence: number % 4 == 0
                        ? [:] : ["b": "1", "B": hostile, "é": "2", "a.b": "3", "a[0]": "4", "a": "(not set)", hostile: "k"],
                    references: number % 5 == 0 ? [] : number % 5 == 1 ? copy : number % 5 == 2 ? [shared[1]] : shared,
                    location: number % 6 == 0
                        ? nil
                        : SourceLocation(
                            file: "/tmp/\(hostile).yaml", line: number % 4 == 1 ? nil : number, column: number % 3 == 1 ? nil : 5,
                            path: number % 2 == 1 ? nil : "spec.containers[0]"),
                    accepted: number % 7 == 0 ? "accepted until 2027-01-01: \(hostile)" : nil))
        }
        return findings
    }

    @Test func sameBytesAsCompactJSON() throws {
        var cache = FindingJSON.ReferenceCache()
        for finding in Self.findings() {
            var bytes: [UInt8] = []
            FindingJSON.write(finding, into: &bytes, cache: &cache)
            #expect(bytes == (try CompactJSON.encode(finding)), "\(finding)")
        }
    }

    /// The report's findings section, written in pieces on every core, is each finding's
    /// CompactJSON on its own line, in order.
    @Test func reportListsEveryFindingInOrder() throws {
        let findings = Self.findings() + Self.findings()
        let data = try CheckReportJSON.render(CheckResult(), findings: findings)
        let text = String(decoding: data, as: UTF8.self)
        let start = try #require(text.range(of: "\"findings\": [\n"))
        let end = try #require(text.range(of: "\n],\n\"issues\"", range: start.upperBound..<text.endIndex))
        let lines = text[start.upperBound..<end.lowerBound].components(separatedBy: ",\n")
        #expect(lines.count == findings.count)
        for (line, finding) in zip(lines, findings) {
            #expect(Array(line.utf8) == (try CompactJSON.encode(finding)))
        }
        #expect(try JSONSerialization.jsonObject(with: data) is [String: Any])
    }

    /// The issues line is what Foundation's sorted-keys encoder writes for the array, with
    /// every optional field set and unset, hostile text, and more issues than one piece holds.
    @Test func issuesAsFoundationWritesThem() throws {
        var issues: [ScanIssue] = []
        for number in 0..<150 {
            issues.append(
                ScanIssue(
                    pid: number % 2 == 0 ? number : nil, workload: number % 3 == 0 ? nil : "w\(number) \(Self.hostile)",
                    message: number % 4 == 0 ? Self.hostile : "rule x was not decided", rule: number % 5 == 0 ? nil : "rule-\(number)",
                    reason: number % 7 == 0 ? nil : "reason \(Self.hostile)"))
        }
        let foundation = JSONEncoder()
        foundation.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for count in [0, 1, 150] {
            let data = try CheckReportJSON.render(CheckResult(), issues: Array(issues.prefix(count)))
            let text = String(decoding: data, as: UTF8.self)
            let start = try #require(text.range(of: "\"issues\": "))
            let expected = String(decoding: try foundation.encode(Array(issues.prefix(count))), as: UTF8.self)
            #expect(text[start.upperBound...] == expected + "\n}\n")
        }
        for issue in issues {
            var bytes: [UInt8] = []
            FindingJSON.write(issue, into: &bytes)
            #expect(Data(bytes) == (try foundation.encode(issue)))
        }
    }
}

@Suite("every workload kind")
struct WorkloadKindTests {
    static let podSpec = """
        spec:
          containers:
          - name: c
            image: x
        """

    @Test(arguments: [
        ("Pod", "", ""),
        ("Deployment", "spec:\n  template:\n", "    "),
        ("StatefulSet", "spec:\n  template:\n", "    "),
        ("DaemonSet", "spec:\n  template:\n", "    "),
        ("ReplicaSet", "spec:\n  template:\n", "    "),
        ("ReplicationController", "spec:\n  template:\n", "    "),
        ("Job", "spec:\n  template:\n", "    "),
        ("CronJob", "spec:\n  jobTemplate:\n    spec:\n      template:\n", "        "),
        ("PodTemplate", "template:\n", "  "),
    ])
    func kind(kind: String, prefix: String, indent: String) throws {
        let body = Self.podSpec.split(separator: "\n").map { indent + $0 }.joined(separator: "\n")
        let yaml = "apiVersion: v1\nkind: \(kind)\nmetadata:\n  name: n\n  namespace: ns\n\(prefix)\(body)\n"
        let result = Check.check(contents: yaml, file: "\(kind).yaml")
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(result.workloads.map(\.id) == ["k8s:\(kind)/ns/n/c"])
    }

    @Test func qemuFallbackAcceleratorIsNamed() {
        let posture = Check.check(qemu: ["qemu-system-x86_64", "-machine", "q35,accel=kvm:tcg"])
        #expect(posture.hypervisor?.accelerator == "kvm")
        #expect(posture.unknown["hypervisor.accelerator"]?.contains("kvm, then tcg") == true)
    }
}

@Test func negativeUIDIsAnErrorNotRoot() {
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext:\n    runAsUser: -1\n  containers: [{name: c, image: x}]\n"
    let result = Check.check(contents: yaml, file: "p.yaml")
    #expect(result.workloads.isEmpty)
    #expect(result.errors.first?.line == 6)
}

@Test func mutatedFixturesNeverCrash() throws {
    // Every fixture, cut short and with bytes flipped: each must yield workloads or errors.
    var generator = SystemRandomNumberGenerator()
    let files = Check.expand(directory: fixtures)
    #expect(files.count > 10)
    for file in files {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let bytes = Array(text.utf8)
        for _ in 0..<40 {
            var mutated = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator)))
            for _ in 0..<Int.random(in: 0...4, using: &generator) where !mutated.isEmpty {
                mutated[Int.random(in: 0..<mutated.count, using: &generator)] = UInt8.random(in: 0x20...0x7e, using: &generator)
            }
            let result = Check.check(contents: String(decoding: mutated, as: UTF8.self), file: file)
            #expect(result.files == 1)
        }
    }
}

@Suite("Kubernetes: a bad part never hides the rest")
struct KubernetesMalformedTests {
    @Test func nullItemAndNamelessContainerBesideGoodObjects() throws {
        let result = checkFixture("kubernetes-malformed/list.yaml")
        // Each bad part is its own error at its line and path.
        #expect(result.errors.map(\.path) == ["items[0]", "items[1].spec.template.spec.containers[0]"])
        #expect(result.errors.map(\.line) == [7, 15])
        #expect(result.errors[0].message.contains("is null"))
        #expect(result.errors[1].message.contains("has no name"))
        // Everything beside them is read.
        #expect(Set(result.workloads.map(\.name)) == ["shop/half-named/named", "kube-system/node-agent/agent", "shop/legacy/app"])
        let agent = try workload(result, "k8s:DaemonSet/kube-system/node-agent/agent")
        #expect(agent.capabilities.bounding.count > 30)
        #expect(agent.kubernetes?.hostPorts == [HostPort(hostPort: 9100, containerPort: 9100)])
        // The DeploymentConfig is read through its pod template; its hostPath volume is in the
        // posture though no container mounts it.
        let legacy = try workload(result, "k8s:DeploymentConfig/shop/legacy/app")
        #expect(legacy.kubernetes?.kind == "DeploymentConfig")
        #expect(legacy.kubernetes?.volumes == [
            PodVolume(name: "host-var", type: "hostPath", hostPath: "/var", hostPathType: "Directory", mounted: false),
            PodVolume(name: "cache", type: "emptyDir", mounted: true),
        ])
        // The Service runs no pod: listed, not silently passed.
        #expect(result.skipped == ["\(fixtures)/kubernetes-malformed/list.yaml: Service shop/web (runs no pod: no pod template)"])
        #expect(result.skippedMessages.first?.hasPrefix("skipped: ") == true)
        #expect(result.pods.count == 3)
    }

    @Test func podFieldsInTheDeclaredPosture() throws {
        let text = """
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec:
              shareProcessNamespace: true
              automountServiceAccountToken: false
              securityContext:
                runAsNonRoot: true
                fsGroup: 2000
                supplementalGroups: [3000]
                sysctls: [{name: net.ipv4.tcp_syncookies, value: "1"}]
              containers:
              - name: app
                image: x
                securityContext: {procMount: Unmasked, windowsOptions: {hostProcess: false}}
                livenessProbe: {httpGet: {host: 10.0.0.1, port: 80}}
              ephemeralContainers:
              - name: debug
                image: busybox
                securityContext: {runAsNonRoot: false}
            """
        let result = Check.check(contents: text, file: "pod.yaml")
        #expect(result.errors.isEmpty, "\(result.errors)")
        let app = try workload(result, "k8s:Pod/default/p/app")
        let pod = try #require(app.kubernetes)
        #expect(pod.shareProcessNamespace == true)
        #expect(pod.automountServiceAccountToken == false)
        #expect(pod.runAsNonRoot == true)
        #expect(pod.fsGroup == 2000)
        #expect(pod.supplementalGroups == [3000])
        #expect(pod.sysctls == ["net.ipv4.tcp_syncookies=1"])
        #expect(pod.procMount == "Unmasked")
        #expect(pod.windowsHostProcess == false)
        #expect(pod.handlerHosts == ["10.0.0.1"])
        #expect(pod.containerGroup == "containers")
        // runAsNonRoot: true settles what the unknown image user holds: no capabilities.
        #expect(app.user.uid == nil)
        #expect(app.capabilities.effective == [])
        #expect(app.unknown[.capabilities(.effective)] == nil)
        let debug = try workload(result, "k8s:Pod/default/p/debug")
        #expect(debug.kubernetes?.containerGroup == "ephemeralContainers")
        #expect(debug.kubernetes?.runAsNonRoot == false)
    }
}

@Suite("engines' own files in a bundle's config.json")
struct BundleEngineFilesTests {
    @Test func podmanUserdataIsTheEngines() throws {
        let id = String(repeating: "ab", count: 32)
        let userdata = "/run/containers/storage/overlay-containers/\(id)/userdata"
        let other = "/run/containers/storage/overlay-containers/\(String(repeating: "cd", count: 32))/userdata"
        let text = """
            {"ociVersion":"1.0.0","annotations":{"io.container.manager":"libpod"},"process":{"args":["sh"]},"root":{"path":"rootfs"},
            "mounts":[
            {"destination":"/etc/hosts","type":"bind","source":"\(userdata)/hosts","options":["bind"]},
            {"destination":"/dev/shm","type":"bind","source":"/var/lib/containers/storage/overlay-containers/\(id)/userdata/shm","options":["bind"]},
            {"destination":"/other","type":"bind","source":"\(other)/hosts","options":["bind"]}]}
            """
        let result = Check.check(contents: text, file: "/var/lib/containers/storage/overlay-containers/\(id)/userdata/config.json")
        #expect(result.errors.isEmpty, "\(result.errors)")
        let mounts = try #require(result.workloads.first).mounts
        #expect(mounts.first { $0.target == "/etc/hosts" }?.managedBy == "podman")
        #expect(mounts.first { $0.target == "/dev/shm" }?.managedBy == "podman")
        // Another container's files are not this container's engine files.
        #expect(mounts.first { $0.target == "/other" }?.managedBy == nil)
        // A config.json read from anywhere else names no container: nothing is recognised.
        let elsewhere = Check.check(contents: text, file: "config.json")
        #expect(elsewhere.workloads.first?.mounts.allSatisfy { $0.managedBy == nil } == true)
    }
}
