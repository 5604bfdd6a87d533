import CloisterModel
import CloisterReport
import CloisterRules
import Foundation
import Testing

/// Postures an auditor meets: a privileged container (every capability, every device), one
/// with the engine's defaults, a hardened one, and a user-namespaced one.
enum TerminalFixtures {
    static func privileged(id: String = "docker:priv", name: String = "priv") -> Posture {
        var posture = HardenedPosture.make(kind: .container, id: id)
        posture.name = name
        posture.capabilities.effective = CapabilityNames.all
        posture.capabilities.bounding = CapabilityNames.all
        posture.capabilities.permitted = CapabilityNames.all
        posture.seccomp = Seccomp(mode: .disabled)
        var devices = [Device(path: "/dev/null", access: "rw", source: .rootfs, type: "char")]
        devices += (0..<8).map { Device(path: "/dev/loop\($0)", access: "rwm", source: .rootfs, type: "block") }
        devices += [Device(path: "/dev/vda", access: "rwm", source: .rootfs, type: "block"),
                    Device(path: "/dev/mem", access: "rwm", source: .rootfs, type: "char"),
                    Device(path: "/dev/kvm", access: "rwm", source: .rootfs, type: "char")]
        devices += (0..<64).map { Device(path: "/dev/tty\($0)", access: "rwm", source: .rootfs, type: "char") }
        posture.devices = devices
        var cgroup = CgroupLimits(version: "v1", path: "/docker/priv")
        cgroup.devicesAllowAll = true
        posture.cgroup = cgroup
        return posture
    }

    static func defaults(id: String = "docker:web", name: String = "web") -> Posture {
        var posture = HardenedPosture.make(kind: .container, id: id)
        posture.name = name
        posture.capabilities.effective = CapabilityNames.containerDefault
        posture.capabilities.bounding = CapabilityNames.containerDefault
        posture.capabilities.permitted = CapabilityNames.containerDefault
        posture.readOnlyRootfs = false
        return posture
    }

    static func userNamespaced(id: String = "podman:rootless", name: String = "rootless") -> Posture {
        var posture = defaults(id: id, name: name)
        posture.runtime = "crun"
        posture.namespaces.user = .private
        posture.user.uidMap = [IDMapRange(inside: 0, outside: 100_000, count: 65_536)]
        posture.user.rootMappedToHost = false
        return posture
    }

    static func hardened(id: String = "podman:locked", name: String = "locked") -> Posture {
        var posture = HardenedPosture.make(kind: .container, id: id)
        posture.name = name
        return posture
    }

    static func report(_ postures: [Posture]) -> ScanReport {
        let scored = ExposureScorer(policy: Fixtures.policy).scored(postures)
        var host = HostFacts()
        host.hostname = "node-a"
        return ScanReport(
            scannedAt: "2026-12-07T05:00:00Z", host: host, workloads: scored,
            findings: RuleEngine(pack: Fixtures.pack).evaluate(scored))
    }

    static func text(_ report: ScanReport, style: TerminalStyle = .plain, verbose: Bool = false) throws -> String {
        String(decoding: try Report.render(format: .table, report: report, rules: Fixtures.pack, verbose: verbose, terminal: style), as: UTF8.self)
    }
}

@Suite("Terminal report")
struct TerminalTests {
    let mixed = TerminalFixtures.report([
        TerminalFixtures.privileged(), TerminalFixtures.defaults(), TerminalFixtures.userNamespaced(), TerminalFixtures.hardened(),
    ])

    @Test("The summary line comes first: open findings by severity, workloads hit, the worst one")
    func summaryFirst() throws {
        let first = try #require(try TerminalFixtures.text(mixed).split(separator: "\n").first)
        let critical = mixed.findings.filter { $0.severity == .critical && $0.accepted == nil }.count
        #expect(critical > 0)
        #expect(first.hasPrefix("\(critical) critical, "))
        let hit = Set(mixed.findings.map(\.workload)).count
        #expect(first.contains(" on \(hit) of 4 workloads; worst: priv "))
        let worst = try #require(mixed.workloads.first { $0.id == "docker:priv" }?.exposure)
        #expect(first.hasSuffix("\(String(format: "%.1f", worst.score)) \(worst.level)"))
    }

