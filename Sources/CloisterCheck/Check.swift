import CloisterCodec
import CloisterFormats
import CloisterModel
import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A file that could not be read as its format: where, and what is wrong.
public struct CheckError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    /// The path inside the document, when the error is about one field.
    public var path: String?
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, path: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    /// The file parsed but is none of the formats `check` reads.
    public var isUnrecognizedFormat: Bool { message.hasPrefix("is JSON but not") || message.hasPrefix("is YAML but neither") || message.hasPrefix("is XML with root") }

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let column { place += ":\(column)" }
        return "\(place): \(message)"
    }
}

/// The formats `check` reads.
public enum DeclaredFormat: String, Codable, Sendable {
    case oci, kubernetes, compose, libvirt, qemu, firecracker
}

/// What checking some files found: the declared workloads and the files that were not valid.
public struct CheckResult: Sendable {
    public var workloads: [Posture] = []
    public var errors: [CheckError] = []
    /// Documents read (a multi-document YAML file counts each document).
    public var documents = 0
    public var files = 0
    /// Files found in a directory that are in none of the formats (a CI workflow, a Helm
    /// values.yaml, a package.json): passed over, and listed so nothing is silently lost.
    public var skipped: [String] = []

    public init() {}

    public mutating func merge(_ other: CheckResult) {
        workloads += other.workloads
        errors += other.errors
        documents += other.documents
        files += other.files
        skipped += other.skipped
    }
}

public enum Check {
    /// File name endings looked at when a directory is given.
    public static let directoryExtensions: Set<String> = ["json", "yaml", "yml", "xml", "qemu", "args", "cmdline"]
    /// Files larger than this are refused rather than read.
    public static let maximumFileSize = 64 * 1024 * 1024

