import CloisterModel
import Foundation
import Testing

/// `cloister check --qemu -- ARGV` of the command line a running guest was started with (read
/// back from /proc/PID/cmdline) and `cloister scan --pid` of that guest decide the same rules:
/// one side fires a rule only where the other fires it too or lists it as not decided (what a
/// command line cannot say: the capabilities and user of whoever starts qemu).
@Suite("a qemu guest's own argv and the running guest: the same rules", .serialized, .needsQemu)
struct QemuDeclaredTests {
    static let cases: [QemuOptions] = [
        QemuOptions(label: "declared-exposed", accelerator: .tcg, vncDisplay: 7, monitorPort: 4598, userNetwork: true, machine: "q35"),
        QemuOptions(label: "declared-sandboxed", accelerator: .tcg, sandbox: true, machine: "q35"),
        QemuOptions(label: "declared-pc-floppy", accelerator: .tcg, floppy: true),
    ]

    @Test("check of /proc/PID/cmdline and scan --pid", arguments: cases.indices)
    func sameRules(_ index: Int) throws {
        let guest = try QemuGuest(Self.cases[index])
        defer { guest.stop() }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(guest.pid)/cmdline"))
        let argv = bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        #expect(argv.count > 4)

        let result = try Cloister.run(["check", "--format", "json", "--qemu", "--"] + argv)
        let declared = try JSONDecoder().decode(CheckReport.self, from: Data(result.stdout.utf8))
        let declaredPosture = try #require(declared.workloads.first)
        let live = try Cloister.scan(pid: guest.pid)
        let observedPosture = try #require(live.workloads.first)

        let declaredSide = PodmanDeclaredTests.Side(findings: declared.findings, issues: declared.issues, workload: declaredPosture.id)
        let observedSide = PodmanDeclaredTests.Side(findings: live.findings, issues: live.issues, workload: observedPosture.id)
        for rule in declaredSide.fired.subtracting(observedSide.fired).sorted() {
            #expect(observedSide.undecided.contains(rule), "\(rule) fires on the argv only")
        }
        for rule in observedSide.fired.subtracting(declaredSide.fired).sorted() {
            #expect(declaredSide.undecided.contains(rule), "\(rule) fires on the running guest only")
        }
        // Agreement on something: every guest here runs under TCG.
        #expect(declaredSide.fired.contains("vm-tcg") && observedSide.fired.contains("vm-tcg"))
        if Self.cases[index].sandbox {
            #expect(!declaredSide.fired.contains("vm-no-sandbox") && !observedSide.fired.contains("vm-no-sandbox"))
        } else {
            #expect(declaredSide.fired.contains("esc-io-uring") && observedSide.fired.contains("esc-io-uring"))
        }
    }
}
