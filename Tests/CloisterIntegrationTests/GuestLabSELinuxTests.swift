import CloisterModel
import Foundation
import Testing

/// SELinux, live: the same guest booted with `security=selinux` and Debian's reference policy
/// (selinux-policy-default) loaded enforcing (GuestLab/selinux.sh). Labels come from a kernel
/// that runs SELinux and are read through libselinux; the module `cloister profile --emit
/// selinux` writes is installed with semodule, containers and a `cloister launch` run in its
/// domain, and what the module leaves out is refused. A test of GuestLabTests so the two boots
/// never run at once.
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

    @Test("the guest kernel runs SELinux with Debian's policy, enforcing, and the scan says so",
          .enabled(if: Host.requires(canRunLab), "needs root, qemu, debootstrap, e2fsprogs and test-assets/"))
    func selinuxHostFacts() throws {
        let console = try Self.selinuxConsole.get()
        #expect(console.notes.contains("mode Enforcing"), "\(console.notes)")
        let report = try console.report("scan", as: ScanReport.self)
        #expect(report.host.selinuxEnforcing == true)
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
        #expect(Set(kernel.keys) == ["se-default", "se-disabled", "se-generated", "se-runc", "se-lax"], "\(console.notes)")
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
        // Enforcing: the generated domain confines; the kernel's domain (label=disable) does not,
        // nor does a domain the policy makes permissive (the kernel's access decision says so),
        // and ct-no-mac fires on those two containers only.
        #expect(report.host.selinuxEnforcing == true)
        for name in ["se-default", "se-generated", "se-runc"] {
            #expect(try workload(report, name).mac.selinux?.confined == true, "\(name)")
            #expect(try workload(report, name).mac.selinux?.permissiveDomain == false, "\(name)")
        }
        #expect(try workload(report, "se-disabled").mac.selinux?.confined == false)
        let lax = try workload(report, "se-lax")
        #expect(lax.mac.selinux?.type == "cloister_guest_lax_t")
        #expect(lax.mac.selinux?.permissiveDomain == true)
        #expect(lax.mac.selinux?.confined == false)
        // The kernel's own word that it is permissive: what it was not granted is logged, allowed.
        #expect(console.notes.contains { $0.hasPrefix("avc-other ") && $0.contains("scontext=system_u:system_r:cloister_guest_lax_t") && $0.contains("permissive=1") }, "\(console.notes)")
        let noMAC = Set(report.findings.filter { $0.rule == "ct-no-mac" }.map(\.workload))
        #expect(noMAC == [try workload(report, "se-disabled").id, lax.id], "\(noMAC)")
        #expect(try workload(report, "se-runc").ociRuntime == "runc")
    }

    /// `probe NAME key=status …` notes: the exit status of each access the probe tried.
    static func probe(_ console: Console, _ name: String) throws -> [String: String] {
        let line = try #require(console.notes.first { $0.hasPrefix("probe \(name) ") }, "no probe of \(name): \(console.notes)")
        return Dictionary(line.dropFirst("probe \(name) ".count).split(separator: " ").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }, uniquingKeysWith: { first, _ in first })
    }

    @Test("the SELinux module cloister generates, enforced: containers and launch --selinux run in its domain, what it leaves out is refused and the kernel logs it",
          .enabled(if: Host.requires(canRunLab), "needs root, qemu, debootstrap, e2fsprogs and test-assets/"))
    func generatedSELinuxModuleEnforced() throws {
        let console = try Self.selinuxConsole.get()
        #expect(console.notes.contains("mode Enforcing"), "\(console.notes)")
        #expect(console.notes.contains("semodule installed"), "\(console.notes)")
        #expect(console.notes.contains("module cloister_guest_web"), "\(console.notes)")
        #expect(console.notes.contains("rootfs label system_u:object_r:cloister_guest_web_file_t:s0"), "\(console.notes)")
        let valid = try #require(console.notes.first { $0.hasPrefix("context valid ") }, "\(console.notes)")
        let domain = String(valid.dropFirst("context valid ".count))
        #expect(domain == "system_u:system_r:cloister_guest_web_t:s0")
        // The domain is entered only from its own file type: a host program is refused.
        let hostEntry = try #require(console.notes.first { $0.hasPrefix("host entrypoint ") }, "\(console.notes)")
        #expect(hostEntry.hasPrefix("host entrypoint refused: ") && hostEntry.contains("Permission denied"), "\(hostEntry)")

        // As root in the generated domain and in a control without a label of its own (the same
        // capabilities and mounts): what the description declares works, the rest is refused.
        let generated = try Self.probe(console, "se-generated")
        let control = try Self.probe(console, "se-disabled")
        #expect(control == ["chown": "0", "read": "0", "hostfile": "0", "tmpwrite": "0"], "\(control)")
        #expect(generated["chown"] == "0", "CAP_CHOWN is declared: \(generated)")
        #expect(generated["tmpwrite"] == "0", "its own files: \(generated)")
        #expect(generated["read"] == "1", "CAP_DAC_OVERRIDE is not declared: \(generated)")
        #expect(generated["hostfile"] == "1", "a host file of another type: \(generated)")

        // The kernel's own record of each refusal, enforcing (permissive=0), and nothing else: no
        // denial of what the containers and the sandbox needed to start, run and write out.
        let hostFileType = try #require(console.notes.first { $0.hasPrefix("host file label ") }?
            .split(separator: ":").dropFirst(2).first.map(String.init), "\(console.notes)")
        let avc = console.notes.filter { $0.hasPrefix("avc ") && $0.contains("scontext=system_u:system_r:cloister_guest_web_t") }
        #expect(avc.allSatisfy { $0.contains("permissive=0") }, "\(avc)")
        let dacOverride = avc.filter { $0.contains("{ dac_override }") && $0.contains("comm=\"cat\"") && $0.contains("tclass=capability") }
        let hostRead = avc.filter { $0.contains("{ read }") && $0.contains("name=\"cloister-host-data\"") && $0.contains("tcontext=system_u:object_r:\(hostFileType):s0") }
        let hostProgram = avc.filter { $0.contains("{ entrypoint }") && $0.contains("path=\"/usr/bin/true\"") && $0.contains("tcontext=system_u:object_r:bin_t:s0") }
        #expect(dacOverride.count == 1 && hostRead.count == 1 && hostProgram.count == 1, "\(avc)")
        #expect(avc.count == 3, "denials beyond the three refusals asked for: \(avc)")
        #expect(!avc.contains { $0.contains("{ chown }") }, "\(avc)")

        // launch --selinux: the workload runs enforcing in the domain, launch found no drift, and
        // the scan says its label confines.
        #expect(console.notes.contains("launch running"), "\(console.notes)")
        let launched = try #require(console.notes.first { $0.hasPrefix("launch pid ") }, "\(console.notes)")
        let fields = launched.split(separator: " ", maxSplits: 4).map(String.init)
        let pid = try #require(fields.count == 5 ? Int(fields[2]) : nil, "\(launched)")
        #expect(fields[4] == domain, "\(launched)")
        let report = try console.report("scan", as: ScanReport.self)
        let posture = try #require(report.workloads.first { $0.pid == pid }, "no workload with pid \(pid)")
        #expect(posture.runtime == "cloister")
        #expect(posture.mac.selinux?.context == domain)
        #expect(posture.mac.selinux?.confined == true)
        #expect(!report.findings.contains { $0.rule == "ct-no-mac" && $0.workload == posture.id })
        let log = try #require(console.notes.first { $0.hasPrefix("launch log: ") })
        #expect(!log.contains("drift"), "\(log)")
    }
}
