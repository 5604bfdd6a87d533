import CloisterFormats
import CloisterModel
import Foundation
import Testing
@testable import CloisterInspect

/// `scan --declared` for a libvirt guest, on the fields the live tests cannot alter here (no LSM
/// for an sVirt label, no device to pass through): the live status file read as a declared
/// posture, and each weakening of the process against it a drift.
@Suite("libvirt live domain against its qemu")
struct LibvirtDriftTests {
    /// A status file as libvirtd writes it (trimmed): an AppArmor label libvirt chose, the DAC
    /// label of libvirt-qemu, VNC kept on loopback with a password, a VFIO device, the mount
    /// namespace qemu was given.
    static let status = """
        <domstatus state='running' reason='booted' pid='4242'>
          <monitor path='/var/lib/libvirt/qemu/domain-1-g/monitor.sock' type='unix'/>
          <namespaces>
            <mount/>
          </namespaces>
          <domain type='kvm' id='1'>
            <name>g</name>
            <uuid>5b1c9a3e-4d2f-4e8a-9c41-0f6f1d2a7b11</uuid>
            <devices>
              <emulator>/usr/bin/qemu-system-x86_64</emulator>
              <graphics type='vnc' port='5900' autoport='yes' listen='127.0.0.1' passwd='secret'>
                <listen type='address' address='127.0.0.1'/>
              </graphics>
              <hostdev mode='subsystem' type='pci' managed='yes'>
                <source><address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source>
              </hostdev>
            </devices>
            <seclabel type='dynamic' model='apparmor' relabel='yes'>
              <label>libvirt-5b1c9a3e-4d2f-4e8a-9c41-0f6f1d2a7b11</label>
            </seclabel>
            <seclabel type='dynamic' model='dac' relabel='yes'>
              <label>+64055:+64055</label>
            </seclabel>
          </domain>
        </domstatus>
        """

    static func declared(conf: LibvirtQemuConf? = LibvirtQemuConf(file: "/etc/libvirt/qemu.conf", settings: [:])) throws -> Posture {
        try LibvirtLiveDomain.declared(statusText: status, file: "/run/libvirt/qemu/g.xml", qemuConf: conf)
    }

    /// The process as a scan would show a guest started exactly as declared.
    static func faithful() throws -> Posture {
        var observed = try declared()
        observed.source = .observed
        observed.unknown = [:]
        observed.seccomp = Seccomp(mode: .filter)
        observed.hypervisor?.consoles = [
            Console(kind: "qmp", transport: "unix", localOnly: true, password: false),
            Console(kind: "vnc", transport: "tcp", address: "127.0.0.1:5900", localOnly: true, password: true),
        ]
        observed.hypervisor?.passthrough.append(Passthrough(kind: "vfio", host: "/dev/vfio/12"))
        observed.hypervisor?.user = ProcessUser(uid: 64055, name: "libvirt-qemu")
        return observed
    }

    @Test("the status file declares the labels, user, console, device and namespace libvirt chose")
    func declaredPosture() throws {
        let posture = try Self.declared()
        #expect(posture.mac.apparmor?.profile == "libvirt-5b1c9a3e-4d2f-4e8a-9c41-0f6f1d2a7b11")
        #expect(posture.hypervisor?.user.uid == 64055)
        #expect(posture.namespaces.mnt == .private)
        #expect(posture.hypervisor?.sandbox.enabled == true)
        #expect(posture.hypervisor?.consoles.contains { $0.kind == "vnc" && $0.localOnly == true && $0.password == true } == true)
        #expect(posture.unknown[.capabilities] != nil)
    }

    @Test("a guest running as declared shows no drift")
    func noDrift() throws {
        #expect(LibvirtLiveDomain.drift(declared: try Self.declared(), observed: try Self.faithful(), source: "/run/libvirt/qemu/g.xml") == [])
    }

