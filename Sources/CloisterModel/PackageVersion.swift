// Package versions compared as the package managers compare them. A CVE rule decides "affected"
// only by this comparison, so it follows dpkg's own algorithm to the letter (deb-version(7),
// lib/dpkg/version.c: epoch, then upstream version, then Debian revision; each compared as
// alternating non-digit and digit runs, with `~` sorting before everything, even the end).

/// A Debian package version: `[epoch:]upstream[-revision]`.
public struct DebianVersion: Sendable, Equatable, Comparable, CustomStringConvertible {
    public let epoch: Int
    public let upstream: String
    /// Empty when the version has no `-`: dpkg compares it as equal to `0`.
    public let revision: String
    public let text: String

    /// nil for what dpkg refuses: an empty version, a non-numeric epoch, an empty upstream
    /// version, or whitespace inside.
    public init?(_ text: String) {
        guard !text.isEmpty, text.count <= 256, !text.contains(where: { $0.isWhitespace }) else { return nil }
        var rest = Substring(text)
        var epoch = 0
        if let colon = rest.firstIndex(of: ":") {
            let digits = rest[..<colon]
            guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits)
            else { return nil }
            epoch = value
            rest = rest[rest.index(after: colon)...]
        }
        var revision = Substring("")
        if let dash = rest.lastIndex(of: "-") {
            revision = rest[rest.index(after: dash)...]
            rest = rest[..<dash]
        }
        guard !rest.isEmpty else { return nil }
        self.epoch = epoch
        self.upstream = String(rest)
        self.revision = String(revision)
        self.text = text
    }

    public var description: String { text }

    public static func == (lhs: DebianVersion, rhs: DebianVersion) -> Bool { compare(lhs, rhs) == 0 }
    public static func < (lhs: DebianVersion, rhs: DebianVersion) -> Bool { compare(lhs, rhs) < 0 }

    /// Negative, zero or positive as `lhs` sorts before, with or after `rhs` (dpkg --compare-versions).
    public static func compare(_ lhs: DebianVersion, _ rhs: DebianVersion) -> Int {
        if lhs.epoch != rhs.epoch { return lhs.epoch < rhs.epoch ? -1 : 1 }
        let upstream = compareParts(Array(lhs.upstream.utf8), Array(rhs.upstream.utf8))
        if upstream != 0 { return upstream }
        return compareParts(Array(lhs.revision.utf8), Array(rhs.revision.utf8))
    }

    /// A character's weight in a non-digit run: `~` below the end of the string, the end below
    /// letters, letters below every other character.
    static func order(_ byte: UInt8?) -> Int {
        guard let byte else { return 0 }
        if byte == UInt8(ascii: "~") { return -1 }
        if isDigit(byte) { return 0 }
        if (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) { return Int(byte) }
        return Int(byte) + 256
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }

    /// dpkg's verrevcmp: alternate runs of non-digits (compared by `order`) and digits
    /// (compared as numbers, leading zeros ignored), until both strings end.
    static func compareParts(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            var firstDifference = 0
            while (i < a.count && !isDigit(a[i])) || (j < b.count && !isDigit(b[j])) {
                let left = order(i < a.count ? a[i] : nil)
                let right = order(j < b.count ? b[j] : nil)
                if left != right { return left < right ? -1 : 1 }
                i += 1
                j += 1
            }
            while i < a.count, a[i] == UInt8(ascii: "0") { i += 1 }
            while j < b.count, b[j] == UInt8(ascii: "0") { j += 1 }
            while i < a.count, j < b.count, isDigit(a[i]), isDigit(b[j]) {
                if firstDifference == 0 { firstDifference = Int(a[i]) - Int(b[j]) }
                i += 1
                j += 1
            }
            if i < a.count, isDigit(a[i]) { return 1 }
            if j < b.count, isDigit(b[j]) { return -1 }
            if firstDifference != 0 { return firstDifference < 0 ? -1 : 1 }
        }
        return 0
    }
}

/// An upstream release version (`1.1.12`, `1.4.0-rc.3`, `1.0.0-rc7`) in dpkg's order, where a
/// pre-release sorts before its release: written as Debian writes it (`1.4.0~rc.3`), so that a
/// package's upstream part (`1.1.5+ds1`, `1.0.0~rc6+dfsg1`) and an advisory's version compare
/// by one rule.
public enum UpstreamVersion {
    public static func debianForm(_ version: String) -> DebianVersion? {
        var text = version.hasPrefix("v") ? String(version.dropFirst()) : version
        // A SemVer pre-release (`-rc.3`, `-beta1`) or Alpine's (`_rc3`) sorts before the release.
        text = String(text.map { $0 == "-" || $0 == "_" ? "~" : $0 })
        return DebianVersion(text)
    }
}
