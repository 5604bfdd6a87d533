import CCloisterShim
import CSeccomp

#if canImport(Glibc)
import Glibc
#endif

/// The seccomp filter `cloister launch` loads when the target asks for one and names no
/// profile: allow by default, EPERM for the calls that reach kernel attack surface or other
/// namespaces and that no ordinary program needs (the core of Docker's and bwrap's lists).
/// The one list: `LinuxSeccomp.builtInDefault` is built from it too.
public enum DefaultSeccomp {
    public static let deniedSyscalls = [
        "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
        "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "init_module",
        "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount",
        "mount_setattr", "move_mount", "name_to_handle_at", "nfsservctl", "open_by_handle_at",
        "open_tree", "perf_event_open", "pivot_root", "process_vm_readv", "process_vm_writev",
        "ptrace", "query_module", "quotactl", "reboot", "request_key", "setns", "settimeofday",
        "swapoff", "swapon", "sysfs", "syslog", "umount2", "unshare", "uselib", "userfaultfd",
        "ustat", "io_uring_setup", "io_uring_enter", "io_uring_register",
    ]

    /// Compiles the list with libseccomp, in process: measured at well under a millisecond, so
    /// nothing is cached on disk (a cache would be one more root-owned file to trust).
    /// The calls are those the general compiler (CloisterSeccomp) makes for this profile, and
    /// a test checks the two programs are byte for byte the same.
    public static func compile() throws(SandboxFailure) -> [UInt8] {
        let allow: UInt32 = 0x7fff_0000  // SCMP_ACT_ALLOW
        let denyEPERM: UInt32 = 0x0005_0000 | UInt32(EPERM)  // SCMP_ACT_ERRNO(EPERM)
        guard let context = seccomp_init(allow) else {
            throw SandboxFailure(step: "seccomp", reason: "seccomp_init failed")
        }
        defer { seccomp_release(context) }
        for name in deniedSyscalls {
            let number = seccomp_syscall_resolve_name(name)
            if number == __NR_SCMP_ERROR { continue }  // not on this architecture (as runc skips it)
            let result = seccomp_rule_add_array(context, denyEPERM, number, 0, nil)
            if result < 0 {
                throw SandboxFailure(step: "seccomp", reason: "seccomp_rule_add_array(\(name)): \(String(cString: strerror(-result)))")
            }
        }
        let fd = cl_memfd("cloister-seccomp-bpf")
        if fd < 0 { throw SandboxFailure(step: "seccomp", reason: "memfd_create: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let exported = seccomp_export_bpf(context, fd)
        if exported < 0 { throw SandboxFailure(step: "seccomp", reason: "seccomp_export_bpf: \(String(cString: strerror(-exported)))") }
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0 else { throw SandboxFailure(step: "seccomp", reason: "seccomp_export_bpf wrote nothing") }
        var program = [UInt8](repeating: 0, count: Int(size))
        let read = program.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Int(size), 0) }
        if read != Int(size) { throw SandboxFailure(step: "seccomp", reason: "pread(memfd): \(String(cString: strerror(errno)))") }
        return program
    }
}
