import CloisterModel
import Foundation
import Testing

/// The rule pack on real podman containers: each configuration must raise the findings that
/// describe it and none that do not, through the real `cloister scan` and its gate.
/// Serialized for the same reason as `PodmanScanTests`: podman locks per start, two cores.
@Suite("rule findings on podman containers", .serialized, .needsPodman)
struct PodmanFindingsTests {
    /// Rules about settings a plain `podman run` never has; the configurations that do have
    /// them take them out of this set.
    static let neverByDefault: Set<String> = [
        "ct-privileged", "ct-cap-added", "ct-seccomp-unconfined", "ct-host-pid", "ct-host-network",
        "ct-host-ipc", "ct-host-uts", "ct-sensitive-mount-rw", "ct-sensitive-mount-ro", "ct-engine-socket",
        "ct-devices-exposed", "ct-no-pids-limit", "esc-cgroup-release-agent", "esc-proc-sys-writable",
        "esc-raw-memory-device", "esc-block-device", "esc-kvm-device", "esc-cap-sys-module", "esc-cap-net-raw",
        "esc-namespace-creation", "esc-io-uring",
    ]

    @Test("default container: root without a user namespace, no_new_privs unset, writable root")
    func defaultContainer() throws {
        let container = try PodmanContainer.run("rules-default")
        defer { container.stop() }
        let scan = try Assess.workload(pid: container.pid)

        // podman's default seccomp profile lets unshare run: namespace creation is reachable
        // (SeccompFilterTests runs unshare -U inside to show it).
        scan.expect(
            fires: ["ct-root-no-userns", "ct-no-new-privs-unset", "ct-writable-rootfs", "ct-no-memory-limit",
                    "esc-runc-exposure", "esc-namespace-creation"],
            silent: Self.neverByDefault.subtracting(["esc-namespace-creation"]))
        // No rule may fire on something the posture could not read.
        for finding in scan.findings {
            #expect(!finding.evidence.isEmpty, "\(finding.rule) cites no evidence")
        }
    }

    @Test("--privileged: privileged, cgroup release_agent and /proc/sys within reach")
    func privileged() throws {
        let container = try PodmanContainer.run("rules-privileged", flags: ["--privileged"])
        defer { container.stop() }
        let scan = try Assess.workload(pid: container.pid)

        var fires: Set<String> = [
            "ct-privileged", "ct-cap-added", "ct-seccomp-unconfined", "ct-devices-exposed",
            "esc-cgroup-release-agent", "esc-proc-sys-writable", "esc-cap-sys-module",
            "esc-namespace-creation", "esc-io-uring", "ct-root-no-userns",
        ]
        if FileManager.default.fileExists(atPath: "/dev/kvm") { fires.insert("esc-kvm-device") }
        scan.expect(fires: fires, silent: ["ct-host-pid", "ct-host-network", "ct-engine-socket"])
        let privileged = try #require(scan.findings.first { $0.rule == "ct-privileged" })
        #expect(privileged.severity == .critical)
        #expect(privileged.references.contains { $0.source == "cis-docker-1.6.0" && $0.id == "5.5" })
    }

    @Test("--cap-add SYS_ADMIN --security-opt seccomp=unconfined")
    func sysAdminUnconfined() throws {
        let container = try PodmanContainer.run(
            "rules-sysadmin", flags: ["--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined"])
        defer { container.stop() }
        let scan = try Assess.workload(pid: container.pid)

        scan.expect(
            fires: ["ct-cap-added", "ct-seccomp-unconfined", "esc-cgroup-release-agent", "esc-namespace-creation",
                    "esc-io-uring"],
            // SYS_ADMIN alone is not --privileged: SYS_MODULE and the rest stay out of the bounding set.
            silent: ["ct-privileged", "esc-cap-sys-module", "esc-proc-sys-writable", "ct-host-pid"])
        let added = try #require(scan.findings.first { $0.rule == "ct-cap-added" })
        #expect(added.message.contains("CAP_SYS_ADMIN"))
    }

