import CloisterCodec
import CloisterModel

/// The syntax a configuration file is written in, told from its first bytes.
public enum DocumentSyntax: String, Sendable, CaseIterable {
    case json = "JSON"
    case yaml = "YAML"
    case xml = "XML"
    case commandLine = "a command line"
}

/// A configuration file, parsed into the tree its syntax gives.
public enum ParsedDocument: Sendable {
    /// JSON or YAML: the document tree with positions.
    case tree(DocNode, DocumentSyntax)
    /// XML: the element tree with lines.
    case xml(XMLElementNode)
    /// A command line, each word with the line it stands on.
    case commandLine([(word: String, line: Int)])

    public var syntax: DocumentSyntax {
        switch self {
        case .tree(_, let syntax): syntax
        case .xml: .xml
        case .commandLine: .commandLine
        }
    }
}

/// One configuration format `cloister check` reads: how a document is recognised as it, and
/// how its documents become declared postures that carry their locations. Adding a format is
/// adding one type and one entry in `FormatRegistry.formats`: `check`, its messages, the file
/// endings it looks at in a directory and the fuzz targets all enumerate the registry.
public protocol DeclaredFormat: Sendable {
    /// Short name: in docs, and the format's fuzz target (`fuzz-NAME` in Fuzz/Package.swift).
    static var name: String { get }
    /// What a reader looks for to know it, said for the message when no format matches:
    /// "an OCI config (ociVersion)".
    static var signature: String { get }
    /// The syntaxes it is written in.
    static var syntaxes: [DocumentSyntax] { get }
    /// File name endings it is kept in, looked at when `check` is given a directory.
    static var fileEndings: [String] { get }
    /// A file name as the format's files are usually named (for fuzzing and examples).
    static var exampleFile: String { get }
    /// Whether `document` is in this format. Formats are asked in registry order; the first
    /// that recognises a document reads it.
    static func recognizes(_ document: ParsedDocument) -> Bool
    /// The workloads `document` declares. `file` is the name reported in locations.
    static func postures(_ document: ParsedDocument, file: String) throws(DocumentError) -> [Posture]
    /// The same, keeping the good parts beside a bad one: a format whose documents hold many
    /// objects (a Kubernetes List) reports each bad item as its own error.
    static func read(_ document: ParsedDocument, file: String) -> FormatReading
}

/// What one document yields: its workloads, the errors of its bad parts, what it skipped, and
/// for Kubernetes the pod specs the Pod Security Standards judge.
public struct FormatReading: Sendable {
    public var postures: [Posture] = []
    public var errors: [DocumentError] = []
    public var skipped: [String] = []
    public var pods: [PodDocument] = []

    public init(postures: [Posture] = [], errors: [DocumentError] = []) {
        self.postures = postures
        self.errors = errors
    }
}

extension DeclaredFormat {
    public static func read(_ document: ParsedDocument, file: String) -> FormatReading {
        do {
            return FormatReading(postures: try postures(document, file: file))
        } catch {
            return FormatReading(errors: [error])
        }
    }
}

public enum FormatRegistry {
    /// Every format, in the order they are asked. Order matters where signatures overlap: an
    /// OCI config or a Firecracker configuration is told apart before the looser Kubernetes and
    /// Compose checks are tried.
    public static let formats: [any DeclaredFormat.Type] = [
        OCIConfigFormat.self, FirecrackerFormat.self, KubernetesFormat.self, ComposeFormat.self, LibvirtFormat.self,
        QemuFormat.self,
    ]

    /// The format that reads `document`, if any.
    public static func format(of document: ParsedDocument) -> (any DeclaredFormat.Type)? {
        formats.first { $0.syntaxes.contains(document.syntax) && $0.recognizes(document) }
    }

    /// Every file ending some format is kept in.
    public static var fileEndings: Set<String> { Set(formats.flatMap { $0.fileEndings }) }