    /// Checks files and directories (recursively, files with known endings). Every file is
    /// checked even when some are invalid; their errors are collected.
    public static func check(paths: [String]) -> CheckResult {
        var files: [(path: String, explicit: Bool)] = []
        var result = CheckResult()
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                result.errors.append(CheckError(file: path, message: "no such file or directory"))
                continue
            }
            if isDirectory.boolValue {
                files += expand(directory: path).map { ($0, false) }
            } else {
                files.append((path, true))
            }
        }
        // Files are independent: check them in parallel, report in the order given.
        let results = Parallel.map(files) { check(file: $0.path, explicit: $0.explicit) }
        for fileResult in results { result.merge(fileResult) }
        return result
    }

    static func expand(directory: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return [] }
        var files: [String] = []
        while let relative = enumerator.nextObject() as? String {
            let name = relative.split(separator: "/").last.map(String.init) ?? relative
            if name.hasPrefix(".") {
                enumerator.skipDescendants()
                continue
            }
            let ending = name.split(separator: ".").last.map { $0.lowercased() } ?? ""
            guard directoryExtensions.contains(ending) else { continue }
            let full = directory.hasSuffix("/") ? directory + relative : directory + "/" + relative
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(full)
            }
        }
        return files.sorted()
    }

    /// Checks one file. A file named explicitly that is in no known format is an error; one
    /// found in a directory is skipped.
    public static func check(file: String, explicit: Bool = true) -> CheckResult {
        var result = CheckResult()
        result.files = 1
        guard let handle = FileHandle(forReadingAtPath: file) else {
            result.errors.append(CheckError(file: file, message: "cannot be read (permission denied or not a regular file)"))
            return result
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maximumFileSize + 1) ?? Data()
        } catch {
            result.errors.append(CheckError(file: file, message: "cannot be read: \(error.localizedDescription)"))
            return result
        }
        if data.count > maximumFileSize {
            result.errors.append(CheckError(file: file, message: "is larger than \(maximumFileSize / 1_048_576) MiB; refused"))
            return result
        }
        guard let text = String(data: data, encoding: .utf8) else {
            result.errors.append(CheckError(file: file, line: 1, message: "is not UTF-8 text"))
            return result
        }
        var checked = check(contents: text, file: file)
        if !explicit, checked.errors.count == 1, checked.errors[0].isUnrecognizedFormat {
            checked.errors = []
            checked.documents = 0
            checked.skipped = [file]
        }
        return checked
    }

    /// Checks one file's contents; `file` is the name reported.
    public static func check(contents text: String, file: String) -> CheckResult {
        var result = CheckResult()
        result.files = 1
        let start = text.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" || $0 == "\u{FEFF}" }
        do {
            if start.hasPrefix("{") || start.hasPrefix("[") {
                result.documents = 1
                result.workloads = try checkJSON(text, file: file)
            } else if start.hasPrefix("<") {
                result.documents = 1
                result.workloads = [try checkXML(text, file: file)]
            } else if let words = qemuWords(text) {
                result.documents = 1
                result.workloads = [
                    QemuCommandLine.parse(words.map(\.word)).declaredPosture(
                        file: file, line: words.first?.line, argumentLines: words.map(\.line))
                ]
            } else {
                let (postures, documents) = try checkYAML(text, file: file)
                result.workloads = postures
                result.documents = documents
            }
        } catch let error as CheckError {
            result.errors.append(error)
            result.workloads = []
        } catch {
            result.errors.append(CheckError(file: file, message: "\(error)"))
            result.workloads = []
        }
        return result
    }

    /// The declared posture of a guest started with `argv` (`cloister check --qemu -- …`).
    public static func check(qemu argv: [String], source: String = "<command line>") -> Posture {
        QemuCommandLine.parse(argv).declaredPosture(file: source, line: nil)
    }

    static func contains(_ bytes: Substring.UTF8View.SubSequence, _ needle: String) -> Bool {
        let pattern = Array(needle.utf8)
        let haystack = Array(bytes)
        guard haystack.count >= pattern.count else { return false }
        for start in 0...(haystack.count - pattern.count) where haystack[start] == pattern[0] {
            if Array(haystack[start..<start + pattern.count]) == pattern { return true }
        }
        return false
    }

    /// The words of a qemu command line with their lines, when the text is one.
    static func qemuWords(_ text: String) -> ArraySlice<(word: String, line: Int)>? {
        // Only the first 4 KiB decide; most YAML and JSON fail at once.
        // Every qemu binary name holds "qemu" or "kvm": most files are ruled out by a byte
        // search of the first line that is not blank or a comment, without splitting words.
        guard let firstLine = text.utf8.split(separator: UInt8(ascii: "\n"), maxSplits: 64).first(where: { line in
            guard let start = line.first(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) else { return false }
            return start != UInt8(ascii: "#")
        }), contains(firstLine, "qemu") || contains(firstLine, "kvm") else { return nil }
        let head = String(text.prefix(4096))
        let words = ShellWords.commandStart(ShellWords.split(head))
        guard let first = words.first, QemuCommandLine.isQemuBinary(first) else { return nil }
        let all = ShellWords.splitWithLines(text)
        return all[ShellWords.commandStartIndex(all.map(\.word))...]
    }

    static func error(_ error: DocumentError, file: String) -> CheckError {
        CheckError(file: file, line: error.line, column: error.column, path: error.path, message: error.message)
    }

    // MARK: - JSON

    static func checkJSON(_ text: String, file: String) throws -> [Posture] {
        let root: DocNode
        do {
            root = try JSONDocument.parse(text)
        } catch {
            throw CheckError(file: file, line: error.line, column: error.column, message: "invalid JSON: \(error.message)")
        }
        return try postures(of: root, file: file, jsonFormat: true)
    }

    static func postures(of root: DocNode, file: String, jsonFormat: Bool) throws -> [Posture] {
        do {
            if root["ociVersion"] != nil { return [try OCIConfig.posture(root, file: file)] }
            if Firecracker.isConfiguration(root) { return [try Firecracker.posture(root, file: file)] }
            if Kubernetes.isManifest(root) { return try Kubernetes.postures(root, file: file) }
            if Compose.isCompose(root) { return try Compose.postures(root, file: file, project: projectName(file)) }
        } catch {
            throw Check.error(error, file: file)
        }
        if root.isNull { return [] }
        throw CheckError(
            file: file, line: root.line, column: root.column,
            message: jsonFormat
                ? "is JSON but not an OCI config (no ociVersion), a Firecracker configuration (no boot-source) or a Kubernetes object (no apiVersion and kind)"
                : "is YAML but neither a Kubernetes object (apiVersion and kind) nor a Compose file (services)")
    }

    static func projectName(_ file: String) -> String {
        let parts = file.split(separator: "/")
        return parts.count >= 2 ? String(parts[parts.count - 2]) : "default"
    }

    // MARK: - YAML

    static func checkYAML(_ text: String, file: String) throws -> ([Posture], Int) {
        var postures: [Posture] = []
        var documents = 0
        do {
            var sequence = try YAMLText.documents(text, file: file)
            while let root = try sequence.next() {
                documents += 1
                if root.isNull { continue }
                postures += try self.postures(of: root, file: file, jsonFormat: false)
            }
        } catch let error as YAMLError {
            throw CheckError(file: error.file, line: error.line, column: error.column, message: error.message)
        }
        if documents == 0 {
            throw CheckError(file: file, line: 1, message: "is empty: no YAML document")
        }
        return (postures, documents)
    }

    // MARK: - XML

    static func checkXML(_ text: String, file: String) throws -> Posture {
        if let range = text.range(of: "<!ENTITY") {
            // Entity declarations are how XML bombs and external-entity reads start; libvirt
            // domain XML never declares any.
            let line = text[..<range.lowerBound].filter { $0 == "\n" }.count + 1
            throw CheckError(file: file, line: line, message: "declares XML entities (<!ENTITY>), which libvirt domain XML never does; refused")
        }
        let builder = XMLTreeBuilder()
        let parser = XMLParser(data: Data(text.utf8))
        parser.shouldProcessNamespaces = false
        parser.shouldResolveExternalEntities = false
        parser.delegate = builder
        if !parser.parse() || builder.root == nil {
            let line = builder.errorLine ?? parser.lineNumber
            let reason = builder.errorMessage ?? parser.parserError.map { "\($0.localizedDescription)" } ?? "not well-formed"
            throw CheckError(file: file, line: line, column: parser.columnNumber, message: "invalid XML: \(reason)")
        }
        guard let root = builder.root else { throw CheckError(file: file, line: 1, message: "invalid XML: no root element") }
        if root.name != "domain" {
            throw CheckError(file: file, line: root.line, message: "is XML with root <\(root.name)>, not a libvirt <domain>")
        }
        do {
            return try Libvirt.posture(root, file: file)
        } catch {
            throw Check.error(error, file: file)
        }
    }
}

