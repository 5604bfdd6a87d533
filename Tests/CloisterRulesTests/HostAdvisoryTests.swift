import CloisterModel
import CloisterResourceFiles
import CloisterRules
import Foundation
import Testing

/// CVE rules as data: dpkg's version order (checked against dpkg itself), and the shipped
/// advisories judged against inventories: affected only in range, the distribution's backport
/// honoured, undecided where the version cannot be read or the data cannot decide.
@Suite("Host advisories")
struct HostAdvisoryTests {
    static let advisories: HostAdvisories = {
        do { return try HostAdvisories.load(path: Repository.rulesDirectory + "/" + HostAdvisories.relativePath) } catch {
            fatalError("the shipped advisories do not load:\n\(error.localizedDescription)")
        }
    }()

    static let hasDpkg = FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg")

    static let pairs: [(String, String)] = [
        ("1.1.5+ds1-1+deb12u1", "1.1.5+ds1-1"), ("1.0~rc1", "1.0"), ("1.0", "1.0-0"), ("1:0.9", "2.0"),
        ("2.0-1", "2.0-1~bpo12+1"), ("1.2.3a", "1.2.3"), ("1.2.3+b1", "1.2.3~b1"), ("0010", "10"),
        ("1.6.20~ds1-1+deb12u3", "1.6.20~ds1-1+deb12u2"), ("20.10.24+dfsg1-1+deb12u1+b6", "20.10.24+dfsg1-1+deb12u1"),
        ("5:24.0.7-1~debian.12~bookworm", "20.10.24+dfsg1-1"), ("1.0.0~rc6+dfsg1-3", "1.0.0~rc7"), ("a", "b"),
        ("1.17.8-1", "1.17.7-1"), ("7.2+dfsg-7+deb12u18+b3", "1:7.2+dfsg-7"), ("1.0-a", "1.0-+"), ("~~", "~"),
    ]

    @Test("dpkg's order, as dpkg --compare-versions decides it", .enabled(if: hasDpkg, "needs dpkg"))
    func debianOrderAgainstDpkg() throws {
        for (left, right) in Self.pairs {
            let a = try #require(DebianVersion(left))
            let b = try #require(DebianVersion(right))
            for (op, expected) in [("lt", a < b), ("eq", a == b), ("gt", b < a)] {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/dpkg")
                process.arguments = ["--compare-versions", left, op, right]
                try process.run()
                process.waitUntilExit()
                #expect((process.terminationStatus == 0) == expected, "\(left) \(op) \(right)")
            }
        }
    }

    @Test("what dpkg refuses is no version", arguments: ["", "a:1.0", ":1.0", "1.0 1", "1:", "-1"])
    func invalidVersions(_ text: String) {
        #expect(DebianVersion(text) == nil)
    }

    static func debian12(_ packages: [(String, String, String)]) -> SoftwareInventory {
        SoftwareInventory(
            packageManager: "dpkg", distribution: "debian", distributionVersion: "12",
            components: packages.map { InstalledComponent(component: $0.0, package: $0.1, version: $0.2, source: "dpkg") })
    }

    func status(_ inventory: SoftwareInventory, _ advisory: String, package: String? = nil) -> AdvisoryVerdict.Status? {
        Self.advisories.judge(inventory).first { $0.advisory == advisory && (package == nil || $0.package == package) }?.status
    }

