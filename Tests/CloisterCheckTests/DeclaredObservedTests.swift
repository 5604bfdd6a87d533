import CloisterCodec
import CloisterModel
import CloisterRules
import Foundation
import Testing

@testable import CloisterCheck
@testable import CloisterFormats

/// Files as engines write them read into the posture a scan of the same workload observes
/// (issue 20): podman's config.json, the qemu argv libvirt logs and the domain XML it came from.
enum Verdicts {
    static let pack: RulePack? = try? RulePack.load(directory: RuleCoverageTests.repository + "/rules")

    /// The rules that fire on `posture` and those left undecided.
    static func of(_ posture: Posture) throws -> (fired: Set<String>, undecided: Set<String>) {
        let pack = try #require(pack, "rules/ does not load")
        let evaluation = RuleEngine(pack: pack).evaluateDetailed([posture])
        return (Set(evaluation.findings.map(\.rule)), Set(evaluation.undetermined.map(\.rule)))
    }
}

@Suite("OCI config.json as podman writes it")
struct PodmanConfigTests {
    static func posture() throws -> Posture {
        let result = checkFixture("oci/podman-default.json")
        #expect(result.errors.isEmpty, "\(result.errors)")
        return try #require(result.workloads.first)
    }

    @Test("readonlyPaths become the read-only binds runc makes: /proc/sys is not writable")
    func readonlyPaths() throws {
        let posture = try Self.posture()
        let procSys = try #require(posture.mounts.first { $0.target == "/proc/sys" })
        #expect(procSys.readOnly)
        #expect(procSys.type == "proc")
        #expect(procSys.source == "proc")
        #expect(procSys.root == "/sys")
        #expect(procSys.options.contains("nosuid") && procSys.options.contains("ro"))
        // The finding about it, or its absence, lands on the line that declares the path.
        let index = try #require(posture.mounts.firstIndex { $0.target == "/proc/sys" })
        let location = try #require(posture.fieldLocations["mounts[\(index)]"])
        let lines = try String(contentsOfFile: "\(fixtures)/oci/podman-default.json", encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[(location.line ?? 1) - 1].contains("\"/proc/sys\""))
        #expect(location.path == "linux.readonlyPaths[4]")
    }

    @Test("maskedPaths: a file under /dev/null, a directory under an empty read-only tmpfs")
    func maskedPaths() throws {
        let posture = try Self.posture()
        let kcore = try #require(posture.mounts.first { $0.target == "/proc/kcore" })
        #expect(kcore.root == "/null")
        #expect(kcore.type == "tmpfs")  // podman's /dev is a tmpfs: runc binds its null
        let acpi = try #require(posture.mounts.first { $0.target == "/proc/acpi" })
        #expect(acpi.type == "tmpfs" && acpi.readOnly && acpi.root == "/")
        let firmware = try #require(posture.mounts.first { $0.target == "/sys/firmware" })
        #expect(firmware.type == "tmpfs" && firmware.readOnly)
        #expect(posture.maskedPaths?.contains("/proc/kcore") == true)
    }

    @Test("a network namespace pinned under /run/netns is the container's own; podman is the engine")
    func namespacesAndEngine() throws {
        let posture = try Self.posture()
        #expect(posture.namespaces.net == .private)
        #expect(posture.defaultSources?["namespaces.net"] == DefaultSource.ociPinnedNamespace)
        #expect(posture.unknown[.namespace(.net)] == nil)
        #expect(posture.runtime == "podman")
        #expect(posture.id.hasPrefix("oci:"))
        // The host's user namespace: IDs map to themselves, as /proc/PID/uid_map shows.
        #expect(posture.user.uidMap == [IDMapRange(inside: 0, outside: 0, count: UInt32.max)])
        #expect(posture.user.rootMappedToHost == true)
    }

