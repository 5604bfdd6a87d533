import Foundation
import Testing
import Yams

@testable import CloisterCodec

/// The one markup policy: HTML reports, JUnit and libvirt XML all escape the same way.
@Suite struct MarkupEscapingTests {
    @Test func escapesTheFiveMarkupCharactersForTextAndAttributes() {
        #expect(SafeText.forXML(#"a&b<c>d"e'f"#) == "a&amp;b&lt;c&gt;d&quot;e&#39;f")
    }

    /// `&#39;` rather than `&apos;`: a character reference every HTML and XML 1.0 reader knows.
    @Test func apostropheIsANumericReference() {
        #expect(SafeText.forXML("it's") == "it&#39;s")
        #expect(!SafeText.forXML("it's").contains("&apos;"))
    }

    @Test func controlsAreShownAndXMLForbiddenCharactersDropped() {
        #expect(SafeText.forXML("a\u{1B}[2Jb\nc") == "a\\x1b[2Jb\\nc")
        #expect(SafeText.forXML("x\u{FFFE}y\u{FFFF}z") == "xyz")
    }

    /// By scalar, not by grapheme: a quote followed by a combining mark is still escaped.
    @Test func markupInsideAGraphemeIsEscaped() {
        #expect(SafeText.forXML("\"\u{301}") == "&quot;\u{301}")
    }

    @Test func markdownEscapesStructure() {
        #expect(SafeText.forMarkdown("a|b`c*d_e[f](g)<h>&") == "a\\|b\\`c\\*d\\_e\\[f\\]\\(g\\)&lt;h&gt;&amp;")
    }
}

/// One string escaper, two published styles.
@Suite struct JSONStringTests {
    @Test func foundationStyleMatchesJSONEncoder() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        for text in ["plain", "q\"b\\s/", "\u{08}\u{0C}\n\r\t\u{01}\u{1F}", "\u{7F}\u{2028}\u{2029}é😀", ""] {
            var output: [UInt8] = []
            JSONString.write(text, into: &output, style: .foundation)
            #expect(Data(output) == (try encoder.encode(text)), "\(text.debugDescription)")
        }
    }

    @Test func strictStyleAlsoEscapesLineSeparatorsAndDelete() {
        #expect(JSONString.quoted("a\u{2028}b\u{2029}c\u{7F}") == #""a\u2028b\u2029c\u007f""#)
        #expect(JSONString.quoted("\u{08}\u{0C}\u{1B}") == #""\u0008\u000c\u001b""#)
        #expect(JSONString.quoted("q\"b\\n\n") == #""q\"b\\n\n""#)
        #expect(JSONString.quoted("é😀") == "\"é😀\"")
    }

    @Test func everyStrictLiteralParsesBackToItsText() throws {
        let hostile = String((0..<0x80).map { Character(Unicode.Scalar(UInt8($0))) }) + "\u{2028}\u{2029}é😀"
        let decoded = try JSONDecoder().decode(String.self, from: Data(JSONString.quoted(hostile).utf8))
        #expect(decoded == hostile)
    }
}

/// The tree encoder, the compact encoder and the position-tracking parser agree.
@Suite struct JSONRoundTripTests {
    struct Sample: Codable, Equatable {
        var name: String
        var count: Int
        var ratio: Double
        var flags: [Bool]
        var nested: [String: UInt32]
        var missing: String?
    }

    static let sample = Sample(
        name: "web \"1\"\n\u{2028}", count: -3, ratio: 0.25, flags: [true, false], nested: ["b": 2, "a": 1],
        missing: nil)

    @Test func compactEncodingDecodesToTheSameValue() throws {
        let bytes = try CompactJSON.encode(Self.sample)
        #expect(try JSONDecoder().decode(Sample.self, from: Data(bytes)) == Self.sample)
    }

    @Test func treeSerializationDecodesToTheSameValue() throws {
        let tree = try JSONValue.encode(Self.sample)
        for pretty in [false, true] {
            let text = tree.serialized(pretty: pretty)
            #expect(try JSONDecoder().decode(Sample.self, from: Data(text.utf8)) == Self.sample)
        }
    }