    /// What `check` says of a document in `syntax` that no format recognises: the formats that
    /// syntax could have been, and what each is known by.
    public static func unrecognized(_ syntax: DocumentSyntax) -> String {
        let candidates = formats.filter { $0.syntaxes.contains(syntax) }.map { $0.signature }
        let list: String
        switch candidates.count {
        case 0: list = "any format cloister reads"
        case 1: list = candidates[0]
        default: list = candidates.dropLast().joined(separator: ", ") + " or " + (candidates.last ?? "")
        }
        return "is \(syntax.rawValue) but not \(list)"
    }
}

// MARK: - The formats

/// The project name Compose gives a file's services: its directory's name.
func composeProject(_ file: String) -> String {
    let parts = file.split(separator: "/")
    return parts.count >= 2 ? String(parts[parts.count - 2]) : "default"
}

extension ParsedDocument {
    /// The JSON or YAML tree, when that is what this is.
    var tree: DocNode? {
        if case .tree(let root, _) = self { return root }
        return nil
    }
}

/// A format written as a JSON or YAML tree: it recognises and reads the tree; reaching the
/// tree from the parsed document is shared.
public protocol TreeFormat: DeclaredFormat {
    static func recognizes(tree: DocNode) -> Bool
    static func postures(tree: DocNode, file: String) throws(DocumentError) -> [Posture]
}

extension TreeFormat {
    public static var syntaxes: [DocumentSyntax] { [.json, .yaml] }

    public static func recognizes(_ document: ParsedDocument) -> Bool { document.tree.map(recognizes(tree:)) ?? false }

    public static func postures(_ document: ParsedDocument, file: String) throws(DocumentError) -> [Posture] {
        guard let root = document.tree else { return [] }
        return try postures(tree: root, file: file)
    }
}

/// OCI runtime `config.json` (runtime-spec).
public enum OCIConfigFormat: TreeFormat {
    public static let name = "oci-config"
    public static let signature = "an OCI config (ociVersion)"
    public static let fileEndings = ["json"]
    public static let exampleFile = "config.json"
    public static func recognizes(tree: DocNode) -> Bool { tree["ociVersion"] != nil }
    public static func postures(tree: DocNode, file: String) throws(DocumentError) -> [Posture] {
        [try OCIConfig.posture(tree, file: file)]
    }
}

/// Firecracker `--config-file`.
public enum FirecrackerFormat: TreeFormat {
    public static let name = "firecracker"
    public static let signature = "a Firecracker configuration (boot-source or machine-config)"
    public static let fileEndings = ["json"]
    public static let exampleFile = "vm_config.json"
    public static func recognizes(tree: DocNode) -> Bool { Firecracker.isConfiguration(tree) }
    public static func postures(tree: DocNode, file: String) throws(DocumentError) -> [Posture] {
        [try Firecracker.posture(tree, file: file)]
    }
}

/// Kubernetes objects that run pods (and Lists of them).
public enum KubernetesFormat: TreeFormat {
    public static let name = "kubernetes"
    public static let signature = "a Kubernetes object (apiVersion and kind)"
    public static let fileEndings = ["yaml", "yml", "json"]
    public static let exampleFile = "manifest.yaml"
    public static func recognizes(tree: DocNode) -> Bool { Kubernetes.isManifest(tree) }
    public static func postures(tree: DocNode, file: String) throws(DocumentError) -> [Posture] {
        try Kubernetes.postures(tree, file: file)
    }
    public static func read(_ document: ParsedDocument, file: String) -> FormatReading {
        guard let tree = document.tree else { return FormatReading() }
        let reading = Kubernetes.read(tree, file: file)
        var result = FormatReading(postures: reading.postures, errors: reading.errors)
        result.skipped = reading.skipped
        result.pods = reading.pods
        return result
    }
}

