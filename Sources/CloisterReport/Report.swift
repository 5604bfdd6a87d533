import CloisterCheck
import CloisterCodec
import CloisterModel
import CloisterRules
import Foundation
import Synchronization

/// The output formats of `scan` and `check`.
public enum ReportFormat: String, CaseIterable, Sendable {
    case table, json, sarif, junit, markdown, html, oscal

    /// The usual file extension, for naming `--output` files.
    public var fileExtension: String {
        switch self {
        case .table: "txt"
        case .json: "json"
        case .sarif: "sarif"
        case .junit: "xml"
        case .markdown: "md"
        case .html: "html"
        case .oscal: "json"
        }
    }
}

/// Renders a scan report. Pure: returns the bytes; the caller writes them (atomically, with
/// `OutputFile.write` in the commands module).
public enum Report {
    /// `rules` supplies titles, remediation and help for SARIF, JUnit and the audit reports;
    /// without it they are built from the findings alone. `heading` replaces the table's host
    /// line (for `check`); `terminal` is the table's width, colour and grouping.
    public static func render(
        format: ReportFormat, report: ScanReport, rules: RulePack? = nil, verbose: Bool = false,
        heading: String? = nil, terminal: TerminalStyle = .plain
    ) throws -> [UInt8] {
        switch format {
        case .table:
            return Array((TableRendering.scan(report, verbose: verbose, heading: heading, style: terminal, rules: rules) + "\n").utf8)
        case .json: return try ScanJSON.render(report)
        case .sarif: return Array(SARIFRenderer.render(report, rules: rules).utf8)
        case .junit: return Array(JUnitRenderer.render(report, rules: rules).utf8)
        case .markdown: return Array(MarkdownRenderer.render(report, rules: rules).utf8)
        case .html: return Array(HTMLRenderer.render(report, rules: rules).utf8)
        case .oscal: return Array(OSCALRenderer.render(report, rules: rules).utf8)
        }
    }
}


/// Facts the human-readable renderers share.
struct ReportFacts {
    let report: ScanReport
    let rules: RulePack?
    /// For a fleet: the node each workload id was scanned on (empty for one host).
    var nodes: [String: String] = [:]

    func title(of ruleID: String) -> String { rules?.rule(id: ruleID)?.title ?? ruleID }

    func posture(_ id: String) -> Posture? { report.workloads.first { $0.id == id } }

    /// A workload as the terminal names it: its name, else its id (also for an id no posture has).
    func displayName(_ id: String) -> String {
        posture(id).map { $0.name.isEmpty ? $0.id : $0.name } ?? id
    }

    func findings(for workload: String) -> [Finding] { report.findings.filter { $0.workload == workload } }

    /// Findings of workloads not in the report (should not happen, but are never dropped).
    var orphanFindings: [Finding] {
        let ids = Set(report.workloads.map(\.id))
        return report.findings.filter { !ids.contains($0.workload) }
    }

    /// The workload ids findings are grouped under: the report's workloads in order, then those
    /// that only findings name, each once.
    var findingGroups: [String] {
        var groups = report.workloads.map(\.id)
        for finding in orphanFindings where !groups.contains(finding.workload) { groups.append(finding.workload) }
        return groups
    }

    /// Each group (as `findingGroups` orders them) that has findings, with its findings.
    var groupedFindings: [(workload: String, findings: [Finding])] {
        findingGroups.compactMap { workload in
            let findings = findings(for: workload)
            return findings.isEmpty ? nil : (workload, findings)
        }
    }

    /// A workload's row in the audit tables: its exposure score and level ("–" when it has none)
    /// and how many of its findings are not accepted.
    typealias WorkloadRow = (score: String, level: String, open: Int)

    func row(of posture: Posture) -> WorkloadRow {
        (posture.exposure.map { String(format: "%.1f", $0.score) } ?? "–",
         posture.exposure?.level ?? "–",
         findings(for: posture.id).filter { $0.accepted == nil }.count)
    }

    /// The audit reports' table of workloads: `empty` when the report has none, otherwise
    /// `header`, a `row` a workload in report order, then `footer`.
    func workloadTable(empty: String, header: String, footer: String, row format: (Posture, WorkloadRow) -> String) -> String {
        guard !report.workloads.isEmpty else { return empty }
        return header + report.workloads.map { format($0, row(of: $0)) }.joined() + footer
    }

