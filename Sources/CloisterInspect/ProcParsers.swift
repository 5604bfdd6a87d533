import CloisterCodec
import CloisterModel

// Parsers for the kernel's text formats, split from the reading so each is tested on
// captured fixtures and fuzzed. Input may come from a hostile workload: never trap, bound work.

/// The fields of `/proc/PID/status` that confinement depends on.
public struct ProcStatus: Sendable, Equatable {
    public var name: String?
    public var parentPID: Int?
    /// Real, effective, saved, filesystem.
    public var uids: [UInt32] = []
    public var gids: [UInt32] = []
    /// Supplementary groups as the host sees them; nil when there is no Groups line.
    public var groups: [UInt32]?
    public var capInheritable: UInt64?
    public var capPermitted: UInt64?
    public var capEffective: UInt64?
    public var capBounding: UInt64?
    public var capAmbient: UInt64?
    public var noNewPrivileges: Bool?
    public var seccompMode: SeccompMode?
    public var seccompFilters: Int?
    /// The PID in each nested PID namespace, outermost first.
    public var namespacePIDs: [Int] = []
    public var threads: Int?
    /// The PID of the process tracing this one (0: none).
    public var tracerPID: Int?

    /// The tracer's PID (0: none) when this status is the whole process's: one thread, and the
    /// status said who traces it. Then the leader's filters are read from this status alone,
    /// without listing `task/`.
    public var singleThreadTracer: Int? {
        threads == 1 ? tracerPID : nil
    }

    public init() {}

    public static func parse(_ text: String) -> ProcStatus {
        var copy = text
        return copy.withUTF8 { parse(bytes: $0) }
    }

    /// Works on the kernel's bytes directly: status is read for every process on the host, so
    /// no per-line Strings are made for the dozens of lines that are not wanted.
    public static func parse(bytes: UnsafeBufferPointer<UInt8>) -> ProcStatus {
        var status = ProcStatus()
        for line in Bytes.lines(bytes) {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let key = line[line.startIndex..<colon]
            let value = Bytes.trim(line[(colon + 1)...])
            switch key.count {
            case 3 where Bytes.equal(key, "Uid"): status.uids = Bytes.decimals(value).map { UInt32(truncatingIfNeeded: $0) }
            case 3 where Bytes.equal(key, "Gid"): status.gids = Bytes.decimals(value).map { UInt32(truncatingIfNeeded: $0) }
            case 4 where Bytes.equal(key, "Name"): status.name = SafeText.decode(value, limit: 256)
            case 4 where Bytes.equal(key, "PPid"): status.parentPID = Bytes.decimal(value).map(Int.init)
            case 5 where Bytes.equal(key, "NSpid"): status.namespacePIDs = Bytes.decimals(value).map(Int.init)
            case 6 where Bytes.equal(key, "Groups"): status.groups = Bytes.decimals(value).map { UInt32(truncatingIfNeeded: $0) }
            case 6 where Bytes.equal(key, "CapInh"): status.capInheritable = Bytes.hexadecimal(value)
            case 6 where Bytes.equal(key, "CapPrm"): status.capPermitted = Bytes.hexadecimal(value)
            case 6 where Bytes.equal(key, "CapEff"): status.capEffective = Bytes.hexadecimal(value)
            case 6 where Bytes.equal(key, "CapBnd"): status.capBounding = Bytes.hexadecimal(value)
            case 6 where Bytes.equal(key, "CapAmb"): status.capAmbient = Bytes.hexadecimal(value)
            case 7 where Bytes.equal(key, "Seccomp"):
                switch Bytes.decimal(value) {
                case 0: status.seccompMode = .disabled
                case 1: status.seccompMode = .strict
                case 2: status.seccompMode = .filter
                default: status.seccompMode = nil
                }
            case 7 where Bytes.equal(key, "Threads"): status.threads = Bytes.decimal(value).map(Int.init)
            case 9 where Bytes.equal(key, "TracerPid"): status.tracerPID = Bytes.decimal(value).map(Int.init)
            case 10 where Bytes.equal(key, "NoNewPrivs"):
                let flag = Bytes.decimal(value)
                status.noNewPrivileges = flag == 1 ? true : (flag == 0 ? false : nil)
            case 15 where Bytes.equal(key, "Seccomp_filters"): status.seccompFilters = Bytes.decimal(value).map(Int.init)
            default: continue
            }
        }
        return status
    }
}

