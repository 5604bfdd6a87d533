import Foundation
import Testing

/// The pure modules read no files and touch no OS interface: they are handed text or parsed
/// values, so they run anywhere, without root, and the README's account of the OS layer
/// (docs/os-layer.md) stays true. Reading lives in CloisterResourceFiles and CloisterSystem.
@Suite struct PureModulesTests {
    static let modules = [
        "CloisterRules", "CloisterPlacement", "CloisterProfiles", "CloisterReport", "CloisterModel", "CloisterCodec",
        "CloisterFormats", "CloisterBPF",
    ]

    /// What a file read, a libc call or a look at the process's environment or terminal spells.
    static let forbidden = ["FileManager", "contentsOf", "fopen", "import Glibc", "Glibc.", "ProcessInfo", "isatty", "getenv"]

    /// `contentsOf` is also the label of collection appends, which are not reads.
    static let allowed = ["append(contentsOf:", "insert(contentsOf:"]

    static func violations(in text: String, file: String) -> [String] {
        var found: [String] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var checked = String(line)
            for harmless in allowed { checked = checked.replacingOccurrences(of: harmless, with: "") }
            for word in forbidden where checked.contains(word) {
                found.append("\(file):\(index + 1): mentions `\(word)`: \(line.trimmingCharacters(in: .whitespaces))")
            }
        }
        return found
    }

    @Test(arguments: modules) func readsNoFiles(module: String) throws {
        let directory = Repository.root + "/Sources/" + module
        let names = try FileManager.default.subpathsOfDirectory(atPath: directory).filter { $0.hasSuffix(".swift") }.sorted()
        #expect(!names.isEmpty, "no Swift sources under \(directory)")
        var found: [String] = []
        for name in names {
            let path = directory + "/" + name
            let text = try String(contentsOfFile: path, encoding: .utf8)
            found += Self.violations(in: text, file: "Sources/\(module)/\(name)")
        }
        #expect(found.isEmpty, "pure modules are handed text, they do not read it:\n\(found.joined(separator: "\n"))")
    }

    @Test func theCheckSeesAReadAndNamesItsLine() {
        let found = Self.violations(
            in: "let a = 1\nbuffer.append(contentsOf: bytes)\nlet text = try String(contentsOf: url)\n", file: "X.swift")
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("X.swift:3: mentions `contentsOf`") == true)
    }
}
