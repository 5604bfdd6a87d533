import CloisterModel
import Foundation
import Testing

/// `cloister scan --format json` without `--pid`: the whole host, its facts, every workload.
@Suite("whole-host scan", .serialized)
struct HostScanTests {
    /// What /sys/fs/cgroup is: `v2` (cgroup2 at the top), `hybrid` (v1 controllers and a
    /// cgroup2 at unified/), or `v1`.
    static func cgroupLayout() throws -> String {
        func filesystem(_ path: String) throws -> String {
            try Shell.run(["stat", "-f", "-c", "%T", path], check: false).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if try filesystem("/sys/fs/cgroup") == "cgroup2fs" { return "v2" }
        return try filesystem("/sys/fs/cgroup/unified") == "cgroup2fs" ? "hybrid" : "v1"
    }

    @Test("host facts and every workload, with findings pointing at reported workloads", .needsPodman, .needsBubblewrap)
    func wholeHost() throws {
        let container = try PodmanContainer.run("host-scan")
        defer { container.stop() }
        let sandbox = try Bubblewrap.start("host-scan-bwrap")
        defer { sandbox.stop() }

        let report = try Cloister.scan()
        #expect(report.schema == ScanReport.schemaID)
        #expect(report.tool.name == "cloister")
        #expect(report.host.kvm.present == FileManager.default.fileExists(atPath: "/dev/kvm"))
        #expect(report.host.kvm.usable == Host.kvmUsable)
        #expect(report.host.cgroupVersion == (try Self.cgroupLayout()))
        let release = try String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(report.host.kernel?.contains(release) == true || report.host.kernelVersion?.contains(release) == true)
        // In a guest or not, as the CPU flags the kernel exports say (this host is a KVM guest).
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flagged = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").contains("hypervisor") == true
        let virtualization = try #require(report.host.virtualization)
        #expect(virtualization.guest == flagged, "\(virtualization)")
        if flagged { #expect(virtualization.cpuidSignature != nil && virtualization.hypervisor != nil, "\(virtualization)") }

        let podman = report.workloads.first { $0.runtime == "podman" && $0.name == container.name }
        #expect(podman != nil, "the podman container \(container.name) is missing from the scan")
        let bwrap = report.workloads.first { $0.runtime == "bubblewrap" && $0.processes.contains(Int(sandbox.pid)) }
        #expect(bwrap != nil, "the bwrap sandbox (pid \(sandbox.pid)) is missing from the scan")

        // Identifiers are unique, and every finding names a workload that the report holds.
        let ids = report.workloads.map(\.id)
        #expect(Set(ids).count == ids.count)
        // Host findings are not workload findings: they name the host.
        for finding in report.findings where finding.workload != "host" {
            #expect(Set(ids).contains(finding.workload), "finding \(finding.rule) names unknown workload \(finding.workload)")
        }
        try Self.expectHostAdvisories(report)
    }

    /// The running kernel as cloister reads it, every kernel advisory judged against it, and
    /// none fired unless the kernel's version can be told. This host (a Firecracker guest with a
    /// custom 6.18 kernel, `6.18.44-fc-v…`) is undecided on every one, each an issue naming why.
    @Test("kernel advisories on this host: the running kernel's real version, or undecided with why")
    func kernelAdvisories() throws {
        let report = try Cloister.scan()
        let release = try String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let version = try String(contentsOfFile: "/proc/sys/kernel/version", encoding: .utf8)
        let build = try #require(report.host.kernelBuild)
        #expect(build.release == release)
        let kernelVerdicts = (report.host.advisories ?? []).filter { $0.component == "kernel" }
        #expect(kernelVerdicts.count >= 6, "\(kernelVerdicts.map(\.advisory))")
        if version.contains(" Debian ") {
            #expect(build.kind == .debian)
            #expect(build.packageVersion.map { version.contains($0) } == true)
        } else if release.allSatisfy({ $0.isNumber || $0 == "." }) {
            #expect(build.kind == .vanilla)
        } else {
            #expect(build.kind == .unknown, "\(build)")
            #expect(kernelVerdicts.allSatisfy { $0.status == .undecided && $0.reason.contains(release) })
            #expect(!report.findings.contains { finding in kernelVerdicts.contains { "host-" + $0.advisory.lowercased() == finding.rule } })
        }
        // Whatever the kernel: an affected verdict is a host finding, an undecided one an issue.
        for verdict in kernelVerdicts {
            let rule = "host-" + verdict.advisory.lowercased()
            #expect(report.findings.contains { $0.rule == rule && $0.workload == "host" } == (verdict.status == .affected), "\(rule)")
            if verdict.status == .undecided {
                #expect(report.issues.contains { $0.workload == "host" && $0.message.hasPrefix(verdict.advisory) })
            }
        }
    }

    /// The inventory read from this host's dpkg database, every advisory judged, and each
    /// affected one a host finding (and only those).
    static func expectHostAdvisories(_ report: ScanReport) throws {
        let inventory = try #require(report.host.inventory)
        #expect(inventory.packageManager == "dpkg")
        let runc = try #require(inventory.components.first { $0.component == "runc" && $0.package == "runc" })
        let dpkg = try Shell.run(["dpkg-query", "-W", "-f=${Version}", "runc"]).stdout
        #expect(runc.version == dpkg)
        let verdicts = try #require(report.host.advisories)
        #expect(verdicts.contains { $0.advisory == "CVE-2024-21626" && $0.package == "runc" })
        let hostFindings = report.findings.filter { $0.workload == "host" && $0.rule.hasPrefix("host-cve-") }
        let affected = verdicts.filter { $0.status == .affected }
        #expect(hostFindings.count == affected.count)
        for verdict in affected {
            #expect(hostFindings.contains { $0.rule == "host-" + verdict.advisory.lowercased() }, "\(verdict.advisory)")
        }
        for verdict in verdicts where verdict.status == .undecided {
            #expect(report.issues.contains { $0.workload == "host" && $0.message.hasPrefix(verdict.advisory) })
        }
    }
}
