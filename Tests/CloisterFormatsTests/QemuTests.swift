import CloisterModel
import Testing

@testable import CloisterFormats

@Suite("qemu option syntax")
struct QemuOptionTests {
    @Test func impliedKeyAndDoubledComma() {
        let options = QemuOptionList.parse("file=a,,b.img,if=virtio,readonly", impliedKey: "type")
        #expect(options["file"] == "a,b.img")
        #expect(options["if"] == "virtio")
        #expect(options.flag("readonly") == true)
        let implied = QemuOptionList.parse("kvm,thread=multi", impliedKey: "accel")
        #expect(implied["accel"] == "kvm")
        #expect(implied["thread"] == "multi")
    }

    @Test func lastValueWinsAndOldNoSpelling() {
        let options = QemuOptionList.parse("server=on,server=off,nowait")
        #expect(options.flag("server") == false)
        #expect(options.flag("wait") == false)
    }

    @Test func boundedOnHostileInput() {
        let options = QemuOptionList.parse(String(repeating: "a,", count: 100_000))
        #expect(options.options.count <= QemuOptionList.maximumElements)
    }
}

@Suite("qemu command lines")
struct QemuCommandLineTests {
    @Test func hardenedGuest() {
        let config = QemuCommandLine.parse([
            "/usr/bin/qemu-system-x86_64", "-name", "guest=web01,debug-threads=on", "-uuid",
            "8a3e4f2c-0000-4000-8000-000000000001", "-machine", "pc-q35-8.2,accel=kvm:tcg",
            "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
            "-runas", "libvirt-qemu", "-nodefaults", "-display", "none", "-vnc", "127.0.0.1:3,password=on",
            "-qmp", "unix:/run/qemu/web01.qmp,server=on,wait=off", "-netdev", "tap,id=n0,ifname=tap0",
            "-device", "virtio-net-pci,netdev=n0",
        ])
        let hypervisor = config.hypervisor
        #expect(config.name == "web01")
        #expect(config.accelerators == ["kvm", "tcg"])
        #expect(hypervisor.accelerator == "kvm")
        #expect(hypervisor.machine == "pc-q35-8.2")
        #expect(hypervisor.sandbox.enabled)
        #expect(hypervisor.sandbox.options["spawn"] == "deny")
        #expect(hypervisor.user.name == "libvirt-qemu")
        #expect(hypervisor.uuid == "8a3e4f2c-0000-4000-8000-000000000001")
        #expect(hypervisor.consoles.count == 2)
        let vnc = hypervisor.consoles.first { $0.kind == "vnc" }
        #expect(vnc?.address == "127.0.0.1:5903")
        #expect(vnc?.localOnly == true)
        #expect(vnc?.password == true)
        let qmp = hypervisor.consoles.first { $0.kind == "qmp" }
        #expect(qmp?.transport == "unix")
        #expect(qmp?.localOnly == true)
        #expect(hypervisor.network == [NetworkBackend(type: "tap", id: "n0")])
        #expect(hypervisor.legacyDevices.isEmpty)
        #expect(config.defaultedFields.isEmpty)
    }

    @Test func exposedGuestWithDefaults() {
        let config = QemuCommandLine.parse([
            "qemu-system-x86_64", "-m", "512", "-vnc", ":0", "-monitor", "tcp::4444,server,nowait", "-s",
            "disk.img",
        ])
        let hypervisor = config.hypervisor
        #expect(hypervisor.accelerator == "tcg")
        #expect(config.defaultedFields.contains("hypervisor.accelerator"))
        #expect(hypervisor.machine == "pc")
        #expect(hypervisor.legacyDevices == ["isa-fdc"])
        let vnc = hypervisor.consoles.first { $0.kind == "vnc" }
        #expect(vnc?.address == "0.0.0.0:5900")
        #expect(vnc?.localOnly == false)
        #expect(vnc?.password == false)
        let monitor = hypervisor.consoles.first { $0.kind == "monitor" }
        #expect(monitor?.address == "0.0.0.0:4444")
        #expect(monitor?.localOnly == false)
        let gdb = hypervisor.consoles.first { $0.kind == "gdb" }
        #expect(gdb?.address == "0.0.0.0:1234")
        #expect(gdb?.localOnly == false)
        // Default serial on a virtual console, reachable through the exposed VNC display.
        let serial = hypervisor.consoles.first { $0.kind == "serial" }
        #expect(serial?.transport == "vc")
        #expect(serial?.localOnly == false)
        #expect(hypervisor.network == [NetworkBackend(type: "user", implicit: true)])
        #expect(config.drives.first?["file"] == "disk.img")
        #expect(hypervisor.sandbox.enabled == false)
        #expect(config.defaultedFields.contains("hypervisor.sandbox"))
    }

