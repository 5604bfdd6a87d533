import CloisterModel
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Guests started by a real libvirtd (`LibvirtDaemon`): the scan finds each as one workload
/// named after its domain, engine libvirt, with the confinement libvirt gave its qemu; `scan
/// --declared` holds the qemu process to libvirt's live domain XML and the daemon's qemu.conf,
/// finds nothing on an unaltered guest and the difference on an altered one; and the host
/// findings about qemu.conf fire on the file the running daemon reads.
@Suite("libvirt guests", .serialized, .needsLibvirt)
struct LibvirtScanTests {
    /// A VNC console on every interface, a telnet serial port on loopback, SLiRP networking.
    static func devices(serialPort: Int) -> String {
        """
            <serial type='tcp'>
              <source mode='bind' host='127.0.0.1' service='\(serialPort)'/>
              <protocol type='telnet'/>
              <target port='0'/>
            </serial>
            <graphics type='vnc' port='-1' autoport='yes' listen='0.0.0.0'/>
            <interface type='user'><model type='virtio'/></interface>
        """
    }

    static var qemuUID: UInt32? { getpwnam("libvirt-qemu").map { $0.pointee.pw_uid } }

    /// One guest for three questions: libvirtd 9.0 here takes about 75 s to start a guest whose
    /// qemu runs as libvirt-qemu (docs/testing.md), so the scan, the unaltered comparison and the
    /// altered one share it, in that order.
    @Test("a guest libvirtd started: one workload named after its domain, confined as libvirt starts qemu; no drift unaltered, drift once its live XML is edited")
    func scannedThenCompared() throws {
        let daemon = try LibvirtDaemon.start()
        defer { daemon.stop() }
        let port = Int.random(in: 30000...39999)
        let domain = try daemon.start("scan", devices: Self.devices(serialPort: port))
        defer { domain.stop() }
        let scan = try Assess.workload(pid: domain.pid)
        let posture = scan.posture
        #expect(posture.name == domain.name)
        #expect(posture.runtime == "libvirt")
        #expect(posture.kind == .vm)
        #expect(posture.pid == Int(domain.pid))
        let hypervisor = try #require(posture.hypervisor)
        #expect(hypervisor.accelerator == "tcg")
        // seccomp_sandbox's default: qemu's -sandbox with every option libvirt sets, and the
        // kernel shows the filter on the process.
        #expect(hypervisor.sandbox.enabled)
        #expect(hypervisor.sandbox.options["spawn"] == "deny")
        #expect(posture.seccomp?.mode == .filter)
        // Debian's libvirt runs qemu as libvirt-qemu, with no capability left.
        #expect(hypervisor.user.uid == Self.qemuUID)
        #expect(posture.capabilities.effective.isEmpty)
        // libvirt's default `namespaces = [ "mount" ]`.
        #expect(posture.namespaces.mnt == .private)
        let vnc = try #require(hypervisor.consoles.first { $0.kind == "vnc" })
        #expect(vnc.localOnly == false && vnc.address?.hasPrefix("0.0.0.0:59") == true, "\(vnc)")
        let serial = try #require(hypervisor.consoles.first { $0.kind == "serial" && $0.transport == "telnet" }, "\(hypervisor.consoles)")
        #expect(serial.address == "127.0.0.1:\(port)" && serial.localOnly == true)
        #expect(hypervisor.consoles.contains { $0.kind == "qmp" && $0.transport == "unix" })
        #expect(hypervisor.network.map(\.type) == ["user"])
        #expect(hypervisor.listening.contains { $0.hasPrefix("0.0.0.0:59") })
        scan.expect(fires: ["vm-console-exposed", "vm-slirp", "vm-tcg"],
                    silent: ["vm-no-sandbox", "vm-qemu-root", "vm-monitor-tcp", "vm-passthrough"])
        // Without --declared nothing is compared.
        #expect(posture.drift == nil)

        // scan --declared, unaltered: no drift against its live domain and qemu.conf.
        let same = try Assess.workload(pid: domain.pid, ["--declared"])
        let none = try #require(same.posture.drift, "not compared: \(same.posture.unknown)")
        #expect(none.isEmpty, "\(none)")
        #expect(!same.rules.contains { $0.hasPrefix("drift-") }, "\(same.summary)")

        // A live domain that keeps VNC local and password-protected, served open by the process:
        // what the status file would say of a guest started with `listen='127.0.0.1' passwd=…`
        // while this qemu serves VNC on every interface without one.
        var text = try String(contentsOfFile: domain.statusFile, encoding: .utf8)
        #expect(text.contains("address='0.0.0.0'"))
        text = text.replacingOccurrences(of: "listen='0.0.0.0'", with: "listen='127.0.0.1' passwd='secret'")
            .replacingOccurrences(of: "address='0.0.0.0'", with: "address='127.0.0.1'")
        try text.write(toFile: domain.statusFile, atomically: true, encoding: .utf8)
        let edited = try Assess.workload(pid: domain.pid, ["--declared"])
        let drift = try #require(edited.posture.drift, "not compared: \(edited.posture.unknown)")
        let exposed = try #require(drift.first { $0.field == "hypervisor.consoles" }, "\(drift)")
        #expect(exposed.declared.hasPrefix("vnc 127.0.0.1:59"), "\(exposed)")
        #expect(exposed.observed.hasPrefix("vnc 0.0.0.0:59"), "\(exposed)")
        #expect(exposed.source == domain.statusFile)
        #expect(drift.contains { $0.field == "hypervisor.consoles.password" }, "\(drift)")
        #expect(drift.allSatisfy { $0.field.hasPrefix("hypervisor.consoles") }, "\(drift)")
        edited.expect(fires: ["drift-console-exposed"], silent: ["drift-hypervisor-sandbox", "drift-hypervisor-user", "drift-namespace"])
    }

