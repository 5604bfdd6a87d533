#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CAppArmor
import CCloisterShim
import CLibcap
import CSELinux
import CSeccomp

/// Capability names from libcap, so a kernel newer than cloister still gets the right name
/// (libcap falls back to the number for a capability it does not know).
public enum CapabilityNames {
    /// `CAP_SYS_ADMIN` for 21.
    public static func name(_ capability: Int) -> String {
        guard let raw = cap_to_name(cap_value_t(capability)) else { return "CAP_\(capability)" }
        defer { cap_free(raw) }
        let name = String(cString: raw)
        if let first = name.first, first.isNumber { return "CAP_\(name)" }
        return name.uppercased()
    }

    /// The capability number for `CAP_SYS_ADMIN` or `sys_admin`, if libcap knows it.
    public static func number(_ name: String) -> Int? {
        var value: cap_value_t = 0
        var lower = name.lowercased()
        if !lower.hasPrefix("cap_") { lower = "cap_" + lower }
        return cap_from_name(lower, &value) == 0 ? Int(value) : nil
    }

    /// Names of the set bits of a capability mask, for bits 0 through `lastCap` (the kernel's
    /// `cap_last_cap`: never a hard-coded mask). Bits above `lastCap` are returned separately.
    public static func decode(mask: UInt64, lastCap: Int) -> (names: [String], unknownBits: [Int]) {
        var names: [String] = []
        var unknown: [Int] = []
        for bit in 0..<64 where mask & (1 << UInt64(bit)) != 0 {
            if bit <= lastCap { names.append(name(bit)) } else { unknown.append(bit) }
        }
        return (names, unknown)
    }
}

/// libseccomp: syscall and architecture names.
public enum SeccompLibrary {
    public static var version: String {
        guard let version = seccomp_version() else { return "unknown" }
        return "\(version.pointee.major).\(version.pointee.minor).\(version.pointee.micro)"
    }

    /// Architecture names libseccomp knows, used to name the native token.
    private static let architectureNames = [
        "x86", "x86_64", "x32", "arm", "aarch64", "loongarch64", "m68k", "mips", "mips64", "mips64n32",
        "mipsel", "mipsel64", "mipsel64n32", "ppc", "ppc64", "ppc64le", "s390", "s390x", "parisc",
        "parisc64", "riscv64", "sheb", "sh",
    ]

    /// The native architecture's libseccomp name (`x86_64`).
    public static var nativeArchitecture: String? {
        let native = seccomp_arch_native()
        return architectureNames.first { seccomp_arch_resolve_name($0) == native }
    }

    /// The syscall name for a number on the native architecture.
    public static func syscallName(_ number: Int32) -> String? {
        guard let raw = seccomp_syscall_resolve_num_arch(seccomp_arch_native(), number) else { return nil }
        defer { free(raw) }
        return String(cString: raw)
    }

    /// Every system call libseccomp names on `architecture` (its name: `x86_64`, `x86`, `x32`)
    /// among the numbers `base ..< base + count`, keyed by the number less `base` (x32's
    /// numbers carry __X32_SYSCALL_BIT, 0x40000000, as libseccomp's x32 table does).
    public static func syscallNames(architecture: String, base: UInt32, count: UInt32) -> [UInt32: String] {
        let token = seccomp_arch_resolve_name(architecture)
        guard token != 0 else { return [:] }
        var names: [UInt32: String] = [:]
        for number in 0..<count {
            guard let raw = seccomp_syscall_resolve_num_arch(token, Int32(bitPattern: base | number)) else { continue }
            defer { free(raw) }
            names[number] = String(cString: raw)
        }
        return names
    }

    public static func syscallNumber(_ name: String) -> Int32? {
        let number = seccomp_syscall_resolve_name(name)
        return number == __NR_SCMP_ERROR ? nil : number
    }
}

/// libselinux, used only where the kernel runs SELinux; context strings are parsed with its
/// context API everywhere, since that needs no kernel support.
public enum SELinuxLibrary {
    public static var isEnabled: Bool { is_selinux_enabled() == 1 }

    public static func processContext(pid: Int32) throws -> String {
        var context: UnsafeMutablePointer<CChar>?
        if getpidcon(pid, &context) != 0 || context == nil {
            throw SystemError("getpidcon", path: "pid \(pid)", errno: errno)
        }
        defer { freecon(context) }
        return String(cString: context!)
    }

