import CloisterModel
import CloisterResourceFiles
import CloisterRules
import Foundation
import Testing

@testable import CloisterCheck

/// Every rule of the shipped pack that a configuration can decide fires on a configuration that
/// declares the exposure and stays silent (neither a finding nor "not decided") on a hardened one.
///
/// Decided from a config: every container rule, the escape rules and the hypervisor rules whose
/// fields a config carries (`-sandbox`, `-accel`, consoles, networks, devices, libvirt seclabels).
/// Not decided from a config, so not listed in `RuleConfigCase.all` (each with why):
/// - `vm-qemu-root`: it needs `user.hostUid`, the UID the qemu process really runs as. A qemu
///   command line does not say who starts it, and a libvirt domain defers to qemu.conf's `user`
///   (unless a DAC seclabel names one; even then the host UID is the host's to decide).
/// - The parts of `esc-namespace-creation` and `esc-io-uring` that read
///   `seccomp.threadsUnfiltered` (a hypervisor thread left without the filter) are live-only; their
///   `seccomp.mode` part is decided from configs and tested here.
/// - `cgroup.version` in `esc-cgroup-release-agent` is the host's; from a config the rule is
///   decided through a cgroup mount it declares.
/// - `drift-*`: they read `drift`, what a scan with `--declared` finds between a live container
///   and its bundle's config.json (or a libvirt guest and its live domain XML); a file alone has
///   nothing to compare with.
/// `coverage` below keeps this list honest: a new rule must be added to a case or to `undecidable`.
@Suite("the rules on configuration files")
struct RuleCoverageTests {
    static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let pack: RulePack? = try? RulePack.load(directory: repository + "/rules")

    static let undecidable: Set<String> = [
        "vm-qemu-root",
        // `drift` compares a live workload with its declared configuration (`scan --declared`).
        "drift-seccomp", "drift-seccomp-surface", "drift-capabilities", "drift-namespace", "drift-user-namespace",
        "drift-read-only-rootfs", "drift-no-new-privs", "drift-mount-writable", "drift-groups", "drift-rlimit",
        // … and a libvirt guest's qemu with its live domain XML and qemu.conf.
        "drift-hypervisor-sandbox", "drift-hypervisor-user", "drift-console-exposed", "drift-passthrough", "drift-mac",
        // What only the running engine keeps (`engineSettings`: Docker's config.v2.json and
        // hostconfig.json) and a live mount's propagation with the host: no configuration format fills these fields yet, so they stay silent on
        // every file and are tested on live Docker containers (DockerRuntimeSettingsTests).
        "ct-mount-propagation-shared", "ct-privileged-port-mapped", "ct-port-all-interfaces",
        "ct-restart-policy", "ct-ulimit-override", "ct-no-healthcheck", "ct-default-bridge",
    ]

    /// Checks the files together (as one `cloister check` run does) and evaluates the rules.
    static func evaluate(_ files: [RuleConfigCase.File]) throws -> (findings: [Finding], undetermined: [Undetermined], postures: [Posture]) {
        var result = CheckResult()
        for file in files { result.merge(Check.check(contents: file.text, file: file.name)) }
        #expect(result.errors.isEmpty, "\(result.errors)")
        #expect(!result.workloads.isEmpty, "no workload in \(files.map(\.name))")
        let pack = try #require(pack, "rules/ does not load")
        let evaluation = RuleEngine(pack: pack).evaluateDetailed(result.workloads)
        return (evaluation.findings, evaluation.undetermined, result.workloads)
    }

    @Test("a config declaring the exposure makes it fire, at a line of that file", arguments: RuleConfigCase.all)
    func fires(_ rule: RuleConfigCase) throws {
        let (findings, undetermined, _) = try Self.evaluate(rule.fires)
        let mine = findings.filter { $0.rule == rule.rule }
        #expect(!mine.isEmpty, "\(rule.rule) did not fire; undetermined: \(undetermined.filter { $0.rule == rule.rule })")
        for finding in mine {
            let location = try #require(finding.location, "\(rule.rule) has no location")
            #expect(rule.fires.map(\.name).contains(location.file))
            #expect((location.line ?? 0) >= 1, "\(rule.rule) at \(location)")
        }
    }