    /// A host's own findings (`workload: "host"`, a fleet's `NODE/host`) are not on a workload:
    /// the summary said "on 2 of 1 workload" for a host advisory beside one container.
    @Test("Host findings are counted apart from workloads in every summary", arguments: [
        (["host"], " and the host"), (["node-a/host", "node-b/host"], " and 2 hosts"), ([String](), ""),
    ])
    func hostFindingsAreNotWorkloads(hosts: [String], said: String) throws {
        var report = TerminalFixtures.report([TerminalFixtures.privileged()])
        report.findings += hosts.map { Finding(rule: "host-cve-2025-31133", severity: .high, workload: $0, message: "runc is affected") }
        let first = try #require(try TerminalFixtures.text(report).split(separator: "\n").first)
        #expect(first.contains(" on 1 of 1 workload\(said); worst: priv "), "\(first)")
        let markdown = String(decoding: try Report.render(format: .markdown, report: report, rules: Fixtures.pack), as: UTF8.self)
        #expect(markdown.contains("open findings on 1 of 1 workloads\(said)"), "\(markdown.prefix(600))")
        let html = String(decoding: try Report.render(format: .html, report: report, rules: Fixtures.pack), as: UTF8.self)
        #expect(html.contains("open findings on 1 of 1 workloads\(said)"))
    }

