/// Text that comes from workloads (process names, labels, paths, file contents) is hostile:
/// it may hold invalid UTF-8, terminal escape sequences, newlines and huge lengths. These
/// helpers keep it data: decoded losslessly, bounded, and escaped for whatever shows it
/// (terminal, HTML and XML, Markdown; JSON strings are `JSONString`'s). One policy a format,
/// here, so no two renderers can disagree about it.
public enum SafeText {
    /// Decodes bytes as UTF-8, writing each byte of an invalid sequence as `\xNN` so nothing
    /// is lost or guessed. Output is bounded to `limit` bytes of input, marked with `…` when cut.
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int = 4096) -> String {
        // The kernel's files are parsed as buffers: this overload keeps the common case (short,
        // valid text) off the generic path, which a caller in another module runs unspecialised,
        // through protocol witnesses for every byte (a twentieth of a scan, for mount tables).
        if bytes.count <= limit, let text = String(validating: bytes, as: UTF8.self) { return text }
        return decodeSlowly(bytes, limit: limit)
    }

    public static func decode(_ bytes: Slice<UnsafeBufferPointer<UInt8>>, limit: Int = 4096) -> String {
        decode(UnsafeBufferPointer(rebasing: bytes), limit: limit)
    }

    public static func decode(_ bytes: [UInt8], limit: Int = 4096) -> String {
        bytes.withUnsafeBufferPointer { decode($0, limit: limit) }
    }

    public static func decode(_ bytes: ArraySlice<UInt8>, limit: Int = 4096) -> String {
        bytes.withUnsafeBufferPointer { decode($0, limit: limit) }
    }

    public static func decode<Bytes: Collection>(_ bytes: Bytes, limit: Int = 4096) -> String
    where Bytes.Element == UInt8 {
        decodeSlowly(bytes, limit: limit)
    }

    static func decodeSlowly<Bytes: Collection>(_ bytes: Bytes, limit: Int) -> String
    where Bytes.Element == UInt8 {
        // Fast path: short, valid text (nearly everything) is validated and decoded in one
        // step by the standard library, with no copy.
        if bytes.count <= limit, let text = String(validating: bytes, as: UTF8.self) { return text }
        let truncated = bytes.count > limit
        let slice = Array(bytes.prefix(limit))
        // Valid text, the common case, is decoded in one step; only ill-formed input takes
        // the byte-by-byte path, and even then valid runs are appended whole.
        var output = ""
        var runStart = 0
        var index = 0
        while index < slice.count {
            if slice[index] < 0x80 {
                index += 1
                continue
            }
            let length = validSequenceLength(slice, at: index)
            if length > 0 {
                index += length
                continue
            }
            if runStart < index { output += String(decoding: slice[runStart..<index], as: UTF8.self) }
            output += "\\x" + hex(slice[index])
            index += 1
            runStart = index
        }
        if runStart == 0 {
            output = String(decoding: slice, as: UTF8.self)
        } else if runStart < slice.count {
            output += String(decoding: slice[runStart...], as: UTF8.self)
        }
        return truncated ? output + "…" : output
    }

    /// HTML and XML 1.0 text and attribute values (quoted with either quote): the one markup
    /// escaper, for every HTML and XML cloister writes (HTML reports, JUnit, libvirt XML).
    /// Control characters are first made visible by `forTerminal`; `&<>"'` are escaped, the
    /// apostrophe as `&#39;` (a character reference every HTML and XML 1.0 reader knows, where
    /// `&apos;` is not an HTML 4 entity); U+FFFE and U+FFFF, which XML 1.0 forbids and HTML
    /// calls noncharacters, are dropped.
    public static func forXML(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for scalar in forTerminal(text).unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            case "\u{FFFE}", "\u{FFFF}": continue
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    /// Markdown inline text, safe in a table cell: pipes, backticks, emphasis, links and raw
    /// HTML are escaped so a workload's name cannot change a report's structure. Control
    /// characters are first made visible by `forTerminal`.
    public static func forMarkdown(_ text: String) -> String {
        var output = ""
        for character in forTerminal(text) {
            switch character {
            case "|", "`", "*", "_", "[", "]", "\\", "#", "~", "!", "(", ")":
                output += "\\" + String(character)
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "&": output += "&amp;"
            default: output.append(character)
            }
        }
        return output
    }

    /// Escapes control characters (C0, DEL, C1) and bidirectional overrides so a string
    /// cannot move a terminal's cursor, change its colours or reorder what is shown.
    public static func forTerminal(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A: output += "\\n"
            case 0x0D: output += "\\r"
            case 0x09: output += "\\t"
            case 0x00...0x1F, 0x7F...0x9F:
                output += "\\x" + hex(UInt8(scalar.value))
            case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069:
                output += "\\u{" + String(scalar.value, radix: 16) + "}"
            default:
                output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits: [Character] = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }

    /// Length of the well-formed UTF-8 sequence at `index` (RFC 3629), or 0 when ill-formed.
    private static func validSequenceLength(_ bytes: [UInt8], at index: Int) -> Int {
        let first = bytes[index]
        if first < 0x80 { return 1 }
        let length: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch first {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upper = 0x9F
        case 0xF0: length = 4; lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upper = 0x8F
        default: return 0
        }
        guard index + length <= bytes.count else { return 0 }
        for offset in 1..<length {
            let byte = bytes[index + offset]
            let (low, high) = offset == 1 ? (lower, upper) : (UInt8(0x80), UInt8(0xBF))
            guard byte >= low, byte <= high else { return 0 }
        }
        return length
    }
}
