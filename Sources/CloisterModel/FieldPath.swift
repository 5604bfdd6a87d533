// A posture field's path, as the JSON contract names it: `seccomp.mode`, `mounts[3].hostPath`,
// `mounts[].hostPath`. The model owns it because the model owns the names: the scanner and the
// format readers say which field they could not read (`Posture.unknown`), the rules say which
// field a condition reads, and both must mean the same path.

/// One step of a field path: a key, or every element of a list (`[]`).
public enum PathStep: Sendable, Equatable, Hashable {
    case key(String)
    case each
}

public struct FieldPath: Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByStringInterpolation {
    /// The path from the posture's root, as the JSON contract names it.
    public let absolute: String
    /// The path as written, relative to the list element inside a rule's `where`.
    public let relative: String
    /// The keys and `[]` steps of `relative`, parsed once.
    public let steps: [PathStep]
    public let hasEach: Bool

    /// A path from the posture's root.
    public init(_ path: String) {
        self.init(relative: path, scope: "")
    }

    public init(stringLiteral path: String) {
        self.init(relative: path, scope: "")
    }

    public init(stringInterpolation: DefaultStringInterpolation) {
        self.init(relative: String(stringInterpolation: stringInterpolation), scope: "")
    }

    /// A path written inside a list element's scope (`hostPath` inside `mounts[]`).
    public init(relative: String, scope: String) {
        self.relative = relative
        self.absolute = scope.isEmpty ? relative : scope + "." + relative
        var steps: [PathStep] = []
        for part in relative.split(separator: ".", omittingEmptySubsequences: false) {
            var key = Substring(part)
            var eachCount = 0
            while key.hasSuffix("[]") {
                key = key.dropLast(2)
                eachCount += 1
            }
            steps.append(.key(String(key)))
            steps.append(contentsOf: Array(repeating: PathStep.each, count: eachCount))
        }
        self.steps = steps
        self.hasEach = steps.contains(.each)
    }

    public var description: String { absolute }

    public static func == (lhs: FieldPath, rhs: FieldPath) -> Bool { lhs.absolute == rhs.absolute }
    public static func < (lhs: FieldPath, rhs: FieldPath) -> Bool { lhs.absolute < rhs.absolute }
    public func hash(into hasher: inout Hasher) { hasher.combine(absolute) }

    /// `self.key` (`mounts[2]` + `hostPath`).
    public func appending(_ key: String) -> FieldPath { FieldPath(absolute + "." + key) }

    /// The element at `index` of the list at this path (`mounts` → `mounts[2]`).
    public func element(_ index: Int) -> FieldPath { FieldPath(absolute + "[\(index)]") }

    /// With list indices written as `[]`: `mounts[3].hostPath` → `mounts[].hostPath`, the form
    /// rule conditions are written in.
    public var normalized: String {
        // Rules ask this of every unknown field of every posture: bytes, not Characters, when
        // the path is ASCII (always, in practice). Otherwise by Character, where a bracket
        // followed by a combining mark is not a bracket.
        let bytes = absolute.utf8
        if !bytes.contains(where: { $0 >= 0x80 }) {
            guard bytes.contains(UInt8(ascii: "[")) else { return absolute }
            var output: [UInt8] = []
            output.reserveCapacity(bytes.count)
            var inIndex = false
            for byte in bytes {
                if byte == UInt8(ascii: "[") {
                    inIndex = true
                    output.append(contentsOf: [UInt8(ascii: "["), UInt8(ascii: "]")])
                    continue
                }
                if byte == UInt8(ascii: "]") { inIndex = false; continue }
                if !inIndex { output.append(byte) }
            }
            return String(decoding: output, as: UTF8.self)
        }
        guard absolute.contains("[") else { return absolute }
        var output = ""
        var inIndex = false
        for character in absolute {
            if character == "[" { inIndex = true; output += "[]"; continue }
            if character == "]" { inIndex = false; continue }
            if !inIndex { output.append(character) }
        }
        return output
    }
}

/// `Posture.unknown` is a JSON object keyed by the path, as it always was.
extension FieldPath: Codable, CodingKeyRepresentable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public var codingKey: any CodingKey { Key(stringValue: absolute) }

    public init?<T: CodingKey>(codingKey: T) {
        self.init(codingKey.stringValue)
    }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(absolute)
    }
}

// The fields the scanner and the format readers report on by name. Every one is checked against
// the posture's own encoding by a test (FieldPathTests), so a renamed property cannot leave a
// stale path behind.
extension FieldPath {
    public static let command: FieldPath = "command"
    public static let namespaces: FieldPath = "namespaces"
    public static func namespace(_ type: NamespaceType) -> FieldPath { FieldPath("namespaces.\(type.rawValue)") }

    public static let user: FieldPath = "user"
    public static let userUid: FieldPath = "user.uid"
    public static let userGid: FieldPath = "user.gid"
    public static let userUidMap: FieldPath = "user.uidMap"
    public static let userGidMap: FieldPath = "user.gidMap"
    public static let userGroups: FieldPath = "user.groups"
    public static let rlimits: FieldPath = "rlimits"
    public static let sysctls: FieldPath = "sysctls"
    public static let intelRdt: FieldPath = "intelRdt"

    public static let capabilities: FieldPath = "capabilities"
    public static func capabilities(_ set: CapabilitySet) -> FieldPath { FieldPath("capabilities.\(set.rawValue)") }

    public static let seccomp: FieldPath = "seccomp"
    public static let seccompMode: FieldPath = "seccomp.mode"
    public static let seccompFilters: FieldPath = "seccomp.filters"
    public static let noNewPrivileges: FieldPath = "noNewPrivileges"

    public static let mac: FieldPath = "mac"
    public static let macAppArmor: FieldPath = "mac.apparmor"
    public static let macSELinux: FieldPath = "mac.selinux"

    public static let devices: FieldPath = "devices"
    public static let mounts: FieldPath = "mounts"
    public static let readOnlyRootfs: FieldPath = "readOnlyRootfs"
    public static let maskedPaths: FieldPath = "maskedPaths"
    public static let readOnlyPaths: FieldPath = "readOnlyPaths"
    public static let drift: FieldPath = "drift"

    public static let cgroup: FieldPath = "cgroup"
    public static let cgroupMemoryMax: FieldPath = "cgroup.memoryMax"
    public static let cgroupPidsMax: FieldPath = "cgroup.pidsMax"

    public static let kubernetes: FieldPath = "kubernetes"
    public static let kubernetesPodSecurity: FieldPath = "kubernetes.podSecurity"

    public static let hypervisor: FieldPath = "hypervisor"
    public static let hypervisorAccelerator: FieldPath = "hypervisor.accelerator"
    public static let hypervisorUser: FieldPath = "hypervisor.user"

    /// Every named path above, for the test that holds them to the posture's encoding.
    public static let named: [FieldPath] =
        [
            .command, .namespaces, .user, .userUid, .userGid, .userUidMap, .userGidMap, .userGroups, .rlimits, .sysctls,
            .intelRdt, .capabilities, .seccomp,
            .seccompMode, .seccompFilters, .noNewPrivileges, .mac, .macAppArmor, .macSELinux, .devices, .mounts,
            .readOnlyRootfs, .maskedPaths, .readOnlyPaths, .drift, .cgroup, .cgroupMemoryMax, .cgroupPidsMax, .hypervisor,
            .hypervisorAccelerator, .hypervisorUser, .kubernetes, .kubernetesPodSecurity,
        ] + NamespaceType.allCases.map(namespace) + CapabilitySet.allCases.map(capabilities)
}
