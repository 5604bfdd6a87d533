import CloisterCodec
import CloisterModel

/// A finding written straight to bytes, exactly as `CompactJSON.encode(finding)` writes it
/// (keys in UTF-8 byte order, absent optionals left out, Foundation's string escapes): a check
/// of 5,000 pods has some 60,000 findings, and building an Encodable node tree for each was a
/// tenth of the run. A test holds the two writers to the same bytes.
///
/// When `Finding`, `Reference` or `SourceLocation` gains a field, add it here in its sorted place.
public enum FindingJSON {
    /// Reference lists already written, by their array's storage: a rule's findings share one
    /// list, so it is written once per piece of the report.
    public struct ReferenceCache {
        private var written = StorageKeyedCache<Reference, [UInt8]>()

        public init() {}

        mutating func write(_ references: [Reference], into output: inout [UInt8]) {
            guard references.count > 1 else {
                FindingJSON.write(references, into: &output)
                return
            }
            output += written.product(for: references) { references in
                var bytes: [UInt8] = []
                FindingJSON.write(references, into: &bytes)
                return bytes
            }
        }
    }

    public static func write(_ finding: Finding, into output: inout [UInt8], cache: inout ReferenceCache) {
        output.append(UInt8(ascii: "{"))
        if let accepted = finding.accepted {
            key("accepted", into: &output)
            string(accepted, into: &output)
            output.append(UInt8(ascii: ","))
        }
        key("evidence", into: &output)
        output.append(UInt8(ascii: "{"))
        if !finding.evidence.isEmpty {
            let keys = finding.evidence.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (index, name) in keys.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                string(name, into: &output)
                output.append(UInt8(ascii: ":"))
                string(finding.evidence[name] ?? "", into: &output)
            }
        }
        output.append(UInt8(ascii: "}"))
        if let location = finding.location {
            output.append(UInt8(ascii: ","))
            key("location", into: &output)
            write(location, into: &output)
        }
        output.append(UInt8(ascii: ","))
        key("message", into: &output)
        string(finding.message, into: &output)
        output.append(UInt8(ascii: ","))
        key("references", into: &output)
        cache.write(finding.references, into: &output)
        output.append(UInt8(ascii: ","))
        key("rule", into: &output)
        string(finding.rule, into: &output)
        output.append(UInt8(ascii: ","))
        key("severity", into: &output)
        string(finding.severity.rawValue, into: &output)
        output.append(UInt8(ascii: ","))
        key("workload", into: &output)
        string(finding.workload, into: &output)
        output.append(UInt8(ascii: "}"))
    }

    static func write(_ location: SourceLocation, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "{"))
        if let column = location.column {
            key("column", into: &output)
            output.append(contentsOf: String(column).utf8)
            output.append(UInt8(ascii: ","))
        }
        key("file", into: &output)
        string(location.file, into: &output)
        member("line", location.line, into: &output)
        member("path", location.path, into: &output)
        output.append(UInt8(ascii: "}"))
    }

    static func write(_ references: [Reference], into output: inout [UInt8]) {
        output.append(UInt8(ascii: "["))
        for (index, reference) in references.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(UInt8(ascii: "{"))
            key("id", into: &output)
            string(reference.id, into: &output)
            output.append(UInt8(ascii: ","))
            key("source", into: &output)
            string(reference.source, into: &output)
            member("title", reference.title, into: &output)
            member("url", reference.url, into: &output)
            output.append(UInt8(ascii: "}"))
        }
        output.append(UInt8(ascii: "]"))
    }

    /// `,"name":"text"` when there is a text: a member after the first, left out when absent.
    static func member(_ name: StaticString, _ text: String?, into output: inout [UInt8]) {
        guard let text else { return }
        output.append(UInt8(ascii: ","))
        key(name, into: &output)
        string(text, into: &output)
    }

    /// `,"name":N` when there is a number.
    static func member(_ name: StaticString, _ number: Int?, into output: inout [UInt8]) {
        guard let number else { return }
        output.append(UInt8(ascii: ","))
        key(name, into: &output)
        output.append(contentsOf: String(number).utf8)
    }

    /// `"name":` for a key known to need no escape.
    static func key(_ name: StaticString, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { output.append(contentsOf: $0) }
        output.append(contentsOf: "\":".utf8)
    }

    static func string(_ text: String, into output: inout [UInt8]) {
        JSONString.write(text, into: &output, style: .foundation)
    }
}

extension FindingJSON {
    /// An issue as `CompactJSON.encode(issue)` (and Foundation's sorted-keys encoder) writes it:
    /// a check's undecided rules are some 30,000 issues, once a fifth of a report's bytes
    /// encoded on one thread.
    public static func write(_ issue: ScanIssue, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "{"))
        key("message", into: &output)
        string(issue.message, into: &output)
        member("pid", issue.pid, into: &output)
        member("reason", issue.reason, into: &output)
        member("rule", issue.rule, into: &output)
        member("workload", issue.workload, into: &output)
        output.append(UInt8(ascii: "}"))
    }
}
