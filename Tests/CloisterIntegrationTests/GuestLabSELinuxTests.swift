import CloisterModel
import Foundation
import Testing

/// SELinux, live: the same guest booted with `security=selinux` and Debian's reference policy
/// (selinux-policy-default) loaded permissive (GuestLab/selinux.sh). Labels come from a kernel
/// that runs SELinux and are read through libselinux; the module `cloister profile --emit
/// selinux` writes is installed with semodule and containers and a `cloister launch` run in its
/// domain. A test of GuestLabTests so the two boots never run at once.
extension GuestLabTests {
    static let selinuxConsole: Result<Console, Error> = Result { try runLab("selinux.sh", lsm: "selinux") }

    /// `label NAME PID CONTEXT` notes: the kernel's own /proc/PID/attr/current.
    static func kernelLabels(_ console: Console) -> [String: (pid: Int, context: String)] {
        var labels: [String: (pid: Int, context: String)] = [:]
        for note in console.notes where note.hasPrefix("label ") {
            let fields = note.split(separator: " ", maxSplits: 3).map(String.init)
            if fields.count == 4, let pid = Int(fields[2]) { labels[fields[1]] = (pid, fields[3]) }
        }
        return labels
    }

    @Test("the guest kernel runs SELinux with Debian's policy, permissive, and the scan says so",
          .enabled(if: Host.requires(canRunLab), "needs root, qemu, debootstrap, e2fsprogs and test-assets/"))
    func selinuxHostFacts() throws {
        let console = try Self.selinuxConsole.get()
        #expect(console.notes.contains("mode Permissive"), "\(console.notes)")
        let report = try console.report("scan", as: ScanReport.self)
        #expect(report.host.lsms?.contains("selinux") == true, "\(String(describing: report.host.lsms))")
        #expect(report.host.lsms?.contains("apparmor") == false, "\(String(describing: report.host.lsms))")
        #expect(report.host.cgroupVersion == "v2")
    }

    @Test("SELinux labels of podman containers as the kernel reports them, read through libselinux",
          .enabled(if: Host.requires(canRunLab), "needs root, qemu, debootstrap, e2fsprogs and test-assets/"))
    func selinuxLabels() throws {
        let console = try Self.selinuxConsole.get()
        let report = try console.report("scan", as: ScanReport.self)
        let kernel = Self.kernelLabels(console)
        #expect(Set(kernel.keys) == ["se-default", "se-disabled", "se-generated", "se-runc"], "\(console.notes)")
        // Debian's policy has no container module: podman's default contexts (container_t,
        // container_file_t in lxc_contexts) do not exist, and the container cannot start.
        let debian = try #require(console.notes.first { $0.hasPrefix("se-debian failed: ") }, "\(console.notes)")
        #expect(debian.contains("failed to mount shm tmpfs") && debian.contains("invalid argument"), "\(debian)")
        for (name, (pid, context)) in kernel {
            let posture = try #require(report.workloads.first { $0.pid == pid }, "\(name): no workload with pid \(pid)")
            let label = try #require(posture.mac.selinux, "\(name): no SELinux label in the scan")
            #expect(label.context == context, "\(name)")
            // libselinux's split of the context, field by field.
            let parts = context.split(separator: ":", maxSplits: 3).map(String.init)
            #expect([label.user, label.role, label.type, label.level] == parts.map(Optional.some), "\(name): \(label)")
            #expect(posture.mac.apparmor == nil, "\(name)")
        }
        // label=disable: the container runs in podman's own domain (here the kernel's).
        #expect(kernel["se-disabled"]?.context == "system_u:system_r:kernel_t:s0")
        // podman's default (lxc_contexts pointed at the generated module), label=type under crun
        // and runc: the generated domain, each container with its own MCS categories.
        var levels: Set<String> = []
        for name in ["se-default", "se-generated", "se-runc"] {
            let entry = try #require(kernel[name], "\(name): \(console.notes)")
            let posture = try #require(report.workloads.first { $0.pid == entry.pid })
            #expect(posture.mac.selinux?.type == "cloister_guest_web_t", "\(name): \(entry.context)")
            let level = try #require(posture.mac.selinux?.level, "\(name)")
            #expect(level.hasPrefix("s0:c"), "\(name): \(entry.context)")
            levels.insert(level)
        }
        #expect(levels.count == 3, "\(levels)")
        // Permissive: the kernel refuses nothing, so no label confines, the host facts say why,
        // and ct-no-mac fires on every workload.
        #expect(report.host.selinuxEnforcing == false)
        #expect(report.workloads.allSatisfy { $0.mac.selinux?.confined == false })
        let noMAC = Set(report.findings.filter { $0.rule == "ct-no-mac" }.map(\.workload))
        #expect(noMAC == Set(report.workloads.map(\.id)))
        #expect(try workload(report, "se-runc").ociRuntime == "runc")
    }

    @Test("the SELinux module cloister generates installs into Debian's policy; containers and launch --selinux run in its domain",
          .enabled(if: Host.requires(canRunLab), "needs root, qemu, debootstrap, e2fsprogs and test-assets/"))
    func generatedSELinuxModule() throws {
        let console = try Self.selinuxConsole.get()
        #expect(console.notes.contains("semodule installed"), "\(console.notes)")
        #expect(console.notes.contains("module cloister_guest_web"), "\(console.notes)")
        let valid = try #require(console.notes.first { $0.hasPrefix("context valid ") }, "\(console.notes)")
        let domain = String(valid.dropFirst("context valid ".count))
        // launch --selinux: the workload runs in the domain, launch found no drift, the scan agrees.
        #expect(console.notes.contains("launch running"), "\(console.notes)")
        let launched = try #require(console.notes.first { $0.hasPrefix("launch pid ") }, "\(console.notes)")
        let fields = launched.split(separator: " ", maxSplits: 4).map(String.init)
        let pid = try #require(fields.count == 5 ? Int(fields[2]) : nil, "\(launched)")
        #expect(fields[4] == domain, "\(launched)")
        let report = try console.report("scan", as: ScanReport.self)
        let posture = try #require(report.workloads.first { $0.pid == pid }, "no workload with pid \(pid)")
        #expect(posture.runtime == "cloister")
        #expect(posture.mac.selinux?.context == domain)
        let log = try #require(console.notes.first { $0.hasPrefix("launch log: ") })
        #expect(!log.contains("drift"), "\(log)")
        // Permissive: what the domain is not granted is logged, not refused. CAP_DAC_OVERRIDE,
        // which the description does not declare, is among it; CAP_CHOWN, which it does, is not.
        let avc = console.notes.filter { $0.hasPrefix("avc ") && $0.contains("scontext=system_u:system_r:cloister_guest_web_t") }
        #expect(avc.contains { $0.contains("{ dac_override }") && $0.contains("permissive=1") }, "\(avc)")
        #expect(!avc.contains { $0.contains("{ chown }") }, "\(avc)")
    }
}