    @Test("the rules the scan of a default podman container gives, decided")
    func rules() throws {
        let (fired, undecided) = try Verdicts.of(try Self.posture())
        for rule in ["ct-root-no-userns", "ct-no-new-privs-unset", "ct-writable-rootfs", "esc-runc-exposure"] {
            #expect(fired.contains(rule), "\(rule) must fire; fired \(fired.sorted())")
        }
        for rule in ["esc-proc-sys-writable", "ct-host-network", "ct-privileged", "ct-seccomp-unconfined"] {
            #expect(!fired.contains(rule), "\(rule) must not fire")
            #expect(!undecided.contains(rule), "\(rule) must be decided")
        }
    }

    @Test("whose namespace a path joins", arguments: [
        ("/proc/1/ns/net", "host"), ("/run/netns/cni-1234", "pinned"), ("/var/run/netns/x", "pinned"),
        ("/run/user/1000/netns/netns-abc", "pinned"), ("/proc/4242/ns/net", "unknown"),
        ("/run/netns/../../proc/1/ns/net", "unknown"), ("/run/user/1000/other/x", "unknown"),
    ])
    func joinedNamespace(_ path: String, _ expected: String) {
        let verdict = OCIConfig.joinedNamespace(path)
        let name = verdict.map { $0 == .host ? "host" : "pinned" } ?? "unknown"
        #expect(name == expected, "\(path)")
    }

    @Test("the engine from annotations", arguments: [
        (["io.container.manager": "libpod"], "podman"), (["io.podman.annotations.init": "FALSE"], "podman"),
        (["com.docker.network.bridge": "x"], "docker"), (["io.kubernetes.cri.container-type": "container"], "containerd"),
        (["io.kubernetes.cri-o.Created": "now"], "cri-o"), (["org.systemd.property.KillMode": "'mixed'"], "oci"),
        ([:], "oci"),
    ])
    func engine(_ annotations: [String: String], _ expected: String) {
        #expect((OCIConfig.engine(annotations) ?? "oci") == expected)
    }

