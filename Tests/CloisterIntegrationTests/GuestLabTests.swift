import CloisterModel
import Foundation
import Testing

/// AppArmor and pure cgroup v2, live: scripts/guest-lab.sh boots a Debian 12 guest (the cloud
/// kernel of test-assets/, AppArmor active, only the unified cgroup hierarchy) under qemu TCG,
/// starts podman containers under crun and runc there, and runs the cloister build under test
/// inside it. What the kernel reports (labels from /proc/PID/attr/current, the limits podman
/// was asked for) is held against what the scan says.
@Suite("guest lab: AppArmor, SELinux and cgroup v2 from a real kernel", .serialized)
struct GuestLabTests {
    static var canRunLab: Bool {
        Host.isRoot && Shell.has("qemu-system-x86_64") && Shell.has("debootstrap") && Shell.has("mke2fs") && Paths.assetsBuilt
    }

    /// The lab's results: the console log, cut into the named base64 blocks and the notes.
    struct Console {
        var blocks: [String: Data] = [:]
        var notes: [String] = []

        init(_ text: String) {
            var current: String?
            var body = ""
            // The serial console ends lines with CR LF, one Character to Swift: split on either.
            for raw in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
                let line = raw.trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
                if let range = line.range(of: "CLOISTER-LAB-BEGIN ") {
                    current = String(line[range.upperBound...])
                    body = ""
                } else if let name = current, line.hasSuffix("CLOISTER-LAB-END \(name)") {
                    body += line.dropLast("CLOISTER-LAB-END \(name)".count)
                    blocks[name] = Data(base64Encoded: body.trimmingCharacters(in: .whitespaces)) ?? Data()
                    current = nil
                } else if current != nil {
                    body += line
                } else if let range = line.range(of: "CLOISTER-LAB-NOTE ") {
                    notes.append(String(line[range.upperBound...]))
                }
            }
        }