/// `/proc/PID/limits`: the kernel prints each limit as a 25-column name, then soft and hard
/// values (a number or `unlimited`), then units (fs/proc/base.c proc_pid_limits).
public enum ProcLimitsParser {
    /// The kernel's row names → the RLIMIT_ names OCI configs and setrlimit(2) use.
    static let names: [String: String] = [
        "Max cpu time": "RLIMIT_CPU", "Max file size": "RLIMIT_FSIZE", "Max data size": "RLIMIT_DATA",
        "Max stack size": "RLIMIT_STACK", "Max core file size": "RLIMIT_CORE", "Max resident set": "RLIMIT_RSS",
        "Max processes": "RLIMIT_NPROC", "Max open files": "RLIMIT_NOFILE", "Max locked memory": "RLIMIT_MEMLOCK",
        "Max address space": "RLIMIT_AS", "Max file locks": "RLIMIT_LOCKS", "Max pending signals": "RLIMIT_SIGPENDING",
        "Max msgqueue size": "RLIMIT_MSGQUEUE", "Max nice priority": "RLIMIT_NICE",
        "Max realtime priority": "RLIMIT_RTPRIO", "Max realtime timeout": "RLIMIT_RTTIME",
    ]

    /// The limits in the kernel's order. Rows it does not know, or whose values are not a
    /// number or `unlimited`, are left out (a hostile file cannot make one up).
    public static func parse(_ text: String) -> [ResourceLimit] {
        var copy = text
        return copy.withUTF8 { parse(bytes: $0) }
    }

    /// Works on the kernel's bytes: the file is read for every workload, and splitting it into
    /// Strings and trimming them with Foundation cost more than reading it.
    public static func parse(bytes: UnsafeBufferPointer<UInt8>) -> [ResourceLimit] {
        var limits: [ResourceLimit] = []
        for line in Bytes.lines(bytes).prefix(64) {
            guard line.count > 26 else { continue }
            let nameEnd = line.startIndex + 25
            guard let label = String(validating: Bytes.trim(line[line.startIndex..<nameEnd]), as: UTF8.self), let name = names[label]
            else { continue }
            let fields = line[nameEnd...].split(whereSeparator: Bytes.isSpace)
            guard fields.count >= 2, let soft = value(fields[0]), let hard = value(fields[1]) else { continue }
            limits.append(ResourceLimit(name: name, soft: soft, hard: hard))
        }
        return limits
    }

    /// `unlimited`, or a decimal that fits 64 bits (an optional `+`, as Swift's integer parsing
    /// took it), printed back without the sign.
    static func value(_ field: Bytes.Slice) -> String? {
        if Bytes.equal(field, "unlimited") { return ResourceLimit.unlimitedValue }
        var digits = field[...]
        if digits.first == UInt8(ascii: "+") { digits = digits.dropFirst() }
        guard !digits.isEmpty else { return nil }
        var number: UInt64 = 0
        for byte in digits {
            guard byte >= 48, byte <= 57 else { return nil }
            let (times, overflowTimes) = number.multipliedReportingOverflow(by: 10)
            let (sum, overflowSum) = times.addingReportingOverflow(UInt64(byte - 48))
            guard !overflowTimes, !overflowSum else { return nil }
            number = sum
        }
        return String(number)
    }
}

/// Byte-level helpers for the kernel's text formats.
enum Bytes {
    typealias Slice = Slice_
    typealias Slice_ = Swift.Slice<UnsafeBufferPointer<UInt8>>

    static func lines(_ bytes: UnsafeBufferPointer<UInt8>) -> [Slice] {
        bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
    }

    static func equal(_ bytes: Slice, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        var index = bytes.startIndex
        for offset in 0..<text.utf8CodeUnitCount {
            if bytes[index] != text.utf8Start[offset] { return false }
            index += 1
        }
        return true
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    static func trim(_ bytes: Slice) -> Slice {
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return bytes[start..<end]
    }

    /// A whole field of decimal digits (at most 19), else nil.
    static func decimal(_ bytes: Slice) -> UInt64? {
        guard !bytes.isEmpty, bytes.count <= 19 else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            guard byte >= 48, byte <= 57 else { return nil }
            value = value * 10 + UInt64(byte - 48)
        }
        return value
    }