    /// Unaccepted findings by severity, most severe first (every severity, zero or not).
    var severityCounts: [(severity: Severity, count: Int)] {
        let counts = self.counts
        return Severity.allCases.reversed().map { ($0, counts[$0, default: 0]) }
    }

    /// The most exposed workload (the first of equals), nil when none is scored.
    var worst: Posture? {
        var worst: Posture?
        for posture in report.workloads {
            guard let score = posture.exposure?.score else { continue }
            if score > (worst?.exposure?.score ?? -1) { worst = posture }
        }
        return worst
    }

    /// A rule once, with every finding of it across the workloads: the rule × workload view.
    /// Most severe first, then the rule hitting most workloads, then by id; inside a rule, open
    /// findings before accepted ones, in report order.
    var findingsByRule: [(rule: String, severity: Severity, findings: [Finding])] {
        var order: [String] = []
        var byRule: [String: [Finding]] = [:]
        for finding in report.findings {
            if byRule[finding.rule] == nil { order.append(finding.rule) }
            byRule[finding.rule, default: []].append(finding)
        }
        let groups = order.map { rule -> (rule: String, severity: Severity, findings: [Finding]) in
            let findings = byRule[rule] ?? []
            let severity = findings.map(\.severity).max() ?? .info
            let open = findings.filter { $0.accepted == nil }
            return (rule, severity, open + findings.filter { $0.accepted != nil })
        }
        return groups.sorted {
            ($0.severity.rank, $0.findings.count, $1.rule) > ($1.severity.rank, $1.findings.count, $0.rule)
        }
    }

    var acceptedCount: Int { report.findings.filter { $0.accepted != nil }.count }

    /// Whom the open findings are on: how many of the report's workloads, and how many hosts (a
    /// host's own findings carry `workload: "host"`, a fleet's `NODE/host`), which are not
    /// workloads and must not be counted as one ("on 2 of 1 workload").
    var openFindingOwners: (workloads: Int, hosts: Int) {
        let ids = Set(report.workloads.map(\.id))
        let owners = Set(report.findings.filter { $0.accepted == nil }.map(\.workload))
        let onWorkloads = owners.filter(ids.contains).count
        return (onWorkloads, owners.count - onWorkloads)
    }

    /// " and the host", " and 3 hosts", or nothing: said after "on N of M workloads".
    static func andHosts(_ hosts: Int) -> String {
        hosts == 0 ? "" : hosts == 1 ? " and the host" : " and \(hosts) hosts"
    }

    var counts: [Severity: Int] {
        var counts: [Severity: Int] = [:]
        for finding in report.findings where finding.accepted == nil { counts[finding.severity, default: 0] += 1 }
        return counts
    }

    var hostLines: [(String, String)] {
        let host = report.host
        var lines: [(String, String)] = []
        lines.append(("Host", host.hostname ?? "(unknown)"))
        lines.append(("Kernel", [host.kernel, host.kernelVersion].compactMap { $0 }.joined(separator: " ").nonEmpty ?? "(unknown)"))
        if let architecture = host.architecture { lines.append(("Architecture", architecture)) }
        lines.append(("Active LSMs", host.lsms.map { $0.isEmpty ? "none" : $0.joined(separator: ", ") } ?? "(unknown)"))
        lines.append(("cgroup", host.cgroupVersion ?? "(unknown)"))
        lines.append(("KVM", host.kvm.usable ? "usable" : (host.kvm.present ? "present, not usable" : "absent")))
        lines.append(("Scanned at", report.scannedAt))
        lines.append(("Tool", "\(report.tool.name) \(report.tool.version)"))
        return lines
    }

    /// How the audit reports name a reference: a CVE by its id, anything else by its title
    /// (or its source and id when it has none).
    static func label(of reference: Reference) -> String {
        reference.source == "cve" ? reference.id : (reference.title ?? "\(reference.source) \(reference.id)")
    }

    /// The reference's address when the audit reports link it: only https.
    static func link(of reference: Reference) -> String? {
        reference.url.flatMap { $0.hasPrefix("https://") ? $0 : nil }
    }