    @Test("Evidence is summarised: all capabilities, the default set, device classes with ranges")
    func summarisedEvidence() throws {
        let messages = Dictionary(grouping: mixed.findings, by: \.workload)
        let privileged = try #require(messages["docker:priv"])
        let devices = try #require(privileged.first { $0.rule == "ct-devices-exposed" })
        #expect(devices.message.contains("every host device (cgroup allows all)"))
        #expect(devices.message.contains("memory devices: /dev/mem"))
        #expect(devices.message.contains("block devices: /dev/loop0–7, /dev/vda"))
        #expect(devices.message.contains("terminals: /dev/tty0–63"))
        #expect(!devices.message.contains("/dev/null"))
        #expect(!devices.message.contains("/dev/tty5"))
        let text = try TerminalFixtures.text(mixed)
        #expect(!text.contains("CAP_CHECKPOINT_RESTORE, CAP_"))
        // Capabilities against the known sets, in findings and in the table's column.
        #expect(privileged.contains { $0.rule == "ct-cap-added" && $0.message.contains("all 41 capabilities") })
        let block = try #require(privileged.first { $0.rule == "esc-block-device" })
        #expect(block.message.contains("/dev/loop0–7, /dev/vda (rwm)"))
        // The workload table is the second block (after the summary and host lines).
        let rows = text.components(separatedBy: "\n\n")[1].split(separator: "\n").map { $0 + " " }
        #expect(rows.contains { $0.contains(" priv ") && $0.contains(" all ") })
        #expect(rows.contains { $0.contains(" web ") && $0.contains(" default ") })
        #expect(rows.contains { $0.contains(" rootless ") && $0.contains(" default ") && $0.contains(" private ") && $0.contains(" mapped ") })
        #expect(rows.contains { $0.contains(" locked ") && $0.contains(" none ") })
        #expect(messages["podman:locked"] == nil)
        // No message names more than ten capabilities one by one.
        for finding in mixed.findings {
            #expect(finding.message.components(separatedBy: "CAP_").count - 1 <= 10, "\(finding.rule): \(finding.message)")
        }
        // The default and user-namespaced containers have no device finding; the hardened one has none at all.
        #expect(messages["docker:web"]?.contains { $0.rule == "ct-devices-exposed" } == false)
        #expect(messages["podman:rootless"]?.contains { $0.rule == "ct-devices-exposed" } == false)
        #expect(DeviceClasses.ranges(["/dev/sda", "/dev/sda1", "/dev/sda2", "/dev/sda4", "/dev/nvme0n1"])
            == ["/dev/sda", "/dev/sda1–2", "/dev/sda4", "/dev/nvme0n1"])
        #expect(DeviceClasses.summary([], allowAll: false) == "none")
    }

    @Test("Findings grouped by workload: each workload once, the most exposed first")
    func byWorkload() throws {
        let text = try TerminalFixtures.text(mixed)
        let section = try #require(text.components(separatedBy: "findings by workload:").last)
        let titles = section.split(separator: "\n").filter { !$0.hasPrefix(" ") && !$0.isEmpty }
        #expect(titles.first?.hasPrefix("priv (docker:priv) · exposure") == true)
        #expect(titles.count == Set(mixed.findings.map(\.workload)).count)
        #expect(Set(titles).count == titles.count)
    }

    @Test("Findings grouped by rule: the rule once, then every workload it hits, cut with a count")
    func byRule() throws {
        let many = TerminalFixtures.report((0..<25).map { TerminalFixtures.defaults(id: "docker:web-\($0)", name: "web-\($0)") })
        let style = TerminalStyle(width: 100, colour: false, grouping: .rule)
        let text = try TerminalFixtures.text(many, style: style)
        #expect(text.contains("findings by rule:"))
        let rule = try #require(many.findings.first?.rule)
        let heads = text.split(separator: "\n").filter { $0.contains(" \(rule) ") && $0.contains("of 25 workloads") }
        #expect(heads.count == 1)
        #expect(text.contains("… and 15 more (--verbose or --format json lists them all)"))
        #expect(!text.contains("  web-24: "))
        let verbose = try TerminalFixtures.text(many, style: style, verbose: true)
        #expect(verbose.contains("  web-24: "))
        #expect(!verbose.contains("… and 15 more"))
    }

    @Test("Lines fit the terminal's width", arguments: [60, 100, 160])
    func widths(width: Int) throws {
        var postures = [TerminalFixtures.privileged(name: String(repeating: "very-long-container-name-", count: 4))]
        postures.append(TerminalFixtures.defaults())
        let text = try TerminalFixtures.text(TerminalFixtures.report(postures), style: TerminalStyle(width: width, colour: false))
        for line in text.split(separator: "\n") {
            #expect(line.count <= width, "too wide: \(line)")
        }
    }

    @Test("Colour by severity only when asked; never under NO_COLOR or off a terminal; COLUMNS wins")
    func colour() throws {
        let coloured = try TerminalFixtures.text(mixed, style: TerminalStyle(width: 100, colour: true))
        #expect(coloured.contains("\u{1B}[1;31mCRITICAL\u{1B}[0m"))
        #expect(!(try TerminalFixtures.text(mixed)).contains("\u{1B}"))
        let tty = TerminalStyle.forOutput(isTerminal: true, terminalColumns: 132, environment: [:], grouping: .workload)
        #expect(tty == TerminalStyle(width: 132, colour: true))
        let noColour = TerminalStyle.forOutput(isTerminal: true, terminalColumns: 132, environment: ["NO_COLOR": "1"], grouping: .rule)
        #expect(noColour == TerminalStyle(width: 132, colour: false, grouping: .rule))
        // no-color.org: set to an empty string, it does not apply.
        #expect(TerminalStyle.forOutput(isTerminal: true, terminalColumns: 80, environment: ["NO_COLOR": ""], grouping: .workload).colour)
        let columns = TerminalStyle.forOutput(isTerminal: true, terminalColumns: 132, environment: ["COLUMNS": "72"], grouping: .workload)
        #expect(columns.width == 72)
        let pipe = TerminalStyle.forOutput(isTerminal: false, terminalColumns: nil, environment: ["COLUMNS": "72"], grouping: .workload)
        #expect(pipe == TerminalStyle.plain)
    }

    @Test("Hostile names stay data in every grouping and in colour")
    func hostile() throws {
        var posture = TerminalFixtures.privileged(name: Fixtures.hostile)
        posture.runtime = "runc\u{1B}]0;title\u{07}"
        let report = TerminalFixtures.report([posture])
        for grouping in FindingGrouping.allCases {
            let text = try TerminalFixtures.text(report, style: TerminalStyle(width: 100, colour: true, grouping: grouping), verbose: true)
            // The only escapes are this renderer's own colour sequences.
            let stripped = text.replacingOccurrences(of: #"\u{1B}\[[0-9;]*m"#, with: "", options: .regularExpression)
            #expect(!stripped.contains("\u{1B}"))
            #expect(!text.contains("\u{07}"))
            #expect(!text.contains("\u{202E}"))
            #expect(text.contains("evil\\x1b[31m"))
        }
    }
}