    static func decimals(_ bytes: Slice) -> [UInt64] {
        bytes.split(whereSeparator: isSpace).compactMap { decimal($0) }
    }

    static func hexadecimal(_ bytes: Slice) -> UInt64? {
        guard !bytes.isEmpty, bytes.count <= 16 else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            let digit: UInt8
            switch byte {
            case 48...57: digit = byte - 48
            case 97...102: digit = byte - 87
            case 65...70: digit = byte - 55
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> Substring {
        var slice = self
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return slice
    }
}

public enum IDMapParser {
    /// `/proc/PID/uid_map`: lines of `inside outside count`. Malformed lines are skipped.
    public static func parse(_ text: String) -> [IDMapRange] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { UInt32($0) }
            guard fields.count == 3 else { return nil }
            return IDMapRange(inside: fields[0], outside: fields[1], count: fields[2])
        }
    }

    public static func hostID(_ id: UInt32, in map: [IDMapRange]) -> UInt32? {
        for range in map { if let host = range.hostID(for: id) { return host } }
        return nil
    }
}

/// `pid:[4026531836]` → 4026531836.
public enum NamespaceLink {
    public static func inode(_ link: String) -> UInt64? {
        guard let open = link.firstIndex(of: "["), let close = link.lastIndex(of: "]"), open < close else { return nil }
        return UInt64(link[link.index(after: open)..<close])
    }
}

public enum CmdlineParser {
    /// `/proc/PID/cmdline`: NUL-separated arguments, hostile bytes escaped.
    public static func parse(_ bytes: [UInt8], maxArguments: Int = 4096) -> [String] {
        var arguments: [String] = []
        var start = 0
        for index in bytes.indices where bytes[index] == 0 {
            arguments.append(SafeText.decode(bytes[start..<index]))
            start = index + 1
            if arguments.count >= maxArguments { return arguments }
        }
        if start < bytes.count { arguments.append(SafeText.decode(bytes[start...])) }
        return arguments
    }
}

/// One line of `/proc/PID/mountinfo`.
public struct MountInfoEntry: Sendable, Equatable {
    public var mountID: Int
    public var parentID: Int
    public var major: UInt32
    public var minor: UInt32
    /// Path within the filesystem that forms this mount's root (a bind mount's source path).
    public var root: String
    public var mountPoint: String
    public var mountOptions: [String]
    public var optionalFields: [String]
    public var fsType: String
    public var source: String
    public var superOptions: [String]

    public var readOnly: Bool { mountOptions.contains("ro") }
}

public enum MountInfoParser {
    /// Parses mountinfo (proc(5)); malformed lines are skipped and counted.
    public static func parse(_ text: String) -> (entries: [MountInfoEntry], malformed: Int) {
        var copy = text
        return copy.withUTF8 { parse(buffer: $0) }
    }

    /// The same from the file's raw bytes, with no text made of the whole file first: each
    /// field is decoded on its own, so invalid UTF-8 comes out as `\xNN` exactly as decoding
    /// the whole text with `SafeText` first did (its escapes are never octal, so `unescape`
    /// leaves them alone either way).
    public static func parse(bytes: [UInt8]) -> (entries: [MountInfoEntry], malformed: Int) {
        bytes.withUnsafeBufferPointer { parse(buffer: $0) }
    }

    static func parse(buffer: UnsafeBufferPointer<UInt8>) -> (entries: [MountInfoEntry], malformed: Int) {
        var entries: [MountInfoEntry] = []
        var malformed = 0
        for line in Bytes.lines(buffer) {
            if let entry = parseLine(line) { entries.append(entry) } else { malformed += 1 }
        }
        return (entries, malformed)
    }