    @Test("qemu.conf: the running daemon's file fires the host findings; hardened after the start, the guest drifts from it")
    func qemuConf() throws {
        let weak = """
            # written by LibvirtScanTests: what the host findings on qemu.conf must catch
            vnc_listen = "0.0.0.0"
            seccomp_sandbox = 0
            user = "+0"
            group = "+0"
            """
        let daemon = try LibvirtDaemon.start(qemuConf: weak)
        defer { daemon.stop() }
        // libvirtd reads the file bound over /etc/libvirt/qemu.conf in its own namespace.
        let seen = try String(contentsOfFile: "/proc/\(daemon.libvirtd.pid)/root/etc/libvirt/qemu.conf", encoding: .utf8)
        #expect(seen.contains("seccomp_sandbox = 0"))
        let domain = try daemon.start("conf", devices: "<graphics type='vnc' port='-1' autoport='yes'/>")
        defer { domain.stop() }

        // The host findings about that libvirtd, each with its line of the file.
        let report = try Cloister.scan()
        var found: [String: Finding] = [:]
        for finding in report.findings where finding.workload == "host" && finding.message.hasPrefix("libvirt (pid \(daemon.libvirtd.pid))") {
            found[finding.rule] = finding
        }
        for (rule, line) in [("libvirt-seccomp-sandbox-off", 3), ("libvirt-qemu-user-root", 4), ("libvirt-vnc-listen-unprotected", 2)] {
            let finding = try #require(found[rule], "\(rule) must fire; fired \(found.keys.sorted())")
            #expect(finding.evidence.values.contains { $0.contains("/etc/libvirt/qemu.conf:\(line)") } || finding.message.contains("qemu.conf:\(line)"),
                    "\(rule): \(finding.message) \(finding.evidence)")
        }
        #expect(found["libvirt-security-driver-none"] == nil)

        // The guest libvirt started under it: no sandbox, root, VNC on every interface.
        let started = try Assess.workload(pid: domain.pid, ["--declared"])
        let hypervisor = try #require(started.posture.hypervisor)
        #expect(!hypervisor.sandbox.enabled)
        #expect(started.posture.seccomp?.mode == .disabled)
        #expect(hypervisor.user.uid == 0)
        #expect(hypervisor.consoles.first { $0.kind == "vnc" }?.localOnly == false)
        // As configured: declared and observed agree.
        #expect(started.posture.drift == [], "\(started.posture.drift ?? [])")
        started.expect(fires: ["vm-no-sandbox", "vm-qemu-root", "vm-console-exposed"], silent: ["drift-hypervisor-sandbox"])

        // The operator hardens qemu.conf; the running guest keeps what it was started with.
        try daemon.rewriteQemuConf("# hardened after the guest started\nseccomp_sandbox = 1\n")
        let drifted = try Assess.workload(pid: domain.pid, ["--declared"])
        let drift = try #require(drifted.posture.drift)
        #expect(drift.contains(Drift(field: "hypervisor.sandbox", declared: "on", observed: "off", source: "/etc/libvirt/qemu.conf")), "\(drift)")
        // The live XML records the DAC label libvirt gave (+0:+0): root is what it declares.
        #expect(!drift.contains { $0.field == "hypervisor.user" }, "\(drift)")
        drifted.expect(fires: ["drift-hypervisor-sandbox"], silent: ["drift-hypervisor-user"])
    }

    @Test("check of the live domain XML with --libvirt-qemu-conf settles what qemu.conf decides, as the process shows it")
    func checkWithQemuConf() throws {
        let daemon = try LibvirtDaemon.start(qemuConf: "vnc_sasl = 1\nseccomp_sandbox = 0\n")
        defer { daemon.stop() }
        let domain = try daemon.start("check", devices: "<graphics type='vnc' port='-1' autoport='yes' listen='0.0.0.0'/>")
        defer { domain.stop() }
        // The domain as libvirt runs it, out of its status file.
        let dumped = try daemon.virsh(["dumpxml", domain.name]).stdout
        let file = daemon.directory.appendingPathComponent("live.xml")
        try dumped.write(to: file, atomically: true, encoding: .utf8)
        func check(_ extra: [String]) throws -> Posture {
            let result = try Assess.cloister(["check", "--format", "json"] + extra + [file.path])
            #expect(result.status != 2, "\(result.stderr)")
            let report = try JSONDecoder().decode(CheckReport.self, from: Data(result.stdout.utf8))
            return try #require(report.workloads.first)
        }
        let settled = try check(["--libvirt-qemu-conf", daemon.qemuConf.path])
        let vnc = try #require(settled.hypervisor?.consoles.first { $0.kind == "vnc" })
        #expect(vnc.password == true)
        #expect(settled.hypervisor?.sandbox.enabled == false)
        // The process agrees: -vnc …,sasl=on and -sandbox off in its argv.
        let observed = try Assess.workload(pid: domain.pid).posture
        #expect(observed.hypervisor?.consoles.first { $0.kind == "vnc" }?.password == true)
        #expect(observed.hypervisor?.sandbox.enabled == false)
    }
}
