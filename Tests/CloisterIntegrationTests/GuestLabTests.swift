import CloisterModel
import Foundation
import Testing

/// AppArmor and pure cgroup v2, live: scripts/guest-lab.sh boots a Debian 12 guest (the cloud
/// kernel of test-assets/, AppArmor active, only the unified cgroup hierarchy) under qemu TCG,
/// starts podman containers under crun and runc there, and runs the cloister build under test
/// inside it. What the kernel reports (labels from /proc/PID/attr/current, the limits podman
/// was asked for) is held against what the scan says.
@Suite("guest lab: AppArmor and cgroup v2 from a real kernel", .serialized)
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

    static let console: Result<Console, Error> = Result {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("guest-lab") + ".log")
        let scenario = Paths.repositoryRoot.appendingPathComponent("Tests/CloisterIntegrationTests/GuestLab/mac-cgroupv2.sh")
        let cloister = try Paths.cloisterExecutable()
        let result = try Shell.run(
            ["env", "CLOISTER_BIN=\(cloister.path)", Paths.repositoryRoot.appendingPathComponent("scripts/guest-lab.sh").path,
             "run", scenario.path, log.path], timeout: 1500, check: false)
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        guard result.succeeded else {
            throw HarnessError("guest lab did not finish (status \(result.status)): \(result.stderr.suffix(2000)) console: \(text.suffix(3000))")
        }
        return Console(text)
    }

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
