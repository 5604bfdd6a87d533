import CloisterCodec
import CloisterModel
import CloisterRules

/// How findings are grouped in the terminal: under each workload, or under each rule with the
/// workloads it hits.
public enum FindingGrouping: String, CaseIterable, Sendable {
    case workload, rule
}

/// What the terminal can show: its width, whether severities are coloured, how findings are
/// grouped. The commands decide it from the terminal and the environment; the renderer only
/// follows it, so tests give it any terminal they like.
public struct TerminalStyle: Sendable, Equatable {
    public var width: Int
    public var colour: Bool
    public var grouping: FindingGrouping

    /// What a file or a pipe gets: 100 columns, no colour, findings by workload.
    public static let plain = TerminalStyle(width: 100, colour: false, grouping: .workload)

    public init(width: Int, colour: Bool, grouping: FindingGrouping = .workload) {
        // Narrower than 40 columns nothing lines up; wider than 400 nobody reads a line.
        self.width = min(max(width, 40), 400)
        self.colour = colour
        self.grouping = grouping
    }

    /// The style for standard output: colour and the terminal's width only on a terminal, never
    /// when `NO_COLOR` is set to anything (https://no-color.org); `COLUMNS` wins over the
    /// terminal's own width; 100 columns when not a terminal.
    public static func forOutput(
        isTerminal: Bool, terminalColumns: Int?, environment: [String: String], grouping: FindingGrouping
    ) -> TerminalStyle {
        guard isTerminal else { return TerminalStyle(width: 100, colour: false, grouping: grouping) }
        let noColour = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        let columns = environment["COLUMNS"].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil } ?? terminalColumns ?? 100
        return TerminalStyle(width: columns, colour: !noColour, grouping: grouping)
    }
}

/// The terminal view: the summary line first, the host, one line a workload, then the findings
/// grouped by workload or by rule. Everything from workloads is escaped.
public enum TableRendering {
    /// Items of a list shown before "and N more" when not verbose (workloads under a rule).
    static let listLimit = 10

    /// `heading` replaces the host line (for `check`, whose postures are declared, not observed
    /// on this host).
    public static func scan(
        _ report: ScanReport, verbose: Bool, heading: String? = nil, style: TerminalStyle = .plain, rules: RulePack? = nil
    ) -> String {
        let facts = ReportFacts(report: report, rules: rules)
        var lines = wrap(summaryLine(facts, style: style), width: style.width, indent: 2)
        let host = report.host
        let lsms = host.lsms.map { $0.isEmpty ? "none" : $0.joined(separator: ",") } ?? "unknown"
        lines += wrap(
            heading.map(esc) ??
            "host \(esc(host.hostname ?? "?"))  kernel \(esc(host.kernel ?? "?"))  lsm \(esc(lsms))  cgroup \(host.cgroupVersion ?? "?")  kvm \(host.kvm.usable ? "usable" : (host.kvm.present ? "present, unusable" : "absent"))",
            width: style.width, indent: 2)
        lines.append("")
        lines.append(contentsOf: workloadTable(report, width: style.width))
        if report.workloads.isEmpty { lines.append("(no containers, sandboxes or VMs found)") }

        if verbose {
            for posture in report.workloads { lines.append(""); lines.append(contentsOf: details(posture)) }
        }
        if !report.findings.isEmpty {
            lines.append("")
            switch style.grouping {
            case .workload: lines.append(contentsOf: findingsByWorkload(facts, verbose: verbose, style: style))
            case .rule: lines.append(contentsOf: findingsByRule(facts, verbose: verbose, style: style))
            }
        }
        for group in facts.issueGroups {
            let issue = group.first
            var note = "note: \(issue.pid.map { "PID \($0): " } ?? "")\(esc(group.sentence))"
            if group.undecidedRule != nil {
                // The names, cut to a few unless --verbose (the JSON keeps every issue).
                let names = group.workloads.map(facts.displayName).map(esc)
                let shown = verbose ? names : Array(names.prefix(3))
                note += " (\(shown.joined(separator: ", "))\(names.count > shown.count ? " and \(names.count - shown.count) more" : ""))"
            }
            lines.append(contentsOf: wrap(note, width: style.width, indent: 6))
        }
        return lines.joined(separator: "\n")
    }