    /// A block of the audit reports left out when it has no items: `header`, one `item` each,
    /// then `footer`.
    /// The report's problems as the human formats list them: the rules left undecided for
    /// the same reason on several workloads in one entry naming them all (200 containers
    /// without a pids limit are one line, not 200), every other problem as it came, in
    /// the order each first appears.
    var issueGroups: [IssueGroup] {
        var groups: [IssueGroup] = []
        var slot: [String: Int] = [:]
        for issue in report.issues {
            guard let rule = issue.rule, let reason = issue.reason, let workload = issue.workload else {
                groups.append(IssueGroup(first: issue, workloads: issue.workload.map { [$0] } ?? []))
                continue
            }
            let key = rule + "\u{0}" + reason
            if let index = slot[key] {
                groups[index].workloads.append(workload)
            } else {
                slot[key] = groups.count
                groups.append(IssueGroup(first: issue, workloads: [workload]))
            }
        }
        return groups
    }

    /// One entry of `issueGroups`: the first issue, and every workload the entry covers.
    struct IssueGroup {
        var first: ScanIssue
        var workloads: [String]

        /// A rule undecided on more than one workload (otherwise the first issue says it all).
        var undecidedRule: (rule: String, reason: String)? {
            guard workloads.count > 1, let rule = first.rule, let reason = first.reason else { return nil }
            return (rule, reason)
        }

        /// "rule R was not decided on 67 workloads: why" (plain text: the caller escapes it).
        var sentence: String {
            guard let (rule, reason) = undecidedRule else { return first.message }
            return "rule \(rule) was not decided on \(workloads.count) workloads: \(reason)"
        }
    }

    static func block<Item>(_ items: [Item], header: String, footer: String, item: (Item) -> String) -> String {
        items.isEmpty ? "" : header + items.map(item).joined() + footer
    }

    /// An evidence value as the audit pages show it: a capability list said against the known
    /// sets, any other list of more than ten items cut with how many more (the JSON keeps
    /// every item).
    static func shortEvidence(_ key: String, _ value: String) -> String {
        let items = value.components(separatedBy: ", ")
        if key.hasPrefix("capabilities."), items.allSatisfy({ $0.hasPrefix("CAP_") }) { return CapabilityNames.summary(items) }
        guard items.count > 10 else { return value }
        return CapabilityNames.list(items, limit: 10) + " (every item in the JSON)"
    }

    static func sortedEvidence(_ evidence: [String: String]) -> [(String, String)] {
        evidence.keys.sorted().map { ($0, evidence[$0] ?? "") }
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}


/// `scan --format json`: the contract object, compact, with one workload, finding or issue a
/// line so the output greps and diffs well. Each piece is encoded on its own straight into the
/// output (no tree of the whole report, no second copy), which is what keeps a scan of
/// hundreds of containers small and fast. Keys are in sorted order, as `JSONEncoder`'s
/// `.sortedKeys` would give them.
public enum ScanJSON {
    /// `lines: false`: the whole report on one line (JSON Lines, `scan --watch`), the bytes of
    /// `CompactJSON.encode(report)` and a newline. `memory`: what the last rendering of the same
    /// host left (`serve`, `scan --watch`), whose unchanged workloads are not rendered again.
    public static func render(_ report: ScanReport, lines: Bool = true, memory: RenderMemory? = nil) throws -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(report.workloads.count * 12_288 + 8192)
        try write(report, chunkSize: Int.max, lines: lines, memory: memory) { output.append(contentsOf: $0) }
        return output
    }

