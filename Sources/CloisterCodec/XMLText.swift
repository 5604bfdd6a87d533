import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// An XML element with the line it starts on, as `XMLText.parse` builds it; the formats that
/// read XML (libvirt's domain) map it without touching a parser.
public struct XMLElementNode: Sendable {
    public var name: String
    public var attributes: [String: String]
    public var children: [XMLElementNode]
    public var text: String
    public var line: Int

    public init(name: String, attributes: [String: String] = [:], children: [XMLElementNode] = [], text: String = "", line: Int) {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
        self.line = line
    }

    public func child(_ name: String) -> XMLElementNode? { children.first { $0.name == name } }
    public func all(_ name: String) -> [XMLElementNode] { children.filter { $0.name == name } }
    public subscript(attribute: String) -> String? { attributes[attribute] }
    /// The text without the blanks and line breaks around it (XML's own white space only).
    public var trimmedText: String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        var slice = Substring(text)
        while let first = slice.first, blank(first) { slice = slice.dropFirst() }
        while let last = slice.last, blank(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

/// XML text → an `XMLElementNode` tree with lines, through FoundationXML's XMLParser (libxml2),
/// bounded in depth and element count, with entity declarations refused: they are how XML bombs
/// and external-entity reads start, and no configuration cloister reads declares any.
public enum XMLText {
    public static func parse(_ text: String) throws(DocumentError) -> XMLElementNode {
        if let range = text.range(of: "<!ENTITY") {
            let line = text[..<range.lowerBound].filter { $0 == "\n" }.count + 1
            throw DocumentError(line: line, message: "declares XML entities (<!ENTITY>), which libvirt domain XML never does; refused")
        }
        let builder = XMLTreeBuilder()
        let parser = XMLParser(data: Data(text.utf8))
        parser.shouldProcessNamespaces = false
        parser.shouldResolveExternalEntities = false
        parser.delegate = builder
        if !parser.parse() || builder.root == nil {
            let line = builder.errorLine ?? parser.lineNumber
            let reason = builder.errorMessage ?? parser.parserError.map { "\($0.localizedDescription)" } ?? "not well-formed"
            throw DocumentError(line: line, column: parser.columnNumber, message: "invalid XML: \(reason)")
        }
        guard let root = builder.root else { throw DocumentError(line: 1, message: "invalid XML: no root element") }
        return root
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