    /// "3 critical, 8 high on 2 of 2 workloads; worst: web 6.7 exposed" (open findings only;
    /// accepted ones are counted apart).
    static func summaryLine(_ facts: ReportFacts, style: TerminalStyle) -> String {
        let report = facts.report
        let counted = facts.severityCounts.filter { $0.count > 0 }
        let total = report.workloads.count
        var line: String
        if counted.isEmpty {
            line = "no open findings on \(total) workload\(total == 1 ? "" : "s")"
        } else {
            let owners = facts.openFindingOwners
            line = counted.map { colour("\($0.count) \($0.severity.rawValue)", $0.severity, style) }.joined(separator: ", ")
            line += " on \(owners.workloads) of \(total) workload\(total == 1 ? "" : "s")" + ReportFacts.andHosts(owners.hosts)
        }
        if facts.acceptedCount > 0 { line += " (\(facts.acceptedCount) accepted)" }
        if let worst = facts.worst, let exposure = worst.exposure {
            line += "; worst: \(esc(clip(worst.name.isEmpty ? worst.id : worst.name, 40))) \(formatScore(exposure.score)) \(exposure.level)"
        }
        return line
    }

    /// One line a workload, columns dropped (least telling first) and names clipped until the
    /// table fits `width`.
    static func workloadTable(_ report: ScanReport, width: Int) -> [String] {
        var header = [
            "KIND", "RUNTIME", "NAME", "PID", "USERNS", "ROOT", "CAPS", "SECCOMP", "NNP", "MAC", "RO-ROOT", "FINDINGS",
            "EXPOSURE",
        ]
        var open: [String: Int] = [:]
        for finding in report.findings where finding.accepted == nil { open[finding.workload, default: 0] += 1 }
        // Kubernetes pods: the Pod Security Standards level each meets, in its own column.
        let podSecurity = report.workloads.contains { $0.kubernetes?.podSecurity != nil }
        if podSecurity { header.append("PSS") }
        var rows: [[String]] = [header]
        for posture in report.workloads {
            let level = podSecurity ? [posture.kubernetes?.podSecurity?.level ?? "-"] : []
            rows.append([
                posture.kind.rawValue, esc(posture.runtime), esc(posture.name), posture.pid.map(String.init) ?? "-",
                posture.namespaces.user.map { $0 == .private ? "private" : "host" } ?? "?",
                posture.user.rootMappedToHost.map { $0 ? "host-root" : "mapped" } ?? "?",
                capabilitySummary(posture),
                posture.seccomp.map { $0.mode.rawValue } ?? "?",
                posture.noNewPrivileges.map { $0 ? "yes" : "no" } ?? "?",
                macSummary(posture.mac),
                posture.readOnlyRootfs.map { $0 ? "yes" : "no" } ?? "?",
                String(open[posture.id] ?? 0),
                posture.exposure.map { "\(formatScore($0.score)) \($0.level)" } ?? "-",
            ] + level)
        }
        func total(_ rows: [[String]]) -> Int {
            guard let count = rows.first?.count else { return 0 }
            let widths = (0..<count).map { column in rows.map { $0[column].count }.max() ?? 0 }
            return widths.reduce(0, +) + 2 * (count - 1)
        }
        // Long names first: clipped down to 16 columns, then to 8 once columns are gone.
        func clipColumn(_ name: String, to limit: Int) {
            guard let column = rows[0].firstIndex(of: name) else { return }
            let longest = rows.dropFirst().map { $0[column].count }.max() ?? 0
            let over = total(rows) - width
            guard over > 0, longest > limit else { return }
            let target = max(limit, longest - over)
            for index in rows.indices.dropFirst() { rows[index][column] = clip(rows[index][column], target) }
        }
        clipColumn("NAME", to: 16)
        clipColumn("RUNTIME", to: 10)
        clipColumn("MAC", to: 12)
        for name in ["PID", "RO-ROOT", "NNP", "KIND", "MAC", "USERNS", "ROOT"] where total(rows) > width {
            guard let column = rows[0].firstIndex(of: name) else { continue }
            for index in rows.indices { rows[index].remove(at: column) }
        }
        clipColumn("NAME", to: 8)
        return align(rows)
    }