    @Test("--pid=host --network=host: host PID and network namespaces")
    func hostNamespaces() throws {
        let container = try PodmanContainer.run("rules-hostns", flags: ["--pid=host", "--network=host"])
        defer { container.stop() }
        let scan = try Assess.workload(pid: container.pid)

        scan.expect(
            fires: ["ct-host-pid", "ct-host-network"],
            silent: ["ct-host-ipc", "ct-host-uts", "ct-privileged", "ct-seccomp-unconfined"])
    }

    @Test("host /etc read-write and a UNIX socket at /var/run/docker.sock")
    func sensitiveMounts() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("rules-sock"))
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let socketPath = scratch.appendingPathComponent("engine.sock").path
        let listener = try UnixSocket(listeningAt: socketPath)
        defer { listener.close() }

        // The container only sleeps: /etc is mounted read-write to be seen, never written.
        let container = try PodmanContainer.run(
            "rules-mounts", flags: ["-v", "/etc:/host/etc", "-v", "\(socketPath):/var/run/docker.sock"])
        defer { container.stop() }
        let scan = try Assess.workload(pid: container.pid)

        scan.expect(fires: ["ct-sensitive-mount-rw", "ct-engine-socket"], silent: ["ct-sensitive-mount-ro"])
        let mount = try #require(scan.findings.first { $0.rule == "ct-sensitive-mount-rw" })
        #expect(mount.message.contains("/etc"))
        #expect(mount.message.contains("/host/etc"))
        let socket = try #require(scan.findings.first { $0.rule == "ct-engine-socket" })
        #expect(socket.message.contains("/var/run/docker.sock"))
        #expect(socket.severity == .critical)
    }

    @Test("--device /dev/kvm", .needsKVM)
    func kvmDevice() throws {
        let container = try PodmanContainer.run("rules-kvm", flags: ["--device", "/dev/kvm"])
        defer { container.stop() }
        let scan = try Assess.workload(pid: container.pid)

        scan.expect(
            fires: ["esc-kvm-device", "ct-devices-exposed"],
            silent: ["ct-privileged", "esc-raw-memory-device", "esc-block-device"])
    }

    /// The hardening `cloister` recommends for containers, applied with podman. podman's default
    /// seccomp profile lets unshare and clone3 run (esc-namespace-creation, and busybox unshare -U
    /// works inside), so the hardened container runs it without namespace creation.
    static var hardenedFlags: [String] {
        [
            "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536", "--memory", "64m", "--pids-limit", "50",
            "--security-opt", "seccomp=\(hardenedProfile)",
        ]
    }

    /// Written once a test run, removed with the temporary directory.
    static let hardenedProfile: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("hardened-seccomp") + ".json").path
        let text = try! SeccompFilterTests.profileText(SeccompFilterTests.refuseNamespaceCreation)
        try! Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }()

    /// Whether the host runs an LSM that confines containers; here none does.
    static func hostHasMAC(_ report: ScanReport) -> Bool {
        (report.host.lsms ?? []).contains { $0 == "apparmor" || $0 == "selinux" }
    }

    @Test("hardened container: nothing above low but ct-no-mac, which a baseline accepts; the gate follows")
    func hardened() throws {
        let container = try PodmanContainer.run("rules-hardened", flags: Self.hardenedFlags)
        defer { container.stop() }

        let plain = try Assess.workload(pid: container.pid)
        let aboveLow = plain.findings.filter { $0.severity > .low && $0.rule != "ct-no-mac" }
        #expect(aboveLow.isEmpty, "hardened container raised: \(plain.summary)")
        plain.expect(fires: [], silent: Self.neverByDefault.union(
            ["ct-root-no-userns", "ct-no-new-privs-unset", "ct-writable-rootfs", "ct-no-memory-limit",
             "esc-runc-exposure"]))

        guard !Self.hostHasMAC(plain.report) else {
            // With AppArmor or SELinux the runtime's profile confines the container: no finding.
            plain.expect(fires: [], silent: ["ct-no-mac"])
            return
        }
        // No MAC LSM on the host: the finding is true and cannot be fixed in the container.
        let noMAC = try #require(plain.findings.first { $0.rule == "ct-no-mac" })
        #expect(noMAC.severity == .medium)
        #expect(noMAC.accepted == nil)

        // Without the baseline the medium finding fails --fail-on medium (and low).
        #expect(try Assess.scan(pid: container.pid, ["--fail-on", "medium"]).status == 1)
        #expect(try Assess.scan(pid: container.pid, ["--fail-on", "low"]).status == 1)

        // Accepted for this workload only, with a reason, until a day in the future.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("rules-baseline"))
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let baseline = scratch.appendingPathComponent("baseline.yaml")
        try Baselines.write(
            to: baseline, rule: "ct-no-mac", workload: container.name,
            reason: "host runs no MAC LSM", expires: Baselines.day(daysFromNow: 30))

        let accepted = try Assess.workload(pid: container.pid, ["--baseline", baseline.path])
        let acceptedNoMAC = try #require(accepted.findings.first { $0.rule == "ct-no-mac" })
        #expect(acceptedNoMAC.accepted?.contains("host runs no MAC LSM") == true)
        #expect(try Assess.scan(pid: container.pid, ["--baseline", baseline.path, "--fail-on", "medium"]).status == 0)
        // --fail-on low still counts the low findings nobody accepted (if any): the baseline
        // takes out only what it names.
        let unacceptedLow = accepted.findings.filter { $0.accepted == nil && $0.severity >= .low }
        let lowGate = try Assess.scan(pid: container.pid, ["--baseline", baseline.path, "--fail-on", "low"])
        #expect(lowGate.status == (unacceptedLow.isEmpty ? 0 : 1), "unaccepted: \(accepted.summary)")

        // An acceptance that expired yesterday no longer hides the finding.
        let expired = scratch.appendingPathComponent("expired.yaml")
        try Baselines.write(
            to: expired, rule: "ct-no-mac", workload: container.name,
            reason: "host runs no MAC LSM", expires: Baselines.day(daysFromNow: -1))
        #expect(try Assess.scan(pid: container.pid, ["--baseline", expired.path, "--fail-on", "medium"]).status == 1)
    }

    @Test("gate exit codes through the CLI: --fail-on, --max-exposure")
    func gateExitCodes() throws {
        let container = try PodmanContainer.run("rules-gate")
        defer { container.stop() }
        let scan = try Assess.workload(pid: container.pid)
        #expect(scan.result.status == 0, "no gate asked for, so the scan passes")
        let worst = try #require(scan.findings.map(\.severity).max())
        #expect(worst == .high, "a default container's worst finding is high: \(scan.summary)")

        #expect(try Assess.scan(pid: container.pid, ["--fail-on", "high"]).status == 1)
        #expect(try Assess.scan(pid: container.pid, ["--fail-on", "critical"]).status == 0)
        let failed = try Assess.scan(pid: container.pid, ["--fail-on", "high"])
        #expect(failed.stderr.contains("gate"))

        let score = try #require(scan.posture.exposure?.score)
        #expect(try Assess.scan(pid: container.pid, ["--max-exposure", "10"]).status == 0)
        #expect(try Assess.scan(pid: container.pid, ["--max-exposure", String(max(0, score - 0.5))]).status == 1)
        #expect(try Assess.scan(pid: container.pid, ["--max-exposure", "11"]).status == 2)
        #expect(try Assess.scan(pid: container.pid, ["--fail-on", "severe"]).status == 2)
    }

    @Test("bad rules directory and bad baseline: exit 2, file and line on stderr, no report written")
    func badInputFiles() throws {
        let container = try PodmanContainer.run("rules-badinput")
        defer { container.stop() }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("rules-bad"))
        let rules = scratch.appendingPathComponent("rules")
        try FileManager.default.createDirectory(at: rules, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let output = scratch.appendingPathComponent("report.json")

        // Line 7 holds an operator the language does not have.
        let badRule = rules.appendingPathComponent("broken.yaml")
        try """
            version: 1
            rules:
              - id: broken-rule
                title: A rule with a mistake
                severity: low
                kinds: [container]
                when: {field: namespaces.pid, resembles: host}
                message: never shown
            """.write(to: badRule, atomically: true, encoding: .utf8)
        let badRules = try Assess.cloister(
            ["scan", "--format", "json", "--pid", String(container.pid), "--rules", rules.path,
             "--policy", Assess.exposurePolicy.path, "--output", output.path])
        #expect(badRules.status == 2, "stderr: \(badRules.stderr)")
        #expect(badRules.stderr.contains("\(badRule.path):7"), "stderr: \(badRules.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))

        // Line 5 holds a date that is not one.
        let badBaseline = scratch.appendingPathComponent("baseline.yaml")
        try """
            version: 1
            accepted:
              - rule: ct-no-mac
                workload: "podman:*"
                expires: someday
                reason: host runs no MAC LSM
            """.write(to: badBaseline, atomically: true, encoding: .utf8)
        let badAcceptance = try Assess.scan(
            pid: container.pid, ["--baseline", badBaseline.path, "--output", output.path])
        #expect(badAcceptance.status == 2, "stderr: \(badAcceptance.stderr)")
        #expect(badAcceptance.stderr.contains("\(badBaseline.path):5"), "stderr: \(badAcceptance.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))

        let missing = try Assess.scan(pid: container.pid, ["--baseline", scratch.appendingPathComponent("none.yaml").path])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("none.yaml"))
    }

    @Test("SARIF from a live scan validates against the SARIF 2.1.0 schema",
          .enabled(if: Host.requires(SARIFSchema.validatorAvailable), "needs python3 with jsonschema (scripts/install-deps.sh)"))
    func liveSARIF() throws {
        let container = try PodmanContainer.run("rules-sarif", flags: ["--cap-add", "SYS_ADMIN"])
        defer { container.stop() }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("rules-sarif"))
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let sarif = scratch.appendingPathComponent("scan.sarif")

        let run = try Assess.scan(pid: container.pid, format: "sarif", ["--output", sarif.path])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let validation = try SARIFSchema.validate(sarif)
        #expect(validation.status == 0, "SARIF does not validate: \(validation.output)")

        // The results are the live findings: the added capability is among them.
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: sarif)) as? [String: Any])
        let runs = try #require(document["runs"] as? [[String: Any]])
        let results = try #require(runs.first?["results"] as? [[String: Any]])
        #expect(results.contains { ($0["ruleId"] as? String) == "ct-cap-added" })
    }
}