/// Builds an `XMLElementNode` tree with line numbers. Bounded in depth and element count.
final class XMLTreeBuilder: NSObject, XMLParserDelegate {
    var stack: [XMLElementNode] = []
    var root: XMLElementNode?
    var count = 0
    var errorLine: Int?
    var errorMessage: String?
    static let maximumDepth = 256
    static let maximumElements = 1_000_000

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        count += 1
        if stack.count >= Self.maximumDepth || count > Self.maximumElements {
            errorLine = parser.lineNumber
            errorMessage = "nested or repeated beyond cloister's limits"
            parser.abortParsing()
            return
        }
        stack.append(XMLElementNode(name: qualifiedName ?? elementName, attributes: attributes, line: parser.lineNumber))
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        guard let element = stack.popLast() else { return }
        if stack.isEmpty {
            root = element
        } else {
            stack[stack.count - 1].children.append(element)
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty, stack[stack.count - 1].text.utf8.count < 65_536 else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        guard errorLine == nil else { return }
        errorLine = parser.lineNumber
        let open = stack.last.map { "<\($0.name)> opened on line \($0.line)" }
        // Codes are libxml2's xmlParserErrors, which XMLParser passes through.
        switch (parseError as NSError).code {
        case 4: errorMessage = "the document is empty"
        case 5: errorMessage = "there is content after the root element"
        case 39, 41, 65: errorMessage = "an attribute value must be quoted"
        case 73: errorMessage = "'>' was expected"
        case 76: errorMessage = "a closing tag does not match \(open ?? "the open element")"
        case 77: errorMessage = "\(open ?? "an element") is never closed"
        default: errorMessage = "not well-formed (XML parser error \((parseError as NSError).code)\(open.map { ", inside \($0)" } ?? ""))"
        }
    }

