import CloisterCodec
import CloisterFormats
import CloisterModel
import Foundation


/// A file that could not be read as its format: where, and what is wrong.
public struct CheckError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    /// The path inside the document, when the error is about one field.
    public var path: String?
    public var message: String
    /// The file parsed but is none of the formats `check` reads: set where that is decided, so
    /// a file found in a directory is skipped without reading the message back. Not in the JSON.
    public var isUnrecognizedFormat = false

    enum CodingKeys: String, CodingKey {
        case file, line, column, path, message
    }

    public init(
        file: String, line: Int? = nil, column: Int? = nil, path: String? = nil, message: String,
        isUnrecognizedFormat: Bool = false
    ) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
        self.isUnrecognizedFormat = isUnrecognizedFormat
    }

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let column { place += ":\(column)" }
        return "\(place): \(message)"
    }
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
    /// The Kubernetes pod specs read, for the Pod Security Standards (not in the JSON: their
    /// containers are in `workloads`).
    public var pods: [PodDocument] = []

    public init() {}

    public mutating func merge(_ other: CheckResult) {
        workloads += other.workloads
        errors += other.errors
        documents += other.documents
        files += other.files
        skipped += other.skipped
        pods += other.pods
    }
}

extension CheckResult {
    /// Each skipped entry as a report says it: a file in no format, or an object that runs no pod.
    public var skippedMessages: [String] {
        skipped.map { $0.hasSuffix(Kubernetes.noPodTemplate) ? "skipped: \($0)" : "skipped (not a format check reads): \($0)" }
    }
}

public enum Check {
    /// File name endings looked at when a directory is given: those of every format.
    public static let directoryExtensions: Set<String> = FormatRegistry.fileEndings
    /// Files larger than this are refused rather than read.
    public static let maximumFileSize = 64 * 1024 * 1024

    /// Checks files and directories (recursively, files with known endings). Every file is
    /// checked even when some are invalid; their errors are collected.
    /// Where libvirt keeps the QEMU driver's settings on a host.
    public static let hostLibvirtQemuConf = "/etc/libvirt/qemu.conf"

    /// Checks files and directories, then settles in each libvirt domain what `qemu.conf`
    /// decides: from `libvirtQemuConf` when given (a bad file is an error naming its line), else
    /// from the host's /etc/libvirt/qemu.conf when it is there and readable; otherwise those
    /// fields stay unknown, with why.
    public static func check(paths: [String], libvirtQemuConf: String?) -> CheckResult {
        var result = check(paths: paths)
        let hostFile = FileManager.default.isReadableFile(atPath: hostLibvirtQemuConf) ? hostLibvirtQemuConf : nil
        guard let path = libvirtQemuConf ?? hostFile,
            libvirtQemuConf != nil || result.workloads.contains(where: { $0.runtime == "libvirt" })
        else { return result }
        do {
            let conf = try LibvirtQemuConf.parse(try readText(path), file: path)
            for index in result.workloads.indices { conf.apply(to: &result.workloads[index]) }
        } catch let error as DocumentError {
            if libvirtQemuConf != nil { result.errors.append(Check.error(error, file: path)) }
        } catch let error as CheckError {
            if libvirtQemuConf != nil { result.errors.append(error) }
        } catch {
            if libvirtQemuConf != nil { result.errors.append(CheckError(file: path, message: "\(error)")) }
        }
        return result
    }