    @Test("each weakening is its own drift, with the file that declared it")
    func weakened() throws {
        var observed = try Self.faithful()
        observed.mac.apparmor = AppArmorLabel(profile: "unconfined", mode: "unconfined")
        observed.hypervisor?.user = ProcessUser(uid: 0, name: "root")
        observed.hypervisor?.sandbox = HypervisorSandbox(enabled: false)
        observed.seccomp = Seccomp(mode: .disabled)
        observed.hypervisor?.consoles = [Console(kind: "vnc", transport: "tcp", address: "0.0.0.0:5900", localOnly: false, password: false)]
        observed.hypervisor?.passthrough.append(Passthrough(kind: "usb-host", host: "/dev/bus/usb/001/003"))
        observed.namespaces.mnt = .host
        let conf = try LibvirtQemuConf.parse("seccomp_sandbox = 1\n", file: "/etc/libvirt/qemu.conf")
        let drift = LibvirtLiveDomain.drift(declared: try Self.declared(conf: conf), observed: observed, source: "/run/libvirt/qemu/g.xml")
        let fields = Set(drift.map(\.field))
        #expect(fields == ["mac.apparmor", "hypervisor.user", "hypervisor.sandbox", "hypervisor.consoles", "hypervisor.consoles.password",
                           "hypervisor.passthrough", "namespaces.mnt"], "\(drift)")
        // qemu.conf settled the sandbox: it is named as the source.
        #expect(drift.first { $0.field == "hypervisor.sandbox" }?.source == "/etc/libvirt/qemu.conf")
        #expect(drift.first { $0.field == "hypervisor.user" } == Drift(field: "hypervisor.user", declared: "uid 64055", observed: "uid 0", source: "/run/libvirt/qemu/g.xml"))
        #expect(drift.first { $0.field == "hypervisor.passthrough" }?.observed == "usb-host /dev/bus/usb/001/003")
    }

    @Test("without qemu.conf what it decides is not compared: no sandbox drift assumed")
    func withoutQemuConf() throws {
        var observed = try Self.faithful()
        observed.hypervisor?.sandbox = HypervisorSandbox(enabled: false)
        observed.seccomp = Seccomp(mode: .disabled)
        let drift = LibvirtLiveDomain.drift(declared: try Self.declared(conf: nil), observed: observed, source: "/run/libvirt/qemu/g.xml")
        #expect(!drift.contains { $0.field == "hypervisor.sandbox" }, "\(drift)")
    }

    @Test("a serial port declared over TLS (qemu.conf chardev_tls) and served in the clear is a drift; served as declared, none")
    func serialTLS() throws {
        let status = """
            <domstatus state='running' reason='booted' pid='4242'>
              <domain type='kvm' id='1'>
                <name>s</name>
                <devices>
                  <serial type='tcp'>
                    <source mode='bind' host='0.0.0.0' service='4555'/>
                    <protocol type='raw'/>
                    <target port='0'/>
                  </serial>
                </devices>
              </domain>
            </domstatus>
            """
        let conf = try LibvirtQemuConf.parse("chardev_tls = 1\n", file: "/etc/libvirt/qemu.conf")
        let declared = try LibvirtLiveDomain.declared(statusText: status, file: "/run/libvirt/qemu/s.xml", qemuConf: conf)
        #expect(declared.hypervisor?.consoles.first { $0.kind == "serial" }?.tls == true)
        var observed = declared
        observed.source = .observed
        observed.unknown = [:]
        observed.hypervisor?.consoles = [
            Console(kind: "qmp", transport: "unix", localOnly: true, password: false),
            Console(kind: "serial", transport: "tcp", address: "0.0.0.0:4555", localOnly: false, password: false, tls: true),
        ]
        #expect(LibvirtLiveDomain.drift(declared: declared, observed: observed, source: "/run/libvirt/qemu/s.xml").filter { $0.field.hasPrefix("hypervisor.consoles") } == [])
        observed.hypervisor?.consoles[1].tls = false
        let drift = LibvirtLiveDomain.drift(declared: declared, observed: observed, source: "/run/libvirt/qemu/s.xml")
        let tls = try #require(drift.first { $0.field == "hypervisor.consoles.tls" }, "\(drift)")
        #expect(tls.declared == "serial over TLS" && tls.observed == "serial 0.0.0.0:4555 without TLS")
        // qemu.conf's chardev_tls declared it: named as the source.
        #expect(tls.source == "/etc/libvirt/qemu.conf")
        // Without qemu.conf the TLS of a <source> without tls= is not known: nothing compared.
        let unsettled = try LibvirtLiveDomain.declared(statusText: status, file: "/run/libvirt/qemu/s.xml", qemuConf: nil)
        #expect(!LibvirtLiveDomain.drift(declared: unsettled, observed: observed, source: "/run/libvirt/qemu/s.xml").contains { $0.field == "hypervisor.consoles.tls" })
    }

    @Test("a file that is not libvirt's status is refused, not guessed")
    func notAStatusFile() {
        #expect(throws: (any Error).self) {
            try LibvirtLiveDomain.declared(statusText: "<domain type='kvm'><name>g</name></domain>", file: "x.xml", qemuConf: nil)
        }
    }
}