    /// Under each workload (most exposed first), its findings, most severe first.
    static func findingsByWorkload(_ facts: ReportFacts, verbose: Bool, style: TerminalStyle) -> [String] {
        var lines = ["findings by workload:"]
        let order = facts.groupedFindings.enumerated().sorted { left, right in
            let leftScore = facts.posture(left.element.workload)?.exposure?.score ?? -1
            let rightScore = facts.posture(right.element.workload)?.exposure?.score ?? -1
            return (leftScore, -left.offset) > (rightScore, -right.offset)
        }
        for (_, group) in order {
            lines.append("")
            var title = esc(group.workload)
            if let posture = facts.posture(group.workload) {
                if !posture.name.isEmpty, posture.name != posture.id { title = "\(esc(posture.name)) (\(esc(posture.id)))" }
                if let exposure = posture.exposure { title += " · exposure \(formatScore(exposure.score)) \(exposure.level)" }
            }
            lines.append(contentsOf: wrap(title, width: style.width, indent: 2))
            for finding in sortedBySeverity(group.findings) {
                lines.append(contentsOf: findingLines(finding, label: esc(finding.rule), verbose: verbose, style: style))
            }
        }
        return lines
    }

    /// Each rule once (most severe, then most widespread, first), then the workloads it hits.
    static func findingsByRule(_ facts: ReportFacts, verbose: Bool, style: TerminalStyle) -> [String] {
        var lines = ["findings by rule:"]
        let total = facts.report.workloads.count
        for group in facts.findingsByRule {
            lines.append("")
            let severity = colour(group.severity.rawValue.uppercased(), group.severity, style)
            let hits = Set(group.findings.map(\.workload)).count
            lines.append(contentsOf: wrap(
                "\(severity) \(esc(group.rule)) \(esc(facts.title(of: group.rule))): \(hits) of \(total) workload\(total == 1 ? "" : "s")",
                width: style.width, indent: 4))
            let shown = verbose ? group.findings : Array(group.findings.prefix(listLimit))
            for finding in shown {
                let name = facts.displayName(finding.workload)
                lines.append(contentsOf: findingLines(finding, label: esc(name), severity: false, verbose: verbose, style: style))
            }
            if shown.count < group.findings.count {
                lines.append("    … and \(group.findings.count - shown.count) more (--verbose or --format json lists them all)")
            }
        }
        return lines
    }

    /// A finding's lines: severity (coloured), label, message wrapped under it; where it stands,
    /// why it is accepted; with `verbose`, its evidence in full.
    static func findingLines(
        _ finding: Finding, label: String, severity showSeverity: Bool = true, verbose: Bool, style: TerminalStyle
    ) -> [String] {
        var head = "  "
        if showSeverity { head += colour(finding.severity.rawValue.uppercased(), finding.severity, style) + " " }
        head += label
        if finding.accepted != nil { head += " (accepted)" }
        var lines = wrap("\(head): \(esc(finding.message))", width: style.width, indent: 6)
        if let location = finding.location {
            let place = location.file + (location.line.map { ":\($0)" } ?? "")
            lines.append(contentsOf: wrap("at \(esc(place))\(location.path.map { " (\(esc($0)))" } ?? "")", width: style.width, indent: 8, first: 6))
        }
        if let accepted = finding.accepted {
            lines.append(contentsOf: wrap("accepted: \(esc(accepted))", width: style.width, indent: 8, first: 6))
        }
        if verbose {
            for (key, value) in ReportFacts.sortedEvidence(finding.evidence) {
                lines.append(contentsOf: wrap("\(esc(key)) = \(esc(value))", width: style.width, indent: 8, first: 6))
            }
        }
        return lines
    }

    static func sortedBySeverity(_ findings: [Finding]) -> [Finding] {
        findings.enumerated().sorted {
            ($0.element.accepted == nil ? 0 : 1, -$0.element.severity.rank, $0.offset)
                < ($1.element.accepted == nil ? 0 : 1, -$1.element.severity.rank, $1.offset)
        }.map(\.element)
    }

