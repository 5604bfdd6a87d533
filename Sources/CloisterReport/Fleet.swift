import CloisterCodec
import CloisterModel
import CloisterRules
import Foundation

/// A saved report that cannot be read: wrong schema, newer version, invalid or truncated JSON.
/// Names the file, so fifty nodes' reports are not searched by hand.
public struct SavedReportError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var message: String

    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}

/// One node's saved `cloister.scan/v1` or `cloister.check/v1` report, read back.
public struct SavedReport: Sendable {
    /// The node it speaks for: `NAME=FILE`'s name, else the report's `host.hostname`, else the
    /// file's name without its extension.
    public var node: String
    public var file: String
    /// Which schema it was saved as (a check report is read into the scan report's shape).
    public var schema: String
    public var report: ScanReport

    /// The schemas this cloister reads, and the family a newer version of each belongs to.
    public static let readable = [ScanReport.schemaID, checkSchema]
    static let checkSchema = "cloister.check/v1"

    /// Reads `bytes` (the content of `file`). Anything but a whole report of a known schema is
    /// refused with the file's name: an auditor must never get a fleet report silently missing a node.
    public static func decode(_ bytes: Data, file: String, node: String? = nil) throws -> SavedReport {
        struct Header: Decodable { var schema: String? }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: bytes)
        } catch {
            throw SavedReportError(file: file, message: "is not a whole JSON document (truncated or not JSON): \(reason(error))")
        }
        guard let schema = header.schema else {
            throw SavedReportError(file: file, message: "has no `schema`: not a cloister report (it reads \(readable.joined(separator: " and ")))")
        }
        let report: ScanReport
        switch schema {
        case ScanReport.schemaID:
            do {
                report = try JSONDecoder().decode(ScanReport.self, from: bytes)
            } catch {
                throw SavedReportError(file: file, message: "is not a valid \(schema) report: \(reason(error))")
            }
        case checkSchema:
            struct CheckDocument: Decodable {
                var workloads: [Posture]
                var findings: [Finding]
                var issues: [ScanIssue]?
            }
            do {
                let document = try JSONDecoder().decode(CheckDocument.self, from: bytes)
                report = ScanReport(scannedAt: "", host: HostFacts(), workloads: document.workloads, findings: document.findings, issues: document.issues ?? [])
            } catch {
                throw SavedReportError(file: file, message: "is not a valid \(schema) report: \(reason(error))")
            }
        default:
            if let family = readable.first(where: { known in
                // Same family, a higher version: `cloister.scan/v2` against `cloister.scan/v1`.
                let stem = known.dropLast(1)
                return schema.hasPrefix(stem) && (Int(schema.dropFirst(stem.count)) ?? 0) > (Int(String(known.suffix(1))) ?? 1)
            }) {
                throw SavedReportError(
                    file: file,
                    message: "is a \(schema) report, newer than this cloister reads (\(family)); render it with the cloister that wrote it, or a newer one")
            }
            throw SavedReportError(
                file: file, message: "has schema \"\(SafeText.forTerminal(schema))\", not a report this command reads (\(readable.joined(separator: " and ")))")
        }
        let fallback = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let name = node ?? report.host.hostname.flatMap { $0.isEmpty ? nil : $0 } ?? fallback
        return SavedReport(node: name, file: file, schema: schema, report: report)
    }

    /// A decoding error said as where it is and what is wrong.
    static func reason(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return error.localizedDescription }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "" : " at \(keys.hasPrefix(".") ? String(keys.dropFirst()) : keys)"
        }
        switch error {
        case .dataCorrupted(let context): return context.debugDescription + path(context)
        case .keyNotFound(let key, let context): return "missing `\(key.stringValue)`" + path(context)
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return context.debugDescription + path(context)
        @unknown default: return String(describing: error)
        }
    }
}

/// Many nodes' reports as one, the node a dimension of every format: SARIF one run a node,
/// OSCAL one result with every node's inventory, HTML and Markdown a node column and filter,
/// JSON `cloister.fleet/v1`: `{schema, tool, nodes: [{node, file, schema, report}]}` where each
/// `report` is that node's `cloister.scan/v1` object (a check report in the scan report's shape).
public struct FleetReport: Sendable {
    public static let schemaID = "cloister.fleet/v1"