/// Baseline files for the tests, in the format of `policies/baseline.example.yaml`.
enum Baselines {
    static func write(to url: URL, rule: String, workload: String, reason: String, expires: String) throws {
        try """
            version: 1
            accepted:
              - rule: \(rule)
                workload: "\(workload)"
                reason: \(reason)
                expires: \(expires)
            """.write(to: url, atomically: true, encoding: .utf8)
    }

    /// `YYYY-MM-DD` (UTC), `days` from today.
    static func day(daysFromNow days: Int) -> String {
        let date = Date().addingTimeInterval(Double(days) * 86_400)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: date)
    }
}

/// The official SARIF 2.1.0 schema (the copy the report tests use) and python3's jsonschema.
enum SARIFSchema {
    static var schema: URL {
        Paths.repositoryRoot.appendingPathComponent("Tests/CloisterReportTests/Fixtures/sarif-schema-2.1.0.json")
    }

    static var validatorAvailable: Bool {
        ((try? Shell.run(["python3", "-c", "import jsonschema"], check: false))?.status ?? 1) == 0
    }

    static func validate(_ document: URL) throws -> (status: Int32, output: String) {
        let script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            document = json.load(open(sys.argv[2]))
            validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
            errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
            for error in errors[:20]:
                print("/".join(str(p) for p in error.path), error.message)
            sys.exit(1 if errors else 0)
            """
        let result = try Shell.run(["python3", "-c", script, schema.path, document.path], check: false)
        return (result.status, result.stdout + result.stderr)
    }
}
