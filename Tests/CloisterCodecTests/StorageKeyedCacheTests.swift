import CloisterCodec
import Testing

@Suite("StorageKeyedCache: made once per array storage")
struct StorageKeyedCacheTests {
    @Test("copies share what was made; an equal array with storage of its own is made again")
    func sharing() {
        var cache = StorageKeyedCache<String, String>()
        var made = 0
        let first = ["a", "b", "c"]
        let copy = first
        let equal = Array(["a", "b", "c"].reversed().reversed())
        #expect(cache.product(for: first) { made += 1; return $0.joined() } == "abc")
        #expect(cache.product(for: copy) { _ in made += 1; return "not made" } == "abc")
        #expect(made == 1)
        #expect(cache.product(for: equal) { made += 1; return $0.joined(separator: "+") } == "a+b+c")
        #expect(made == 2)
        #expect(cache.count == 2)
    }

    @Test("an array changed after it was kept has storage of its own")
    func mutation() {
        var cache = StorageKeyedCache<Int, Int>()
        var numbers = [1, 2, 3]
        cache.keep(6, for: numbers)
        numbers[0] = 10  // the cache holds the old storage, so this writes a copy
        #expect(cache.product(for: numbers) == nil)
        #expect(cache.product(for: numbers) { $0.reduce(0, +) } == 15)
    }

    @Test("an array shortened after it was kept is not found")
    func shortened() {
        var cache = StorageKeyedCache<Int, Int>()
        let numbers = [1, 2, 3, 4]
        cache.keep(10, for: numbers)
        var trimmed = numbers
        trimmed.removeLast()  // a copy: the cache holds the storage
        #expect(cache.product(for: trimmed) == nil)
    }

    @Test("with a limit, a full cache is emptied before the next entry")
    func limit() {
        var cache = StorageKeyedCache<Int, Int>(limit: 2)
        let arrays = (0..<3).map { [Int]([$0, $0]) }
        for array in arrays { cache.keep(array[0], for: array) }
        #expect(cache.count == 1)
        #expect(cache.product(for: arrays[2]) == 2)
        #expect(cache.product(for: arrays[0]) == nil)
    }
}