    /// The same bytes as `render`, handed to `sink` in pieces of about `chunkSize`: a scan
    /// written to standard output never holds the whole report (2.5 MB at 200 containers).
    public static func write(
        _ report: ScanReport, chunkSize: Int = 64 << 10, lines: Bool = true, memory: RenderMemory? = nil,
        to sink: ([UInt8]) throws -> Void
    ) throws {
        var output: [UInt8] = []
        output.reserveCapacity(min(chunkSize, 1 << 20) + 16_384)
        func flushIfFull() throws {
            if output.count >= chunkSize {
                try sink(output)
                output.removeAll(keepingCapacity: true)
            }
        }
        func append(_ text: String) { output.append(contentsOf: text.utf8) }
        let newline = lines ? "\n" : ""
        // Workloads that share a seccomp filter share its decoded lists: each rendered once.
        let memo = CompactJSON.Memo(sharing: [[SeccompSyscalls].self])
        func list<T: Encodable & Sendable>(
            _ key: String, _ items: [T], last: Bool = false, batch size: Int = 64,
            encode: @escaping @Sendable (T) throws -> [UInt8] = { try CompactJSON.encode($0, memo: memo) }
        ) throws {
            try list(key, items, last: last, batch: size, part: 1) { part in try part.map(encode) }
        }
        /// Encoded on every core `part` items at a time, a batch at a time, written in order:
        /// the batch bounds what is held (64 workloads of about 12 KB). `encodePart` returns
        /// the elements its part makes, in order: one an item, or several (a workload's run of
        /// findings).
        func list<T: Sendable>(
            _ key: String, _ items: [T], last: Bool = false, batch size: Int, part: Int,
            encodePart: @escaping @Sendable ([T]) throws -> [[UInt8]]
        ) throws {
            append("\"\(key)\":[")
            var start = 0
            while start < items.count {
                let batch = items[start..<min(items.count, start + size)]
                let parts = stride(from: batch.startIndex, to: batch.endIndex, by: part).map {
                    Array(batch[$0..<min(batch.endIndex, $0 + part)])
                }
                let encoded = Parallel.map(parts) { part in Result { try encodePart(part) } }
                var index = start
                for result in encoded {
                    for bytes in try result.get() {
                        append(index == 0 ? newline : "," + newline)
                        output.append(contentsOf: bytes)
                        index += 1
                        try flushIfFull()
                    }
                }
                start += batch.count
            }
            append(items.isEmpty ? "]" : newline + "]")
            append(last ? newline : "," + newline)
        }
        append("{")
        // Findings straight to bytes (`FindingJSON`, CompactJSON's bytes), 32 to a part so a
        // rule's shared references are written once per part.
        let writeFindings: @Sendable ([Finding]) -> [[UInt8]] = { part in
            var cache = FindingJSON.ReferenceCache()
            return part.map { finding in
                var bytes: [UInt8] = []
                FindingJSON.write(finding, into: &bytes, cache: &cache)
                return bytes
            }
        }
        let writeIssues: @Sendable ([ScanIssue]) -> [[UInt8]] = { part in
            part.map { issue in
                var bytes: [UInt8] = []
                FindingJSON.write(issue, into: &bytes)
                return bytes
            }
        }
        // With a memory, a workload's run of findings (and of issues) equal to the last
        // rendering's is not written again: a rescan of an unchanged host wrote 3,200 of them,
        // a tenth of its time.
        let previous = memory?.state.withLock { $0 }
        let kept = Mutex(RenderMemory.State())
        /// `items` cut into each workload's run; a run equal to the one `previous` holds for
        /// that workload is written from its bytes, and `keep` is told each run the report
        /// holds. A workload whose items are in two stretches is written afresh each time.
        func runs<Item: Sendable & Equatable>(
            _ key: String, _ items: [Item], of workload: @escaping @Sendable (Item) -> String,
            previous: [String: RenderMemory.RenderedRun<Item>],
            keep: @escaping @Sendable (String, RenderMemory.RenderedRun<Item>) -> Void,
            write: @escaping @Sendable ([Item]) -> [[UInt8]]
        ) throws {
            let runs = RenderMemory.runs(items, by: workload)
            let split = RenderMemory.split(runs, by: workload)
            try list(key, runs, batch: 64, part: 4) { part in
                part.flatMap { run -> [[UInt8]] in
                    let owner = workload(run[0])
                    if split.contains(owner) { return write(run) }
                    if let known = previous[owner], known.items == run {
                        keep(owner, known)
                        return known.bytes
                    }
                    let rendered = RenderMemory.RenderedRun(items: run, bytes: write(run))
                    keep(owner, rendered)
                    return rendered.bytes
                }
            }
        }
        if memory != nil {
            try runs(
                "findings", report.findings, of: \.workload, previous: previous?.findings ?? [:],
                keep: { owner, run in kept.withLock { $0.findings[owner] = run } }, write: writeFindings)
        } else {
            try list("findings", report.findings, batch: 1024, part: 32, encodePart: writeFindings)
        }
        append("\"host\":")
        output.append(contentsOf: try CompactJSON.encode(report.host))
        append("," + newline)
        if memory != nil {
            // The host's own issues (no workload) as one more run, under "".
            try runs(
                "issues", report.issues, of: { $0.workload ?? "" }, previous: previous?.issues ?? [:],
                keep: { owner, run in kept.withLock { $0.issues[owner] = run } }, write: writeIssues)
        } else {
            try list("issues", report.issues, batch: 1024, part: 64, encodePart: writeIssues)
        }
        append("\"scannedAt\":")
        output.append(contentsOf: try CompactJSON.encode(report.scannedAt))
        append(",\"schema\":")
        output.append(contentsOf: try CompactJSON.encode(report.schema))
        append(",\"tool\":")
        output.append(contentsOf: try CompactJSON.encode(report.tool))
        append("," + newline)
        if let memory {
            let workloads = previous?.workloads ?? [:]
            try list("workloads", report.workloads, last: true) { posture in
                if let known = workloads[posture.id], known.posture == posture {
                    kept.withLock { $0.workloads[posture.id] = known }
                    return known.bytes
                }
                let bytes = try CompactJSON.encode(posture, memo: memo)
                kept.withLock { $0.workloads[posture.id] = RenderMemory.Rendered(posture: posture, bytes: bytes) }
                return bytes
            }
            // What this report holds, reused or new; the gone dropped.
            let state = kept.withLock { $0 }
            memory.state.withLock { $0 = state }
        } else {
            try list("workloads", report.workloads, last: true)
        }
        append("}\n")
        if !output.isEmpty { try sink(output) }
    }
}