/// Compose files (compose-spec).
public enum ComposeFormat: TreeFormat {
    public static let name = "compose"
    public static let signature = "a Compose file (services)"
    public static let fileEndings = ["yaml", "yml", "json"]
    public static let exampleFile = "compose.yaml"
    public static func recognizes(tree: DocNode) -> Bool { Compose.isCompose(tree) }
    public static func postures(tree: DocNode, file: String) throws(DocumentError) -> [Posture] {
        try Compose.postures(tree, file: file, project: composeProject(file))
    }
}

/// libvirt domain XML.
public enum LibvirtFormat: DeclaredFormat {
    public static let name = "libvirt-xml"
    public static let signature = "a libvirt domain (root element <domain>)"
    public static let syntaxes: [DocumentSyntax] = [.xml]
    public static let fileEndings = ["xml"]
    public static let exampleFile = "domain.xml"
    public static func recognizes(_ document: ParsedDocument) -> Bool {
        if case .xml(let root) = document { return root.name == "domain" }
        return false
    }
    public static func postures(_ document: ParsedDocument, file: String) throws(DocumentError) -> [Posture] {
        guard case .xml(let root) = document else { return [] }
        return [try Libvirt.posture(root, file: file)]
    }
}

/// A qemu command line in a file (one command, shell-quoted, continued lines and leading
/// `VAR=value` words allowed).
public enum QemuFormat: DeclaredFormat {
    public static let name = "qemu-cmdline"
    public static let signature = "a qemu command line (a qemu or kvm binary first)"
    public static let syntaxes: [DocumentSyntax] = [.commandLine]
    public static let fileEndings = ["qemu", "args", "cmdline"]
    public static let exampleFile = "guest.qemu"
    public static func recognizes(_ document: ParsedDocument) -> Bool {
        if case .commandLine(let words) = document { return words.first.map { QemuCommandLine.isQemuBinary($0.word) } ?? false }
        return false
    }
    public static func postures(_ document: ParsedDocument, file: String) throws(DocumentError) -> [Posture] {
        guard case .commandLine(let words) = document else { return [] }
        return [
            QemuCommandLine.parse(words.map(\.word)).declaredPosture(
                file: file, line: words.first?.line, argumentLines: words.map(\.line))
        ]
    }

    /// The words of a qemu command line with their lines, when `text` is one. Cheap on
    /// everything else: only the first 4 KiB decide, and most files are ruled out by a byte
    /// search of their first line that is not blank or a comment, without splitting words
    /// (every qemu binary's name holds "qemu" or "kvm").
    public static func commandLine(in text: String) -> [(word: String, line: Int)]? {
        // The binary's line: the first that is not blank, a comment, or only the environment
        // assignments libvirt writes before the binary in its logs (`LC_ALL=C \`, `HOME=… \`).
        guard let firstLine = text.utf8.split(separator: UInt8(ascii: "\n"), maxSplits: 64).first(where: { line in
            guard let start = line.first(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) else { return false }
            return start != UInt8(ascii: "#") && !isAssignments(line)
        }), contains(firstLine, "qemu") || contains(firstLine, "kvm") else { return nil }
        let head = String(text.prefix(4096))
        let words = ShellWords.commandStart(ShellWords.split(head))
        guard let first = words.first, QemuCommandLine.isQemuBinary(first) else { return nil }
        let all = ShellWords.splitWithLines(text)
        return Array(all[ShellWords.commandStartIndex(all.map(\.word))...])
    }

    /// Whether `line` holds only `NAME=value` words, with or without a trailing `\`.
    static func isAssignments(_ line: Substring.UTF8View.SubSequence) -> Bool {
        let words = line.split { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
        guard !words.isEmpty else { return false }
        for word in words where !(word.count == 1 && word.first == UInt8(ascii: "\\")) {
            guard let equals = word.firstIndex(of: UInt8(ascii: "=")), equals != word.startIndex,
                word[word.startIndex..<equals].allSatisfy({ byte in
                    (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
                })
            else { return false }
        }
        return true
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
}