    public var nodes: [SavedReport]

    /// Two inputs naming one node would merge two hosts' workloads under one name: refused.
    public init(_ nodes: [SavedReport]) throws {
        var seen: [String: String] = [:]
        for node in nodes {
            if let other = seen[node.node] {
                throw SavedReportError(
                    file: node.file, message: "names node \"\(SafeText.forTerminal(node.node))\", as \(other) does; give each a name with NAME=FILE")
            }
            seen[node.node] = node.file
        }
        self.nodes = nodes
    }

    /// Every node's workloads and findings in one report, each workload id put after its node
    /// (`node-a/docker:abc`) so the same container id on two nodes stays two workloads; with the
    /// map from those ids to their node. `namesWithNode` also puts the node before each name
    /// (for the terminal, which has no node column).
    public func merged(namesWithNode: Bool = false) -> (report: ScanReport, nodes: [String: String]) {
        var workloads: [Posture] = []
        var findings: [Finding] = []
        var issues: [ScanIssue] = []
        var nodeOf: [String: String] = [:]
        for node in nodes {
            let prefix = node.node + "/"
            for var posture in node.report.workloads {
                posture.id = prefix + posture.id
                if namesWithNode { posture.name = prefix + posture.name }
                nodeOf[posture.id] = node.node
                workloads.append(posture)
            }
            for var finding in node.report.findings {
                finding.workload = prefix + finding.workload
                nodeOf[finding.workload] = node.node
                findings.append(finding)
            }
            for var issue in node.report.issues {
                issue.message = "\(node.node): \(issue.message)"
                issue.workload = issue.workload.map { prefix + $0 }
                issues.append(issue)
            }
        }
        var host = HostFacts()
        host.hostname = "\(nodes.count) nodes"
        // The fleet's time is its earliest scan's: when the oldest of these facts was true.
        let times = nodes.map(\.report.scannedAt).filter { !$0.isEmpty }.sorted()
        let report = ScanReport(scannedAt: times.first ?? "", host: host, workloads: workloads, findings: findings, issues: issues)
        return (report, nodeOf)
    }

    public func render(
        format: ReportFormat, rules: RulePack?, verbose: Bool = false, terminal: TerminalStyle = .plain
    ) throws -> [UInt8] {
        switch format {
        case .json:
            var output = Array("{\"schema\":\"\(Self.schemaID)\",\"tool\":".utf8)
            output += try CompactJSON.encode(ToolInfo())
            output += Array(",\"nodes\":[".utf8)
            for (index, node) in nodes.enumerated() {
                output += Array((index == 0 ? "\n{\"node\":" : ",\n{\"node\":").utf8)
                output += try CompactJSON.encode(node.node)
                output += Array(",\"file\":".utf8) + (try CompactJSON.encode(node.file))
                output += Array(",\"schema\":".utf8) + (try CompactJSON.encode(node.schema))
                output += Array(",\"report\":".utf8)
                var report = try ScanJSON.render(node.report)
                while report.last == UInt8(ascii: "\n") { report.removeLast() }
                output += report
                output += Array("}".utf8)
            }
            output += Array("\n]}\n".utf8)
            return output
        case .sarif:
            return Array(SARIFRenderer.render(runs: nodes.map { SARIFRenderer.run($0.report, rules: rules, node: $0.node) }).utf8)
        case .table:
            let (report, _) = merged(namesWithNode: true)
            let heading = "fleet of \(nodes.count) nodes: " + nodes.map { SafeText.forTerminal($0.node) }.joined(separator: ", ")
            return Array((TableRendering.scan(report, verbose: verbose, heading: heading, style: terminal, rules: rules) + "\n").utf8)
        case .junit:
            return Array(JUnitRenderer.render(merged().report, rules: rules).utf8)
        case .markdown:
            let (report, nodeOf) = merged()
            return Array(MarkdownRenderer.render(report, rules: rules, nodes: nodeOf).utf8)
        case .html:
            let (report, nodeOf) = merged()
            return Array(HTMLRenderer.render(report, rules: rules, nodes: nodeOf).utf8)
        case .oscal:
            let (report, nodeOf) = merged()
            return Array(OSCALRenderer.render(report, rules: rules, nodes: nodeOf).utf8)
        }
    }
}
