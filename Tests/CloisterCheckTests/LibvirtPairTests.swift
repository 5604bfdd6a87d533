import CloisterCheck
import CloisterFormats
import CloisterModel
import CloisterRules
import Foundation
import Testing

/// Each console, network and passthrough form a libvirt domain can declare, beside the qemu
/// command line libvirt 9.0 made of it (Fixtures/libvirt-pairs, captured by
/// scripts/capture-libvirt-pairs.sh from a real libvirtd: the guest's log where it could start,
/// `virsh domxml-to-native` where the device is missing here, libvirt's own test data where
/// libvirt refuses both; each .qemu file says which in its header). `check` of the XML, with the
/// qemu.conf the guest was started under, and `check` of the argv give the same declared posture
/// and the same rules: a rule fired on one side fires on the other or is undecided there.
@Suite("libvirt domain XML and the argv libvirt generates from it")
struct LibvirtGeneratedArgvTests {
    static let directory = "\(fixtures)/libvirt-pairs"

    /// Every pair, with rules that must fire on both sides and rules that must stay silent on both.
    static let pairs: [(name: String, fire: Set<String>, silent: Set<String>)] = [
        ("vnc-open", ["vm-console-exposed"], ["vm-passthrough", "vm-slirp"]),
        ("vnc-password", ["vm-console-exposed"], []),
        ("vnc-sasl", ["vm-console-exposed"], []),
        ("vnc-tls", ["vm-console-exposed"], []),
        ("vnc-websocket", ["vm-console-exposed"], []),
        ("spice-port0", [], ["vm-console-exposed"]),
        ("spice-tcp", ["vm-console-exposed"], []),
        ("spice-tls", ["vm-console-exposed"], []),
        ("serial-tcp", ["vm-serial-console-exposed"], ["vm-console-exposed", "vm-monitor-tcp", "vm-serial-console-network"]),
        ("serial-telnet", ["vm-serial-console-exposed"], ["vm-console-exposed", "vm-monitor-tcp"]),
        ("serial-unix", [], ["vm-console-exposed", "vm-monitor-tcp", "vm-serial-console-exposed", "vm-serial-console-network"]),
        ("serial-address", ["vm-serial-console-network"], ["vm-serial-console-exposed"]),
        ("serial-console-loopback", [], ["vm-serial-console-exposed", "vm-serial-console-network"]),
        ("serial-tls", [], ["vm-serial-console-exposed", "vm-serial-console-network"]),
        ("serial-tls-off", ["vm-serial-console-exposed"], ["vm-serial-console-network"]),
        ("console-virtio-tcp", ["vm-serial-console-exposed"], ["vm-monitor-tcp"]),
        ("channel-tcp", ["vm-serial-console-exposed"], ["vm-monitor-tcp"]),
        ("net-user", ["vm-slirp"], ["vm-passthrough"]),
        ("net-passt", [], ["vm-slirp"]),
        ("net-tap", [], ["vm-slirp"]),
        ("net-bridge", [], ["vm-slirp"]),
        ("hostdev-pci", ["vm-passthrough"], ["vm-slirp"]),
        ("hostdev-mdev", ["vm-passthrough"], []),
        ("hostdev-scsi", ["vm-passthrough"], []),
        ("hostdev-vhost-scsi", ["vm-passthrough"], []),
    ]

    static func xml(_ name: String) throws -> Posture {
        let own = "\(directory)/\(name).conf"
        let conf = FileManager.default.fileExists(atPath: own) ? own : "\(directory)/default.conf"
        let result = Check.check(paths: ["\(directory)/\(name).xml"], libvirtQemuConf: conf)
        #expect(result.errors.isEmpty, "\(result.errors)")
        return try #require(result.workloads.first)
    }

    static func argv(_ name: String) throws -> Posture {
        let result = Check.check(paths: ["\(directory)/\(name).qemu"])
        #expect(result.errors.isEmpty, "\(result.errors)")
        let posture = try #require(result.workloads.first)
        #expect(posture.runtime == "qemu", "\(name).qemu is not read as a qemu command line")
        return posture
    }

    /// libvirt gives qemu a tap descriptor for every host-side interface it plumbs itself
    /// (<interface type='network'|'bridge'|'ethernet'>): the argv says `tap` for all three.
    static func networkClass(_ type: String) -> String {
        ["network", "bridge", "ethernet"].contains(type) ? "tap" : type
    }

    static var pairNames: [String] { pairs.map(\.name) }