        func report<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
            let data = try #require(blocks[name], "no \(name) block in the console")
            return try JSONDecoder().decode(T.self, from: data)
        }
    }

    /// Boots the guest with `lsm` as its major LSM and runs `scenario` (in GuestLab/) inside.
    static func runLab(_ scenario: String, lsm: String) throws -> Console {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("guest-lab-\(lsm)") + ".log")
        let script = Paths.repositoryRoot.appendingPathComponent("Tests/CloisterIntegrationTests/GuestLab/\(scenario)")
        let cloister = try Paths.cloisterExecutable()
        let result = try Shell.run(
            ["env", "CLOISTER_BIN=\(cloister.path)", "LAB_LSM=\(lsm)",
             Paths.repositoryRoot.appendingPathComponent("scripts/guest-lab.sh").path, "run", script.path, log.path],
            timeout: 1500, check: false)
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        guard result.succeeded else {
            throw HarnessError("guest lab did not finish (status \(result.status)): \(result.stderr.suffix(2000)) console: \(text.suffix(3000))")
        }
        return Console(text)
    }

    static let console: Result<Console, Error> = Result { try runLab("mac-cgroupv2.sh", lsm: "apparmor") }

    func workload(_ report: ScanReport, _ name: String) throws -> Posture {
        try #require(report.workloads.first { $0.name == name }, "no workload \(name): \(report.workloads.map(\.name))")
    }

    @Test("the guest kernel runs AppArmor on a unified cgroup hierarchy, and the scan says so",
          .enabled(if: Host.requires(canRunLab), "needs root, qemu, debootstrap, e2fsprogs and test-assets/ (scripts/install-deps.sh, scripts/test-assets.sh)"))
    func hostFacts() throws {
        let report = try Self.console.get().report("scan", as: ScanReport.self)
        #expect(report.host.lsms?.contains("apparmor") == true, "\(String(describing: report.host.lsms))")
        #expect(report.host.cgroupVersion == "v2")
        // A scan inside a guest says so: qemu under TCG, from CPUID and DMI.
        let virtualization = try #require(report.host.virtualization)
        #expect(virtualization.guest, "\(virtualization)")
        #expect(["qemu-tcg", "qemu"].contains(virtualization.hypervisor ?? ""), "\(virtualization)")
    }

    @Test("AppArmor labels as the kernel reports them: podman's default, unconfined, a profile of our own",
          .enabled(if: Host.requires(canRunLab), "needs root, qemu, debootstrap, e2fsprogs and test-assets/"))
    func appArmorLabels() throws {
        let console = try Self.console.get()
        let report = try console.report("scan", as: ScanReport.self)
        for name in ["aa-default", "aa-unconfined", "aa-custom"] {
            // The kernel's own word, printed by the guest from /proc/PID/attr/current.
            let kernel = try #require(console.notes.first { $0.hasPrefix("label \(name) ") }, "no label note for \(name)")
                .dropFirst("label \(name) ".count)
            let posture = try workload(report, name)
            let label = try #require(posture.mac.apparmor, "\(name): no AppArmor label in the scan")
            let shown = label.mode.map { $0 == "unconfined" && label.profile == "unconfined" ? "unconfined" : "\(label.profile) (\($0))" }
            #expect(shown == String(kernel), "\(name): scan \(String(describing: shown)), kernel \(kernel)")
        }
        #expect(try workload(report, "aa-default").mac.apparmor?.profile.hasPrefix("containers-default-") == true)
        #expect(try workload(report, "aa-custom").mac.apparmor?.confined == true)
        #expect(try workload(report, "aa-unconfined").mac.apparmor?.confined == false)
        let noMAC = Set(report.findings.filter { $0.rule == "ct-no-mac" }.map(\.workload))
        #expect(noMAC.contains(try workload(report, "aa-unconfined").id))
        #expect(!noMAC.contains(try workload(report, "aa-default").id))
        #expect(!noMAC.contains(try workload(report, "aa-custom").id))
        // The profile is enforced: its `deny /etc/** w` refuses a write podman's default allows.
        #expect(console.notes.contains("aa-custom write=1"), "\(console.notes)")
        #expect(console.notes.contains("aa-default write=0"), "\(console.notes)")
    }

    @Test("a profile cloister generates, loaded and enforced: the workload does what it declared, what the profile leaves out is refused and the kernel logs it",
          .enabled(if: Host.requires(canRunLab), "needs root, qemu, debootstrap, e2fsprogs and test-assets/"))
    func generatedAppArmorProfileEnforced() throws {
        let console = try Self.console.get()
        #expect(console.notes.contains("generated profile loaded"), "\(console.notes)")
        let report = try console.report("scan", as: ScanReport.self)
        let generated = try workload(report, "aa-generated")
        #expect(generated.mac.apparmor == AppArmorLabel(profile: "cloister_guest_web", mode: "enforce"))
        #expect(console.notes.contains("label aa-generated cloister_guest_web (enforce)"), "\(console.notes)")
        #expect(!report.findings.contains { $0.rule == "ct-no-mac" && $0.workload == generated.id })
        func probe(_ name: String) throws -> [String: String] {
            let line = try #require(console.notes.first { $0.hasPrefix("probe \(name) ") }, "no probe of \(name)")
            return Dictionary(line.dropFirst("probe \(name) ".count).split(separator: " ").compactMap { pair in
                let parts = pair.split(separator: "=", maxSplits: 1)
                return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
            }, uniquingKeysWith: { $1 })
        }
        // The unconfined control, with the same capabilities and mounts, does all four.
        #expect(try probe("aa-generated-control") == ["chown": "0", "read": "0", "sysctl": "0", "tmpwrite": "0"])
        // Under the profile: the declared capability and ordinary writes work; CAP_DAC_OVERRIDE
        // (granted by podman, not declared) and a /proc/sys write are refused.
        #expect(try probe("aa-generated") == ["chown": "0", "read": "1", "sysctl": "1", "tmpwrite": "0"])
        let denied = console.notes.filter { $0.hasPrefix("denied ") }
        #expect(denied.contains { $0.contains("operation=\"capable\"") && $0.contains("capname=\"dac_override\"") }, "\(denied)")
        // The /proc/sys write is refused by an explicit `deny` rule, which AppArmor does not log
        // (deny rules are quiet unless written `audit deny`): the control run shows it is the profile.
        #expect(!denied.contains { $0.contains("capname=\"chown\"") }, "\(denied)")
    }

    @Test("launch --apparmor: the sandbox's workload runs under the profile, launch verifies it and the scan reports it",
          .enabled(if: Host.requires(canRunLab), "needs root, qemu, debootstrap, e2fsprogs and test-assets/"))
    func launchUnderAppArmorProfile() throws {
        let console = try Self.console.get()
        #expect(console.notes.contains("launch running"), "\(console.notes)")
        let kernel = try #require(console.notes.first { $0.hasPrefix("launch pid ") }, "\(console.notes)")
        let fields = kernel.split(separator: " ", maxSplits: 4)
        let pid = try #require(fields.count == 5 ? Int(fields[2]) : nil, "\(kernel)")
        #expect(fields[4] == "cloister_guest_web (enforce)", "\(kernel)")
        let report = try console.report("scan", as: ScanReport.self)
        let launched = try #require(report.workloads.first { $0.pid == pid }, "no workload with pid \(pid)")
        #expect(launched.runtime == "cloister")
        #expect(launched.mac.apparmor == AppArmorLabel(profile: "cloister_guest_web", mode: "enforce"))
        // launch checks the label itself: a drift would have stopped the workload and said so.
        let log = try #require(console.notes.first { $0.hasPrefix("launch log: ") })
        #expect(!log.contains("drift"), "\(log)")
        // The same profile in complain mode refuses nothing: launch reads it back, calls it drift
        // and stops the workload (exit 1).
        #expect(console.notes.contains("launch complain exit 1"), "\(console.notes)")
        let complain = try #require(console.notes.first { $0.hasPrefix("launch complain log: ") })
        #expect(complain.contains("drift: mac.apparmor: expected cloister_guest_web_complain (enforce), observed cloister_guest_web_complain (complain)"), "\(complain)")
        #expect(complain.contains("was stopped"), "\(complain)")
    }

    @Test("cgroup v2 limits of crun and runc containers from the unified hierarchy, as declared",
          .enabled(if: Host.requires(canRunLab), "needs root, qemu, debootstrap, e2fsprogs and test-assets/"))
    func cgroupV2Limits() throws {
        let console = try Self.console.get()
        let report = try console.report("scan", as: ScanReport.self)
        let crun = try #require(try workload(report, "crun-limited").cgroup)
        #expect(crun.memoryMax == .value(96 << 20))
        #expect(crun.pidsMax == .value(60))
        let runc = try #require(try workload(report, "runc-limited").cgroup)
        #expect(runc.memoryMax == .value(64 << 20))
        #expect(runc.pidsMax == .value(50))
        let unlimited = try workload(report, "aa-default")
        #expect(report.findings.contains { $0.rule == "ct-no-memory-limit" && $0.workload == unlimited.id })
        #expect(!report.findings.contains { $0.rule == "ct-no-memory-limit" && $0.workload == (try? workload(report, "crun-limited").id) })
        // Engine and runtime are both facts: podman manages both, crun and runc created them,
        // and the runc-only rule reads the runtime.
        #expect(try workload(report, "crun-limited").ociRuntime == "crun")
        #expect(try workload(report, "runc-limited").ociRuntime == "runc")
        let runcRule = Set(report.findings.filter { $0.rule == "esc-runc-exposure" }.map(\.workload))
        #expect(runcRule.contains(try workload(report, "runc-limited").id))
        #expect(!runcRule.contains(try workload(report, "crun-limited").id))
        // check of the config.json podman wrote for each gives the same limits.
        for (name, live) in [("crun-limited", crun), ("runc-limited", runc)] {
            let declared = try console.report("check-\(name)", as: CheckReport.self)
            let posture = try #require(declared.workloads.first)
            #expect(posture.cgroup?.memoryMax == live.memoryMax, "\(name)")
            #expect(posture.cgroup?.pidsMax == live.pidsMax, "\(name)")
        }
    }
}