    @Test("a hardened config keeps it silent and decided", arguments: RuleConfigCase.all)
    func silent(_ rule: RuleConfigCase) throws {
        for hardened in rule.silent {
            let (findings, undetermined, _) = try Self.evaluate(hardened)
            #expect(!findings.contains { $0.rule == rule.rule }, "\(rule.rule) fired on \(hardened.map(\.name))")
            #expect(!undetermined.contains { $0.rule == rule.rule }, "\(rule.rule) not decided on \(hardened.map(\.name)): \(undetermined.filter { $0.rule == rule.rule })")
        }
    }

    @Test("every rule is either tested on configs or listed as undecidable from one, with why")
    func coverage() throws {
        let pack = try #require(Self.pack)
        let tested = Set(RuleConfigCase.all.map(\.rule))
        let all = Set(pack.rules.map(\.id))
        #expect(all.subtracting(tested).subtracting(Self.undecidable).sorted() == [])
        #expect(tested.subtracting(all).sorted() == [], "cases for rules that do not exist")
    }

    @Test("a qemu root rule is not guessed from a command line")
    func qemuRootUndetermined() throws {
        let (findings, _, _) = try Self.evaluate([RuleConfigCase.File("root.qemu", "qemu-system-x86_64 -enable-kvm -runas root -m 512\n")])
        #expect(!findings.contains { $0.rule == "vm-qemu-root" })
    }
}

struct RuleConfigCase: Sendable, CustomTestStringConvertible {
    struct File: Sendable {
        var name: String
        var text: String
        init(_ name: String, _ text: String) {
            self.name = name
            self.text = text
        }
    }

    var rule: String
    /// Files checked together that declare the exposure.
    var fires: [File]
    /// Hardened alternatives, each a set of files checked together.
    var silent: [[File]]

    var testDescription: String { rule }

    init(_ rule: String, fires: [File], silent: [[File]] = [[Hardened.oci], [Hardened.pod]]) {
        self.rule = rule
        self.fires = fires
        self.silent = silent
    }

    /// A Pod whose container has `containerLines` added under it (after `image:`) and `podLines`
    /// under the pod spec.
    static func pod(_ name: String, pod podLines: String = "", container containerLines: String = "") -> File {
        File("\(name).yaml", """
            apiVersion: v1
            kind: Pod
            metadata:
              name: \(name)
              namespace: shop
            spec:
            \(podLines.isEmpty ? "" : podLines + "\n")  containers:
              - name: app
                image: example.org/app:1.4
            \(containerLines)
            """)
    }

    static func compose(_ name: String, service lines: String) -> File {
        File("\(name)/compose.yaml", """
            services:
              app:
                image: example.org/app:1.4
            \(lines)
            """)
    }

    static func qemu(_ name: String, _ arguments: String) -> File {
        File("\(name).qemu", "qemu-system-x86_64 -name \(name) -m 512 \(arguments)\n")
    }

    static func libvirt(_ name: String, seclabel: String) -> File {
        File("\(name).xml", """
            <domain type='kvm'>
              <name>\(name)</name>
              <memory unit='MiB'>512</memory>
              <os><type arch='x86_64' machine='q35'>hvm</type></os>
              <devices>
                <emulator>/usr/bin/qemu-system-x86_64</emulator>
              </devices>
              \(seclabel)
            </domain>
            """)
    }