    @Test("every fixture pair is listed, and each has both halves")
    func complete() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.directory)
        let xml = Set(files.filter { $0.hasSuffix(".xml") }.map { String($0.dropLast(4)) })
        let argv = Set(files.filter { $0.hasSuffix(".qemu") }.map { String($0.dropLast(5)) })
        #expect(xml == Set(Self.pairNames))
        #expect(argv == xml)
    }

    @Test("the same declared posture", arguments: pairNames)
    func samePosture(_ name: String) throws {
        let domain = try #require(try Self.xml(name).hypervisor)
        let argv = try #require(try Self.argv(name).hypervisor)
        #expect(domain.network.map { Self.networkClass($0.type) } == argv.network.map(\.type), "network")
        #expect(domain.passthrough.map(\.kind) == argv.passthrough.map(\.kind), "passthrough")
        // A SCSI LUN is an adapter address in the XML and the /dev/sgN libvirt resolves it to in
        // the argv; every other device is named alike on both sides.
        if name != "hostdev-scsi" {
            #expect(domain.passthrough.map(\.host) == argv.passthrough.map(\.host), "passthrough hosts")
        }
        // libvirt opens a UNIX socket it listens on itself and passes qemu the descriptor
        // (`fd=N`): the path is in the XML only.
        let openings = { (hypervisor: Hypervisor) in
            Set(hypervisor.consoles.filter { $0.kind != "qmp" }.map { console in
                var facts = LibvirtArgvPairTests.ConsoleFacts(console)
                if facts.transport == "unix" { facts.address = nil }
                return facts
            })
        }
        #expect(openings(domain) == openings(argv), "XML \(openings(domain)) argv \(openings(argv))")
        #expect(domain.sandbox.enabled == argv.sandbox.enabled)
        #expect(domain.accelerator == argv.accelerator)
    }

    @Test("the same rules: fired on one side, fired or undecided on the other", arguments: pairs.map(\.name))
    func sameRules(_ name: String) throws {
        let pair = try #require(Self.pairs.first { $0.name == name })
        let domain = try Verdicts.of(try Self.xml(name))
        let argv = try Verdicts.of(try Self.argv(name))
        for rule in domain.fired.subtracting(argv.fired) {
            #expect(argv.undecided.contains(rule), "\(rule) fires on the XML only")
        }
        for rule in argv.fired.subtracting(domain.fired) {
            #expect(domain.undecided.contains(rule), "\(rule) fires on the argv only")
        }
        for rule in pair.fire {
            #expect(domain.fired.contains(rule) && argv.fired.contains(rule), "\(rule) must fire on both")
        }
        for rule in pair.silent {
            #expect(!domain.fired.contains(rule) && !argv.fired.contains(rule), "\(rule) must stay silent on both")
        }
    }

    @Test("serial ports, consoles and channels over TCP: kind, address and TLS alike on both sides")
    func serialOverTCP() throws {
        for (name, kind, transport, address, tls) in [
            ("serial-tcp", "serial", "tcp", "0.0.0.0:4555", false),
            ("serial-telnet", "serial", "telnet", "0.0.0.0:4556", false),
            ("serial-address", "serial", "telnet", "192.0.2.10:4561", false),
            ("serial-tls", "serial", "tcp", "0.0.0.0:4560", true),
            ("serial-tls-off", "serial", "tcp", "0.0.0.0:4562", false),
            ("console-virtio-tcp", "serial", "telnet", "0.0.0.0:4557", false),
            ("channel-tcp", "channel", "tcp", "0.0.0.0:4558", false),
        ] {
            for posture in [try Self.xml(name), try Self.argv(name)] {
                let consoles = posture.hypervisor?.consoles.filter { $0.kind != "qmp" } ?? []
                #expect(consoles.count == 1, "\(name) \(posture.runtime): \(consoles)")
                let console = try #require(consoles.first)
                #expect(console.kind == kind && console.transport == transport, "\(name) \(posture.runtime)")
                #expect(console.address == address && console.tls == tls, "\(name) \(posture.runtime): \(console)")
            }
        }
        // The first <console> with a serial target is libvirt's copy of <serial>: one chardev.
        for posture in [try Self.xml("serial-console-loopback"), try Self.argv("serial-console-loopback")] {
            let consoles = posture.hypervisor?.consoles.filter { $0.kind != "qmp" } ?? []
            #expect(consoles.map(\.address) == ["127.0.0.1:4559"], "\(posture.runtime): \(consoles)")
            #expect(consoles.first?.localOnly == true)
        }
    }

    @Test("a TCP serial port without qemu.conf: TLS is undecided, not assumed off")
    func serialTLSUndecided() throws {
        let result = Check.check(paths: ["\(Self.directory)/serial-tcp.xml"])
        let posture = try #require(result.workloads.first)
        let serial = try #require(posture.hypervisor?.consoles.first { $0.kind == "serial" })
        #expect(serial.tls == nil)
        #expect(posture.unknown.keys.contains { $0.absolute.hasSuffix(".tls") })
        let verdicts = try Verdicts.of(posture)
        #expect(!verdicts.fired.contains("vm-serial-console-exposed"))
        #expect(verdicts.undecided.contains("vm-serial-console-exposed"))
    }

    @Test("VNC and SPICE authentication and TLS as qemu.conf and the XML declare them")
    func authentication() throws {
        func vnc(_ name: String) throws -> (Console, Console) {
            let domain = try #require(try Self.xml(name).hypervisor?.consoles.first { $0.kind == "vnc" })
            let argv = try #require(try Self.argv(name).hypervisor?.consoles.first { $0.kind == "vnc" })
            return (domain, argv)
        }
        for (name, password, tls) in [("vnc-open", false, false), ("vnc-password", true, false), ("vnc-sasl", true, false), ("vnc-tls", false, true)] {
            let (domain, argv) = try vnc(name)
            #expect(domain.password == password && argv.password == password, "\(name) password")
            #expect(domain.tls == tls && argv.tls == tls, "\(name) tls")
        }
        // SPICE with port=0: no plain listener at all, on either side.
        #expect(try Self.xml("spice-port0").hypervisor?.consoles.contains { $0.kind == "spice" } == false)
        #expect(try Self.argv("spice-port0").hypervisor?.consoles.contains { $0.kind == "spice" } == false)
        // A plain port and a TLS port: two listeners, on both sides.
        for spice in [try Self.xml("spice-tls"), try Self.argv("spice-tls")].map({ $0.hypervisor?.consoles.filter { $0.kind == "spice" } ?? [] }) {
            #expect(spice.map(\.tls) == [false, true], "\(spice)")
            #expect(spice.map(\.address) == ["0.0.0.0:5932", "0.0.0.0:5933"])
        }
    }
}