    @Test("Debian 12's runc: the backported fix of CVE-2024-21626 counts; the 2025 CVEs have none")
    func debianRunc() {
        let fixed = Self.debian12([("runc", "runc", "1.1.5+ds1-1+deb12u1")])
        #expect(status(fixed, "CVE-2024-21626") == .notAffected)
        #expect(status(fixed, "CVE-2019-5736") == .notAffected)
        for cve in ["CVE-2025-31133", "CVE-2025-52565", "CVE-2025-52881"] { #expect(status(fixed, cve) == .affected, "\(cve)") }
        let before = Self.debian12([("runc", "runc", "1.1.5+ds1-1")])
        #expect(status(before, "CVE-2024-21626") == .affected)
    }

    @Test("Docker: Debian's docker.io backport, Docker's own docker-ce by upstream range, Ubuntu's build undecided")
    func docker() {
        #expect(status(Self.debian12([("dockerd", "docker.io", "20.10.24+dfsg1-1+deb12u1+b6")]), "CVE-2024-41110") == .notAffected)
        #expect(status(Self.debian12([("dockerd", "docker.io", "20.10.24+dfsg1-1")]), "CVE-2024-41110") == .affected)
        #expect(status(Self.debian12([("dockerd", "docker-ce", "5:24.0.7-1~debian.12~bookworm")]), "CVE-2024-41110") == .affected)
        #expect(status(Self.debian12([("dockerd", "docker-ce", "5:27.1.1-1~debian.12~bookworm")]), "CVE-2024-41110") == .notAffected)
        var ubuntu = Self.debian12([("dockerd", "docker.io", "24.0.5-0ubuntu1~22.04.1")])
        ubuntu.distribution = "ubuntu"
        ubuntu.distributionVersion = "22.04"
        #expect(status(ubuntu, "CVE-2024-41110") == .undecided)
    }

    @Test("NVIDIA Container Toolkit: affected through 1.17.7, fixed in 1.17.8")
    func nvidia() {
        #expect(status(Self.debian12([("nvidia-container-toolkit", "nvidia-container-toolkit", "1.17.7-1")]), "CVE-2025-23266") == .affected)
        #expect(status(Self.debian12([("nvidia-container-toolkit", "nvidia-container-toolkit", "1.17.8-1")]), "CVE-2025-23266") == .notAffected)
        #expect(status(Self.debian12([("nvidia-container-toolkit", "nvidia-container-toolkit", "1.16.1-1")]), "CVE-2024-0132") == .affected)
        #expect(status(Self.debian12([]), "CVE-2025-23266") == .notInstalled)
    }

    @Test("containerd: a branch the sources do not cover is undecided, not clean")
    func containerdBranches() {
        #expect(status(Self.debian12([("containerd", "containerd.io", "1.7.28-1")]), "CVE-2024-25621") == .affected)
        #expect(status(Self.debian12([("containerd", "containerd.io", "2.0.5-1")]), "CVE-2024-25621") == .undecided)
        #expect(status(Self.debian12([("containerd", "containerd.io", "2.2.0-1")]), "CVE-2024-25621") == .notAffected)
        #expect(status(Self.debian12([("containerd", "containerd", "1.6.20~ds1-1+deb12u3")]), "CVE-2024-25621") == .notAffected)
    }

    @Test("an unread version is undecided, never fired")
    func unreadable() {
        let rpm = SoftwareInventory(packageManager: "rpm", distribution: "fedora", distributionVersion: "40",
                                    unknown: ["packages": "the rpm database is not read"])
        let verdicts = Self.advisories.judge(rpm)
        #expect(!verdicts.isEmpty && verdicts.allSatisfy { $0.status == .undecided })
        #expect(Self.advisories.findings(verdicts).isEmpty)
        // A version that is not a Debian version.
        #expect(status(Self.debian12([("runc", "runc", "not a version")]), "CVE-2024-21626") == .undecided)
    }

    @Test("Alpine's own build in an upstream range is undecided (its backports are not in the data)")
    func alpine() {
        let inventory = SoftwareInventory(
            packageManager: "apk", distribution: "alpine", distributionVersion: "3.20.3",
            components: [InstalledComponent(component: "runc", package: "runc", version: "1.1.12-r4", source: "apk")])
        #expect(status(inventory, "CVE-2024-21626") == .notAffected)
        #expect(status(inventory, "CVE-2025-31133") == .undecided)
    }

    @Test("affected verdicts become host findings citing the CVE")
    func findings() throws {
        let verdicts = Self.advisories.judge(Self.debian12([("runc", "runc", "1.1.5+ds1-1")]))
        let findings = Self.advisories.findings(verdicts)
        let finding = try #require(findings.first { $0.rule == "host-cve-2024-21626" })
        #expect(finding.workload == HostAdvisories.hostWorkload)
        #expect(finding.severity == .high)
        #expect(finding.references.contains { $0.source == "cve" && $0.id == "CVE-2024-21626" })
        #expect(finding.evidence["inventory.runc.version"] == "1.1.5+ds1-1")
        #expect(finding.evidence["fixedIn"] == "1.1.5+ds1-1+deb12u1")
        #expect(findings.count == verdicts.filter { $0.status == .affected }.count)
    }

    @Test("a file with a newer version, a bad range or no source is refused with its line")
    func badFiles() {
        #expect(throws: (any Error).self) { try HostAdvisories.parse(yaml: "version: 2\nadvisories: []\n", file: "a.yaml") }
        let badRange = """
            version: 1
            advisories:
              - id: CVE-2000-0001
                component: runc
                severity: high
                title: t
                affected: [{introduced: 1.0}]
                urls: [https://example.org]
            """
        do {
            _ = try HostAdvisories.parse(yaml: badRange, file: "a.yaml")
            Issue.record("a range without `fixed` was accepted")
        } catch {
            #expect("\(error)".contains("a.yaml"))
            #expect("\(error)".contains("fixed"))
        }
    }
}
