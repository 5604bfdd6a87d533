import CloisterModel
import Foundation
import Testing

/// Real qemu guests: KVM ones are scanned as processes (a stock kernel does not boot under
/// KVM on these hosts, but the vm and vcpu descriptors are there); TCG ones really boot the
/// busybox initramfs and print its marker before they are scanned.
@Suite("qemu guests", .serialized)
struct QemuScanTests {
    func scan(_ guest: QemuGuest) throws -> (Posture, Hypervisor) {
        let posture = try Cloister.scanWorkload(containing: guest.pid)
        #expect(posture.kind == .vm)
        #expect(posture.runtime == "qemu")
        #expect(posture.name == guest.name)
        #expect(posture.pid == Int(guest.pid))
        let hypervisor = try #require(posture.hypervisor)
        #expect(hypervisor.emulator == "qemu")
        #expect(hypervisor.user.uid == getuid())
        return (posture, hypervisor)
    }

    func expectSandbox(_ posture: Posture, _ hypervisor: Hypervisor, enabled: Bool) {
        #expect(hypervisor.sandbox.enabled == enabled)
        if enabled {
            #expect(hypervisor.sandbox.options == QemuOptions.sandboxOptions)
            #expect(posture.seccomp?.mode == .filter)
            // qemu installs its filter with TSYNC: no thread may be left without it.
            #expect(posture.seccomp?.threadsUnfiltered ?? 0 == 0)
        } else {
            #expect(posture.seccomp?.mode == .disabled)
        }
    }

    @Test("-enable-kvm without -sandbox", .needsKVM)
    func kvm() throws {
        let guest = try QemuGuest(QemuOptions(label: "kvm", accelerator: .kvm))
        defer { guest.stop() }
        let (posture, hypervisor) = try scan(guest)
        #expect(hypervisor.accelerator == "kvm")
        #expect(hypervisor.vcpus == 1)
        expectSandbox(posture, hypervisor, enabled: false)
    }

    @Test("-enable-kvm with -sandbox on,…,spawn=deny", .needsKVM)
    func kvmSandboxed() throws {
        let guest = try QemuGuest(QemuOptions(label: "kvm-sandbox", accelerator: .kvm, sandbox: true))
        defer { guest.stop() }
        let (posture, hypervisor) = try scan(guest)
        #expect(hypervisor.accelerator == "kvm")
        expectSandbox(posture, hypervisor, enabled: true)
    }

    @Test("-accel tcg without -sandbox", .needsQemu)
    func tcg() throws {
        let guest = try QemuGuest(QemuOptions(label: "tcg", accelerator: .tcg))
        defer { guest.stop() }
        let (posture, hypervisor) = try scan(guest)
        #expect(hypervisor.accelerator == "tcg")
        expectSandbox(posture, hypervisor, enabled: false)
    }

    @Test("-accel tcg with -sandbox on,…,spawn=deny", .needsQemu)
    func tcgSandboxed() throws {
        let guest = try QemuGuest(QemuOptions(label: "tcg-sandbox", accelerator: .tcg, sandbox: true))
        defer { guest.stop() }
        let (posture, hypervisor) = try scan(guest)
        #expect(hypervisor.accelerator == "tcg")
        expectSandbox(posture, hypervisor, enabled: true)
    }

    @Test("exposed consoles, SLiRP networking and a floppy: VNC on all addresses, monitor on loopback", .needsKVM)
    func consolesNetworkAndLegacyDevices() throws {
        let display = try Ports.freeVNCDisplay()
        let monitorPort = try Ports.free(in: 45_000...45_999)
        let guest = try QemuGuest(QemuOptions(
            label: "exposed", accelerator: .kvm, vncDisplay: display, monitorPort: monitorPort,
            userNetwork: true, floppy: true))
        defer { guest.stop() }
        let (posture, hypervisor) = try scan(guest)
        #expect(hypervisor.accelerator == "kvm")
        expectSandbox(posture, hypervisor, enabled: false)

        let vnc = try #require(hypervisor.consoles.first { $0.kind == "vnc" })
        #expect(vnc.transport == "tcp")
        #expect(vnc.address == "0.0.0.0:\(5900 + display)")
        #expect(vnc.localOnly == false)
        let monitor = try #require(hypervisor.consoles.first { $0.kind == "monitor" })
        #expect(monitor.transport == "tcp")
        #expect(monitor.address == "127.0.0.1:\(monitorPort)")
        #expect(monitor.localOnly == true)
        #expect(hypervisor.listening.contains("0.0.0.0:\(5900 + display)"))
        #expect(hypervisor.listening.contains("127.0.0.1:\(monitorPort)"))

        #expect(hypervisor.network.contains { $0.type == "user" && !$0.implicit })
        #expect(hypervisor.legacyDevices.contains { $0.lowercased().contains("floppy") })
    }
}
