import Foundation
import Yams

/// The syscall groups of `policies/syscall-groups.yaml`: named allowlist building blocks (after
/// systemd's filter sets), the groups denied unless a workload needs them, the syscalls that
/// answer ENOSYS instead of EPERM, and the argument-filter constants.
public struct SyscallGroups: Codable, Sendable, Equatable {
    public static let supportedVersion = 1

    public struct Group: Codable, Sendable, Equatable {
        public var source: String
        public var syscalls: [String]
        public init(source: String, syscalls: [String]) {
            self.source = source
            self.syscalls = syscalls
        }
    }

    public var version: Int
    public var source: String
    public var groups: [String: Group]
    public var denied: [String: Group]
    public var enosys: [String]
    /// Recorded call → calls that timing alone decides between (added with it).
    public var companions: [String: [String]]?
    public var personality: [UInt64]
    public var cloneNamespaceFlags: UInt64
    public var socketFamilies: [String: UInt64]

    public static func parse(yaml: String, file: String = "syscall-groups.yaml") throws -> SyscallGroups {
        let groups: SyscallGroups
        do {
            groups = try YAMLDecoder().decode(SyscallGroups.self, from: yaml)
        } catch {
            throw ProfileInputError(file: file, message: "is not a valid syscall group file: \(error)")
        }
        guard groups.version <= supportedVersion else {
            throw ProfileInputError(
                file: file,
                message: "has version \(groups.version), newer than this cloister knows (\(supportedVersion)); upgrade cloister")
        }
        return groups
    }

    /// Every syscall of the named groups (allowed or denied ones), or an error naming the
    /// unknown group.
    public func syscalls(inGroups names: [String]) throws -> Set<String> {
        var result: Set<String> = []
        for name in names {
            guard let group = groups[name] ?? denied[name] else {
                throw ProfileInputError(
                    file: "syscall-groups.yaml",
                    message: "has no group '\(name)' (known: \((groups.keys.sorted() + denied.keys.sorted()).joined(separator: ", ")))")
            }
            result.formUnion(group.syscalls)
        }
        return result
    }
}

public struct ProfileInputError: Error, LocalizedError, Equatable {
    public var file: String
    public var message: String
    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }
    public var errorDescription: String? { "\(file) \(message)" }
}