/// Each spelling of a serial port, console or channel over TCP that qemu takes, in one argv
/// (Fixtures/qemu/serial-network-forms.qemu), read as the same consoles the rules judge.
@Suite("qemu serial consoles over TCP, every spelling")
struct QemuSerialNetworkFormsTests {
    @Test("legacy -serial, dotted and JSON -chardev, virtconsole and virtserialport")
    func forms() throws {
        let result = Check.check(paths: ["\(fixtures)/qemu/serial-network-forms.qemu"])
        #expect(result.errors.isEmpty, "\(result.errors)")
        let posture = try #require(result.workloads.first)
        let consoles = posture.hypervisor?.consoles ?? []
        func console(_ address: String) throws -> Console {
            try #require(consoles.first { $0.address == address }, "\(address) in \(consoles)")
        }
        // -serial tcp:0.0.0.0:4444,server,nowait: the bare `server` flag listens.
        let legacy = try console("0.0.0.0:4444")
        #expect(legacy.kind == "serial" && legacy.transport == "tcp" && legacy.localOnly == false && legacy.tls == false)
        // -serial telnet::4445,server: an empty host is every interface.
        let telnet = try console("0.0.0.0:4445")
        #expect(telnet.transport == "telnet" && telnet.localOnly == false)
        // tls-creds on the chardev: TLS.
        #expect(try console("0.0.0.0:4446").tls == true)
        // QAPI's socket listens by default; a virtconsole is a console.
        let virtconsole = try console("192.0.2.7:4447")
        #expect(virtconsole.kind == "serial" && virtconsole.transport == "telnet" && virtconsole.localOnly == false)
        // A virtserialport is a channel (the guest agent here), over websocket on the v6 wildcard.
        let channel = try console("[::]:4448")
        #expect(channel.kind == "channel" && channel.transport == "websocket" && channel.localOnly == false)
        #expect(try console("127.0.0.1:4449").localOnly == true)

        let verdicts = try Verdicts.of(posture)
        #expect(verdicts.fired.isSuperset(of: ["vm-serial-console-exposed", "vm-serial-console-network"]))
        let pack = try #require(Verdicts.pack)
        let findings = RuleEngine(pack: pack).evaluateDetailed([posture]).findings
        let exposed = findings.filter { $0.rule == "vm-serial-console-exposed" }.map(\.message).joined(separator: "\n")
        // Every interface: 4444, 4445 and the channel; not the TLS one, not the specific address, not loopback.
        for port in ["0.0.0.0:4444", "0.0.0.0:4445", "[::]:4448"] { #expect(exposed.contains(port), "\(exposed)") }
        for port in ["4446", "4447", "4449"] { #expect(!exposed.contains(port), "\(exposed)") }
        let network = findings.filter { $0.rule == "vm-serial-console-network" }.map(\.message).joined(separator: "\n")
        #expect(network.contains("192.0.2.7:4447") && !network.contains("4449") && !network.contains("4446"), "\(network)")
    }
}
