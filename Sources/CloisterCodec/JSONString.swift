/// The one JSON string escaper. Every JSON cloister writes by hand or by encoder goes through
/// it, so a hostile name is always exactly one string literal whatever the output.
///
/// Two styles, because two published outputs already depend on them byte for byte:
/// - `.foundation` writes what Foundation's `JSONEncoder` writes (`\b`, `\f`, other C0
///   controls as `\u00XX`, everything else as is). The scan and check reports made by
///   `CompactJSON` are held to Foundation's bytes by a test.
/// - `.strict` also escapes DEL, U+2028 and U+2029 (which end a line in JavaScript and in
///   some log viewers) and writes `\b` and `\f` as `\u0008` and `\u000c`: what the documents
///   built as trees (SARIF, OSCAL) and the admission responses have always written.
public enum JSONString {
    public enum Style: Sendable {
        case foundation
        case strict
    }

    /// `text` as a JSON string literal, quotes included.
    public static func quoted(_ text: String, style: Style = .strict) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count + 2)
        write(text, into: &output, style: style)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends `text` as a JSON string literal, quotes included, to UTF-8 `output`.
    public static func write(_ text: String, into output: inout [UInt8], style: Style) {
        output.append(quote)
        // Most strings need no escape: copy them whole. U+2028 and U+2029 are E2 80 A8/A9 in
        // UTF-8, so a string without a byte ≥ 0x7F cannot hold them either.
        // A native string's bytes are looked at in place: iterating its UTF8View byte by byte
        // was the single most expensive function of a `check` report.
        let limit: UInt8 = style == .strict ? 0x7F : 0xFF
        let copied = text.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            for byte in bytes where byte < 0x20 || byte == quote || byte == backslash || byte >= limit { return false }
            output.append(contentsOf: bytes)
            return true
        }
        if copied == true {
            output.append(quote)
            return
        }
        if copied == nil {
            let plain = !text.utf8.contains { $0 < 0x20 || $0 == quote || $0 == backslash || $0 >= limit }
            if plain {
                output.append(contentsOf: text.utf8)
                output.append(quote)
                return
            }
        }
        for scalar in text.unicodeScalars {
            let value = scalar.value
            switch value {
            case 0x22: output.append(contentsOf: [backslash, quote])
            case 0x5C: output.append(contentsOf: [backslash, backslash])
            case 0x0A: output.append(contentsOf: [backslash, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [backslash, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [backslash, UInt8(ascii: "t")])
            case 0x08 where style == .foundation: output.append(contentsOf: [backslash, UInt8(ascii: "b")])
            case 0x0C where style == .foundation: output.append(contentsOf: [backslash, UInt8(ascii: "f")])
            case 0x00..<0x20: writeUnicodeEscape(value, into: &output)
            case 0x7F, 0x2028, 0x2029:
                if style == .strict {
                    writeUnicodeEscape(value, into: &output)
                } else {
                    UTF8.encode(scalar) { output.append($0) }
                }
            default: UTF8.encode(scalar) { output.append($0) }
            }
        }
        output.append(quote)
    }

    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")

    /// `\uXXXX`, lower-case hex, for a scalar of the Basic Multilingual Plane.
    private static func writeUnicodeEscape(_ value: UInt32, into output: inout [UInt8]) {
        let digits = Array("0123456789abcdef".utf8)
        output.append(contentsOf: [backslash, UInt8(ascii: "u")])
        for shift in stride(from: 12, through: 0, by: -4) { output.append(digits[Int((value >> UInt32(shift)) & 0xF)]) }
    }
}