    @Test func positionParserReadsWhatTheEncodersWrite() throws {
        let compact = String(decoding: try CompactJSON.encode(Self.sample), as: UTF8.self)
        let tree = try JSONValue.encode(Self.sample).serialized(pretty: true)
        for text in [compact, tree] {
            let root = DocCursor(try JSONDocument.parse(text))
            #expect(try root.at("name")?.string() == Self.sample.name)
            #expect(try root.at("count")?.int() == -3)
            #expect(try root.at("nested", "b")?.uint32() == 2)
            #expect(try root.at("flags")?.list().map { try $0.bool() } == [true, false])
        }
    }

    @Test func sortedKeysInBothEncoders() throws {
        let compact = String(decoding: try CompactJSON.encode(["b": 1, "a": 2]), as: UTF8.self)
        #expect(compact == #"{"a":2,"b":1}"#)
        #expect(try JSONValue.encode(["b": 1, "a": 2]).serialized() == #"{"a":2,"b":1}"#)
    }
}

/// The one YAML entry point: positions, the error, the budget.
@Suite struct YAMLTextTests {
    func composeError(_ text: String) -> YAMLError? {
        do {
            _ = try YAMLText.compose(text, file: "f.yaml")
            return nil
        } catch {
            return error
        }
    }

    @Test func syntaxErrorCarriesFileLineAndColumn() throws {
        let error = try #require(composeError("a: 1\nb: [unclosed\nc: d: e\n"))
        #expect(error.file == "f.yaml")
        #expect(error.line == 3)
        #expect(error.column != nil)
        if case .syntax = error.reason {} else { Issue.record("reason \(error.reason)") }
        #expect(error.message.hasPrefix("invalid YAML: "))
        #expect(error.description.hasPrefix("f.yaml:3:"))
    }

    @Test func duplicateKeysAreAnError() throws {
        let error = try #require(composeError("a: 1\nb: 2\na: 3\n"))
        #expect(error.reason == .duplicateKeys(["a"]))
        #expect(error.message == "invalid YAML: duplicate keys a")
    }

    @Test func emptyTextHasNoDocument() throws {
        #expect(try YAMLText.compose("", file: "f.yaml") == nil)
        var documents = try YAMLText.documents("", file: "f.yaml")
        #expect(try documents.next() == nil)
    }

    @Test func basicResolverKeepsScalarsAsText() throws {
        let node = try #require(try YAMLText.compose("a: yes\nb: 010\nc: ~\n", file: "f.yaml"))
        #expect(node["a"]?.tag == Tag(.str))
        #expect(node["b"]?.string == "010")
    }

    @Test func documentsKeepPositionsQuotingAndMergeKeys() throws {
        var documents = try YAMLText.documents(
            "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 'three'\n---\nsecond: true\n", file: "f.yaml")
        let first = try #require(try documents.next())
        let derived = try #require(first["derived"])
        #expect(derived["x"]?.text == "1")
        if case .scalar(let text, let plain) = derived["y"]?.value {
            #expect(text == "three" && !plain)
        } else {
            Issue.record("y is not a scalar")
        }
        let entry = try #require(first.entries?.first { $0.key == "derived" })
        #expect(entry.keyLine == 2 && entry.keyColumn == 1)
        let second = try #require(try documents.next())
        #expect(second["second"]?.bool == true)
        #expect(try documents.next() == nil)
    }

    /// Nine levels of ten aliases each: 10^9 nodes once expanded, from a few hundred bytes.
    static let billionLaughs: String = {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 {
            let previous = Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
            text += "a\(level): &a\(level) [\(previous)]\n"
        }
        return text
    }()

    @Test func aliasExpansionIsBoundedForOneDocument() throws {
        let error = try #require(composeError(Self.billionLaughs))
        #expect(error.reason == .tooManyNodes)
        #expect(error.message == "expands to more than 2000000 nodes through aliases; refused")
        #expect(error.line != nil && error.column == nil)
    }

    @Test func aliasExpansionIsBoundedForEveryDocument() throws {
        var documents = try YAMLText.documents(Self.billionLaughs, file: "f.yaml")
        #expect(throws: YAMLError.self) { _ = try documents.next() }
    }

    @Test func aFewAliasesAreFine() throws {
        let node = try #require(try YAMLText.compose("a: &a {k: v}\nb: *a\nc: *a\n", file: "f.yaml"))
        #expect(node["c"]?["k"]?.string == "v")
    }
}