    /// Whether the policy marks the context's domain permissive (`typepermissive`, `semanage
    /// permissive -a`): on an enforcing host such a domain is refused nothing, only logged. The
    /// kernel says so in the flags of an access decision (`SELINUX_AVD_FLAGS_PERMISSIVE`); nil
    /// when it cannot be asked (no selinuxfs, or the caller's domain may not compute decisions).
    public static func domainIsPermissive(_ context: String) -> Bool? {
        let processClass = string_to_security_class("process")
        guard processClass != 0 else { return nil }
        var decision = av_decision()
        guard security_compute_av_flags(context, context, processClass, 0, &decision) == 0 else { return nil }
        return decision.flags & UInt32(SELINUX_AVD_FLAGS_PERMISSIVE) != 0
    }

    /// Splits `user:role:type:level` with libselinux's own parser; nil when malformed.
    public static func parse(_ context: String) -> (user: String, role: String, type: String, level: String?)? {
        guard let parsed = context_new(context) else { return nil }
        defer { context_free(parsed) }
        guard let user = context_user_get(parsed), let role = context_role_get(parsed),
            let type = context_type_get(parsed)
        else { return nil }
        let level = context_range_get(parsed).map { String(cString: $0) }
        return (String(cString: user), String(cString: role), String(cString: type), level)
    }
}

/// libapparmor, used only where the kernel runs AppArmor; label strings (`profile (mode)`)
/// are split with its `aa_splitcon`, which needs no kernel support.
public enum AppArmorLibrary {
    public static var isEnabled: Bool { aa_is_enabled() == 1 }

    public static func processLabel(pid: Int32) throws -> (label: String, mode: String?) {
        var label: UnsafeMutablePointer<CChar>?
        var mode: UnsafeMutablePointer<CChar>?
        if aa_gettaskcon(pid, &label, &mode) < 0 || label == nil {
            throw SystemError("aa_gettaskcon", path: "pid \(pid)", errno: errno)
        }
        // aa_gettaskcon allocates one buffer; mode points inside it.
        defer { free(label) }
        return (String(cString: label!), mode.map { String(cString: $0) })
    }

    /// Splits `profile (mode)` as the kernel writes it in `/proc/PID/attr/current`.
    public static func split(_ text: String) -> (label: String, mode: String?)? {
        var buffer = Array(text.utf8CString)
        return buffer.withUnsafeMutableBufferPointer { pointer -> (String, String?)? in
            var mode: UnsafeMutablePointer<CChar>?
            guard let label = aa_splitcon(pointer.baseAddress, &mode) else { return nil }
            return (String(cString: label), mode.map { String(cString: $0) })
        }
    }
}

/// Whether this host can run KVM guests: `/dev/kvm` opens and speaks the stable API (12).
public enum KVMProbe {
    public static func probe(devicePath: String = "/dev/kvm") -> (present: Bool, usable: Bool, api: Int?, reason: String?) {
        guard Files.exists(devicePath) else { return (false, false, nil, "\(devicePath) does not exist") }
        let fd = open(devicePath, O_RDWR | O_CLOEXEC)
        if fd < 0 {
            let reason = String(cString: strerror(errno))
            return (true, false, nil, "cannot open \(devicePath): \(reason)")
        }
        defer { close(fd) }
        let api = cl_kvm_get_api_version(fd)
        if api < 0 { return (true, false, nil, "KVM_GET_API_VERSION failed: \(String(cString: strerror(errno)))") }
        return (true, api == 12, Int(api), api == 12 ? nil : "unexpected KVM API version \(api)")
    }
}

/// CPUID's hypervisor signature: the hypervisor vendor as the CPU presents it to this kernel.
public enum CPUIdentity {
    /// nil on bare metal (CPUID leaf 1 says no hypervisor) or off x86.
    public static var hypervisorVendor: String? {
        var buffer = [CChar](repeating: 0, count: 13)
        guard cl_cpuid_hypervisor_vendor(&buffer) == 1 else { return nil }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

public enum Landlock {
    /// The ABI version, or nil when the kernel has no Landlock or it is disabled at boot.
    public static var abiVersion: Int? {
        let version = cl_landlock_abi_version()
        return version > 0 ? Int(version) : nil
    }
}

public enum Kernel {
    public static func uname() -> (nodename: String, release: String, version: String, machine: String) {
        var info = utsname()
        Glibc.uname(&info)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
        }
        return (field(info.nodename), field(info.release), field(info.version), field(info.machine))
    }
}