/// What one rendering of a host's report leaves for the next of the same host (`serve`'s
/// rescans, `scan --watch`): each workload's bytes, by its id, reused while its posture is the
/// same. One rendering at a time.
public final class RenderMemory: Sendable {
    struct Rendered: Sendable {
        var posture: Posture
        var bytes: [UInt8]
    }

    /// One workload's findings (or issues) as the report listed them, each one's bytes.
    struct RenderedRun<Item: Sendable & Equatable>: Sendable {
        var items: [Item]
        var bytes: [[UInt8]]
    }

    struct State: Sendable {
        var workloads: [String: Rendered] = [:]
        var findings: [String: RenderedRun<Finding>] = [:]
        /// Keyed by workload; the host's own issues (no workload) under "".
        var issues: [String: RenderedRun<ScanIssue>] = [:]
    }

    let state = Mutex(State())

    public init() {}

    /// How many workloads the memory holds rendered (for tests).
    public var count: Int { state.withLock { $0.workloads.count } }

    /// How many findings and issues the memory holds rendered (for tests).
    public var findingsAndIssues: Int {
        state.withLock { state in
            state.findings.values.reduce(0) { $0 + $1.bytes.count } + state.issues.values.reduce(0) { $0 + $1.bytes.count }
        }
    }

    /// `items` cut where `key` changes, in order: a report lists each workload's findings
    /// together. A workload whose items are not together gets one run per stretch.
    static func runs<Item, Key: Equatable>(_ items: [Item], by key: (Item) -> Key) -> [[Item]] {
        var runs: [[Item]] = []
        var start = 0
        for index in items.indices where index > start && key(items[index]) != key(items[start]) {
            runs.append(Array(items[start..<index]))
            start = index
        }
        if start < items.count { runs.append(Array(items[start...])) }
        return runs
    }

    /// The keys with more than one run: not remembered, but written afresh each time.
    static func split<Item, Key: Hashable>(_ runs: [[Item]], by key: (Item) -> Key) -> Set<Key> {
        var seen: Set<Key> = []
        var split: Set<Key> = []
        for run in runs where !seen.insert(key(run[0])).inserted { split.insert(key(run[0])) }
        return split
    }
}

/// A decoded filter stack's lists are one array shared by every workload under that stack.
extension Array: StorageSharingEncodable where Element == SeccompSyscalls {
    public var storageAddress: UInt { withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } }
}