    static func parseLine(_ line: Bytes.Slice) -> MountInfoEntry? {
        let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard fields.count >= 10,
            let separator = fields.firstIndex(where: { $0.count == 1 && $0.first == UInt8(ascii: "-") }),
            separator >= 6, fields.count >= separator + 3
        else { return nil }
        guard let mountID = Bytes.decimal(fields[0]), let parentID = Bytes.decimal(fields[1]) else { return nil }
        let device = fields[2].split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard device.count == 2, let major = Bytes.decimal(device[0]), let minor = Bytes.decimal(device[1]),
            major <= UInt32.max, minor <= UInt32.max
        else { return nil }
        func list(_ field: Bytes.Slice) -> [String] {
            field.split(separator: UInt8(ascii: ",")).map { SafeText.decode($0, limit: 8192) }
        }
        return MountInfoEntry(
            mountID: Int(mountID), parentID: Int(parentID), major: UInt32(major), minor: UInt32(minor),
            root: unescape(fields[3]), mountPoint: unescape(fields[4]),
            mountOptions: list(fields[5]),
            optionalFields: fields[6..<separator].map { SafeText.decode($0, limit: 8192) },
            fsType: unescape(fields[separator + 1]), source: unescape(fields[separator + 2]),
            superOptions: fields.count > separator + 3 ? list(fields[separator + 3]) : [])
    }

    /// A mount's propagation type from mountinfo's optional fields (proc(5)): `shared:N` is
    /// shared (a mount both shared and `master:M` receives and sends, so it is shared),
    /// `master:N` alone is slave, `unbindable`, and no tag at all is private.
    public static func propagation(_ optionalFields: [String]) -> String {
        if optionalFields.contains(where: { $0.hasPrefix("shared:") }) { return "shared" }
        if optionalFields.contains(where: { $0.hasPrefix("master:") }) { return "slave" }
        if optionalFields.contains("unbindable") { return "unbindable" }
        return "private"
    }

    /// Undoes the kernel's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash).
    /// Bytes that are not valid UTF-8 come out as `\xNN`.
    public static func unescape(_ field: Substring) -> String {
        var copy = String(field)
        return copy.withUTF8 { unescape($0[...]) }
    }

    static func unescape(_ field: Bytes.Slice) -> String {
        let backslash = UInt8(ascii: "\\")
        if !field.contains(backslash) { return SafeText.decode(field, limit: 8192) }
        var output: [UInt8] = []
        output.reserveCapacity(field.count)
        var index = field.startIndex
        while index < field.endIndex {
            if field[index] == backslash, index + 3 < field.endIndex,
                let value = octal(field[(index + 1)...(index + 3)])
            {
                output.append(value)
                index += 4
            } else {
                output.append(field[index])
                index += 1
            }
        }
        return SafeText.decode(output, limit: 8192)
    }

    private static func octal(_ digits: Bytes.Slice) -> UInt8? {
        guard digits.count == 3 else { return nil }
        var value = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else { return nil }
            value = value * 8 + Int(digit - UInt8(ascii: "0"))
        }
        return value <= 255 ? UInt8(value) : nil
    }
}

/// One line of `/proc/PID/cgroup`: `hierarchy:controllers:path`.
public struct CgroupMembership: Sendable, Equatable {
    public var hierarchy: Int
    public var controllers: [String]
    /// As shown: exact when the kernel's bytes are valid UTF-8, else with each invalid byte
    /// written `\xNN` (SafeText.decode), which names the cgroup for a reader but not for open().
    public var path: String
    /// False when `path` is not the kernel's bytes: nothing may be read through it, since a
    /// cgroup named like its escaped (or U+FFFD-replaced) form could stand in for it.
    public var pathIsExact = true

    public var isUnified: Bool { hierarchy == 0 && controllers.isEmpty }
}

public enum CgroupFileParser {
    public static func parse(_ text: String) -> [CgroupMembership] {
        var copy = text
        return copy.withUTF8 { parse(buffer: $0) }
    }

    /// The same from the file's bytes (invalid UTF-8 in a path is kept visible as `\xNN`, and
    /// the path marked inexact). Split on bytes, not Characters: the scan reads one such file per
    /// process, and grapheme-aware splitting was most of `cgroup`'s cost.
    public static func parse(bytes: [UInt8]) -> [CgroupMembership] {
        bytes.withUnsafeBufferPointer { parse(buffer: $0) }
    }

