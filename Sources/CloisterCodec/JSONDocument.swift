/// A JSON reader (RFC 8259) that keeps the line and column of every value, so findings on an
/// OCI `config.json` or a Firecracker configuration land on the line that declared them.
/// Strict: trailing commas, comments and single quotes are errors, as they are for runc and
/// Firecracker. Nesting is bounded so hostile input cannot exhaust the stack.
public enum JSONDocument {
    public static let maximumDepth = 256

    public static func parse(_ text: String) throws(DocumentError) -> DocNode {
        var reader = Reader(bytes: Array(text.utf8))
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        if reader.index < reader.bytes.count { throw reader.error("unexpected text after the JSON value") }
        return value
    }

    struct Reader {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        var lineStart = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
            // A UTF-8 byte-order mark is tolerated.
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3; lineStart = 3 }
        }

        var column: Int { index - lineStart + 1 }

        func error(_ message: String) -> DocumentError {
            DocumentError(line: line, column: column, message: message)
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0D: index += 1
                case 0x0A:
                    index += 1
                    line += 1
                    lineStart = index
                default: return
                }
            }
        }

        /// Skips whitespace and, when `close` stands next, steps over it: an empty object or array.
        mutating func closesAtOnce(_ close: UInt8) -> Bool {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == close else { return false }
            index += 1
            return true
        }

        /// After a member or an element: true when a ',' says another follows, false when
        /// `close` ends the `container` (object or array); either is stepped over.
        mutating func another(before close: UInt8, in container: String, openedOn startLine: Int) throws(DocumentError) -> Bool {
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of JSON in the \(container) opened on line \(startLine)") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; return true }
            if bytes[index] == close { index += 1; return false }
            throw error("',' or '\(Character(Unicode.Scalar(close)))' was expected in the \(container) opened on line \(startLine)")
        }

        mutating func value(depth: Int) throws(DocumentError) -> DocNode {
            guard depth < JSONDocument.maximumDepth else { throw error("JSON nested deeper than \(JSONDocument.maximumDepth) levels") }
            guard index < bytes.count else { throw error("unexpected end of JSON, a value was expected") }
            let startLine = line
            let startColumn = column
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var entries: [DocEntry] = []
                if closesAtOnce(UInt8(ascii: "}")) { return DocNode(.mapping(entries), line: startLine, column: startColumn) }
                repeat {
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                        throw error("a quoted key was expected in the object opened on line \(startLine)")
                    }
                    let keyLine = line
                    let keyColumn = column
                    let key = try string()
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("':' was expected after the key \"\(key)\"") }
                    index += 1
                    skipWhitespace()
                    let member = try value(depth: depth + 1)
                    entries.append(DocEntry(key: key, value: member, keyLine: keyLine, keyColumn: keyColumn))
                } while try another(before: UInt8(ascii: "}"), in: "object", openedOn: startLine)
                return DocNode(.mapping(entries), line: startLine, column: startColumn)
            case UInt8(ascii: "["):
                index += 1
                var elements: [DocNode] = []
                if closesAtOnce(UInt8(ascii: "]")) { return DocNode(.sequence(elements), line: startLine, column: startColumn) }
                repeat {
                    skipWhitespace()
                    elements.append(try value(depth: depth + 1))
                } while try another(before: UInt8(ascii: "]"), in: "array", openedOn: startLine)
                return DocNode(.sequence(elements), line: startLine, column: startColumn)
            case UInt8(ascii: "\""):
                return DocNode(.scalar(try string(), plain: false), line: startLine, column: startColumn)
            default:
                let start = index
                while index < bytes.count, !Reader.delimiters.contains(bytes[index]) { index += 1 }
                let word = String(decoding: bytes[start..<index], as: UTF8.self)
                if word == "true" || word == "false" || word == "null" || Reader.isNumber(word) {
                    return DocNode(.scalar(word, plain: true), line: startLine, column: startColumn)
                }
                index = start
                throw error(word.isEmpty ? "a JSON value was expected" : "\"\(word.prefix(40))\" is not a JSON value")
            }
        }

        static let delimiters: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: ":")]

        static func isNumber(_ word: String) -> Bool {
            // -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
            var bytes = Array(word.utf8)[...]
            if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            func digits(_ slice: inout ArraySlice<UInt8>) -> Int {
                var count = 0
                while let byte = slice.first, byte >= 0x30, byte <= 0x39 { slice = slice.dropFirst(); count += 1 }
                return count
            }
            guard let first = bytes.first else { return false }
            if first == UInt8(ascii: "0") { bytes = bytes.dropFirst() } else if digits(&bytes) == 0 { return false }
            if bytes.first == UInt8(ascii: ".") {
                bytes = bytes.dropFirst()
                if digits(&bytes) == 0 { return false }
            }
            if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
                bytes = bytes.dropFirst()
                if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
                if digits(&bytes) == 0 { return false }
            }
            return bytes.isEmpty
        }

        mutating func string() throws(DocumentError) -> String {
            index += 1
            var runStart = index
            var result = ""
            func flush(_ reader: Reader, to result: inout String, until end: Int) {
                if end > runStart { result += String(decoding: reader.bytes[runStart..<end], as: UTF8.self) }
            }
            while true {
                guard index < bytes.count else { throw error("unterminated string") }
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    flush(self, to: &result, until: index)
                    index += 1
                    return result
                }
                if byte < 0x20 { throw error("a control character must be escaped inside a string") }
                if byte == UInt8(ascii: "\\") {
                    flush(self, to: &result, until: index)
                    index += 1
                    guard index < bytes.count else { throw error("unterminated string") }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""): result += "\""
                    case UInt8(ascii: "\\"): result += "\\"
                    case UInt8(ascii: "/"): result += "/"
                    case UInt8(ascii: "b"): result += "\u{8}"
                    case UInt8(ascii: "f"): result += "\u{c}"
                    case UInt8(ascii: "n"): result += "\n"
                    case UInt8(ascii: "r"): result += "\r"
                    case UInt8(ascii: "t"): result += "\t"
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if (0xD800...0xDBFF).contains(code), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                            bytes[index + 1] == UInt8(ascii: "u")
                        {
                            index += 2
                            let low = try hex4()
                            if (0xDC00...0xDFFF).contains(low) { code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00) }
                        }
                        result.unicodeScalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                    default:
                        throw error("\\\(Character(Unicode.Scalar(escape))) is not a JSON escape")
                    }
                    runStart = index
                    continue
                }
                index += 1
            }
        }

        mutating func hex4() throws(DocumentError) -> UInt32 {
            guard index + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
                throw error("\\u must be followed by four hexadecimal digits")
            }
            index += 4
            return code
        }
    }
}
