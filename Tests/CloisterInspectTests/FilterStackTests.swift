import Testing
@testable import CloisterInspect

/// The decoder's cache key: equal stacks meet, any difference in bytes, lengths or order parts them.
@Suite struct FilterStackTests {
    static func program(_ seed: UInt8, instructions: Int) -> [UInt8] {
        (0..<(instructions * 8)).map { UInt8(truncatingIfNeeded: Int(seed) &* 31 &+ $0) }
    }

    @Test func equalStacksMeetAndEveryDifferencePartsThem() {
        let first = Self.program(1, instructions: 1158)
        let second = Self.program(2, instructions: 7)
        let stack = FilterStack([first, second])
        #expect(stack == FilterStack([Array(first), Array(second)]))
        #expect(Set([stack, FilterStack([first, second])]).count == 1)
        var flipped = first
        flipped[4000] ^= 1
        let others = [
            FilterStack([flipped, second]), FilterStack([second, first]), FilterStack([first]),
            FilterStack([first, second, []]), FilterStack([first + [0], second]), FilterStack([]),
        ]
        for other in others { #expect(other != stack) }
        #expect(Set(others + [stack]).count == others.count + 1)
        #expect(FilterStack([[]]) == FilterStack([[]]))
    }
}
