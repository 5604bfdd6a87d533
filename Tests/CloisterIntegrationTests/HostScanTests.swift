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
        for finding in report.findings {
            #expect(Set(ids).contains(finding.workload), "finding \(finding.rule) names unknown workload \(finding.workload)")
        }
    }
}