    static func parse(buffer: UnsafeBufferPointer<UInt8>) -> [CgroupMembership] {
        var memberships: [CgroupMembership] = []
        for line in Bytes.lines(buffer) {
            guard let first = line.firstIndex(of: UInt8(ascii: ":")),
                let second = line[(first + 1)...].firstIndex(of: UInt8(ascii: ":")),
                let hierarchy = Int(String(decoding: line[..<first], as: UTF8.self))
            else { continue }
            let controllers = line[(first + 1)..<second].split(separator: UInt8(ascii: ","))
                .map { String(decoding: $0, as: UTF8.self) }
            let pathBytes = line[(second + 1)...]
            if let path = String(validating: pathBytes, as: UTF8.self) {
                memberships.append(CgroupMembership(hierarchy: hierarchy, controllers: controllers, path: path))
            } else {
                memberships.append(CgroupMembership(
                    hierarchy: hierarchy, controllers: controllers, path: SafeText.decode(pathBytes, limit: 1 << 16),
                    pathIsExact: false))
            }
        }
        return memberships
    }

    /// A cgroup limit file: `max` or a number; cgroup v1 writes "unlimited" as a huge page-aligned
    /// number (LONG_MAX rounded down to the page size), reported here as `max`.
    public static func limit(_ text: String) -> Limit? {
        let value = text.split(separator: "\n").first.map { $0.trimmingCharacters(in: " \t") } ?? ""
        if value == "max" { return .max }
        if value == "-1" { return .max }
        guard let number = UInt64(value) else { return nil }
        if number >= 0x7FFF_FFFF_FFFF_0000 { return .max }
        return .value(number)
    }

    /// cgroup v2 `cpu.max`: `quota period` with quota `max` for none.
    public static func cpuMax(_ text: String) -> (quota: Limit, period: UInt64)? {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 2, let period = UInt64(fields[1]) else { return nil }
        if fields[0] == "max" { return (.max, period) }
        guard let quota = UInt64(fields[0]) else { return nil }
        return (.value(quota), period)
    }

    /// One line of cgroup v1 `devices.list`: `c 10:200 rwm`, `b *:* m`, `a *:* rwm`.
    public struct DeviceRule: Sendable, Equatable {
        /// `c`, `b` or `a` (all).
        public var type: Character
        /// nil for `*`.
        public var major: UInt32?
        public var minor: UInt32?
        public var access: String

        func matches(type deviceType: Character, major deviceMajor: UInt32, minor deviceMinor: UInt32) -> Bool {
            (type == "a" || type == deviceType) && (major == nil || major == deviceMajor)
                && (minor == nil || minor == deviceMinor)
        }
    }

    public static func deviceRules(_ text: String) -> [DeviceRule] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 3, let type = fields[0].first, "abc".contains(type) else { return nil }
            let numbers = fields[1].split(separator: ":", omittingEmptySubsequences: false)
            guard numbers.count == 2 else { return nil }
            func number(_ text: Substring) -> UInt32?? { text == "*" ? .some(nil) : UInt32(text).map { .some($0) } }
            guard let major = number(numbers[0]), let minor = number(numbers[1]) else { return nil }
            return DeviceRule(type: type, major: major, minor: minor, access: String(fields[2]))
        }
    }

    /// What the rules allow for one device: the union of every matching rule's access, in `rwm` order.
    public static func access(
        for rules: [DeviceRule], type: Character, major: UInt32, minor: UInt32
    ) -> String {
        var granted: Set<Character> = []
        for rule in rules where rule.matches(type: type, major: major, minor: minor) {
            granted.formUnion(rule.access)
        }
        let text = String("rwm".filter { granted.contains($0) })
        return text.isEmpty ? "-" : text
    }

    /// cgroup v1 `devices.list`: does it allow every device (`a *:* rwm`)?
    public static func devicesAllowAll(_ text: String) -> Bool {
        text.split(separator: "\n").contains { $0.hasPrefix("a *:* rwm") || $0 == "a" }
    }
}

/// MAC labels in the formats the kernel writes to `/proc/PID/attr/current`.
public enum MACLabelParser {
    /// AppArmor: `profile (mode)\n` or `unconfined\n`.
    public static func apparmor(_ raw: String) -> AppArmorLabel? {
        let text = raw.trimmingTrailingNulsAndNewlines()
        guard !text.isEmpty else { return nil }
        if text.hasSuffix(")"), let open = text.lastIndex(of: "("), open > text.startIndex {
            let profile = text[..<open].dropLast(text[text.index(before: open)] == " " ? 1 : 0)
            let mode = text[text.index(after: open)..<text.index(before: text.endIndex)]
            return AppArmorLabel(profile: String(profile), mode: String(mode))
        }
        return AppArmorLabel(profile: text, mode: text == "unconfined" ? "unconfined" : nil)
    }

