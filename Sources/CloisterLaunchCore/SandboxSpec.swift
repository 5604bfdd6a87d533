import CCloisterShim

#if canImport(Glibc)
import Glibc
#endif

// Foundation-free on purpose: the `cloister` front executable links this module statically and
// starts in well under a millisecond; Foundation alone costs several (README, "launch speed").

/// One bind mount into a tmpfs root: `source` on the host, `target` relative to the new root.
public struct SandboxBind: Sendable, Equatable {
    public var source: String
    public var target: String
    public var readOnly: Bool
    public init(source: String, target: String, readOnly: Bool) {
        self.source = source
        self.target = target
        self.readOnly = readOnly
    }
}

/// One Landlock path-beneath rule.
public struct SandboxLandlockRule: Sendable, Equatable {
    public var path: String
    public var access: UInt64
    public init(path: String, access: UInt64) {
        self.path = path
        self.access = access
    }
}

/// One rlimit (RLIMIT_* number, soft, hard).
public struct SandboxRlimit: Sendable, Equatable {
    public var resource: Int32
    public var soft: UInt64
    public var hard: UInt64
    public init(resource: Int32, soft: UInt64, hard: UInt64) {
        self.resource = resource
        self.soft = soft
        self.hard = hard
    }
}

/// Everything the C child (`cl_launch`) applies, as plain values. Both ways of launching build
/// one: the full `LaunchPlan` (any target posture) and the default plan of the fast path, so
/// the step that hands it to C is shared, and a test compares the two values field by field.
public struct SandboxSpec: Sendable, Equatable {
    public var executable: String
    public var arguments: [String]
    public var environment: [String]
    /// CLONE_NEW* flags.
    public var namespaceFlags: UInt64 = 0
    /// "inside outside count\n" lines, or nil for no user namespace.
    public var uidMap: String?
    public var gidMap: String?
    public var setgroupsDeny: Bool = false
    /// cgroup.procs files the parent writes the child's PID into before releasing it.
    public var cgroupProcs: [String] = []
    /// A directory to become the root, or nil for a tmpfs root holding `binds` and `symlinks`.
    public var rootfs: String?
    public var binds: [SandboxBind] = []
    /// (link target, link name) pairs created in a tmpfs root.
    public var symlinks: [SandboxSymlink] = []
    public var readOnlyRoot: Bool = true
    public var hostname: String?
    public var rlimits: [SandboxRlimit] = []
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    /// Capabilities kept (bit N = capability N) in every set.
    public var capabilities: UInt64 = 0
    public var lastCap: Int32 = 40
    public var noNewPrivileges: Bool = true
    public var apparmorExec: String?
    public var selinuxExec: String?
    public var landlockHandled: UInt64 = 0
    public var landlockRules: [SandboxLandlockRule] = []
    /// A classic BPF program (8 bytes an instruction), or nil for no filter.
    public var seccompProgram: [UInt8]?

    public init(executable: String, arguments: [String], environment: [String]) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
    }
}

public struct SandboxSymlink: Sendable, Equatable {
    public var target: String
    public var name: String
    public init(target: String, name: String) {
        self.target = target
        self.name = name
    }
}

/// The step of `cl_launch` that failed, with errno's text and the detail it reported.
public struct SandboxFailure: Error, Sendable, Equatable {
    public var step: String
    public var reason: String
}

/// C strings kept alive for the duration of `cl_launch` and freed after: everything the child
/// reads is allocated before clone, so the child never allocates.
private final class CStrings {
    private var owned: [UnsafeMutablePointer<CChar>] = []
    private var arrays: [UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>] = []

    func make(_ text: String) -> UnsafeMutablePointer<CChar> {
        // strdup fails only when memory is exhausted; there is nothing sensible left to do.
        guard let pointer = strdup(text) else { fatalError("out of memory") }
        owned.append(pointer)
        return pointer
    }

    func array(_ texts: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        let buffer = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: texts.count + 1)
        for (index, text) in texts.enumerated() { buffer[index] = make(text) }
        buffer[texts.count] = nil
        arrays.append(buffer)
        return buffer
    }

    deinit {
        owned.forEach { free($0) }
        arrays.forEach { $0.deallocate() }
    }
}

public enum SandboxStarter {
    /// The tmpfs root's contents when no root directory is given: the host's /usr read-only,
    /// the merged-/usr links (Debian 12 and most distributions keep /bin, /lib in /usr) or binds
    /// where those are directories, and the loader cache and name-resolution files, read-only.
    public static func hostUsrView() -> (binds: [SandboxBind], symlinks: [SandboxSymlink]) {
        var binds = [SandboxBind(source: "/usr", target: "usr", readOnly: true)]
        var links: [SandboxSymlink] = []
        for name in ["bin", "sbin", "lib", "lib64", "lib32", "libx32"] {
            let host = "/" + name
            if let destination = symlinkTarget(host) {
                links.append(SandboxSymlink(target: destination, name: name))
            } else if access(host, F_OK) == 0 {
                binds.append(SandboxBind(source: host, target: name, readOnly: true))
            }
        }
        for file in ["/etc/ld.so.cache", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf"] where access(file, F_OK) == 0 {
            binds.append(SandboxBind(source: file, target: String(file.dropFirst()), readOnly: true))
        }
        return (binds, links)
    }