    /// ANSI colour for a severity word, only when the style asks for it.
    static func colour(_ text: String, _ severity: Severity, _ style: TerminalStyle) -> String {
        guard style.colour else { return text }
        let code = switch severity {
        case .critical: "1;31"
        case .high: "31"
        case .medium: "33"
        case .low: "36"
        case .info: "2"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }

    /// Words laid into lines of `width` columns: the first line indented by `first`, the others
    /// by `indent`. A word longer than a line is cut across lines, never lost. The width counts
    /// characters, not the escape sequences `colour` adds.
    static func wrap(_ text: String, width: Int, indent: Int, first: Int = 0) -> [String] {
        var lines: [String] = []
        var line = String(repeating: " ", count: first)
        var visible = first
        var lineHasWord = false
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            let wordWidth = visibleWidth(word)
            if lineHasWord, visible + 1 + wordWidth > width {
                lines.append(line)
                line = String(repeating: " ", count: indent)
                visible = indent
                lineHasWord = false
            }
            var rest = Substring(word)
            var restWidth = wordWidth
            // A word wider than a whole line (a long path): cut where the line ends.
            while !lineHasWord, visible + restWidth > width, restWidth > 0, width - visible > 0, rest.count == restWidth {
                let take = width - visible
                line += rest.prefix(take)
                lines.append(line)
                rest = rest.dropFirst(take)
                restWidth -= take
                line = String(repeating: " ", count: indent)
                visible = indent
            }
            if lineHasWord { line += " "; visible += 1 }
            line += rest
            visible += restWidth
            lineHasWord = true
        }
        lines.append(line)
        return lines
    }

    /// Characters shown, past the colour sequences this renderer itself writes.
    static func visibleWidth<Text: StringProtocol>(_ text: Text) -> Int {
        guard text.contains("\u{1B}") else { return text.count }
        var count = 0
        var inEscape = false
        for character in text {
            if character == "\u{1B}" { inEscape = true; continue }
            if inEscape { if character == "m" { inEscape = false }; continue }
            count += 1
        }
        return count
    }