    func parser(_ parser: XMLParser, foundInternalEntityDeclarationWithName name: String, value: String?) {
        // Entity declarations are how XML bombs start; a libvirt domain has none.
        errorLine = parser.lineNumber
        errorMessage = "declares entities (<!ENTITY>), which libvirt domain XML never does; refused"
        parser.abortParsing()
    }
}

/// The JSON document `check --format json` prints: `schema` "cloister.check/v1", `files`,
/// `documents`, `errors`, `skipped`, `workloads` (declared postures, scored: `exposure`),
/// `findings` and `issues`, the last two with the same fields as `cloister.scan/v1`'s. Each
/// workload, finding and error is encoded compactly on its own line, in parallel: for thousands
/// of workloads this is most of the run time, and one-per-line output is what diff and grep want.
public enum CheckReportJSON {
    public static let schema = "cloister.check/v1"

    public static func render(_ result: CheckResult, findings: [Finding] = [], issues: [ScanIssue] = []) throws -> Data {
        var output = Data()
        try render(result, findings: findings, issues: issues) { output.append($0) }
        return output
    }

    /// Renders in pieces to `write`, so the whole document is never held twice in memory.
    public static func render(
        _ result: CheckResult, findings: [Finding] = [], issues: [ScanIssue] = [], write: (Data) -> Void
    ) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        write(Data("{\n\"schema\": \"\(schema)\",\n\"files\": \(result.files),\n\"documents\": \(result.documents),\n\"errors\": [".utf8))
        for (index, error) in result.errors.enumerated() {
            write(Data((index == 0 ? "\n" : ",\n").utf8))
            write(try encoder.encode(error))
        }
        write(Data((result.errors.isEmpty ? "],\n" : "\n],\n").utf8))
        write(Data("\"skipped\": ".utf8))
        write(try encoder.encode(result.skipped))
        write(Data(",\n".utf8))
        write(Data("\"workloads\": [".utf8))
        // Encode in batches on every core, write each batch as it is done.
        let batch = 256
        var start = 0
        while start < result.workloads.count {
            let slice = Array(result.workloads[start..<min(start + batch, result.workloads.count)])
            let encoded = Parallel.map(slice) { posture -> Result<[UInt8], any Error> in
                Result { try CompactJSON.encode(posture) }
            }
            // One write per batch, not two per workload.
            var chunk: [UInt8] = []
            chunk.reserveCapacity(encoded.reduce(0) { $0 + ((try? $1.get().count) ?? 0) + 2 })
            for (offset, bytes) in encoded.enumerated() {
                chunk.append(contentsOf: (start + offset == 0 ? "\n" : ",\n").utf8)
                chunk.append(contentsOf: try bytes.get())
            }
            write(Data(chunk))
            start += batch
        }
        write(Data((result.workloads.isEmpty ? "],\n" : "\n],\n").utf8))
        write(Data("\"findings\": [".utf8))
        start = 0
        while start < findings.count {
            let slice = Array(findings[start..<min(start + batch, findings.count)])
            // CompactJSON, as for workloads: Foundation's encoder took a fifth of the run time
            // on the benchmark's 35,000 findings.
            let encoded = Parallel.map(slice) { finding -> Result<[UInt8], any Error> in
                Result { try CompactJSON.encode(finding) }
            }
            var chunk: [UInt8] = []
            for (offset, bytes) in encoded.enumerated() {
                chunk.append(contentsOf: (start + offset == 0 ? "\n" : ",\n").utf8)
                chunk.append(contentsOf: try bytes.get())
            }
            write(Data(chunk))
            start += batch
        }
        write(Data((findings.isEmpty ? "],\n" : "\n],\n").utf8))
        write(Data("\"issues\": ".utf8))
        write(try encoder.encode(issues))
        write(Data("\n}\n".utf8))
    }
}

/// Maps over independent items on every core, keeping their order.