    @Test("hooks are listed by stage: host programs the runtime runs for the container")
    func hooks() throws {
        let text = """
            {"ociVersion": "1.2.0", "process": {"args": ["sh"]},
             "hooks": {
               "createRuntime": [{"path": "/usr/bin/nvidia-ctk", "args": ["nvidia-ctk", "hook", "update-ldcache"]}],
               "poststop": [{"path": "/usr/libexec/cleanup", "timeout": 5}]
             }}
            """
        let posture = try #require(Check.check(contents: text, file: "hooks.json").workloads.first)
        #expect(posture.hooks == [
            RuntimeHook(stage: "createRuntime", path: "/usr/bin/nvidia-ctk", args: ["nvidia-ctk", "hook", "update-ldcache"]),
            RuntimeHook(stage: "poststop", path: "/usr/libexec/cleanup"),
        ])
        #expect(posture.fieldLocations["hooks"]?.line == 2)
        #expect(try Self.posture().hooks == nil)
        let missing = Check.check(contents: #"{"ociVersion": "1.2.0", "hooks": {"prestart": [{"args": ["x"]}]}}"#, file: "bad.json")
        let error = try #require(missing.errors.first)
        #expect(error.line == 1 && error.message.contains("path"), "\(error)")
    }

    @Test("many mounts and many protected paths cost a lookup each, not mounts × paths")
    func manyPaths() throws {
        let count = 20_000
        let mounts = (0..<count).map { #"{"destination": "/m/\#($0)", "type": "tmpfs", "source": "tmpfs"}"# }.joined(separator: ",")
        let paths = (0..<count).map { #""/m/\#($0)/x/y""# }.joined(separator: ",")
        let text = #"{"ociVersion": "1.0.2", "mounts": [\#(mounts)], "linux": {"readonlyPaths": [\#(paths)], "maskedPaths": [\#(paths)]}}"#
        let start = ContinuousClock.now
        let posture = try #require(Check.check(contents: text, file: "many.json").workloads.first)
        #expect(posture.mounts.count == 3 * count)
        #expect(ContinuousClock.now - start < .seconds(20))
    }

    @Test("readonlyPaths off proc and sysfs, and a masked path without a /dev mount")
    func otherProtectedPaths() throws {
        let text = """
            {"ociVersion": "1.0.2", "process": {"args": ["sh"]}, "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
             "linux": {"readonlyPaths": ["/etc/secrets"], "maskedPaths": ["/etc/shadow", "/proc/scsi"]}}
            """
        let result = Check.check(contents: text, file: "protect.json")
        let posture = try #require(result.workloads.first)
        let secrets = try #require(posture.mounts.first { $0.target == "/etc/secrets" })
        #expect(secrets.readOnly && secrets.type == "bind")
        let shadow = try #require(posture.mounts.first { $0.target == "/etc/shadow" })
        #expect(shadow.root == "/null" && shadow.type == "devtmpfs")
        #expect(posture.mounts.first { $0.target == "/proc/scsi" }?.type == "tmpfs")
    }
}

@Suite("qemu argv forms qemu 7–9 take")
struct QemuArgvFormTests {
    static func posture(_ relative: String) throws -> Posture {
        let result = checkFixture(relative)
        #expect(result.errors.isEmpty, "\(result.errors)")
        return try #require(result.workloads.first)
    }

    @Test("JSON -chardev in chardev-add's shape and the flat one")
    func jsonChardev() throws {
        let hypervisor = try #require(try Self.posture("qemu/json-chardev.qemu").hypervisor)
        let monitor = try #require(hypervisor.consoles.first { $0.kind == "monitor" })
        #expect(monitor.transport == "telnet")
        #expect(monitor.address == "0.0.0.0:4444")
        #expect(monitor.localOnly == false)  // QAPI's socket listens unless server is false
        let qmp = try #require(hypervisor.consoles.first { $0.kind == "qmp" })
        #expect(qmp.transport == "unix" && qmp.address == "/run/json-forms/qmp.sock")
        let serial = try #require(hypervisor.consoles.first { $0.kind == "serial" })
        #expect(serial.transport == "unix" && serial.address == "/run/json-forms/serial.sock")
        #expect(!hypervisor.consoles.contains { $0.transport == "unknown" })
        #expect(hypervisor.network.map(\.type) == ["passt"])
    }

    @Test("SPICE: port=0 opens no listener, tls-port does; SASL authenticates")
    func spicePorts() throws {
        let hypervisor = try #require(try Self.posture("qemu/json-chardev.qemu").hypervisor)
        let spice = hypervisor.consoles.filter { $0.kind == "spice" }
        #expect(spice.count == 1)
        #expect(spice.first?.address == "0.0.0.0:5901")
        #expect(spice.first?.tls == true)
        #expect(spice.first?.password == true)
        let vnc = try #require(hypervisor.consoles.first { $0.kind == "vnc" })
        #expect(vnc.password == true && vnc.localOnly == true)
        let none = QemuCommandLine.parse(["qemu-system-x86_64", "-nodefaults", "-spice", "port=0,disable-ticketing=on"])
        #expect(!none.consoles.contains { $0.kind == "spice" })
    }

    @Test("QAPI chardev addresses", arguments: [
        (#"{"id":"c","backend":{"type":"socket","data":{"addr":{"type":"inet","data":{"host":"127.0.0.1","port":"9"}},"server":false}}}"#, "tcp", "127.0.0.1:9", false),
        (#"{"id":"c","backend":{"type":"socket","data":{"addr":{"type":"inet","host":"::","port":"9"},"websocket":true}}}"#, "websocket", "[::]:9", true),
        (#"{"id":"c","backend":{"type":"socket","data":{"addr":{"type":"fd","str":"sock0"}}}}"#, "fd", "", true),
        (#"{"id":"c","backend":{"type":"file","data":{"out":"/var/log/guest.log"}}}"#, "file", "/var/log/guest.log", false),
        (#"{"id":"c","backend":{"type":"udp","data":{"remote":{"type":"inet","data":{"host":"10.0.0.1","port":"5"}}}}}"#, "udp", "10.0.0.1:5", false),
        (#"{"id":"c","backend":{"type":"udp","data":{"remote":{"type":"inet","data":{"host":"10.0.0.1","port":"5"}},"local":{"type":"inet","data":{"host":"0.0.0.0","port":"6"}}}}}"#, "udp", "0.0.0.0:6", true),
    ])
    func qapiAddresses(_ json: String, _ transport: String, _ address: String, _ server: Bool) {
        let (id, endpoint) = QemuEndpoint.parseChardev(QemuOptionList.parse(json, impliedKey: "backend"))
        #expect(id == "c")
        #expect(endpoint.transport == transport)
        if !address.isEmpty { #expect(endpoint.address == address) }
        #expect(endpoint.server == server)
    }

    @Test("passt over -netdev stream (libvirt's socket) and SLiRP stay apart")
    func passtAndSlirp() {
        let passt = QemuCommandLine.parse([
            "qemu-system-x86_64", "-netdev", "stream,id=n0,server=off,addr.type=unix,addr.path=/run/libvirt/qemu/passt/1-g-net0.socket",
            "-netdev", "stream,id=n1,addr.type=inet,addr.host=10.0.0.1,addr.port=1234", "-netdev", "user,id=n2",
        ])
        #expect(passt.network.map(\.type) == ["passt", "stream", "user"])
    }

    @Test("SCSI, vhost-scsi and mediated devices are passthrough")
    func passthrough() throws {
        let hypervisor = try #require(try Self.posture("qemu/passthrough-guest.qemu").hypervisor)
        #expect(hypervisor.passthrough == [
            Passthrough(kind: "scsi-generic", host: "/dev/sg0"),
            Passthrough(kind: "vhost-scsi", host: "naa.5001405df3e54061"),
            Passthrough(kind: "mdev", host: "/sys/bus/mdev/devices/c2177883-f1bb-47f0-914d-32a22e3a8804"),
        ])
        let block = QemuCommandLine.parse(["qemu-system-x86_64", "-device", "scsi-block,drive=d0", "-device", "vfio-pci,host=0000:01:00.0"])
        #expect(block.passthrough.map(\.kind) == ["scsi-block", "vfio"])
    }

    @Test("an argv libvirt wrote: the MAC label is the host security driver's, not absent")
    func libvirtLabel() throws {
        let posture = try Self.posture("qemu/passthrough-guest.qemu")
        #expect(posture.unknown[.mac] != nil)
        #expect(posture.name == "pt-guest")
        let (_, undecided) = try Verdicts.of(posture)
        #expect(undecided.contains("vm-no-mac"))
        let plain = try Self.posture("qemu/json-chardev.qemu")
        #expect(plain.unknown[.mac] == nil)
    }
}

@Suite("a domain XML and the argv libvirt makes of it")
struct LibvirtArgvPairTests {
    static func xml(conf: Bool) throws -> Posture {
        let path = "\(fixtures)/libvirt/passthrough-guest.xml"
        let result = conf ? Check.check(paths: [path], libvirtQemuConf: "\(fixtures)/libvirt/qemu.conf") : Check.check(paths: [path])
        #expect(result.errors.isEmpty, "\(result.errors)")
        return try #require(result.workloads.first)
    }

    static func argv() throws -> Posture {
        try QemuArgvFormTests.posture("qemu/passthrough-guest.qemu")
    }

    /// What both sides must say alike about a console.
    struct ConsoleFacts: Hashable, CustomStringConvertible {
        var kind, transport: String
        var address: String?
        var localOnly, password, tls: Bool?
        init(_ console: Console) {
            (kind, transport, address, localOnly, password, tls) =
                (console.kind, console.transport, console.address, console.localOnly, console.password, console.tls)
        }
        var description: String { "\(kind)/\(transport) \(address ?? "-") local \(String(describing: localOnly)) password \(String(describing: password)) tls \(String(describing: tls))" }
    }

    @Test("with the host's qemu.conf: the same network, passthrough, consoles and sandbox")
    func samePosture() throws {
        let domain = try #require(try Self.xml(conf: true).hypervisor)
        let argv = try #require(try Self.argv().hypervisor)
        #expect(domain.network.map(\.type) == ["passt"])
        #expect(domain.network.map(\.type) == argv.network.map(\.type))
        #expect(domain.passthrough.map(\.kind) == argv.passthrough.map(\.kind))
        // A SCSI LUN is an adapter address in the XML and its /dev/sg node in the argv.
        #expect(Array(domain.passthrough.dropFirst()) == Array(argv.passthrough.dropFirst()))
        let openings = { (hypervisor: Hypervisor) in
            Set(hypervisor.consoles.filter { ["vnc", "spice", "serial"].contains($0.kind) }.map(ConsoleFacts.init))
        }
        #expect(openings(domain) == openings(argv), "XML \(openings(domain)) argv \(openings(argv))")
        #expect(openings(domain).contains { $0.kind == "vnc" && $0.password == true && $0.tls == true })
        #expect(!domain.consoles.contains { $0.kind == "spice" })
        #expect(domain.sandbox.enabled == argv.sandbox.enabled)
    }

    @Test("the same rules, each decided on both sides or left undecided on one")
    func sameRules() throws {
        let domain = try Verdicts.of(try Self.xml(conf: true))
        let argv = try Verdicts.of(try Self.argv())
        for rule in domain.fired.subtracting(argv.fired) {
            #expect(argv.undecided.contains(rule), "\(rule) fires on the XML only")
        }
        for rule in argv.fired.subtracting(domain.fired) {
            #expect(domain.undecided.contains(rule), "\(rule) fires on the argv only")
        }
        for rule in ["vm-passthrough", "vm-console-exposed"] {
            #expect(domain.fired.contains(rule) && argv.fired.contains(rule), "\(rule)")
        }
        #expect(!domain.fired.contains("vm-slirp") && !argv.fired.contains("vm-slirp"))
    }

    @Test("without qemu.conf, whether VNC authenticates is unknown, not assumed")
    func withoutConf() throws {
        let posture = try Self.xml(conf: false)
        let hypervisor = try #require(posture.hypervisor)
        let index = try #require(hypervisor.consoles.firstIndex { $0.kind == "vnc" })
        #expect(hypervisor.consoles[index].password == nil)
        let why = try #require(posture.unknown[FieldPath("hypervisor.consoles[\(index)].password")])
        #expect(why.contains("vnc_sasl"))
        // Still exposed: it listens on every interface, whatever qemu.conf says of SASL.
        #expect(try Verdicts.of(posture).fired.contains("vm-console-exposed"))
    }
}

@Suite("libvirt qemu.conf")
struct LibvirtQemuConfTests {
    @Test func parsesVirconf() throws {
        let conf = try LibvirtQemuConf.parse(
            """
            # comment
            vnc_listen = "0.0.0.0"
            vnc_sasl = 1   # trailing comment
            security_driver = [ "selinux", 'apparmor' ]
            cgroup_device_acl = [
                "/dev/null", # the bit bucket
                "/dev/kvm"
            ]
            max_files = -1
            """, file: "qemu.conf")
        #expect(conf["vnc_listen"]?.value == "0.0.0.0")
        #expect(conf["vnc_sasl"]?.value == "1")
        #expect(conf["vnc_sasl"]?.line == 3)
        #expect(conf["security_driver"]?.value == "selinux,apparmor")
        #expect(conf["cgroup_device_acl"]?.value == "/dev/null,/dev/kvm")
        #expect(conf["max_files"]?.value == "-1")
    }

    @Test("a bad line is refused with its line", arguments: [
        ("vnc_tls = 1\nvnc_sasl 1\n", 2), ("user = \"qemu\n", 1), ("x = [ \"a\"\n", 1), ("= 3\n", 1), ("a = yes\n", 1),
        ("a = 1 2\n", 1),
    ])
    func refusesBadLines(_ text: String, _ line: Int) {
        #expect(throws: DocumentError.self) { try LibvirtQemuConf.parse(text, file: "qemu.conf") }
        do {
            _ = try LibvirtQemuConf.parse(text, file: "qemu.conf")
        } catch {
            #expect(error.line == line, "\(error.message)")
        }
    }

    @Test("what it settles in a domain")
    func applies() throws {
        let xml = """
            <domain type='kvm'><name>g</name><uuid>u-1</uuid>
              <devices><graphics type='spice' port='5930' listen='127.0.0.1'/></devices></domain>
            """
        var posture = try #require(Check.check(contents: xml, file: "g.xml").workloads.first)
        #expect(posture.hypervisor?.consoles.first { $0.kind == "spice" }?.password == nil)
        let conf = try LibvirtQemuConf.parse(
            "spice_password = \"\"\nsecurity_driver = \"none\"\nuser = \"+0\"\nseccomp_sandbox = 0\n", file: "/etc/libvirt/qemu.conf")
        conf.apply(to: &posture)
        let hypervisor = try #require(posture.hypervisor)
        #expect(hypervisor.consoles.first { $0.kind == "spice" }?.password == true)
        #expect(posture.unknown.keys.allSatisfy { !$0.absolute.hasSuffix(".password") })
        #expect(posture.unknown[.mac] == nil)
        #expect(posture.mac.apparmor == nil && posture.mac.selinux == nil)
        #expect(hypervisor.user.uid == 0)
        #expect(hypervisor.sandbox.enabled == false)
        #expect(posture.fieldLocations["hypervisor.sandbox"]?.line == 4)
        let (fired, _) = try Verdicts.of(posture)
        #expect(fired.contains("vm-no-mac"))

        var apparmor = try #require(Check.check(contents: xml, file: "g.xml").workloads.first)
        try LibvirtQemuConf.parse("security_driver = \"apparmor\"\n", file: "q").apply(to: &apparmor)
        #expect(apparmor.mac.apparmor?.profile == "libvirt-u-1")
    }

    @Test("a graphics console with no listen address takes qemu.conf's, or its automatic socket")
    func listenAddress() throws {
        let xml = """
            <domain type='kvm'><name>g</name>
              <devices><graphics type='vnc' autoport='yes'/><graphics type='spice' autoport='yes' passwd='x'/></devices></domain>
            """
        var posture = try #require(Check.check(contents: xml, file: "g.xml").workloads.first)
        #expect(posture.hypervisor?.consoles.first { $0.kind == "vnc" }?.localOnly == true)
        try LibvirtQemuConf.parse("vnc_listen = \"0.0.0.0\"\nspice_auto_unix_socket = 1\n", file: "q.conf").apply(to: &posture)
        let consoles = try #require(posture.hypervisor?.consoles)
        let vnc = try #require(consoles.first { $0.kind == "vnc" })
        #expect(vnc.address == "0.0.0.0:auto" && vnc.localOnly == false)
        let index = try #require(consoles.firstIndex { $0.kind == "vnc" })
        #expect(!posture.defaulted.contains("hypervisor.consoles[\(index)].address"))
        #expect(posture.fieldLocations["hypervisor.consoles[\(index)].address"]?.line == 1)
        let spice = try #require(consoles.first { $0.kind == "spice" })
        #expect(spice.transport == "unix" && spice.localOnly == true)
        #expect(try Verdicts.of(posture).fired.contains("vm-console-exposed"))
    }

    @Test("--libvirt-qemu-conf that does not parse is an error naming the file and line")
    func badFileIsAnError() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-qemuconf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let conf = directory.appendingPathComponent("qemu.conf").path
        try "vnc_sasl = 1\nvnc_tls == 1\n".write(toFile: conf, atomically: true, encoding: .utf8)
        let result = Check.check(paths: ["\(fixtures)/libvirt/passthrough-guest.xml"], libvirtQemuConf: conf)
        let error = try #require(result.errors.first)
        #expect(error.file == conf)
        #expect(error.line == 2)
        let missing = Check.check(paths: ["\(fixtures)/libvirt/passthrough-guest.xml"], libvirtQemuConf: directory.path + "/none.conf")
        #expect(missing.errors.first?.file == directory.path + "/none.conf")
    }
}
