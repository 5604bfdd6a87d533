// Which kernel is running, as far as a version can honestly be told. `uname -r` is not the
// version: Debian's `6.1.0-28-amd64` is an ABI name that stays the same across a dozen stable
// updates (6.1.115, 6.1.119, …); the real version is the package's, which Debian writes into
// the kernel's version string (`uname -v`, /proc/sys/kernel/version, the tail of /proc/version):
// `#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)`. Ubuntu's `5.15.0-91-generic`, Red
// Hat's `5.14.0-362.8.1.el9_3` and a custom build's `6.18.44-fc-v1272` carry patches whose
// upstream base does not decide a CVE; only a release that is exactly an upstream version is
// taken as upstream's own.

/// The running kernel, classified for CVE matching.
public struct KernelBuild: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// Debian's kernel: `packageVersion` is the `linux` package's version.
        case debian
        /// A release that is exactly an upstream version (`6.6.1`, `6.8-rc3`).
        case vanilla
        /// Anything else: a distribution build whose package version the kernel does not tell, or a
        /// custom build. CVEs are undecided on it.
        case unknown
    }

    public var kind: Kind
    /// `uname -r`.
    public var release: String?
    /// Debian's package version (`6.1.119-1`, `6.10.11-1~bpo12+1`).
    public var packageVersion: String?
    /// The upstream version the kernel is: Debian's package's upstream part, or the vanilla release.
    /// nil for `unknown`.
    public var upstream: String?
    /// For `unknown`: the upstream version its release starts with (`6.18.44` of
    /// `6.18.44-fc-v1272`), which is what the build is based on, not what it is.
    public var base: String?
    /// Why the version is what it is, or why it cannot be told.
    public var reason: String

    public init(kind: Kind, release: String?, packageVersion: String? = nil, upstream: String? = nil, base: String? = nil, reason: String) {
        self.kind = kind
        self.release = release
        self.packageVersion = packageVersion
        self.upstream = upstream
        self.base = base
        self.reason = reason
    }

    /// The upstream `major.minor` branch of a version (`6.1` of `6.1.119`, `6.8` of `6.8~rc3`).
    public static func branch(of version: String) -> String? {
        let numbers = version.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }.split(separator: ".", omittingEmptySubsequences: false)
        guard numbers.count >= 2, !numbers[0].isEmpty, !numbers[1].isEmpty else { return nil }
        return "\(numbers[0]).\(numbers[1])"
    }

    /// From `uname -r` and the version string: `uname -v` (/proc/sys/kernel/version), or a whole
    /// /proc/version line, whose compiler part (`gcc-12 (Debian 12.2.0-14)`) is skipped.
    public static func identify(release rawRelease: String?, version rawVersion: String?) -> KernelBuild {
        // The first line, as /proc/sys/kernel/osrelease ends in a newline; nothing else may follow.
        var release = rawRelease.map { String($0.split(separator: "\n", omittingEmptySubsequences: false).first ?? "") }
        while let last = release?.last, last == " " || last == "\t" || last == "\r" { release?.removeLast() }
        guard let release, !release.isEmpty else {
            return KernelBuild(kind: .unknown, release: nil, reason: "the kernel release (uname -r) cannot be read")
        }
        guard release.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
            return KernelBuild(kind: .unknown, release: release, reason: "the kernel release is not printable ASCII without spaces, as uname -r is")
        }
        let version = rawVersion.map(buildString)
        let base = leadingUpstream(release)

        if let version, let package = debianPackageVersion(version) {
            guard let parsed = DebianVersion(package), let packageBranch = branch(of: parsed.upstream) else {
                return KernelBuild(kind: .unknown, release: release, base: base,
                                   reason: "the version string names Debian package \(package), which is not a Debian version")
            }
            guard packageBranch == branch(of: release) else {
                return KernelBuild(kind: .unknown, release: release, base: base,
                                   reason: "release \(release) and Debian package version \(package) name different branches")
            }
            return KernelBuild(kind: .debian, release: release, packageVersion: package, upstream: parsed.upstream,
                               reason: "Debian's linux \(package) (from the kernel's version string), upstream \(parsed.upstream)")
        }
        if isUpstreamVersion(release) {
            return KernelBuild(kind: .vanilla, release: release, upstream: release,
                               reason: "release \(release) is an upstream version with no local suffix")
        }
        let lowered = release.lowercased()
        let why: String
        if version?.contains("-Ubuntu") == true || lowered.contains("ubuntu") {
            why = "an Ubuntu kernel (\(release)): its ABI number is not the upstream version, and Ubuntu's fixed versions are not in the advisory data"
        } else if hasTag(lowered, ".el") || hasTag(lowered, ".fc") {
            why = "a Red Hat or Fedora build (\(release)): its package release carries backports, and their fixed versions are not in the advisory data"
        } else if let debianStyle = version, debianStyle.contains("Debian") {
            why = "the version string mentions Debian but names no package version: \(debianStyle)"
        } else if let base {
            let suffix = String(release.dropFirst(base.count))
            why = "release \(release) is upstream \(base) with the local suffix \(suffix): a distribution or custom build whose patches, and so whose fixes, cannot be told from its version"
        } else {
            why = "release \(release) does not start with an upstream version"
        }
        return KernelBuild(kind: .unknown, release: release, base: base, reason: why)
    }

    /// `#1 SMP … Debian 6.1.119-1 (…)` from a whole /proc/version line, or the line itself.
    static func buildString(_ text: String) -> String {
        let line = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
        guard line.hasPrefix("Linux version ") else { return line }
        // The build string starts at ` #` (the compiler part before it has no `#`).
        var previous: Character = "x"
        for index in line.indices {
            if line[index] == "#", previous == " " { return String(line[index...]) }
            previous = line[index]
        }
        return line
    }

    /// The token after the word `Debian` in the build string (`Debian 6.1.119-1`), if it reads as
    /// a version (starts with a digit).
    static func debianPackageVersion(_ build: String) -> String? {
        let words = build.split(separator: " ")
        for (index, word) in words.enumerated() where word == "Debian" && index + 1 < words.count {
            let candidate = words[index + 1]
            // dpkg's version characters only: a crafted string's control bytes are no version.
            let allowed = candidate.unicodeScalars.allSatisfy { scalar in
                (scalar.value >= 0x30 && scalar.value <= 0x39) || (scalar.value >= 0x41 && scalar.value <= 0x5a)
                    || (scalar.value >= 0x61 && scalar.value <= 0x7a) || ".+~:-".unicodeScalars.contains(scalar)
            }
            if allowed, candidate.first?.isNumber == true { return String(candidate) }
        }
        return nil
    }

    /// `6.6`, `6.6.1`, `6.8-rc3`: what kernel.org tags, nothing after.
    static func isUpstreamVersion(_ release: String) -> Bool {
        guard let base = leadingUpstream(release) else { return false }
        let rest = release.dropFirst(base.count)
        if rest.isEmpty { return true }
        guard rest.hasPrefix("-rc") else { return false }
        let number = rest.dropFirst(3)
        return !number.isEmpty && number.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// `6.18.44` of `6.18.44-fc-v1272`: up to three dot-separated numbers of at most four digits
    /// at the start (no kernel has had more); nil when the release does not start with `N.N`.
    static func leadingUpstream(_ release: String) -> String? {
        var parts: [Substring] = []
        var rest = Substring(release)
        while parts.count < 3 {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 4 else { return nil }
            parts.append(digits)
            rest = rest.dropFirst(digits.count)
            guard parts.count < 3, rest.first == ".", rest.dropFirst().first?.isNumber == true else { break }
            rest = rest.dropFirst()
        }
        return parts.count >= 2 ? parts.joined(separator: ".") : nil
    }

    /// `.el9` in `5.14.0-362.8.1.el9_3.x86_64`: the tag followed by a digit.
    static func hasTag(_ text: String, _ tag: String) -> Bool {
        var rest = Substring(text)
        while let start = rest.firstIndex(of: ".") {
            let candidate = rest[start...]
            if candidate.hasPrefix(tag), candidate.dropFirst(tag.count).first?.isNumber == true { return true }
            rest = rest[rest.index(after: start)...]
        }
        return false
    }
}
