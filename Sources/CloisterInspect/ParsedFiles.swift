import Synchronization

/// Host files parsed again only when their bytes change, across the rescans of `serve` and
/// `scan --watch` (it lives in `ScanMemory`): the package database (a few MB on a Debian host),
/// libvirt's qemu.conf, containers.conf, daemon.json. Each is still read at every scan; a file
/// whose bytes equal those parsed last time (a byte comparison, far cheaper than the parse) is
/// given the last parse. The same bytes always parse the same, so nothing a file says is missed.
public final class ParsedFiles: Sendable {
    private struct Key: Hashable {
        var path: String
        var type: ObjectIdentifier
    }

    private struct Entry: @unchecked Sendable {
        var bytes: [UInt8]
        /// A `T` of the key's type.
        var value: Any
    }

    private let entries = Mutex<[Key: Entry]>([:])

    public init() {}

    /// `parse(bytes)`, or what it gave for the same `path` and the same bytes last time.
    func parse<T, Failure: Error>(_ bytes: [UInt8], path: String, _ parse: ([UInt8]) throws(Failure) -> T) throws(Failure) -> T {
        let key = Key(path: path, type: ObjectIdentifier(T.self))
        if let known = entries.withLock({ $0[key] }), known.bytes == bytes, let value = known.value as? T { return value }
        let value = try parse(bytes)
        entries.withLock { $0[key] = Entry(bytes: bytes, value: value) }
        return value
    }

    /// How many parses are kept (for tests).
    var count: Int { entries.withLock { $0.count } }
}

extension HostRoot {
    /// `parse(bytes)` of the file at `path`, through the rescans' memory when there is one.
    func parsed<T, Failure: Error>(_ bytes: [UInt8], path: String, _ parse: ([UInt8]) throws(Failure) -> T) throws(Failure) -> T {
        guard let parsedFiles else { return try parse(bytes) }
        return try parsedFiles.parse(bytes, path: path, parse)
    }

    /// As `parsed(_:path:_:)`, for a parser of text.
    func parsed<T, Failure: Error>(text: String, path: String, _ parse: (String) throws(Failure) -> T) throws(Failure) -> T {
        guard let parsedFiles else { return try parse(text) }
        return try parsedFiles.parse(Array(text.utf8), path: path) { (_: [UInt8]) throws(Failure) -> T in try parse(text) }
    }
}
