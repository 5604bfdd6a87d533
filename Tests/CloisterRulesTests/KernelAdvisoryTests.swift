import CloisterModel
import CloisterRules
import Foundation
import Testing

/// Container-relevant kernel CVEs: the running kernel's real version (Debian's package version
/// from its version string, a vanilla release, or undecided with why) against the shipped
/// ranges, and the host facts that decide whether a container reaches the flaw.
@Suite("Kernel advisories")
struct KernelAdvisoryTests {
    static let advisories = HostAdvisoryTests.advisories
    static let kernelCVEs = ["CVE-2021-22555", "CVE-2022-0185", "CVE-2022-0492", "CVE-2022-0847", "CVE-2023-0386", "CVE-2024-1086"]

    /// Captured inside the guest lab from Debian 12's cloud kernel (`linux-image-6.1.0-57-cloud-amd64`
    /// 6.1.192-3): /proc/sys/kernel/{osrelease,version}, as Tests/CloisterInspectTests/Fixtures holds them.
    static func capturedDebian() throws -> (release: String, version: String) {
        let here = #filePath
        let fixture = here[..<here.lastIndex(of: "/")!] + "/../CloisterInspectTests/Fixtures/guest-apparmor-v2/proc/sys/kernel/"
        let release = try String(contentsOfFile: fixture + "osrelease", encoding: .utf8)
        let version = try String(contentsOfFile: fixture + "version", encoding: .utf8)
        return (release.trimmingCharacters(in: .newlines), version.trimmingCharacters(in: .newlines))
    }

    /// /proc/version of the same kernel, captured by booting test-assets/vmlinuz (Debian's
    /// linux-image-6.1.0-57-cloud-amd64 6.1.192-3) under qemu TCG with the busybox initramfs and
    /// `cat /proc/version`: its compiler part names another Debian version (gcc's), which must not
    /// be taken for the kernel's.
    static let debianProcVersion =
        "Linux version 6.1.0-57-cloud-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)"

    static func verdicts(_ build: KernelBuild?, userNamespaces: Bool? = nil, data: HostAdvisories = advisories) -> [String: AdvisoryVerdict] {
        var host = HostFacts()
        host.kernelBuild = build
        host.unprivilegedUserNamespaces = userNamespaces
        let judged = data.judge(SoftwareInventory(packageManager: "dpkg", distribution: "debian", distributionVersion: "12"), host: host)
        return Dictionary(judged.filter { $0.component == "kernel" }.map { ($0.advisory, $0) }, uniquingKeysWith: { first, _ in first })
    }

    static func vanilla(_ release: String) -> KernelBuild {
        KernelBuild.identify(release: release, version: "#1 SMP PREEMPT_DYNAMIC Mon Nov 20 10:00:00 UTC 2023")
    }

    // MARK: Which kernel runs

    @Test("Debian's kernel: the package version from the captured version string, not uname -r's ABI name")
    func debianCaptured() throws {
        let captured = try Self.capturedDebian()
        #expect(captured.release == "6.1.0-57-cloud-amd64")
        let build = KernelBuild.identify(release: captured.release, version: captured.version)
        #expect(build.kind == .debian)
        #expect(build.packageVersion == "6.1.192-3")
        #expect(build.upstream == "6.1.192")
        // The same from /proc/version's whole line, whose gcc is "Debian 12.2.0-14+deb12u1".
        let fromProcVersion = KernelBuild.identify(release: captured.release, version: Self.debianProcVersion)
        #expect(fromProcVersion.packageVersion == "6.1.192-3")
        // The kernel image's own header string (test-assets/vmlinuz) says the same.
        let header = "6.1.0-57-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)"
        #expect(KernelBuild.identify(release: captured.release, version: header).packageVersion == "6.1.192-3")
    }

    @Test("Debian formats: a backport, an older release, a mismatched branch")
    func debianFormats() {
        let backport = KernelBuild.identify(release: "6.10.11+bpo-amd64", version: "#1 SMP PREEMPT_DYNAMIC Debian 6.10.11-1~bpo12+1 (2024-10-03)")
        #expect(backport.kind == .debian && backport.upstream == "6.10.11")
        let buster = KernelBuild.identify(release: "4.19.0-21-amd64", version: "#1 SMP Debian 4.19.249-2 (2022-06-30)")
        #expect(buster.kind == .debian && buster.packageVersion == "4.19.249-2")
        let mismatch = KernelBuild.identify(release: "6.1.0-28-amd64", version: "#1 SMP Debian 5.10.226-1 (2024-10-03)")
        #expect(mismatch.kind == .unknown)
        #expect(mismatch.reason.contains("different branches"))
    }