    static func details(_ posture: Posture) -> [String] {
        var lines = ["\(esc(posture.id)) (\(posture.kind.rawValue), \(esc(posture.runtime))) \"\(esc(posture.name))\""]
        func add(_ key: String, _ value: String) { lines.append("  \(key): \(value)") }
        add("processes", posture.processes.map(String.init).joined(separator: " "))
        add("command", esc(clip(posture.command.joined(separator: " "), 200)))
        add("namespaces", NamespaceType.allCases.map { "\($0.rawValue)=\(posture.namespaces[$0]?.rawValue ?? "?")" }.joined(separator: " "))
        add("user", "uid=\(posture.user.uid.map(String.init) ?? "?") hostUid=\(posture.user.hostUid.map(String.init) ?? "?") uidMap=\(posture.user.uidMap.map { "\($0.inside):\($0.outside):\($0.count)" }.joined(separator: ","))")
        add("capabilities.effective", posture.capabilities.effective.joined(separator: ",").ifEmpty("none"))
        add("capabilities.bounding", posture.capabilities.bounding.joined(separator: ",").ifEmpty("none"))
        add("capabilities.ambient", posture.capabilities.ambient.joined(separator: ",").ifEmpty("none"))
        add("seccomp", posture.seccomp.map { "\($0.mode.rawValue) filters=\($0.filters.map(String.init) ?? "?")" + ($0.threads.map { " threads=\($0) unfiltered=\(posture.seccomp?.threadsUnfiltered ?? 0)" } ?? "") } ?? "?")
        if let seccomp = posture.seccomp, let reachable = seccomp.reachable {
            add("seccomp.reachable", "(\(seccomp.source?.rawValue ?? "?")) " + SeccompReachable.groups.map { "\($0.name)=\(reachable[keyPath: $0.path].rawValue)" }.joined(separator: " "))
        }
        for entry in posture.seccomp?.syscalls ?? [] {
            let undecided = entry.undecided.map { " undecided=\($0)" } ?? ""
            add("seccomp.syscalls \(esc(entry.architecture))", "allowed=\(entry.allowed) denied=\(entry.denied) conditional=\(entry.conditional)\(undecided)")
            add("  allowed", esc(entry.allowedCalls.joined(separator: " ")).ifEmpty("none"))
            for call in entry.conditionalCalls {
                let cases = call.cases.map { "\($0.action) when \($0.when.joined(separator: " and ").ifEmpty("always"))" }
                add("  conditional \(esc(call.name))", esc(cases.joined(separator: "; ")) + (call.complete ? "" : "; …"))
            }
        }
        add("mac", macSummary(posture.mac))
        if let cgroup = posture.cgroup {
            add("cgroup", "\(cgroup.version) \(esc(cgroup.path)) memory.max=\(cgroup.memoryMax?.description ?? "?") pids.max=\(cgroup.pidsMax?.description ?? "?") cpu=\(cgroup.cpuQuota?.description ?? "?")/\(cgroup.cpuPeriod.map(String.init) ?? "?")")
        }
        let devices = posture.devices.filter { !$0.standard }
        let allowAll = posture.cgroup?.devicesAllowAll == true
        add("devices", devices.isEmpty && !allowAll ? "standard only" : esc(DeviceClasses.summary(devices.map { ($0.path, $0.type) }, allowAll: allowAll)))
        if !devices.isEmpty {
            add("devices (each)", devices.map { "\(esc($0.path))(\($0.access),\($0.source.rawValue))" }.joined(separator: " "))
        }
        for mount in posture.mounts where mount.hostPath != nil && mount.root != "/" {
            add("bind", "\(esc(mount.hostPath ?? "")) -> \(esc(mount.target)) \(mount.readOnly ? "ro" : "rw")")
        }
        if let hypervisor = posture.hypervisor {
            add("hypervisor", "\(hypervisor.emulator) accel=\(hypervisor.accelerator) vcpus=\(hypervisor.vcpus.map(String.init) ?? "-") user=\(esc(hypervisor.user.name ?? hypervisor.user.uid.map(String.init) ?? "?")) sandbox=\(hypervisor.sandbox.enabled ? "on" : "off")")
            for console in hypervisor.consoles {
                add("console", "\(console.kind) \(console.transport) \(esc(console.address ?? "")) local=\(console.localOnly.map { $0 ? "yes" : "no" } ?? "?")")
            }
            if !hypervisor.listening.isEmpty { add("listening", hypervisor.listening.joined(separator: " ")) }
        }
        for (field, reason) in posture.unknown.sorted(by: { $0.key < $1.key }) {
            add("unknown \(field)", esc(reason))
        }
        return lines
    }

    static func capabilitySummary(_ posture: Posture) -> String {
        let effective = posture.capabilities.effective
        if effective.isEmpty { return posture.unknown["capabilities"] == nil ? "none" : "?" }
        let set = Set(effective)
        if set.isSuperset(of: CapabilityNames.all) { return "all" }
        let defaults = Set(CapabilityNames.containerDefault)
        // Against the engines' default set, as the findings say it: "default", "default+3".
        if set == defaults { return "default" }
        let extra = set.subtracting(defaults)
        if set.isSuperset(of: defaults) {
            guard extra.contains("CAP_SYS_ADMIN") else { return "default+\(extra.count)" }
            return extra.count == 1 ? "default+SYS_ADMIN" : "default+SYS_ADMIN+\(extra.count - 1)"
        }
        if effective.contains("CAP_SYS_ADMIN") { return "\(effective.count)+SYS_ADMIN" }
        return String(effective.count)
    }

    static func macSummary(_ mac: MACLabels) -> String {
        if let apparmor = mac.apparmor { return esc("aa:\(apparmor.profile)") }
        if let selinux = mac.selinux { return esc("se:\(selinux.type ?? selinux.context)") }
        return "none"
    }

    static func formatScore(_ score: Double) -> String {
        let tenths = Int((score * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func esc(_ text: String) -> String { SafeText.forTerminal(text) }

    static func clip(_ text: String, _ width: Int) -> String {
        text.count > width ? String(text.prefix(width - 1)) + "…" : text
    }

    static func align(_ rows: [[String]]) -> [String] {
        guard let columns = rows.first?.count else { return [] }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }
    }
}

extension String {
    func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}
