import Testing

@testable import CloisterCodec

@Suite("JSON with positions")
struct JSONDocumentTests {
    @Test func positionsOfKeysAndValues() throws {
        let text = "{\n  \"a\": {\n    \"b\": [1, \"two\", true, null]\n  },\n  \"c\": \"\\u00e9\\ud83d\\ude00\"\n}"
        let root = try JSONDocument.parse(text)
        let cursor = DocCursor(root)
        let b = try #require(cursor.at("a", "b"))
        #expect(b.line == 3)
        #expect(b.column == 5)
        #expect(b.path == "a.b")
        let elements = try b.list()
        #expect(elements.count == 4)
        #expect(elements[1].path == "a.b[1]")
        #expect(try elements[1].string() == "two")
        #expect(try elements[2].bool())
        #expect(elements[3].node.isNull)
        #expect(try cursor["c"]?.string() == "é😀")
        // A quoted "true" is a string, not a boolean.
        let quoted = try JSONDocument.parse(#"{"x": "true"}"#)
        #expect(quoted["x"]?.bool == nil)
    }

    @Test(arguments: [
        ("", 1), ("{", 1), ("{\"a\" 1}", 1), ("{\"a\": 1,}", 1), ("[1 2]", 1), ("{\"a\": tru}", 1),
        ("\"\\x\"", 1), ("{\"a\": \"\n\"}", 1), ("01", 1), ("1.", 1), ("{}\n{}", 2), ("{\n\n  'a': 1}", 3),
    ])
    func invalid(text: String, line: Int) {
        #expect(throws: DocumentError.self) { try JSONDocument.parse(text) }
        do {
            _ = try JSONDocument.parse(text)
        } catch {
            #expect(error.line == line, "\(error)")
        }
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: DocumentError.self) { try JSONDocument.parse(deep) }
    }

    @Test func randomBytesNeverCrash() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("{}[]\":,0123456789.eE-+truefalsnl \n\\u\"abc")
        for _ in 0..<2_000 {
            let length = Int.random(in: 0..<64, using: &generator)
            let text = String((0..<length).map { _ in alphabet.randomElement(using: &generator) ?? " " })
            _ = try? JSONDocument.parse(text)
        }
    }
}