    static let all: [RuleConfigCase] = [
        // MARK: container runtime
        RuleConfigCase("ct-privileged", fires: [pod("privileged", container: "    securityContext: {privileged: true}")]),
        RuleConfigCase("ct-cap-added", fires: [pod("ptrace", container: "    securityContext:\n      capabilities: {add: [SYS_PTRACE]}")]),
        RuleConfigCase("ct-seccomp-unconfined", fires: [pod("unconfined", pod: "  securityContext:\n    seccompProfile: {type: Unconfined}")]),
        // AppArmor alone is not enough: on an SELinux node the pod would still get container_t, so
        // the SELinux type is declared too (spc_t is the unconfined one).
        RuleConfigCase(
            "ct-no-mac",
            fires: [pod("no-mac", container: "    securityContext:\n      appArmorProfile: {type: Unconfined}\n      seLinuxOptions: {type: spc_t}")]),
        RuleConfigCase("ct-host-pid", fires: [pod("hostpid", pod: "  hostPID: true")]),
        RuleConfigCase("ct-host-network", fires: [pod("hostnet", pod: "  hostNetwork: true")]),
        RuleConfigCase("ct-host-ipc", fires: [pod("hostipc", pod: "  hostIPC: true")]),
        RuleConfigCase("ct-host-uts", fires: [compose("hostuts", service: "    uts: host")]),
        RuleConfigCase(
            "ct-sensitive-mount-rw",
            fires: [pod("etc-rw", pod: "  volumes:\n  - name: etc\n    hostPath: {path: /etc}", container: "    volumeMounts:\n    - {name: etc, mountPath: /host/etc}"),
                    // /var holds the engines' state and sockets: sensitive for what it holds.
                    pod("var-rw", pod: "  volumes:\n  - name: var\n    hostPath: {path: /var/}", container: "    volumeMounts:\n    - {name: var, mountPath: /host/var}")]),
        RuleConfigCase(
            "ct-sensitive-mount-ro",
            fires: [pod("etc-ro", pod: "  volumes:\n  - name: etc\n    hostPath: {path: /etc}", container: "    volumeMounts:\n    - {name: etc, mountPath: /host/etc, readOnly: true}")]),
        RuleConfigCase("ct-engine-socket", fires: [compose("docker-socket", service: "    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock")]),
        RuleConfigCase("ct-no-memory-limit", fires: [pod("no-limits")]),
        // Kubernetes has no per-pod PIDs limit (the kubelet's podPidsLimit), so the hardened
        // config for this rule is the OCI one alone.
        // A pod spec cannot set a pids limit (the kubelet's podPidsLimit does): a Compose service can.
        RuleConfigCase("ct-no-pids-limit", fires: [compose("no-pids", service: "    read_only: true")], silent: [[Hardened.oci]]),
        RuleConfigCase("ct-writable-rootfs", fires: [pod("writable", container: "    securityContext: {readOnlyRootFilesystem: false}")]),
        RuleConfigCase("ct-no-new-privs-unset", fires: [pod("escalation", container: "    securityContext: {allowPrivilegeEscalation: true}")]),
        RuleConfigCase("ct-root-no-userns", fires: [pod("root", pod: "  securityContext: {runAsUser: 0}")]),
        RuleConfigCase("ct-cpu-priority-unset", fires: [File(
            "no-cpu-shares/config.json", Hardened.oci.text.replacingOccurrences(of: ", \"cpu\": {\"shares\": 512}", with: ""))]),
        RuleConfigCase("ct-host-userns", fires: [pod("non-root-host-users", pod: "  securityContext: {runAsUser: 1000}")]),
        RuleConfigCase("ct-devices-exposed", fires: [compose("serial", service: "    devices:\n      - /dev/ttyUSB0:/dev/ttyUSB0")]),

        // MARK: escape exposures
        RuleConfigCase("esc-cgroup-release-agent", fires: [Exposed.ociSysAdminCgroupMount]),
        RuleConfigCase("esc-proc-sys-writable", fires: [Exposed.ociUnmaskedProc]),
        RuleConfigCase("esc-raw-memory-device", fires: [compose("devmem", service: "    devices:\n      - /dev/mem:/dev/mem")]),
        RuleConfigCase("esc-block-device", fires: [compose("disk", service: "    devices:\n      - /dev/sda:/dev/xvda")]),
        RuleConfigCase("esc-kvm-device", fires: [compose("kvm", service: "    devices:\n      - /dev/kvm:/dev/kvm")]),
        RuleConfigCase("esc-cap-sys-module", fires: [pod("modules", container: "    securityContext:\n      runAsUser: 0\n      capabilities: {add: [SYS_MODULE]}")]),
        RuleConfigCase("esc-cap-net-raw", fires: [pod("ping", container: "    securityContext:\n      runAsUser: 0\n      capabilities: {add: [NET_RAW]}")]),
        RuleConfigCase("esc-namespace-creation", fires: [pod("unshare", pod: "  securityContext:\n    seccompProfile: {type: Unconfined}")]),
        RuleConfigCase("esc-io-uring", fires: [pod("uring", container: "    securityContext:\n      seccompProfile: {type: Unconfined}")]),
        // The seccomp-surface rules: a config decides them where seccomp is off and a capability
        // (or a shared namespace) already makes the call usable; where only a host kernel setting
        // would, they are undetermined from a file (`kernelSettings` is the node's).
        RuleConfigCase(
            "esc-bpf",
            fires: [pod("bpf", container: "    securityContext:\n      runAsUser: 0\n      seccompProfile: {type: Unconfined}\n      capabilities: {add: [BPF]}")]),
        RuleConfigCase(
            "esc-perf-event",
            fires: [pod("perf", container: "    securityContext:\n      runAsUser: 0\n      seccompProfile: {type: Unconfined}\n      capabilities: {add: [PERFMON]}")]),
        RuleConfigCase(
            "esc-userfaultfd",
            fires: [pod("uffd", container: "    securityContext:\n      runAsUser: 0\n      seccompProfile: {type: Unconfined}\n      capabilities: {add: [SYS_PTRACE]}")]),
        RuleConfigCase("esc-keyring", fires: [pod("keyring", container: "    securityContext:\n      seccompProfile: {type: Unconfined}")]),
        RuleConfigCase(
            "esc-ptrace-host",
            fires: [pod("ptrace", pod: "  hostPID: true", container: "    securityContext:\n      runAsUser: 0\n      seccompProfile: {type: Unconfined}\n      capabilities: {add: [SYS_PTRACE]}")]),
        RuleConfigCase(
            "esc-runc-exposure",
            fires: [pod("runc-mounted", pod: "  volumes:\n  - name: runc\n    hostPath: {path: /usr/bin/runc}", container: "    volumeMounts:\n    - {name: runc, mountPath: /usr/bin/runc, readOnly: true}")]),

        // MARK: hypervisors
        RuleConfigCase("vm-no-sandbox", fires: [qemu("plain", "-enable-kvm -nodefaults -display none")], silent: [[Hardened.qemu]]),
        RuleConfigCase("vm-weak-sandbox", fires: [qemu("weak", "-enable-kvm -nodefaults -display none -sandbox on")], silent: [[Hardened.qemu]]),
        RuleConfigCase("vm-tcg", fires: [qemu("tcg", "-accel tcg -nodefaults -display none")], silent: [[Hardened.qemu]]),
        RuleConfigCase("vm-console-exposed", fires: [qemu("vnc", "-enable-kvm -nodefaults -vnc 0.0.0.0:1")], silent: [[Hardened.qemu]]),
        RuleConfigCase(
            "vm-monitor-tcp", fires: [qemu("monitor", "-enable-kvm -nodefaults -display none -monitor tcp:127.0.0.1:4444,server,nowait")],
            silent: [[Hardened.qemu]]),
        RuleConfigCase(
            "vm-serial-console-exposed", fires: [qemu("serial", "-enable-kvm -nodefaults -display none -serial telnet::4444,server,nowait")],
            silent: [[Hardened.qemu]]),
        RuleConfigCase(
            "vm-serial-console-network",
            fires: [qemu("serial", "-enable-kvm -nodefaults -display none -chardev socket,id=s0,host=192.0.2.10,port=4444,server=on -device isa-serial,chardev=s0")],
            silent: [[Hardened.qemu]]),
        RuleConfigCase("vm-slirp", fires: [qemu("slirp", "-enable-kvm -nodefaults -display none -nic user")], silent: [[Hardened.qemu]]),
        RuleConfigCase("vm-legacy-devices", fires: [qemu("floppy", "-enable-kvm -nodefaults -display none -fda floppy.img")], silent: [[Hardened.qemu]]),
        RuleConfigCase(
            "vm-passthrough", fires: [qemu("gpu", "-enable-kvm -nodefaults -display none -device vfio-pci,host=0000:01:00.0")],
            silent: [[Hardened.qemu]]),
        RuleConfigCase("vm-no-mac", fires: [libvirt("nolabel", seclabel: "<seclabel type='none' model='apparmor'/>")], silent: [[Hardened.libvirt]]),
        RuleConfigCase(
            "vm-svirt-shared",
            fires: [
                libvirt("guest-a", seclabel: "<seclabel type='static' model='selinux' relabel='yes'><label>system_u:system_r:svirt_t:s0:c10,c20</label></seclabel>"),
                libvirt("guest-b", seclabel: "<seclabel type='static' model='selinux' relabel='yes'><label>system_u:system_r:svirt_t:s0:c10,c20</label></seclabel>"),
            ],
            silent: [[
                libvirt("guest-a", seclabel: "<seclabel type='static' model='selinux' relabel='yes'><label>system_u:system_r:svirt_t:s0:c10,c20</label></seclabel>"),
                libvirt("guest-b", seclabel: "<seclabel type='static' model='selinux' relabel='yes'><label>system_u:system_r:svirt_t:s0:c30,c40</label></seclabel>"),
            ]]),
    ]
}

