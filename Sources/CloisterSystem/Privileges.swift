#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CCloisterShim
import CLibcap

/// Least privilege for the scanner. A scan reads files that workloads control (names, labels,
/// mount tables, engine state), so once started it keeps only what reading needs:
///
/// - `CAP_SYS_PTRACE`: `/proc/PID/ns/*`, `root`, `mountinfo`, `fd/*` and `environ`-class files of
///   processes that are not ours are guarded by ptrace access checks (`PTRACE_MODE_READ`), and
///   kthreadd's namespace links (the reference for "host" namespaces) need it even as root.
/// - `CAP_DAC_READ_SEARCH`: a user-namespaced workload's `/proc/PID/fd` is mode 0500 owned by
///   its mapped UID (100000…), so root without it cannot list the descriptors it holds open
///   (measured: the workload's fd-sourced devices vanish); rootless engines' state directories
///   are likewise 0700 under their users.
///
/// Everything else (`CAP_SYS_ADMIN`, `CAP_DAC_OVERRIDE`, `CAP_NET_ADMIN`, …) is dropped from the
/// effective, permitted, inheritable, ambient and bounding sets, and `no_new_privs` is set, so
/// a parser bug exploited by a hostile workload cannot write files, load modules or regain
/// capabilities through execve. Capabilities are per thread: `reduce` must run before the
/// process starts any thread, and threads started later inherit the reduced sets.
public enum Privileges {
    /// What the scanner keeps, by capability number.
    public static let scannerCapabilities = [Int(CAP_SYS_PTRACE), Int(CAP_DAC_READ_SEARCH)]
    /// Kept permitted but not effective when the report goes to `--output`: root writes its
    /// report into directories other users own, and raises it only around that write.
    public static let outputCapability = Int(CAP_DAC_OVERRIDE)
    /// Kept permitted but not effective by `scan`, raised in one thread only around
    /// PTRACE_SECCOMP_GET_FILTER, which the kernel allows only with CAP_SYS_ADMIN.
    public static let filterReadingCapability = Int(CAP_SYS_ADMIN)
    /// Kept by `serve` only when it is asked to listen on a port below 1024.
    public static let bindServiceCapability = Int(CAP_NET_BIND_SERVICE)

    /// Drops every capability but `keep` (those of them this thread holds) from every set,
    /// clears the ambient set and sets `no_new_privs`. Without `CAP_SETPCAP` the bounding set
    /// stays as it is (an unprivileged process cannot regain anything from it anyway).
    /// `dormant` capabilities stay permitted, not effective, for `withEffective`.
    public static func reduce(keeping keep: [Int], dormant: [Int] = []) throws {
        let held = try current()
        let lastCap = Int(cap_max_bits()) - 1
        _ = cl_prctl_cap_ambient_clear_all()
        if held.effective.contains(Int(CAP_SETPCAP)) {
            for capability in 0...max(lastCap, 0) where !keep.contains(capability) && !dormant.contains(capability) {
                // EINVAL: a capability this kernel does not have. Anything else is a failure.
                if cl_prctl_capbset_drop(Int32(capability)) != 0, errno != EINVAL {
                    throw SystemError("prctl(PR_CAPBSET_DROP, \(capability))", path: "", errno: errno)
                }
            }
        }
        guard let state = cap_init() else { throw SystemError("cap_init", path: "", errno: errno) }
        defer { cap_free(UnsafeMutableRawPointer(state)) }
        for (capabilities, flags) in [(keep, [CAP_EFFECTIVE, CAP_PERMITTED]), (dormant, [CAP_PERMITTED])] {
            let values = capabilities.filter { held.permitted.contains($0) }.map { cap_value_t($0) }
            guard !values.isEmpty else { continue }
            for flag in flags where cap_set_flag(state, flag, Int32(values.count), values, CAP_SET) != 0 {
                throw SystemError("cap_set_flag", path: "", errno: errno)
            }
        }
        if cap_set_proc(state) != 0 { throw SystemError("cap_set_proc", path: "", errno: errno) }
        if cl_prctl_set_no_new_privs() != 0 { throw SystemError("prctl(PR_SET_NO_NEW_PRIVS)", path: "", errno: errno) }
    }

    /// Runs `body` with `capability` raised in this thread's effective set if it is permitted
    /// but dormant, and lowers it again afterwards; otherwise just runs `body`. One capget and
    /// two capsets: the scan raises CAP_SYS_ADMIN around every filter it reads, so the sets are
    /// asked of the kernel directly rather than parsed out of `/proc/thread-self/status`.
    public static func withEffective<T>(_ capability: Int, _ body: () throws -> T) rethrows -> T {
        guard let state = cap_get_proc() else { return try body() }
        defer { cap_free(UnsafeMutableRawPointer(state)) }
        var value = cap_value_t(capability)
        var permitted = CAP_CLEAR
        var effective = CAP_CLEAR
        guard cap_get_flag(state, value, CAP_PERMITTED, &permitted) == 0, cap_get_flag(state, value, CAP_EFFECTIVE, &effective) == 0,
            permitted == CAP_SET, effective == CAP_CLEAR,
            cap_set_flag(state, CAP_EFFECTIVE, 1, &value, CAP_SET) == 0, cap_set_proc(state) == 0
        else {
            return try body()
        }
        defer {
            if cap_set_flag(state, CAP_EFFECTIVE, 1, &value, CAP_CLEAR) == 0 { _ = cap_set_proc(state) }
        }
        return try body()
    }

    public struct Held: Sendable, Equatable {
        public var effective: Set<Int> = []
        public var permitted: Set<Int> = []
        public var bounding: Set<Int> = []
    }

    /// The calling thread's capability sets.
    public static func current() throws -> Held {
        try held(statusPath: "/proc/thread-self/status")
    }

    /// The union over every thread of this process, as the kernel reports them: what the
    /// process as a whole could still use.
    public static func heldByAnyThread() throws -> Held {
        var union = Held()
        for task in try Files.list("/proc/self/task") {
            // A thread that exits between the listing and the read holds nothing any more.
            guard let one = try? held(statusPath: "/proc/self/task/\(task)/status") else { continue }
            union.effective.formUnion(one.effective)
            union.permitted.formUnion(one.permitted)
            union.bounding.formUnion(one.bounding)
        }
        return union
    }

    static func held(statusPath: String) throws -> Held {
        let text = try Files.readText(statusPath, limit: 16 << 10)
        var held = Held()
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t", maxSplits: 1)
            guard fields.count == 2, let mask = UInt64(fields[1].trimmingCharacters(), radix: 16) else { continue }
            let set = Set((0..<64).filter { mask & (1 << UInt64($0)) != 0 })
            switch fields[0] {
            case "CapEff:": held.effective = set
            case "CapPrm:": held.permitted = set
            case "CapBnd:": held.bounding = set
            default: continue
            }
        }
        return held
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\n" { text = text.dropLast() }
        return text
    }
}