    @Test("a vanilla release is upstream's; a compiler from Debian does not make it Debian's")
    func vanillaReleases() {
        #expect(Self.vanilla("6.6.1").kind == .vanilla)
        #expect(Self.vanilla("6.8-rc3").upstream == "6.8-rc3")
        #expect(Self.vanilla("6.8").kind == .vanilla)
        let built = KernelBuild.identify(
            release: "6.6.1",
            version: "Linux version 6.6.1 (user@build) (gcc (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Mon Nov 20 10:00:00 UTC 2023")
        #expect(built.kind == .vanilla && built.upstream == "6.6.1" && built.packageVersion == nil)
    }

    @Test("this host's kernel: what cloister makes of it without guessing")
    func thisHost() throws {
        let release = try String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)
        let version = try String(contentsOfFile: "/proc/sys/kernel/version", encoding: .utf8)
        let build = KernelBuild.identify(release: release, version: version)
        let trimmed = release.trimmingCharacters(in: .whitespacesAndNewlines)
        if version.contains(" Debian ") {
            #expect(build.kind == .debian, "\(build)")
        } else if trimmed.allSatisfy({ $0.isNumber || $0 == "." }) {
            #expect(build.kind == .vanilla, "\(build)")
        } else {
            // A custom build (this Firecracker guest: 6.18.44-fc-v1272): unknown, named by its suffix.
            #expect(build.kind == .unknown, "\(build)")
            #expect(build.packageVersion == nil && build.upstream == nil)
            if let base = build.base { #expect(build.reason.contains(String(trimmed.dropFirst(base.count))), "\(build.reason)") }
            let judged = Self.verdicts(build)
            #expect(judged.count == Self.kernelCVEs.count)
            #expect(judged.values.allSatisfy { $0.status == .undecided }, "\(judged.values.map(\.reason))")
            #expect(Self.advisories.findings(Array(judged.values)).isEmpty)
        }
    }

    @Test("Ubuntu, Red Hat, Fedora and custom builds are unknown, with why",
          arguments: [
              ("5.15.0-91-generic", "#101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023", "Ubuntu"),
              ("5.14.0-362.8.1.el9_3.x86_64", "#1 SMP PREEMPT_DYNAMIC Tue Nov 7 14:54:22 EST 2023", "Red Hat"),
              ("6.5.6-300.fc39.x86_64", "#1 SMP PREEMPT_DYNAMIC Fri Oct  6 19:57:21 UTC 2023", "Fedora"),
              ("6.18.44-fc-v1272", "#1 SMP PREEMPT_DYNAMIC @0", "-fc-v1272"),
              ("6.6.1+", "#2 SMP Mon Nov 20 10:00:00 UTC 2023", "+"),
          ])
    func unknownBuilds(_ release: String, _ version: String, _ named: String) {
        let build = KernelBuild.identify(release: release, version: version)
        #expect(build.kind == .unknown)
        #expect(build.reason.contains(named), "\(build.reason)")
        #expect(Self.verdicts(build).values.allSatisfy { $0.status == .undecided })
    }

    @Test("an unread release or version is undecided, never fired")
    func unreadable() {
        #expect(KernelBuild.identify(release: nil, version: nil).kind == .unknown)
        #expect(KernelBuild.identify(release: "", version: "#1 SMP Debian 6.1.119-1 (2024-11-22)").kind == .unknown)
        for verdict in Self.verdicts(nil).values {
            #expect(verdict.status == .undecided)
            #expect(verdict.reason.contains("not read"))
        }
    }