/// Configurations that declare the hardening every rule asks for.
enum Hardened {
    /// A runc bundle's config with a user namespace, no capabilities, a seccomp allow-list,
    /// AppArmor, no_new_privs, a read-only root, /proc/sys read-only and memory and PIDs limits.
    static let oci = RuleConfigCase.File("hardened/config.json", """
        {
          "ociVersion": "1.2.0",
          "process": {
            "user": {"uid": 0, "gid": 0},
            "args": ["/app/server"],
            "cwd": "/",
            "capabilities": {"bounding": [], "effective": [], "permitted": [], "inheritable": [], "ambient": []},
            "noNewPrivileges": true,
            "apparmorProfile": "cloister-app"
          },
          "root": {"path": "rootfs", "readonly": true},
          "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}
          ],
          "linux": {
            "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
            "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
            "namespaces": [
              {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
              {"type": "mount"}, {"type": "user"}, {"type": "cgroup"}
            ],
            "resources": {"memory": {"limit": 268435456}, "pids": {"limit": 128}, "cpu": {"shares": 512}},
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/sys/firmware"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger", "/proc/bus", "/proc/fs", "/proc/irq"],
            "seccomp": {
              "defaultAction": "SCMP_ACT_ERRNO",
              "architectures": ["SCMP_ARCH_X86_64"],
              "syscalls": [{"names": ["read", "write", "exit_group", "futex", "epoll_wait"], "action": "SCMP_ACT_ALLOW"}]
            }
          }
        }
        """)