    /// SELinux: `user:role:type:level` (the level itself may contain colons), NUL-terminated.
    public static func selinux(_ raw: String) -> SELinuxLabel? {
        let text = raw.trimmingTrailingNulsAndNewlines()
        let parts = text.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 3, !parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else { return nil }
        return SELinuxLabel(
            context: text, user: String(parts[0]), role: String(parts[1]), type: String(parts[2]),
            level: parts.count == 4 ? String(parts[3]) : nil)
    }
}

extension String {
    func trimmingTrailingNulsAndNewlines() -> String {
        var text = Substring(self)
        while let last = text.last, last == "\0" || last == "\n" || last == " " { text = text.dropLast() }
        return String(text)
    }
}

/// `/proc/PID/net/tcp` and `tcp6`: sockets in LISTEN state, by inode.
public enum SocketTableParser {
    public static func listeningSockets(_ text: String, ipv6: Bool) -> [UInt64: String] {
        var result: [UInt64: String] = [:]
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count >= 10, fields[3] == "0A", let inode = UInt64(fields[9]) else { continue }
            if let address = decodeAddress(fields[1], ipv6: ipv6) { result[inode] = address }
        }
        return result
    }

    /// `0100007F:1F90` → `127.0.0.1:8080`; IPv6 as 4 little-endian words.
    static func decodeAddress(_ field: Substring, ipv6: Bool) -> String? {
        let parts = field.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1], radix: 16) else { return nil }
        let hex = Array(parts[0])
        if !ipv6 {
            guard hex.count == 8, let value = UInt32(String(hex), radix: 16) else { return nil }
            let octets = (0..<4).map { String((value >> (8 * UInt32($0))) & 0xFF) }
            return "\(octets.joined(separator: ".")):\(port)"
        }
        guard hex.count == 32 else { return nil }
        var bytes: [UInt8] = []
        for word in 0..<4 {
            guard let value = UInt32(String(hex[(word * 8)..<(word * 8 + 8)]), radix: 16) else { return nil }
            for shift in 0..<4 { bytes.append(UInt8((value >> (8 * UInt32(shift))) & 0xFF)) }
        }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return "\(bytes[12...].map(String.init).joined(separator: ".")):\(port)"
        }
        var groups: [String] = []
        for index in stride(from: 0, to: 16, by: 2) {
            groups.append(String(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]), radix: 16))
        }
        return "[\(compressIPv6(groups))]:\(port)"
    }

    static func compressIPv6(_ groups: [String]) -> String {
        // Longest run of zero groups becomes "::" (RFC 5952).
        var best = (start: -1, length: 0)
        var index = 0
        while index < groups.count {
            if groups[index] == "0" {
                var end = index
                while end < groups.count, groups[end] == "0" { end += 1 }
                if end - index > best.length, end - index > 1 { best = (index, end - index) }
                index = end
            } else {
                index += 1
            }
        }
        guard best.start >= 0 else { return groups.joined(separator: ":") }
        let head = groups[..<best.start].joined(separator: ":")
        let tail = groups[(best.start + best.length)...].joined(separator: ":")
        return head + "::" + tail
    }

    /// True for loopback addresses (127.0.0.0/8, ::1, ::ffff:127.x).
    public static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address.hasPrefix("[::1]") || address.hasPrefix("localhost")
    }
}

/// `/proc/PID/fdinfo/N`: the `flags:` line (octal) gives the access mode.
public enum FDInfoParser {
    public static func access(_ text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("flags:") {
            guard let flags = UInt32(line.dropFirst(6).trimmingCharacters(in: " \t"), radix: 8) else { return nil }
            switch flags & 0o3 {
            case 0: return "r"
            case 1: return "w"
            default: return "rw"
            }
        }
        return nil
    }
}

/// `/etc/passwd`: uid → name.
public enum PasswdParser {
    public static func names(_ text: String) -> [UInt32: String] {
        var names: [UInt32: String] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 3, let uid = UInt32(fields[2]) else { continue }
            if names[uid] == nil { names[uid] = String(fields[0]) }
        }
        return names
    }
}