/// The memo renders a long string list once for every value that shares its storage, and
/// never hands one list's text to another.
@Suite struct CompactJSONMemoTests {
    struct Holder: Codable, Equatable {
        var name: String
        var calls: [String]
        var more: [[String]]
    }

    static func names(_ prefix: String, _ count: Int) -> [String] {
        (0..<count).map { "\(prefix)_\($0)\($0 % 7 == 0 ? "\"\\\n\u{1}é" : "")" }
    }

    @Test func sameBytesWithAndWithoutTheMemo() throws {
        let shared = Self.names("read", 400)
        let sameCountOtherText = Self.names("write", 400)
        let short = Self.names("x", 5)
        let holders = [
            Holder(name: "a", calls: shared, more: [shared, short]),
            Holder(name: "b", calls: shared, more: [sameCountOtherText, shared]),
            Holder(name: "c", calls: sameCountOtherText, more: []),
            // Equal strings in other storage: rendered again, to the same text.
            Holder(name: "d", calls: shared.map { String($0) + "" }, more: [Array(shared)]),
        ]
        let memo = CompactJSON.Memo()
        let foundation = JSONEncoder()
        foundation.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for holder in holders {
            let memoised = try CompactJSON.encode(holder, memo: memo)
            #expect(memoised == (try CompactJSON.encode(holder)))
            #expect(memoised == Array(try foundation.encode(holder)))
            #expect(try JSONDecoder().decode(Holder.self, from: Data(memoised)) == holder)
        }
    }

    @Test func aListFreedAndAnotherMadeDoesNotReuseItsText() throws {
        let memo = CompactJSON.Memo()
        var texts: [String] = []
        // Each list is made, encoded and dropped; the memo keeps each alive, so no later list
        // can take the storage address of an earlier one.
        for round in 0..<50 {
            let holder = Holder(name: "r", calls: Self.names("call\(round)", 64), more: [])
            let bytes = try CompactJSON.encode(holder, memo: memo)
            #expect(try JSONDecoder().decode(Holder.self, from: Data(bytes)) == holder)
            texts.append(String(decoding: bytes, as: UTF8.self))
        }
        #expect(Set(texts).count == 50)
    }

    typealias Entry = SharedListEntry

    struct Stack: Codable, Equatable {
        var name: String
        var entries: [Entry]?
    }

    @Test func aSharedTypeIsRenderedOncePerStorageToTheSameBytes() throws {
        let lists = [Entry(architecture: "x86_64", allowed: Self.names("read", 300)), Entry(architecture: "x86", allowed: ["a\"b"])]
        let other = [Entry(architecture: "x86_64", allowed: Self.names("write", 300))]
        let stacks = [
            Stack(name: "a", entries: lists), Stack(name: "b", entries: lists), Stack(name: "c", entries: other),
            Stack(name: "d", entries: nil), Stack(name: "e", entries: []), Stack(name: "f", entries: lists.map { $0 }),
        ]
        let memo = CompactJSON.Memo(sharing: [[Entry].self])
        for stack in stacks {
            let memoised = try CompactJSON.encode(stack, memo: memo)
            #expect(memoised == (try CompactJSON.encode(stack)), "\(stack.name)")
            #expect(try JSONDecoder().decode(Stack.self, from: Data(memoised)) == stack)
        }
        // lists (shared by a and b), other, the empty list, and f's equal copy in its own storage.
        #expect(memo.sharedRendered == 4)
    }

    @Test func aSharedListFreedAndAnotherMadeDoesNotReuseItsText() throws {
        let memo = CompactJSON.Memo(sharing: [[Entry].self])
        var texts: Set<String> = []
        for round in 0..<50 {
            let stack = Stack(name: "r", entries: [Entry(architecture: "x86_64", allowed: Self.names("call\(round)", 40))])
            let bytes = try CompactJSON.encode(stack, memo: memo)
            #expect(try JSONDecoder().decode(Stack.self, from: Data(bytes)) == stack)
            texts.insert(String(decoding: bytes, as: UTF8.self))
        }
        #expect(texts.count == 50)
    }
}

/// Public only because a public protocol's conformance needs it.
public struct SharedListEntry: Codable, Equatable {
    var architecture: String
    var allowed: [String]
}

extension Array: StorageSharingEncodable where Element == SharedListEntry {
    public var storageAddress: UInt { withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } }
}