    @Test func qmpThroughChardevAndMuxedSerial() {
        let config = QemuCommandLine.parse([
            "qemu-system-aarch64", "--chardev", "socket,id=mon0,host=0.0.0.0,port=4445,server=on,wait=off",
            "--mon", "chardev=mon0,mode=control", "-chardev", "socket,id=ch1,path=/tmp/agent.sock,server=on",
            "-serial", "mon:telnet:127.0.0.1:5555,server=on", "-nographic", "-enable-kvm",
        ])
        let consoles = config.hypervisor.consoles
        let qmp = consoles.first { $0.kind == "qmp" }
        #expect(qmp?.transport == "tcp")
        #expect(qmp?.address == "0.0.0.0:4445")
        #expect(qmp?.localOnly == false)
        #expect(consoles.contains { $0.kind == "chardev" && $0.address == "/tmp/agent.sock" })
        #expect(consoles.contains { $0.kind == "serial" && $0.transport == "telnet" && $0.localOnly == true })
        #expect(consoles.contains { $0.kind == "monitor" && $0.transport == "telnet" })
        #expect(config.hypervisor.accelerator == "kvm")
        #expect(config.hypervisor.machine == nil)
    }

    @Test func spiceListeners() {
        let config = QemuCommandLine.parse([
            "qemu-system-x86_64", "-machine", "q35", "-spice", "port=5930,tls-port=5931,disable-ticketing=on",
        ])
        let spice = config.hypervisor.consoles.filter { $0.kind == "spice" }
        #expect(spice.count == 2)
        #expect(spice.allSatisfy { $0.localOnly == false && $0.password == false })
        #expect(spice.map(\.tls) == [false, true])
        #expect(config.hypervisor.legacyDevices.isEmpty)
    }

    @Test func vncVariants() {
        let unix = QemuCommandLine.parse(["qemu-system-x86_64", "-vnc", "unix:/run/vnc.sock"])
        #expect(unix.hypervisor.consoles.first?.localOnly == true)
        let v6 = QemuCommandLine.parse(["qemu-system-x86_64", "-vnc", "[::1]:2,websocket=on"])
        let vnc = v6.hypervisor.consoles.filter { $0.kind == "vnc" }
        #expect(vnc.first?.address == "[::1]:5902")
        #expect(vnc.last?.transport == "websocket")
        #expect(vnc.last?.address == "[::1]:5702")
        let none = QemuCommandLine.parse(["qemu-system-x86_64", "-vnc", "none", "-nodefaults"])
        #expect(none.hypervisor.consoles.isEmpty)
        let display = QemuCommandLine.parse(["qemu-system-x86_64", "-display", "vnc=0.0.0.0:1,password=on"])
        #expect(display.hypervisor.consoles.first?.address == "0.0.0.0:5901")
    }

    @Test func passthroughAndLegacy() {
        let config = QemuCommandLine.parse([
            "qemu-system-x86_64", "-machine", "q35", "-device", "vfio-pci,host=0000:01:00.0,multifunction=on",
            "-device", "usb-host,hostbus=1,hostaddr=3", "-usbdevice", "host:1234:5678", "-fda", "boot.img",
            "-soundhw", "sb16,adlib", "-device", "ne2k_isa,netdev=n1", "-net", "none",
        ])
        let hypervisor = config.hypervisor
        #expect(hypervisor.passthrough == [
            Passthrough(kind: "vfio", host: "0000:01:00.0"),
            Passthrough(kind: "usb-host", host: "hostbus=1,hostaddr=3"),
            Passthrough(kind: "usb-host", host: "1234:5678"),
        ])
        #expect(Set(hypervisor.legacyDevices) == ["sb16", "adlib", "ne2k_isa", "isa-fdc", "floppy"])
        #expect(hypervisor.network.isEmpty)
    }

    @Test func runWithAndAccelList() {
        let config = QemuCommandLine.parse([
            "qemu-system-x86_64", "-accel", "kvm", "-accel", "tcg,thread=multi", "-run-with", "user=1000:1000,chroot=/var/empty",
            "-daemonize", "-readconfig", "/etc/vm.cfg", "-nic", "user,hostfwd=tcp::2222-:22",
        ])
        #expect(config.accelerators == ["kvm", "tcg"])
        #expect(config.hypervisor.user.uid == 1000)
        #expect(config.chroot == "/var/empty")
        #expect(config.daemonize)
        #expect(config.readConfig == ["/etc/vm.cfg"])
        #expect(config.notes.contains { $0.contains("-readconfig") })
        #expect(config.hostForwards == ["tcp::2222-:22"])
        #expect(config.hypervisor.network == [NetworkBackend(type: "user")])
    }

    @Test func incomingMigrationListener() {
        let config = QemuCommandLine.parse(["qemu-system-x86_64", "-incoming", "tcp:0:4446", "-nodefaults"])
        let incoming = config.hypervisor.consoles.first
        #expect(incoming?.kind == "migration")
        #expect(incoming?.localOnly == false)
    }

    @Test(arguments: [
        [String](),
        ["-"],
        ["--"],
        ["qemu-system-x86_64", "-vnc"],
        ["qemu-system-x86_64", "-vnc", ":99999999999999999999"],
        ["qemu-system-x86_64", "-spice", ",,,,=,=,"],
        ["qemu-system-x86_64", "-chardev", "", "-mon", "", "-serial", "chardev:"],
        ["qemu-system-x86_64", "-serial", "mon:mon:mon:udp:[::1:@:"],
        ["qemu-system-x86_64", "-monitor", "tcp:[", "-gdb", "chardev:nope", "-unknown-thing", "value"],
        ["\u{0}\u{1b}[31m", "-name", "\u{202e}evil", "-machine", "=,=,", "-accel", ":::"],
    ])
    func garbageNeverCrashes(argv: [String]) {
        let config = QemuCommandLine.parse(argv)
        _ = config.hypervisor
        _ = config.defaultedFields
    }

    @Test func hugeArgvIsBounded() {
        let argv = ["qemu-system-x86_64"] + Array(repeating: "-S", count: QemuCommandLine.maximumArguments + 10)
        let config = QemuCommandLine.parse(argv)
        #expect(config.truncated)
    }
}

