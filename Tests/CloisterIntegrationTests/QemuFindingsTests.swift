import CloisterModel
import Foundation
import Testing

/// The `vm-*` rules on real qemu guests, through the real `cloister scan`.
/// Serialized: each guest takes a core, and there are two.
@Suite("rule findings on qemu guests", .serialized, .needsQemu)
struct QemuFindingsTests {
    /// Rules about exposures the smallest q35 guest (no display, no network, no monitor, no
    /// floppy controller) lacks.
    static let exposures: Set<String> = [
        "vm-console-exposed", "vm-monitor-tcp", "vm-slirp", "vm-legacy-devices", "vm-passthrough",
    ]

    @Test("KVM without -sandbox, as root: vm-no-sandbox and vm-qemu-root", .needsKVM)
    func kvmUnsandboxed() throws {
        let guest = try QemuGuest(QemuOptions(label: "rules-kvm", accelerator: .kvm, machine: "q35"))
        defer { guest.stop() }
        let scan = try Assess.workload(pid: guest.pid)

        #expect(scan.posture.kind == .vm)
        scan.expect(
            fires: Host.isRoot ? ["vm-no-sandbox", "vm-qemu-root"] : ["vm-no-sandbox"],
            silent: Self.exposures.union(["vm-tcg", "vm-weak-sandbox"]))
        // Container rules stay off guests.
        #expect(scan.rules.allSatisfy { $0.hasPrefix("vm-") || $0.hasPrefix("esc-") }, "raised: \(scan.summary)")
    }

    @Test("qemu's default pc machine: its built-in ISA floppy controller is a legacy device", .needsKVM)
    func defaultMachineFloppyController() throws {
        // VENOM (CVE-2015-3456) needed no floppy drive, only the controller that i440fx always
        // has: no -fda given, and the finding is still right.
        let guest = try QemuGuest(QemuOptions(label: "rules-pc", accelerator: .kvm))
        defer { guest.stop() }
        let scan = try Assess.workload(pid: guest.pid)

        scan.expect(fires: ["vm-legacy-devices"], silent: ["vm-console-exposed", "vm-monitor-tcp", "vm-slirp"])
        let legacy = try #require(scan.findings.first { $0.rule == "vm-legacy-devices" })
        #expect(legacy.message.contains("isa-fdc"), "\(legacy.message)")
    }

    @Test("KVM with -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny", .needsKVM)
    func kvmSandboxed() throws {
        let guest = try QemuGuest(QemuOptions(label: "rules-kvm-sandbox", accelerator: .kvm, sandbox: true, machine: "q35"))
        defer { guest.stop() }
        let scan = try Assess.workload(pid: guest.pid)

        // qemu's -sandbox filter is a deny-list that leaves io_uring open (its block layer may
        // use it): read from the process, io_uring_setup is allowed, so esc-io-uring is true.
        // Namespace creation is refused (spawn=deny, elevateprivileges=deny).
        scan.expect(
            fires: Host.isRoot ? ["vm-qemu-root", "esc-io-uring"] : ["esc-io-uring"],
            silent: Self.exposures.union(
                ["vm-no-sandbox", "vm-weak-sandbox", "vm-tcg", "esc-namespace-creation"]))
        #expect(scan.posture.seccomp?.reachable?.ioUring == .allowed)
        #expect(scan.posture.seccomp?.reachable?.namespaceCreation != .allowed)
    }

    @Test("TCG guest: vm-tcg")
    func tcg() throws {
        let guest = try QemuGuest(QemuOptions(label: "rules-tcg", accelerator: .tcg, machine: "q35"))
        defer { guest.stop() }
        let scan = try Assess.workload(pid: guest.pid)

        scan.expect(fires: ["vm-tcg", "vm-no-sandbox"], silent: Self.exposures)
        let tcg = try #require(scan.findings.first { $0.rule == "vm-tcg" })
        #expect(tcg.severity == .medium)
    }

    @Test("VNC on 0.0.0.0, monitor over TCP, SLiRP and a floppy", .needsKVM)
    func exposedGuest() throws {
        let display = try Ports.freeVNCDisplay()
        let monitorPort = try Ports.free(in: 46_000...46_999)
        let guest = try QemuGuest(QemuOptions(
            label: "rules-exposed", accelerator: .kvm, vncDisplay: display, monitorPort: monitorPort,
            userNetwork: true, floppy: true))
        defer { guest.stop() }
        let scan = try Assess.workload(pid: guest.pid)

        scan.expect(
            fires: ["vm-console-exposed", "vm-monitor-tcp", "vm-slirp", "vm-legacy-devices", "vm-no-sandbox"],
            silent: ["vm-passthrough", "vm-tcg"])
        let console = try #require(scan.findings.first { $0.rule == "vm-console-exposed" })
        #expect(console.message.contains("0.0.0.0:\(5900 + display)"), "\(console.message)")
        let legacy = try #require(scan.findings.first { $0.rule == "vm-legacy-devices" })
        #expect(legacy.message.lowercased().contains("floppy"), "\(legacy.message)")
        let monitor = try #require(scan.findings.first { $0.rule == "vm-monitor-tcp" })
        #expect(monitor.message.contains(String(monitorPort)), "\(monitor.message)")

        // The criticals fail --fail-on critical; --max-exposure 10 never fails.
        #expect(try Assess.scan(pid: guest.pid, ["--fail-on", "critical"]).status == 1)
        #expect(try Assess.scan(pid: guest.pid, ["--max-exposure", "10"]).status == 0)
    }
}