    /// A Pod meeting Pod Security "restricted", in a user namespace, with AppArmor and limits.
    static let pod = RuleConfigCase.File("hardened/pod.yaml", """
        apiVersion: v1
        kind: Pod
        metadata:
          name: hardened
          namespace: shop
        spec:
          hostUsers: false
          securityContext:
            runAsNonRoot: true
            runAsUser: 10001
            runAsGroup: 10001
            seccompProfile: {type: RuntimeDefault}
            appArmorProfile: {type: RuntimeDefault}
          containers:
          - name: app
            image: example.org/app:1.4
            securityContext:
              allowPrivilegeEscalation: false
              readOnlyRootFilesystem: true
              capabilities: {drop: [ALL]}
            resources:
              limits: {cpu: 500m, memory: 256Mi}
        """)

    /// A q35 guest (no floppy controller, unlike the default pc machine) under KVM with qemu's
    /// full sandbox, no consoles, no legacy devices, a tap network.
    static let qemu = RuleConfigCase.File("hardened.qemu", """
        qemu-system-x86_64 -name hardened -machine q35 -enable-kvm -m 512 -nodefaults -display none \\
          -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny \\
          -netdev tap,id=net0,ifname=tap0,script=no,downscript=no -device virtio-net-pci,netdev=net0
        """)

    /// A libvirt guest confined by a dynamic AppArmor (sVirt) profile.
    static let libvirt = RuleConfigCase.libvirt("hardened", seclabel: "<seclabel type='dynamic' model='apparmor' relabel='yes'/>")
}

/// Exposures only an OCI config declares directly.
enum Exposed {
    /// CAP_SYS_ADMIN, no seccomp, no LSM profile, and a cgroup hierarchy mounted in.
    static let ociSysAdminCgroupMount = RuleConfigCase.File("sysadmin/config.json", """
        {
          "ociVersion": "1.2.0",
          "process": {
            "user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/",
            "capabilities": {"bounding": ["CAP_SYS_ADMIN"], "effective": ["CAP_SYS_ADMIN"], "permitted": ["CAP_SYS_ADMIN"]}
          },
          "root": {"path": "rootfs"},
          "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["rw", "nosuid", "noexec", "nodev"]}
          ],
          "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]}
        }
        """)

    /// Host root with /proc mounted read-write and nothing made read-only over /proc/sys.
    static let ociUnmaskedProc = RuleConfigCase.File("unmasked/config.json", """
        {
          "ociVersion": "1.2.0",
          "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/"},
          "root": {"path": "rootfs"},
          "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
          "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]}
        }
        """)
}
