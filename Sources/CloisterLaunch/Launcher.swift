import CCloisterShim
import CloisterModel
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A started workload: its PID on the host and the cgroups to remove after it exits.
public struct LaunchedWorkload: Sendable {
    public var pid: Int32
    public var plan: LaunchPlan

    /// Waits for the workload and returns its exit code (128 + signal when killed), then
    /// removes its cgroups.
    public func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { break }
        }
        plan.cgroup?.remove()
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    public func kill() { _ = Glibc.kill(pid, SIGKILL) }
}

/// C strings kept alive for the duration of `cl_launch` and freed after: everything the child
/// reads is allocated before clone, so the child never allocates.
private final class CStrings {
    private var owned: [UnsafeMutablePointer<CChar>] = []
    func make(_ text: String) -> UnsafeMutablePointer<CChar> {
        let pointer = strdup(text)!
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
    private var arrays: [UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>] = []
    deinit {
        owned.forEach { free($0) }
        arrays.forEach { $0.deallocate() }
    }
}

public enum Launcher {
    static func mapText(_ ranges: [IDMapRange]) -> String {
        ranges.map { "\($0.inside) \($0.outside) \($0.count)\n" }.joined()
    }

    /// Sets up the cgroups, then starts the workload through `cl_launch`. Returns once execve
    /// has succeeded; throws `LaunchError` naming the step that failed (nothing keeps running).
    public static func start(_ plan: LaunchPlan) throws -> LaunchedWorkload {
        try plan.cgroup?.create()
        do {
            let pid = try spawn(plan)
            return LaunchedWorkload(pid: pid, plan: plan)
        } catch {
            plan.cgroup?.remove()
            throw error
        }
    }

    private static func spawn(_ plan: LaunchPlan) throws -> Int32 {
        let strings = CStrings()
        var spec = cl_launch_spec()
        spec.path = UnsafePointer(strings.make(plan.executable))
        spec.argv = UnsafePointer(strings.array(plan.command))
        spec.envp = UnsafePointer(strings.array(plan.environment))
        spec.namespace_flags = plan.namespaceFlags
        if !plan.uidMap.isEmpty {
            spec.uid_map = UnsafePointer(strings.make(mapText(plan.uidMap)))
            spec.gid_map = UnsafePointer(strings.make(mapText(plan.gidMap)))
        }
        spec.setgroups_deny = plan.setgroupsDeny ? 1 : 0
        spec.set_groups = plan.setgroupsDeny ? 0 : 1
        let procs = plan.cgroup?.procsFiles ?? []
        let procsArray = strings.array(procs)
        spec.cgroup_procs = UnsafeRawPointer(procsArray).assumingMemoryBound(to: UnsafePointer<CChar>?.self)
        spec.cgroup_procs_count = procs.count

        // The root: the given directory, or a tmpfs holding the host's /usr read-only and the
        // merged-/usr links (Debian 12 and most distributions keep /bin, /lib in /usr).
        var binds: [(String, String, Bool)] = []
        var links: [String] = []
        if let rootfs = plan.rootfs {
            spec.rootfs = UnsafePointer(strings.make(rootfs))
        } else {
            spec.staging = UnsafePointer(strings.make("/tmp"))
            binds.append(("/usr", "usr", true))
            for name in ["bin", "sbin", "lib", "lib64", "lib32", "libx32"] {
                let host = "/" + name
                if let destination = PlainFiles.symlinkTarget(host) {
                    links += [destination, name]
                } else if PlainFiles.exists(host) {
                    binds.append((host, name, true))
                }
            }
            // Name resolution and the loader cache, read-only.
            for file in ["/etc/ld.so.cache", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf"]
            where PlainFiles.exists(file) {
                binds.append((file, String(file.dropFirst()), true))
            }
        }
        let bindBuffer = UnsafeMutablePointer<cl_bind>.allocate(capacity: max(binds.count, 1))
        defer { bindBuffer.deallocate() }
        for (index, bind) in binds.enumerated() {
            bindBuffer[index] = cl_bind(
                source: UnsafePointer(strings.make(bind.0)), target: UnsafePointer(strings.make(bind.1)),
                read_only: bind.2 ? 1 : 0)
        }
        spec.binds = UnsafePointer(bindBuffer)
        spec.binds_count = binds.count
        let linkArray = strings.array(links)
        spec.symlinks = UnsafeRawPointer(linkArray).assumingMemoryBound(to: UnsafePointer<CChar>?.self)
        spec.symlinks_count = links.count / 2
        spec.mount_proc = 1
        spec.mount_dev = 1
        spec.mount_tmp = 1
        spec.read_only_root = plan.readOnlyRoot ? 1 : 0
        spec.hostname = plan.namespaces.contains(.uts) ? UnsafePointer(strings.make(plan.hostname)) : nil

        let limitBuffer = UnsafeMutablePointer<cl_rlimit>.allocate(capacity: max(plan.rlimits.count, 1))
        defer { limitBuffer.deallocate() }
        for (index, limit) in plan.rlimits.enumerated() {
            limitBuffer[index] = cl_rlimit(resource: limit.resource, soft: limit.soft, hard: limit.hard)
        }
        spec.rlimits = UnsafePointer(limitBuffer)
        spec.rlimits_count = plan.rlimits.count

        spec.uid = plan.uid
        spec.gid = plan.gid
        spec.capabilities = plan.capabilities.reduce(UInt64(0)) { $0 | (1 << UInt64($1)) }
        spec.last_cap = Int32(plan.lastCap)
        spec.no_new_privs = plan.noNewPrivileges ? 1 : 0
        spec.apparmor_exec = plan.apparmorProfile.map { UnsafePointer(strings.make($0)) }
        spec.selinux_exec = plan.selinuxLabel.map { UnsafePointer(strings.make($0)) }

        let ruleBuffer = UnsafeMutablePointer<cl_landlock_rule>.allocate(capacity: max(plan.landlockRules.count, 1))
        defer { ruleBuffer.deallocate() }
        for (index, rule) in plan.landlockRules.enumerated() {
            ruleBuffer[index] = cl_landlock_rule(path: UnsafePointer(strings.make(rule.path)), access: rule.access)
        }
        spec.landlock_handled = plan.landlockHandled
        spec.landlock_rules = UnsafePointer(ruleBuffer)
        spec.landlock_rules_count = plan.landlockRules.count

        var error = cl_launch_error()
        let program = plan.seccomp?.program ?? []
        let pid: Int32 = program.withUnsafeBytes { bytes in
            if plan.seccomp != nil {
                spec.seccomp_bpf = bytes.baseAddress
                spec.seccomp_bpf_len = bytes.count
            }
            return withExtendedLifetime(strings) { cl_launch(&spec, &error) }
        }
        guard pid > 0 else {
            let step = withUnsafeBytes(of: error.step) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            let detail = withUnsafeBytes(of: error.detail) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            let reason = String(cString: strerror(error.error_number)) + (detail.isEmpty ? "" : " (\(detail))")
            throw LaunchError(control: step, reason: reason)
        }
        return pid
    }
}
