import Testing
@testable import CloisterInspect

@Suite("ParsedFiles: host files parsed again only when their bytes change")
struct ParsedFilesTests {
    @Test("the same bytes are not parsed again; changed bytes are; each type and path apart")
    func reparseOnChange() {
        let files = ParsedFiles()
        var parses = 0
        func count(_ bytes: [UInt8]) -> Int {
            parses += 1
            return bytes.count
        }
        #expect(files.parse(Array("a=1\n".utf8), path: "/etc/x.conf", count) == 4)
        #expect(files.parse(Array("a=1\n".utf8), path: "/etc/x.conf", count) == 4)
        #expect(parses == 1)
        #expect(files.parse(Array("a=12\n".utf8), path: "/etc/x.conf", count) == 5)
        #expect(parses == 2)
        #expect(files.parse(Array("a=12\n".utf8), path: "/etc/y.conf", count) == 5)
        #expect(parses == 3)
        #expect(files.parse(Array("a=12\n".utf8), path: "/etc/x.conf") { String(decoding: $0, as: UTF8.self) } == "a=12\n")
        #expect(files.count == 3)
    }

    @Test("a parse that fails is not kept; without a memory every call parses")
    func failuresAndNoMemory() throws {
        struct Bad: Error {}
        let files = ParsedFiles()
        var root = HostRoot()
        root.parsedFiles = files
        var parses = 0
        for _ in 0..<2 {
            #expect(throws: Bad.self) {
                try root.parsed(text: "broken", path: "/etc/z") { (_: String) throws(Bad) -> Int in
                    parses += 1
                    throw Bad()
                }
            }
        }
        #expect(parses == 2)
        #expect(files.count == 0)
        let plain = HostRoot()
        for _ in 0..<2 { _ = plain.parsed(text: "ok", path: "/etc/z") { (_: String) -> Int in parses += 1; return 1 } }
        #expect(parses == 4)
    }
}