@Test func deepMonPrefixDoesNotRecurse() {
    let text = String(repeating: "mon:", count: 16_000) + "stdio"
    let config = QemuCommandLine.parse(["qemu-system-x86_64", "-serial", text])
    #expect(config.consoles.contains { $0.kind == "monitor" && $0.transport == "stdio" })
}

@Suite("qemu command lines as libvirt writes them")
struct LibvirtQemuCommandLineTests {
    /// The shape of a /proc/PID/cmdline of a libvirt 9 guest: JSON -device/-netdev/-blockdev,
    /// monitors on passed-in file descriptors.
    @Test func libvirtGuest() {
        let argv = [
            "/usr/bin/qemu-system-x86_64", "-name", "guest=web,debug-threads=on", "-S", "-object",
            #"{"qom-type":"secret","id":"masterKey0","format":"raw","file":"/var/lib/libvirt/qemu/domain-1-web/master-key.aes"}"#,
            "-machine", "pc-q35-8.2,usb=off,vmport=off,dump-guest-core=off,memory-backend=pc.ram,hpet=off,acpi=on",
            "-accel", "kvm", "-cpu", "host,migratable=on", "-m", "size=2097152k", "-uuid", "1f0e8c5a-9a57-4a39-a1a8-5c0b0a1b2c3d",
            "-no-user-config", "-nodefaults", "-chardev", "socket,id=charmonitor,fd=31,server=on,wait=off", "-mon",
            "chardev=charmonitor,id=monitor,mode=control", "-rtc", "base=utc,driftfix=slew", "-no-shutdown", "-boot",
            "strict=on", "-blockdev",
            #"{"driver":"file","filename":"/var/lib/libvirt/images/web.qcow2","node-name":"libvirt-1-storage","read-only":false}"#,
            "-netdev", #"{"type":"tap","fd":"33","vhost":true,"vhostfd":"35","id":"hostnet0"}"#, "-device",
            #"{"driver":"virtio-net-pci","netdev":"hostnet0","id":"net0","mac":"52:54:00:12:34:56","bus":"pci.1","addr":"0x0"}"#,
            "-device", #"{"driver":"vfio-pci","host":"0000:06:02.0","id":"hostdev0","bus":"pci.5","addr":"0x0"}"#,
            "-audiodev", #"{"id":"audio1","driver":"none"}"#, "-vnc", "127.0.0.1:0,audiodev=audio1", "-sandbox",
            "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny", "-msg", "timestamp=on",
        ]
        let config = QemuCommandLine.parse(argv)
        let hypervisor = config.hypervisor
        #expect(hypervisor.accelerator == "kvm")
        #expect(hypervisor.machine == "pc-q35-8.2")
        #expect(hypervisor.sandbox.enabled)
        #expect(hypervisor.network == [NetworkBackend(type: "tap", id: "hostnet0")])
        #expect(hypervisor.passthrough == [Passthrough(kind: "vfio", host: "0000:06:02.0")])
        // The monitor socket libvirt opened and passed as fd=N: a UNIX socket in its state directory.
        #expect(hypervisor.consoles.contains { $0.kind == "qmp" && $0.transport == "unix" && $0.localOnly == true })
        #expect(hypervisor.consoles.contains { $0.kind == "vnc" && $0.localOnly == true })
        #expect(hypervisor.legacyDevices.isEmpty)
        #expect(config.unrecognizedOptions.isEmpty)
        #expect(config.defaultedFields.isEmpty)
    }

    @Test func jsonOptionValuesFlatten() {
        let options = QemuOptionList.parse(#"{"driver":"usb-host","hostbus":1,"hostaddr":3,"x":{"y":true}}"#, impliedKey: "driver")
        #expect(options["driver"] == "usb-host")
        #expect(options["hostbus"] == "1")
        #expect(options["x.y"] == "on")
    }
}

/// Stays with CloisterFormats (ShellWords) when the JSON document tests moved to CloisterCodec.
@Suite struct ShellWordsTests {
    @Test func shellWords() {
        #expect(ShellWords.split("qemu -name 'a b' -vnc \"127.0.0.1:0\" \\\n -m 1 # comment\n") == [
            "qemu", "-name", "a b", "-vnc", "127.0.0.1:0", "-m", "1",
        ])
        #expect(Array(ShellWords.commandStart(["exec", "FOO=1", "qemu-kvm", "-m"])) == ["qemu-kvm", "-m"])
    }
}
