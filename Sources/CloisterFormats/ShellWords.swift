/// Splits a command line written as a shell would read it: single and double quotes,
/// backslash escapes, backslash-newline continuations and `#` comments. No expansion of
/// variables or globs: a file holding a qemu command line is read, never run.
/// A `/proc/PID/cmdline` dump (NUL-separated) is split on NUL instead.
public enum ShellWords {
    public static func split(_ text: String) -> [String] {
        splitWithLines(text).map(\.word)
    }

    /// The words with the line each starts on.
    public static func splitWithLines(_ text: String) -> [(word: String, line: Int)] {
        if text.contains("\0") {
            return text.split(separator: "\0", omittingEmptySubsequences: true).map { (String($0), 1) }
        }
        var words: [(word: String, line: Int)] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var line = 1
        var wordLine = 1
        let characters = Array(text)
        var position = 0
        func next() -> Character? {
            guard position < characters.count else { return nil }
            let character = characters[position]
            position += 1
            if character == "\n" { line += 1 }
            return character
        }
        while let character = next() {
            if !inWord, quote == nil { wordLine = line }
            if let open = quote {
                if character == open {
                    quote = nil
                } else if open == "\"", character == "\\" {
                    if let next = next() {
                        if next == "\n" { continue }
                        if "\"\\$`".contains(next) { current.append(next) } else { current.append("\\"); current.append(next) }
                    }
                } else {
                    current.append(character)
                }
                continue
            }
            switch character {
            case "'", "\"":
                quote = character
                inWord = true
            case "\\":
                if let next = next() {
                    if next != "\n" { current.append(next); inWord = true }
                }
            case " ", "\t", "\n", "\r":
                if inWord { words.append((current, wordLine)); current = ""; inWord = false }
            case "#" where !inWord:
                while let skipped = next(), skipped != "\n" {}
            default:
                current.append(character)
                inWord = true
            }
        }
        if inWord { words.append((current, wordLine)) }
        return words
    }

    /// Drops what commonly precedes a qemu binary in a script: `exec`, `sudo`, `env`, and
    /// `NAME=value` assignments.
    public static func commandStart(_ words: [String]) -> ArraySlice<String> {
        words[commandStartIndex(words)...]
    }

    public static func commandStartIndex(_ words: [String]) -> Int {
        var slice = words[...]
        while let first = slice.first,
            first == "exec" || first == "sudo" || first == "env" || first == "nohup"
                || (first.contains("=") && !first.hasPrefix("-") && !first.hasPrefix("/"))
        {
            slice = slice.dropFirst()
        }
        return slice.startIndex
    }
}
