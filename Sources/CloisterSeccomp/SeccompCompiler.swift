import CCloisterShim
import CSeccomp
import CloisterOCI
import Glibc

/// Why a seccomp profile could not be read, compiled or loaded. The one error of every seccomp
/// step (`profile`, `launch`, `seccomp-exec`, the recorder), so callers catch one type.
public struct SeccompError: Error, CustomStringConvertible, Sendable {
    /// The operation that failed (a libseccomp function, a system call, reading a profile).
    public var operation: String
    /// The errno, or nil when the failure is not a system call's (a profile that cannot be read
    /// or parsed, whose sentence then names the path and the cause).
    public var code: Int32?
    public let description: String

    /// A failed libseccomp function or system call, with its errno.
    public init(_ operation: String, code: Int32) {
        self.operation = operation
        self.code = code
        description = "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
    }

    /// A failure told as a whole sentence.
    public init(description: String) {
        operation = description
        code = nil
        self.description = description
    }
}

/// A libseccomp filter context, freed when the value goes.
final class FilterContext {
    let handle: scmp_filter_ctx
    init(defaultAction: UInt32) throws {
        guard let handle = seccomp_init(defaultAction) else { throw SeccompError("seccomp_init", code: EINVAL) }
        self.handle = handle
    }
    deinit { seccomp_release(handle) }
}

/// Compiles an OCI seccomp object with libseccomp into the classic BPF program the kernel
/// loads, as runc and crun do.
public enum SeccompCompiler {
    public struct Compiled: Sendable {
        /// The BPF program, 8 bytes an instruction.
        public var program: [UInt8]
        /// Names libseccomp does not know on this architecture, skipped as runc skips them.
        public var unknownNames: [String]
    }

    public static func action(_ name: String, errno: UInt32?) throws -> UInt32 {
        switch name {
        case "SCMP_ACT_ALLOW": return 0x7fff_0000
        case "SCMP_ACT_ERRNO": return 0x0005_0000 | ((errno ?? 1) & 0xffff)
        case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": return 0x0000_0000
        case "SCMP_ACT_KILL_PROCESS": return 0x8000_0000
        case "SCMP_ACT_TRAP": return 0x0003_0000
        case "SCMP_ACT_LOG": return 0x7ffc_0000
        case "SCMP_ACT_TRACE": return 0x7ff0_0000 | ((errno ?? 0) & 0xffff)
        default: throw SeccompError("unknown seccomp action \(name)", code: EINVAL)
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
        default: throw SeccompError("unknown seccomp comparison \(op)", code: EINVAL)
        }
    }

    /// libseccomp's token for an OCI architecture name (`SCMP_ARCH_X86_64` → `x86_64`), or nil
    /// when this libseccomp does not know it.
    public static func architecture(_ name: String) -> UInt32? {
        let short = name.hasPrefix("SCMP_ARCH_") ? String(name.dropFirst("SCMP_ARCH_".count)).lowercased() : name
        let token = seccomp_arch_resolve_name(short)
        return token == 0 ? nil : token
    }

    public static func compile(_ profile: LinuxSeccomp) throws -> Compiled {
        let defaultAction = try action(profile.defaultAction, errno: profile.defaultErrnoRet)
        let context = try FilterContext(defaultAction: defaultAction)
        let native = seccomp_arch_native()
        for name in profile.architectures ?? [] {
            guard let token = architecture(name) else { throw SeccompError("unknown architecture \(name)", code: EINVAL) }
            if token == native { continue }
            let result = seccomp_arch_add(context.handle, token)
            if result < 0 && result != -EEXIST { throw SeccompError("seccomp_arch_add(\(name))", code: -result) }
        }
        var unknown: [String] = []
        for rule in profile.syscalls ?? [] {
            let ruleAction = try action(rule.action, errno: rule.errnoRet)
            // libseccomp refuses a rule whose action is the default; it changes nothing, so it
            // is skipped, as runc skips it.
            if ruleAction == defaultAction { continue }
            var comparisons = try (rule.args ?? []).map { argument in
                // OCI's MASKED_EQ puts the mask in `value` and the expected value in `valueTwo`;
                // libseccomp's takes them in that order too (datum_a mask, datum_b value).
                scmp_arg_cmp(arg: UInt32(argument.index), op: try comparison(argument.op),
                             datum_a: argument.value, datum_b: argument.valueTwo ?? 0)
            }
            for name in rule.names {
                let number = seccomp_syscall_resolve_name(name)
                if number == __NR_SCMP_ERROR {
                    unknown.append(name)
                    continue
                }
                let result = comparisons.withUnsafeMutableBufferPointer { buffer in
                    seccomp_rule_add_array(context.handle, ruleAction, number, UInt32(buffer.count), buffer.baseAddress)
                }
                if result < 0 { throw SeccompError("seccomp_rule_add_array(\(name))", code: -result) }
            }
        }
        let fd = cl_memfd("cloister-seccomp-bpf")
        if fd < 0 { throw SeccompError("memfd_create", code: errno) }
        defer { close(fd) }
        let exported = seccomp_export_bpf(context.handle, fd)
        if exported < 0 { throw SeccompError("seccomp_export_bpf", code: -exported) }
        let size = lseek(fd, 0, SEEK_END)
        if size < 0 { throw SeccompError("lseek(memfd)", code: errno) }
        var program = [UInt8](repeating: 0, count: Int(size))
        let read = program.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Int(size), 0) }
        if read != Int(size) { throw SeccompError("pread(memfd)", code: errno) }
        return Compiled(program: program, unknownNames: unknown)
    }
}
