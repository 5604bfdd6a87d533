import CloisterModel
import Testing
@testable import CloisterInspect

/// Inputs the fuzzers (Fuzz/, scripts/fuzz.sh) found crashing a parser, kept as tests so the
/// failure shows in `swift test` too. Each input is also in Fuzz/Regressions/TARGET/.
@Suite struct FuzzRegressionTests {
    /// fuzz-id-map: `outside + (id - inside)` trapped on UInt32 overflow for a range that
    /// starts near 2^32 (the kernel would refuse the map; a captured tree need not).
    @Test func idMapWhoseOutsideRangePassesUInt32() {
        let map = IDMapParser.parse("0 4294967295 10\n")
        #expect(map == [IDMapRange(inside: 0, outside: 4_294_967_295, count: 10)])
        #expect(IDMapParser.hostID(0, in: map) == 4_294_967_295)
        #expect(IDMapParser.hostID(1, in: map) == nil)
        #expect(IDMapParser.hostID(9, in: map) == nil)
    }
}
