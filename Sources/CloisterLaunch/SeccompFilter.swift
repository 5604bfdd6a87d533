import CCloisterShim
import CSeccomp
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

    static func action(_ name: String, errno: UInt32?) throws -> UInt32 {
        // The SCMP_ACT_* values from seccomp.h (macros Swift cannot import).
        switch name {
        case "SCMP_ACT_ALLOW": return 0x7fff_0000
        case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": return 0x0000_0000
        case "SCMP_ACT_KILL_PROCESS": return 0x8000_0000
        case "SCMP_ACT_TRAP": return 0x0003_0000
        case "SCMP_ACT_LOG": return 0x7ffc_0000
        case "SCMP_ACT_ERRNO": return 0x0005_0000 | ((errno ?? UInt32(EPERM)) & 0xffff)
        case "SCMP_ACT_TRACE": return 0x7ff0_0000 | ((errno ?? UInt32(EPERM)) & 0xffff)
        default: throw SeccompError(description: "seccomp action \(name) is not supported (use SCMP_ACT_ALLOW, ERRNO, KILL_PROCESS, KILL_THREAD, TRAP, LOG or TRACE)")
        }
    }

    static func comparison(_ op: String) throws -> scmp_compare {
        switch op {
        case "SCMP_CMP_NE": return SCMP_CMP_NE
        case "SCMP_CMP_LT": return SCMP_CMP_LT
        case "SCMP_CMP_LE": return SCMP_CMP_LE
        case "SCMP_CMP_EQ": return SCMP_CMP_EQ
        case "SCMP_CMP_GE": return SCMP_CMP_GE
        case "SCMP_CMP_GT": return SCMP_CMP_GT
        case "SCMP_CMP_MASKED_EQ": return SCMP_CMP_MASKED_EQ
        default: throw SeccompError(description: "seccomp argument operator \(op) is not known")
        }
    }

    static func architecture(_ name: String) -> UInt32? {
        let short = name.hasPrefix("SCMP_ARCH_") ? String(name.dropFirst("SCMP_ARCH_".count)).lowercased() : name
        let token = seccomp_arch_resolve_name(short)
        return token == 0 ? nil : token
    }

    /// Compiles `profile` with libseccomp. Errors name the rule and syscall concerned.
    public static func compile(_ profile: OCISeccompProfile) throws -> SeccompFilter {
        let defaultAction = try action(profile.defaultAction, errno: profile.defaultErrnoRet)
        guard let context = seccomp_init(defaultAction) else {
            throw SeccompError(description: "seccomp_init failed for default action \(profile.defaultAction)")
        }
        defer { seccomp_release(context) }
        for name in profile.architectures ?? [] {
            // Architectures this libseccomp does not know are skipped; the native one is always in.
            guard let token = architecture(name) else { continue }
            let result = seccomp_arch_add(context, token)
            if result != 0 && result != -EEXIST {
                throw SeccompError(description: "seccomp_arch_add(\(name)) failed: \(String(cString: strerror(-result)))")
            }
        }
        var unknown: [String] = []
        for (index, rule) in (profile.syscalls ?? []).enumerated() {
            let ruleAction = try action(rule.action, errno: rule.errnoRet)
            if ruleAction == defaultAction { continue }  // libseccomp refuses a rule equal to the default
            let comparisons = try (rule.args ?? []).map { argument in
                scmp_arg_cmp(
                    arg: argument.index, op: try comparison(argument.op), datum_a: argument.value,
                    datum_b: argument.valueTwo ?? 0)
            }
            for name in rule.names {
                let number = seccomp_syscall_resolve_name(name)
                if number < 0 {  // __NR_SCMP_ERROR
                    unknown.append(name)
                    continue
                }
                let result = comparisons.withUnsafeBufferPointer { buffer in
                    seccomp_rule_add_array(context, ruleAction, number, UInt32(buffer.count), buffer.baseAddress)
                }
                if result != 0 {
                    throw SeccompError(
                        description: "seccomp rule \(index) (\(rule.action)) for \(name) was refused by libseccomp: "
                            + String(cString: strerror(-result)))
                }
            }
        }
        let fd = cl_memfd_create("cloister-seccomp")
        guard fd >= 0 else { throw SeccompError(description: "memfd_create failed: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let exported = seccomp_export_bpf(context, fd)
        guard exported == 0 else {
            throw SeccompError(description: "seccomp_export_bpf failed: \(String(cString: strerror(-exported)))")
        }
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0, lseek(fd, 0, SEEK_SET) == 0 else {
            throw SeccompError(description: "seccomp_export_bpf wrote no program")
        }
        var program = [UInt8](repeating: 0, count: Int(size))
        let read = program.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard read == Int(size) else { throw SeccompError(description: "reading the exported BPF program failed") }
        return SeccompFilter(program: program, unknownSyscalls: unknown)
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