    @Test("hostile version strings (a captured tree's files) never crash and never make a kernel Debian's or upstream's",
          arguments: [
              ("6.1.0-28-amd64", "#1 SMP Debian"), ("6.1.0-28-amd64", "Debian Debian Debian"), ("6.1.0-28-amd64", "#1 Debian 6.1:"),
              ("6.1.0-28-amd64", "Linux version #"), ("6.1.0-28-amd64", String(repeating: "Debian 9", count: 10_000)),
              ("6.1.0-28-amd64", "#1 Debian 6.1.119-1\u{0}6.1.200-1"), ("...", "#1"), ("6.", "#1"), ("6.1.-1", "#1"),
              (String(repeating: "9", count: 5_000) + ".1", "#1"), ("6.1 evil", "#1 SMP"), ("ǅ.1", "#1"), ("6.1\u{1b}[2J", "#1"),
          ])
    func hostileStrings(_ release: String, _ version: String) {
        let build = KernelBuild.identify(release: release, version: version)
        #expect(build.kind == .unknown, "\(build)")
        #expect(Self.verdicts(build).values.allSatisfy { $0.status == .undecided })
    }

    // MARK: Judging

    @Test("the captured Debian 6.1.192-3 is past every 6.1 fix")
    func debianPastFixes() throws {
        let captured = try Self.capturedDebian()
        let judged = Self.verdicts(KernelBuild.identify(release: captured.release, version: captured.version))
        #expect(judged.count == Self.kernelCVEs.count)
        for cve in Self.kernelCVEs { #expect(judged[cve]?.status == .notAffected, "\(cve): \(judged[cve]?.reason ?? "none")") }
        #expect(judged["CVE-2024-1086"]?.package == "linux")
        #expect(judged["CVE-2024-1086"]?.installed == "6.1.192-3")
    }

    @Test("an old Debian 12 kernel: CVE-2024-1086 decided by bookworm's 6.1.76-1; another branch in range is undecided")
    func debianShippedFix() throws {
        let old = KernelBuild.identify(release: "6.1.0-12-amd64", version: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.52-1 (2023-09-07)")
        let judged = Self.verdicts(old)
        let verdict = try #require(judged["CVE-2024-1086"])
        #expect(verdict.status == .affected)
        #expect(verdict.fixed == "6.1.76-1")
        #expect(judged["CVE-2023-0386"]?.status == .notAffected)
        let fixed = KernelBuild.identify(release: "6.1.0-18-amd64", version: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)")
        #expect(Self.verdicts(fixed)["CVE-2024-1086"]?.status == .notAffected)
        // A bookworm backport of 6.6 is not the 6.1 entry's branch: upstream's range, where Debian may have fixed it first.
        let backport = KernelBuild.identify(release: "6.6.13+bpo-amd64", version: "#1 SMP PREEMPT_DYNAMIC Debian 6.6.13-1~bpo12+1 (2024-02-10)")
        let undecided = try #require(Self.verdicts(backport)["CVE-2024-1086"])
        #expect(undecided.status == .undecided)
        #expect(undecided.reason.contains("no Debian fixed version"))
    }

    @Test("Debian's fixed version decides its own branch, and only that branch")
    func debianFixedVersion() throws {
        let data = try HostAdvisories.parse(yaml: """
            version: 1
            advisories:
              - id: CVE-2024-1086
                component: kernel
                severity: high
                title: nf_tables
                affected: [{introduced: "6.1", fixed: 6.1.76}, {introduced: "5.10", fixed: 5.10.209}]
                distributions:
                  - {distribution: debian, release: "12", packages: [linux], fixed: 6.1.76-1, source: https://security-tracker.debian.org/tracker/CVE-2024-1086}
                urls: [https://nvd.nist.gov/vuln/detail/CVE-2024-1086]
            """, file: "kernel.yaml")
        func status(_ package: String, _ release: String) -> AdvisoryVerdict.Status? {
            Self.verdicts(KernelBuild.identify(release: release, version: "#1 SMP PREEMPT_DYNAMIC Debian \(package) (2024-01-01)"), data: data)["CVE-2024-1086"]?.status
        }
        #expect(status("6.1.69-1", "6.1.0-17-amd64") == .affected)
        #expect(status("6.1.76-1", "6.1.0-18-amd64") == .notAffected)
        // Bullseye's linux-6.1 is not bookworm's package: its own version sorts below 6.1.76-1,
        // so the bookworm entry does not judge it; upstream does.
        #expect(status("6.1.76-1~deb11u1", "6.1.0-0.deb11.17-amd64") == .notAffected)
        #expect(status("6.1.69-1~deb11u1", "6.1.0-0.deb11.16-amd64") == .undecided)
        // Bullseye's 5.10 is not the 6.1 entry's branch: upstream decides, and in range Debian may have fixed it.
        #expect(status("5.10.205-2", "5.10.0-27-amd64") == .undecided)
        #expect(status("5.10.209-2", "5.10.0-28-amd64") == .notAffected)
    }

    @Test("a vanilla kernel against the per-branch ranges", arguments: [
        ("6.1.70", "CVE-2024-1086", AdvisoryVerdict.Status.affected), ("6.1.76", "CVE-2024-1086", .notAffected),
        ("6.7.2", "CVE-2024-1086", .affected), ("6.8-rc1", "CVE-2024-1086", .affected), ("6.8", "CVE-2024-1086", .notAffected),
        ("5.10.200", "CVE-2024-1086", .undecided), ("6.0.5", "CVE-2024-1086", .undecided), ("3.14", "CVE-2024-1086", .notAffected),
        ("5.10.101", "CVE-2022-0847", .affected), ("5.10.102", "CVE-2022-0847", .notAffected), ("5.13.19", "CVE-2022-0847", .undecided),
        ("5.4.300", "CVE-2022-0847", .notAffected), ("5.16.10", "CVE-2022-0847", .affected),
        ("5.17-rc2", "CVE-2022-0492", .affected), ("5.17", "CVE-2022-0492", .notAffected), ("4.19.228", "CVE-2022-0492", .affected),
        ("6.1.8", "CVE-2023-0386", .affected), ("6.1.9", "CVE-2023-0386", .notAffected), ("5.10.200", "CVE-2023-0386", .notAffected),
        ("5.11.22", "CVE-2021-22555", .affected), ("5.12", "CVE-2021-22555", .notAffected), ("5.16.1", "CVE-2022-0185", .affected),
    ])
    func vanillaRanges(_ release: String, _ cve: String, _ expected: AdvisoryVerdict.Status) {
        #expect(Self.verdicts(Self.vanilla(release))[cve]?.status == expected, "\(release) \(cve)")
    }

    @Test("the host's user-namespace setting carried into the finding, lowering what a container cannot reach")
    func conditions() throws {
        let build = Self.vanilla("6.1.70")
        for (userNamespaces, severity) in [(true, Severity.high), (false, .medium)] {
            let judged = Self.verdicts(build, userNamespaces: userNamespaces)
            let verdict = try #require(judged["CVE-2024-1086"])
            #expect(verdict.conditionMet == userNamespaces)
            let finding = try #require(Self.advisories.findings([verdict]).first)
            #expect(finding.severity == severity)
            #expect(finding.workload == HostAdvisories.hostWorkload)
            #expect(finding.evidence["host.unprivilegedUserNamespaces"] == String(userNamespaces))
            #expect(finding.message.contains("user namespace"))
            #expect(finding.evidence["host.kernelBuild.release"] == "6.1.70")
        }
        // Unknown: stated, severity kept.
        let unknown = try #require(Self.verdicts(build)["CVE-2024-1086"])
        #expect(unknown.conditionMet == nil)
        #expect(Self.advisories.findings([unknown]).first?.severity == .high)
        // Dirty Pipe needs nothing more.
        let dirtyPipe = try #require(Self.verdicts(Self.vanilla("5.16.10"), userNamespaces: false)["CVE-2022-0847"])
        #expect(dirtyPipe.condition == nil)
        #expect(Self.advisories.findings([dirtyPipe]).first?.severity == .high)
    }

    @Test("every kernel advisory cites a source and says where its figures came from")
    func shippedData() {
        let kernel = Self.advisories.advisories.filter { $0.component == "kernel" }
        #expect(Set(kernel.map(\.id)) == Set(Self.kernelCVEs))
        for advisory in kernel {
            #expect(advisory.note?.contains("NVD") == true, "\(advisory.id)")
            #expect(advisory.urls.contains("https://nvd.nist.gov/vuln/detail/\(advisory.id)"), "\(advisory.id)")
        }
    }

    @Test("a condition naming a fact the scanner does not read is refused")
    func badCondition() {
        #expect(throws: (any Error).self) {
            try HostAdvisories.parse(yaml: """
                version: 1
                advisories:
                  - id: CVE-2000-0001
                    component: kernel
                    severity: high
                    title: t
                    affected: [{fixed: "5.0"}]
                    condition: {fact: moduleLoaded, text: x}
                    urls: [https://example.org]
                """, file: "a.yaml")
        }
    }
}
