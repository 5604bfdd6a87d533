import CloisterLaunchCore
import CloisterProfiles
import CloisterSeccomp
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The runtime-spec `linux.seccomp` object, as `cloister profile` and OCI runtimes write it.
/// Wire type only: `SeccompFilter.compile` turns it into a kernel program.
public struct OCISeccompProfile: Codable, Sendable, Equatable {
    public struct Argument: Codable, Sendable, Equatable {
        public var index: UInt32
        public var value: UInt64
        public var valueTwo: UInt64?
        public var op: String

        public init(index: UInt32, value: UInt64, valueTwo: UInt64? = nil, op: String) {
            self.index = index
            self.value = value
            self.valueTwo = valueTwo
            self.op = op
        }
    }

    public struct Rule: Codable, Sendable, Equatable {
        public var names: [String]
        public var action: String
        public var errnoRet: UInt32?
        public var args: [Argument]?

        public init(names: [String], action: String, errnoRet: UInt32? = nil, args: [Argument]? = nil) {
            self.names = names
            self.action = action
            self.errnoRet = errnoRet
            self.args = args
        }
    }

    public var defaultAction: String
    public var defaultErrnoRet: UInt32?
    public var architectures: [String]?
    public var syscalls: [Rule]?

    public init(defaultAction: String, architectures: [String]? = nil, syscalls: [Rule]) {
        self.defaultAction = defaultAction
        self.architectures = architectures
        self.syscalls = syscalls
    }

    /// What `cloister launch` loads when the target asks for a filter and names no profile:
    /// `DefaultSeccomp`'s list (shared with the fast path), EPERM for each call.
    public static let builtInDefault = OCISeccompProfile(
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [Rule(names: DefaultSeccomp.deniedSyscalls, action: "SCMP_ACT_ERRNO", errnoRet: UInt32(EPERM))])
}

public struct SeccompError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// A seccomp filter compiled by libseccomp into a classic BPF program, ready for the kernel.
public struct SeccompFilter: Sendable {
    public var program: [UInt8]
    /// Syscall names in the profile that this architecture does not have (skipped, as runc does).
    public var unknownSyscalls: [String]

    /// Compiles `profile` with the compiler `cloister profile` uses (CloisterSeccomp), keeping
    /// launch's leniency for architectures this libseccomp does not know: they are skipped,
    /// the native one is always in.
    public static func compile(_ profile: OCISeccompProfile) throws -> SeccompFilter {
        let shared = OCISeccomp(
            comment: nil, defaultAction: profile.defaultAction, defaultErrnoRet: profile.defaultErrnoRet,
            architectures: (profile.architectures ?? []).filter { SeccompCompiler.architecture($0) != nil },
            syscalls: (profile.syscalls ?? []).map { rule in
                OCISyscallRule(
                    names: rule.names, action: rule.action, errnoRet: rule.errnoRet,
                    args: rule.args?.map {
                        OCISyscallArgument(index: UInt($0.index), value: $0.value, valueTwo: $0.valueTwo, op: $0.op)
                    })
            })
        do {
            let compiled = try SeccompCompiler.compile(shared)
            return SeccompFilter(program: compiled.program, unknownSyscalls: compiled.unknownNames)
        } catch {
            throw SeccompError(description: "the seccomp profile cannot be compiled: \(error)")
        }
    }

    /// Reads an OCI `linux.seccomp` object, or a whole OCI config.json holding one.
    public static func load(path: String) throws -> OCISeccompProfile {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SeccompError(description: "cannot read the seccomp profile \(path): \(error.localizedDescription)")
        }
        struct Config: Decodable {
            struct Linux: Decodable { var seccomp: OCISeccompProfile? }
            var linux: Linux?
        }
        if let profile = try? JSONDecoder().decode(OCISeccompProfile.self, from: data) { return profile }
        if let config = try? JSONDecoder().decode(Config.self, from: data), let profile = config.linux?.seccomp {
            return profile
        }
        do {
            return try JSONDecoder().decode(OCISeccompProfile.self, from: data)
        } catch {
            throw SeccompError(description: "\(path) is not an OCI seccomp profile (defaultAction, syscalls): \(error)")
        }
    }
}