    /// A small text file, read whole.
    static func readText(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CheckError(file: path, message: "cannot be read (no such file, permission denied or not a regular file)")
        }
        defer { try? handle.close() }
        let data = try handle.read(upToCount: 1 << 20 + 1) ?? Data()
        guard data.count <= 1 << 20 else { throw CheckError(file: path, message: "is larger than 1 MiB; refused") }
        guard let text = String(data: data, encoding: .utf8) else { throw CheckError(file: path, line: 1, message: "is not UTF-8 text") }
        return text
    }

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

    /// Checks one file's contents; `file` is the name reported. The syntax is told from the
    /// first bytes; each document is then read by the first format in `FormatRegistry` that
    /// recognises it.
    public static func check(contents text: String, file: String) -> CheckResult {
        var result = CheckResult()
        result.files = 1
        let start = text.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" || $0 == "\u{FEFF}" }
        do {
            if start.hasPrefix("{") || start.hasPrefix("[") {
                result.documents = 1
                let root: DocNode
                do {
                    root = try JSONDocument.parse(text)
                } catch {
                    throw CheckError(file: file, line: error.line, column: error.column, message: "invalid JSON: \(error.message)")
                }
                try read(.tree(root, .json), file: file, into: &result)
            } else if start.hasPrefix("<") {
                result.documents = 1
                let root: XMLElementNode
                do {
                    root = try XMLText.parse(text)
                } catch {
                    throw Check.error(error, file: file)
                }
                try read(.xml(root), file: file, into: &result)
            } else if let words = QemuFormat.commandLine(in: text) {
                result.documents = 1
                try read(.commandLine(words), file: file, into: &result)
            } else {
                try checkYAML(text, file: file, into: &result)
            }
        } catch let error as CheckError {
            // What was read before the error stands: a bad document never hides the good ones.
            result.errors.append(error)
        } catch {
            result.errors.append(CheckError(file: file, message: "\(error)"))
        }
        return result
    }

    /// The declared posture of a guest started with `argv` (`cloister check --qemu -- …`).
    public static func check(qemu argv: [String], source: String = "<command line>") -> Posture {
        QemuCommandLine.parse(argv).declaredPosture(file: source, line: nil)
    }

    static func error(_ error: DocumentError, file: String) -> CheckError {
        CheckError(file: file, line: error.line, column: error.column, path: error.path, message: error.message)
    }

    /// The workloads of one parsed document, read by the format that recognises it. Errors in
    /// parts of the document are collected beside the workloads of the good parts; a document
    /// in no format throws.
    static func read(_ document: ParsedDocument, file: String, into result: inout CheckResult) throws {
        if let format = FormatRegistry.format(of: document) {
            let reading = format.read(document, file: file)
            result.workloads += reading.postures
            result.pods += reading.pods
            result.errors += reading.errors.map { Check.error($0, file: file) }
            result.skipped += reading.skipped.map { "\(file): \($0)" }
            return
        }
        switch document {
        case .tree(let root, let syntax):
            if root.isNull { return }
            throw CheckError(
                file: file, line: root.line, column: root.column, message: FormatRegistry.unrecognized(syntax),
                isUnrecognizedFormat: true)
        case .xml(let root):
            throw CheckError(
                file: file, line: root.line,
                message: FormatRegistry.unrecognized(.xml) + ": its root element is <\(root.name)>",
                isUnrecognizedFormat: true)
        case .commandLine(let words):
            throw CheckError(
                file: file, line: words.first?.line, message: FormatRegistry.unrecognized(.commandLine),
                isUnrecognizedFormat: true)
        }
    }

    // MARK: - YAML

    /// Each document of a YAML stream; a document in no format is an error at its line and the
    /// documents after it are still read. A syntax error ends the stream there.
    static func checkYAML(_ text: String, file: String, into result: inout CheckResult) throws {
        var documents = 0
        do {
            var sequence = try YAMLText.documents(text, file: file)
            while let root = try sequence.next() {
                documents += 1
                result.documents += 1
                if root.isNull { continue }
                do {
                    try read(.tree(root, .yaml), file: file, into: &result)
                } catch let error as CheckError {
                    result.errors.append(error)
                }
            }
        } catch let error as YAMLError {
            throw CheckError(file: error.file, line: error.line, column: error.column, message: error.message)
        }
        if documents == 0 {
            throw CheckError(file: file, line: 1, message: "is empty: no YAML document")
        }
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
        // Findings are written straight to bytes (`FindingJSON`, the same bytes as CompactJSON),
        // in pieces on every core: each piece writes a rule's references once.
        writeInPieces(count: findings.count, bytesPerItem: 1536, write: write) { range, bytes in
            var cache = FindingJSON.ReferenceCache()
            for index in range {
                bytes.append(contentsOf: (index == 0 ? "\n" : ",\n").utf8)
                FindingJSON.write(findings[index], into: &bytes, cache: &cache)
            }
        }
        write(Data((findings.isEmpty ? "],\n" : "\n],\n").utf8))
        // Issues on one line, as Foundation's encoder wrote the array, in pieces on every core.
        write(Data("\"issues\": [".utf8))
        writeInPieces(count: issues.count, bytesPerItem: 512, write: write) { range, bytes in
            for index in range {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                FindingJSON.write(issues[index], into: &bytes)
            }
        }
        write(Data("]\n}\n".utf8))
    }

    /// Items `0..<count` written by `piece` a range of 32 at a time on every core, 2,048 at a
    /// time, each 2,048 handed to `write` as one chunk in order.
    static func writeInPieces(
        count: Int, bytesPerItem: Int, write: (Data) -> Void, _ piece: @Sendable (Range<Int>, inout [UInt8]) -> Void
    ) {
        var start = 0
        while start < count {
            let end = min(start + 2048, count)
            let ranges = stride(from: start, to: end, by: 32).map { $0..<min($0 + 32, end) }
            let encoded = Parallel.map(ranges) { range -> [UInt8] in
                var bytes: [UInt8] = []
                bytes.reserveCapacity(range.count * bytesPerItem)
                piece(range, &bytes)
                return bytes
            }
            var chunk: [UInt8] = []
            chunk.reserveCapacity(encoded.reduce(0) { $0 + $1.count })
            for bytes in encoded { chunk.append(contentsOf: bytes) }
            write(Data(chunk))
            start = end
        }
    }
}

/// Maps over independent items on every core, keeping their order.
