import CloisterCodec
import Testing

@Suite struct SafeTextTests {
    @Test func validUTF8IsKept() {
        #expect(SafeText.decode(Array("nginx: wörker ✓".utf8)) == "nginx: wörker ✓")
    }

    @Test func invalidBytesAreEscapedNotDropped() {
        #expect(SafeText.decode([0x61, 0xFF, 0x62, 0xC3]) == "a\\xffb\\xc3")
        // Overlong encoding of "/" and a UTF-16 surrogate are ill-formed UTF-8.
        #expect(SafeText.decode([0xC0, 0xAF]) == "\\xc0\\xaf")
        #expect(SafeText.decode([0xED, 0xA0, 0x80]) == "\\xed\\xa0\\x80")
    }

    @Test func longInputIsBounded() {
        let decoded = SafeText.decode([UInt8](repeating: 0x41, count: 10_000), limit: 16)
        #expect(decoded == String(repeating: "A", count: 16) + "…")
    }

    @Test func everyByteContainerDecodesAlike() {
        let inputs: [[UInt8]] = [
            [], Array("nginx: wörker ✓".utf8), [0x61, 0xFF, 0x62, 0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80],
            [UInt8](repeating: 0x41, count: 40), Array("é".utf8) + [UInt8](repeating: 0xFF, count: 30),
        ]
        for input in inputs {
            for limit in [4, 16, 4096] {
                // The generic path, through a collection no overload takes.
                let reference = SafeText.decode(AnyCollection(input), limit: limit)
                #expect(SafeText.decode(input, limit: limit) == reference)
                #expect(SafeText.decode(input[...], limit: limit) == reference)
                input.withUnsafeBufferPointer { buffer in
                    #expect(SafeText.decode(buffer, limit: limit) == reference)
                    #expect(SafeText.decode(buffer[...], limit: limit) == reference)
                }
                let padded = [0x7A] + input + [0x7A]
                #expect(SafeText.decode(padded[1..<(padded.count - 1)], limit: limit) == reference, "a slice not at 0")
            }
        }
    }

    @Test func terminalEscapesAreNeutralised() {
        let hostile = "evil\u{1B}]0;pwned\u{07}\n\u{202E}gpj.exe\u{9B}"
        let shown = SafeText.forTerminal(hostile)
        #expect(!shown.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
        #expect(shown == "evil\\x1b]0;pwned\\x07\\n\\u{202e}gpj.exe\\x9b")
    }
}
