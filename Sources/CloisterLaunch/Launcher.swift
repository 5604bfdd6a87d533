import CloisterLaunchCore
import CloisterModel

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
        let code = Supervisor.reap(pid)
        plan.cgroup?.remove()
        return code
    }

    public func kill() { _ = Glibc.kill(pid, SIGKILL) }
}

public enum Launcher {
    static func mapText(_ ranges: [IDMapRange]) -> String {
        ranges.map { "\($0.inside) \($0.outside) \($0.count)\n" }.joined()
    }

    /// Starts the workload through `SandboxStarter` (which creates the cgroups while the child
    /// builds its root). Returns once execve has succeeded; throws `LaunchError` naming the
    /// step that failed (nothing keeps running, no cgroup is left).
    public static func start(_ plan: LaunchPlan) throws -> LaunchedWorkload {
        switch SandboxStarter.start(spec(plan), cgroups: plan.cgroup?.cgroups) {
        case .success(let pid):
            return LaunchedWorkload(pid: pid, plan: plan)
        case .failure(let failure):
            throw LaunchError(control: failure.step, reason: failure.reason)
        }
    }

    /// What the C child applies for `plan`. The fast path (`FastLaunch.defaultSpec`) builds
    /// the same value for the default target; LaunchPlanTests compare the two.
    public static func spec(_ plan: LaunchPlan) -> SandboxSpec {
        var spec = SandboxSpec(executable: plan.executable, arguments: plan.command, environment: plan.environment)
        spec.namespaceFlags = plan.namespaceFlags
        if !plan.uidMap.isEmpty {
            spec.uidMap = mapText(plan.uidMap)
            spec.gidMap = mapText(plan.gidMap)
        }
        spec.setgroupsDeny = plan.setgroupsDeny
        spec.cgroupProcs = plan.cgroup?.procsFiles ?? []
        if let rootfs = plan.rootfs {
            spec.rootfs = rootfs
        } else {
            (spec.binds, spec.symlinks) = SandboxStarter.hostUsrView()
        }
        spec.readOnlyRoot = plan.readOnlyRoot
        spec.hostname = plan.namespaces.contains(.uts) ? plan.hostname : nil
        spec.rlimits = plan.rlimits.map { SandboxRlimit(resource: $0.resource, soft: $0.soft, hard: $0.hard) }
        spec.uid = plan.uid
        spec.gid = plan.gid
        spec.capabilities = plan.capabilities.reduce(UInt64(0)) { $0 | (1 << UInt64($1)) }
        spec.lastCap = Int32(plan.lastCap)
        spec.noNewPrivileges = plan.noNewPrivileges
        spec.apparmorExec = plan.apparmorProfile
        spec.selinuxExec = plan.selinuxLabel
        spec.landlockHandled = plan.landlockHandled
        spec.landlockRules = plan.landlockRules.map { SandboxLandlockRule(path: $0.path, access: $0.access) }
        spec.seccompProgram = plan.seccomp?.program
        return spec
    }
}
