import CloisterModel

/// Escaping for every format that shows text from workloads. Control characters are first made
/// visible (`SafeText.forTerminal`), so nothing a workload wrote can act on the reader.
enum Escape {
    static func html(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for character in SafeText.forTerminal(text) {
            switch character {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            default: output.append(character)
            }
        }
        return output
    }

    /// XML 1.0 text and attribute values: escaped, and the characters XML 1.0 forbids dropped
    /// (controls are already made visible; U+FFFE and U+FFFF remain to drop).
    static func xml(_ text: String) -> String {
        SafeText.forXML(text)
    }

    /// Markdown inline text, safe in a table cell: pipes, backticks, emphasis, links and raw
    /// HTML are escaped so a workload's name cannot change the report's structure.
    static func markdown(_ text: String) -> String {
        var output = ""
        for character in SafeText.forTerminal(text) {
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

    static func terminal(_ text: String) -> String { SafeText.forTerminal(text) }
}