    static func symlinkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Starts the workload and returns its PID once execve has succeeded. The cgroups are
    /// created while the child builds its root (`cl_launch_begin`), and the child joins them
    /// before anything else (`cl_launch_complete`); when they cannot be created the child is
    /// stopped and nothing was started. `sandbox.cgroupProcs` must name `cgroups`' files.
    public static func start(_ sandbox: SandboxSpec, cgroups: SandboxCgroups?) -> Result<Int32, SandboxFailure> {
        let strings = CStrings()
        var spec = cl_launch_spec()
        spec.path = UnsafePointer(strings.make(sandbox.executable))
        spec.argv = UnsafePointer(strings.array(sandbox.arguments))
        spec.envp = UnsafePointer(strings.array(sandbox.environment))
        spec.namespace_flags = sandbox.namespaceFlags
        spec.uid_map = sandbox.uidMap.map { UnsafePointer(strings.make($0)) }
        spec.gid_map = sandbox.gidMap.map { UnsafePointer(strings.make($0)) }
        spec.setgroups_deny = sandbox.setgroupsDeny ? 1 : 0
        spec.set_groups = sandbox.setgroupsDeny ? 0 : 1
        let procsArray = strings.array(sandbox.cgroupProcs)
        spec.cgroup_procs = UnsafeRawPointer(procsArray).assumingMemoryBound(to: UnsafePointer<CChar>?.self)
        spec.cgroup_procs_count = sandbox.cgroupProcs.count

        if let rootfs = sandbox.rootfs {
            spec.rootfs = UnsafePointer(strings.make(rootfs))
        } else {
            spec.staging = UnsafePointer(strings.make("/tmp"))
        }
        let bindBuffer = UnsafeMutablePointer<cl_bind>.allocate(capacity: max(sandbox.binds.count, 1))
        defer { bindBuffer.deallocate() }
        for (index, bind) in sandbox.binds.enumerated() {
            bindBuffer[index] = cl_bind(
                source: UnsafePointer(strings.make(bind.source)), target: UnsafePointer(strings.make(bind.target)),
                read_only: bind.readOnly ? 1 : 0)
        }
        spec.binds = UnsafePointer(bindBuffer)
        spec.binds_count = sandbox.binds.count
        let linkArray = strings.array(sandbox.symlinks.flatMap { [$0.target, $0.name] })
        spec.symlinks = UnsafeRawPointer(linkArray).assumingMemoryBound(to: UnsafePointer<CChar>?.self)
        spec.symlinks_count = sandbox.symlinks.count
        spec.mount_proc = 1
        spec.mount_dev = 1
        spec.mount_tmp = 1
        spec.read_only_root = sandbox.readOnlyRoot ? 1 : 0
        spec.hostname = sandbox.hostname.map { UnsafePointer(strings.make($0)) }

        let limitBuffer = UnsafeMutablePointer<cl_rlimit>.allocate(capacity: max(sandbox.rlimits.count, 1))
        defer { limitBuffer.deallocate() }
        for (index, limit) in sandbox.rlimits.enumerated() {
            limitBuffer[index] = cl_rlimit(resource: limit.resource, soft: limit.soft, hard: limit.hard)
        }
        spec.rlimits = UnsafePointer(limitBuffer)
        spec.rlimits_count = sandbox.rlimits.count

        spec.uid = sandbox.uid
        spec.gid = sandbox.gid
        spec.capabilities = sandbox.capabilities
        spec.last_cap = sandbox.lastCap
        spec.no_new_privs = sandbox.noNewPrivileges ? 1 : 0
        spec.apparmor_exec = sandbox.apparmorExec.map { UnsafePointer(strings.make($0)) }
        spec.selinux_exec = sandbox.selinuxExec.map { UnsafePointer(strings.make($0)) }

        let ruleBuffer = UnsafeMutablePointer<cl_landlock_rule>.allocate(capacity: max(sandbox.landlockRules.count, 1))
        defer { ruleBuffer.deallocate() }
        for (index, rule) in sandbox.landlockRules.enumerated() {
            ruleBuffer[index] = cl_landlock_rule(path: UnsafePointer(strings.make(rule.path)), access: rule.access)
        }
        spec.landlock_handled = sandbox.landlockHandled
        spec.landlock_rules = UnsafePointer(ruleBuffer)
        spec.landlock_rules_count = sandbox.landlockRules.count

        var error = cl_launch_error()
        let program = sandbox.seccompProgram ?? []
        return program.withUnsafeBytes { bytes in
            if sandbox.seccompProgram != nil {
                spec.seccomp_bpf = bytes.baseAddress
                spec.seccomp_bpf_len = bytes.count
            }
            return withExtendedLifetime(strings) { () -> Result<Int32, SandboxFailure> in
                var handle = cl_launch_handle()
                guard cl_launch_begin(&spec, &handle, &error) == 0 else { return .failure(failure(error)) }
                if let cgroups {
                    do throws(SandboxFailure) {
                        try cgroups.create()
                    } catch {
                        cl_launch_abort(&handle)
                        cgroups.remove()
                        return .failure(error)
                    }
                }
                let pid = cl_launch_complete(&spec, &handle, &error)
                guard pid > 0 else {
                    cgroups?.remove()
                    return .failure(failure(error))
                }
                return .success(pid)
            }
        }
    }

    private static func failure(_ error: cl_launch_error) -> SandboxFailure {
        let step = withUnsafeBytes(of: error.step) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        let detail = withUnsafeBytes(of: error.detail) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        let reason = String(cString: strerror(error.error_number)) + (detail.isEmpty ? "" : " (\(detail))")
        return SandboxFailure(step: step, reason: reason)
    }
}
