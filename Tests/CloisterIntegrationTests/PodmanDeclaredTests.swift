import CloisterModel
import Foundation
import Testing

/// `cloister check` of the config.json podman itself wrote and `cloister scan --pid` of the
/// container it started must decide every rule the same way: a rule that fires on one side
/// fires on the other, unless the other side lists it as undecided (a field it cannot read),
/// never silently absent. Unlike `LiveDeclaredTests` (a config.json written by the test), this
/// is the file as an engine writes it: readonlyPaths, maskedPaths, a pinned network namespace,
/// podman's annotations, rlimits and sysctls.
@Suite("podman's config.json and its running container: the same rules", .serialized, .needsPodman)
struct PodmanDeclaredTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var flags: [String]
        /// Rules that must fire on both sides, so agreement is not agreement on nothing.
        var expected: Set<String>
        /// Rules that must be silent on both sides.
        var silent: Set<String> = []
        var testDescription: String { label }
    }

    static let cases: [Case] = [
        Case(label: "default", flags: [],
             expected: ["ct-root-no-userns", "ct-no-new-privs-unset", "ct-writable-rootfs", "esc-runc-exposure"],
             silent: ["esc-proc-sys-writable", "ct-host-network", "ct-privileged", "ct-seccomp-unconfined"]),
        Case(label: "privileged", flags: ["--privileged"],
             expected: ["ct-privileged", "ct-seccomp-unconfined", "esc-cap-sys-module", "ct-devices-exposed"]),
        Case(label: "SYS_ADMIN, seccomp unconfined", flags: ["--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined"],
             expected: ["ct-cap-added", "ct-seccomp-unconfined"], silent: ["ct-privileged", "esc-proc-sys-writable"]),
        Case(label: "host PID and network namespaces", flags: ["--pid=host", "--network=host"],
             expected: ["ct-host-pid", "ct-host-network"], silent: ["ct-host-ipc", "ct-host-uts"]),
        Case(label: "host bind mounts", flags: ["-v", "/etc:/host/etc", "-v", "/usr/share:/host/share:ro"],
             expected: ["ct-sensitive-mount-rw"]),
        Case(label: "hardened", flags: PodmanFindingsTests.hardenedFlags, expected: [],
             silent: ["ct-root-no-userns", "ct-no-new-privs-unset", "ct-writable-rootfs", "ct-no-memory-limit",
                      "esc-runc-exposure", "esc-proc-sys-writable"]),
    ]

    @Test("check of podman's config.json and scan --pid decide the same rules", arguments: cases)
    func sameRules(_ testCase: Case) throws {
        let container = try PodmanContainer.run("declared", flags: testCase.flags)
        defer { container.stop() }
        let configPath = try container.ociConfigPath()

        let (declared, status, stderr) = try Cloister.check([configPath])
        #expect(status == 0 || status == 1, "\(stderr)")
        let declaredPosture = try #require(declared.workloads.first)
        #expect(declared.workloads.count == 1)
        let live = try Cloister.scan(pid: container.pid)
        let observedPosture = try #require(live.workloads.first)
        #expect(live.workloads.count == 1)

        let declaredSide = Side(findings: declared.findings, issues: declared.issues, workload: declaredPosture.id)
        let observedSide = Side(findings: live.findings, issues: live.issues, workload: observedPosture.id)
        for rule in declaredSide.fired.subtracting(observedSide.fired).sorted() {
            #expect(observedSide.undecided.contains(rule),
                    "\(rule) fires on podman's config.json but the scan neither fires nor lists it undecided")
        }
        for rule in observedSide.fired.subtracting(declaredSide.fired).sorted() {
            #expect(declaredSide.undecided.contains(rule),
                    "\(rule) fires on the running container but check of its config.json neither fires nor lists it undecided")
        }
        let both = declaredSide.fired.intersection(observedSide.fired)
        #expect(testCase.expected.isSubset(of: both), "expected on both sides \(testCase.expected.sorted()), got \(both.sorted())")
        let eitherFired = declaredSide.fired.union(observedSide.fired)
        #expect(testCase.silent.isDisjoint(with: eitherFired), "must be silent: \(testCase.silent.intersection(eitherFired).sorted())")
        for rule in testCase.expected.union(testCase.silent) {
            #expect(!declaredSide.undecided.contains(rule) && !observedSide.undecided.contains(rule), "\(rule) left undecided")
        }
        // The engine is named from podman's annotations, as the scan names it.
        #expect(declaredPosture.runtime == observedPosture.runtime)
    }

    /// Supplementary groups, resource limits and sysctls podman writes into config.json are read
    /// the same way from the file and from the kernel, and a limit raised from the host after the
    /// start (prlimit) is drift.
    @Test("groups, rlimits and sysctls: config.json and the kernel agree; a raised limit is drift")
    func groupsLimitsAndSysctls() throws {
        let container = try PodmanContainer.run(
            "limits", flags: ["--group-add", "10", "--sysctl", "net.ipv4.ip_unprivileged_port_start=1024",
                              "--ulimit", "nofile=512:1024"])
        defer { container.stop() }
        let configPath = try container.ociConfigPath()
        let (declared, _, stderr) = try Cloister.check([configPath])
        let file = try #require(declared.workloads.first, "\(stderr)")
        let live = try Cloister.scanWorkload(containing: container.pid)

        #expect(file.user.groups?.contains(10) == true, "config.json groups: \(String(describing: file.user.groups))")
        #expect(live.user.groups?.contains(10) == true, "kernel groups: \(String(describing: live.user.groups))")
        // The later --ulimit nofile wins over PodmanContainer.runFlags' 1024:1024; nproc stays 4096:4096.
        let nofile = ResourceLimit(name: "RLIMIT_NOFILE", soft: "512", hard: "1024")
        #expect(file.rlimits?.contains(nofile) == true, "config.json rlimits: \(String(describing: file.rlimits))")
        #expect(live.rlimits?.contains(nofile) == true, "kernel rlimits: \(String(describing: live.rlimits))")
        #expect(live.rlimits?.contains(ResourceLimit(name: "RLIMIT_NPROC", soft: "4096", hard: "4096")) == true)
        #expect(file.sysctls?["net.ipv4.ip_unprivileged_port_start"] == "1024")

        let before = try Assess.workload(pid: container.pid, ["--declared"])
        let drift = try #require(before.posture.drift, "no drift compared: \(before.posture.unknown)")
        #expect(!drift.contains { $0.field == "user.groups" || $0.field.hasPrefix("rlimits.") }, "\(drift)")

        // Raising the soft limit up to the hard one needs no privilege (this host's bounding set
        // lacks CAP_SYS_RESOURCE, so the hard one cannot be raised here).
        try Shell.run(["prlimit", "--pid", String(container.pid), "--nofile=1024:1024"])
        let after = try Assess.workload(pid: container.pid, ["--declared"])
        #expect(after.posture.drift?.contains(Drift(
            field: "rlimits.RLIMIT_NOFILE", declared: "512/1024", observed: "1024/1024", source: configPath)) == true,
            "\(String(describing: after.posture.drift))")
        after.expect(fires: ["drift-rlimit"], silent: ["drift-groups"])
    }

    /// One side's verdicts on one workload.
    struct Side {
        var fired: Set<String>
        var undecided: Set<String>

        init(findings: [Finding], issues: [ScanIssue], workload: String) {
            fired = Set(findings.filter { $0.workload == workload }.map(\.rule))
            let prefix = "rule "
            let marker = " was not decided for \(workload):"
            undecided = Set(issues.compactMap { issue -> String? in
                guard issue.workload == workload, issue.message.hasPrefix(prefix),
                      let end = issue.message.range(of: marker) else { return nil }
                return String(issue.message[issue.message.index(issue.message.startIndex, offsetBy: prefix.count)..<end.lowerBound])
            })
        }
    }
}

extension PodmanContainer {
    /// The OCI config.json podman wrote for this container and handed to runc.
    func ociConfigPath() throws -> String {
        let result = try Self.podman(["inspect", "--format", "{{.OCIConfigPath}}", name])
        let path = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard path.hasPrefix("/"), FileManager.default.fileExists(atPath: path) else {
            throw HarnessError("podman inspect gave no config.json for \(name): \(result.stdout)")
        }
        return path
    }
}
