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
    /// allow by default, EPERM for the calls that reach kernel attack surface or other
    /// namespaces and that no ordinary program needs (the core of Docker's and bwrap's lists).
    public static let builtInDefault = OCISeccompProfile(
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
            Rule(
                names: [
                    "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
                    "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "init_module",
                    "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount",
                    "mount_setattr", "move_mount", "name_to_handle_at", "nfsservctl", "open_by_handle_at",
                    "open_tree", "perf_event_open", "pivot_root", "process_vm_readv", "process_vm_writev",
                    "ptrace", "query_module", "quotactl", "reboot", "request_key", "setns", "settimeofday",
                    "swapoff", "swapon", "sysfs", "syslog", "umount2", "unshare", "uselib", "userfaultfd",
                    "ustat", "io_uring_setup", "io_uring_enter", "io_uring_register",
                ],
                action: "SCMP_ACT_ERRNO", errnoRet: UInt32(EPERM)),
        ])
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
