import CCloisterShim

#if canImport(Glibc)
import Glibc
#endif

/// `cloister launch --no-verify -- CMD`, the hardened default without the post-start scan,
/// decided and started without Foundation, ArgumentParser, Yams or the posture model: the
/// `cloister` front executable runs it before anything heavy is loaded (README, "launch
/// speed"). It applies the plan `LaunchPlan.make(target: LaunchPlan.defaultTarget(...))`
/// makes, through the same `SandboxStarter`; LaunchPlanTests compare the two specs.
/// Anything else (other flags, verification, dry runs, help) goes to the full command.
public enum FastLaunch {
    public static let cgroupRoot = "/sys/fs/cgroup"
    public static let environment = ["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/", "TERM=dumb"]
    public static let hostname = "cloister"
    /// The default target's limits: memory 256 MiB and 128 processes.
    public static let memoryMax: UInt64 = 256 * 1024 * 1024
    public static let pidsMax: UInt64 = 128
    /// Where the host program is looked up when CMD has no slash (the new root shows the
    /// host's /usr, so the same paths).
    public static let search = ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"]

    /// The command, when `arguments` (argv after the program name) are exactly
    /// `launch --no-verify -- CMD...` (CMD not empty). Any other flag means the full command.
    public static func command(from arguments: [String]) -> [String]? {
        guard arguments.count >= 4, arguments[0] == "launch", arguments[1] == "--no-verify", arguments[2] == "--" else {
            return nil
        }
        let command = Array(arguments[3...])
        return command[0].isEmpty ? nil : command
    }

    /// The default plan's spec for `command`, with `cgroups` already planned.
    public static func defaultSpec(command: [String], cgroups: SandboxCgroups?) throws(SandboxFailure) -> SandboxSpec {
        let first = command[0]
        var executable = first
        if !first.contains("/") {
            guard let found = search.first(where: { access($0 + "/" + first, X_OK) == 0 }) else {
                throw SandboxFailure(step: "command", reason: "\(first) is not an executable in the new root's PATH")
            }
            executable = found + "/" + first
        }
        var spec = SandboxSpec(executable: executable, arguments: command, environment: environment)
        // user, pid, mnt, net, ipc, uts, cgroup (LaunchPlan.namespaceFlag).
        spec.namespaceFlags = 0x1000_0000 | 0x2000_0000 | 0x0002_0000 | 0x4000_0000 | 0x0800_0000 | 0x0400_0000 | 0x0200_0000
        // Root inside mapped to an unprivileged host range (as root) or to oneself.
        let root = geteuid() == 0
        spec.uidMap = root ? "0 100000 65536\n" : "0 \(geteuid()) 1\n"
        spec.gidMap = root ? "0 100000 65536\n" : "0 \(getegid()) 1\n"
        spec.setgroupsDeny = !root
        spec.cgroupProcs = cgroups?.procsFiles ?? []
        let view = SandboxStarter.hostUsrView()
        spec.binds = view.binds
        spec.symlinks = view.symlinks
        spec.readOnlyRoot = true
        spec.hostname = hostname
        spec.uid = 0
        spec.gid = 0
        spec.capabilities = 0
        spec.lastCap = Int32(SmallFiles.read("/proc/sys/kernel/cap_last_cap").flatMap { Int32($0) } ?? 40)
        spec.noNewPrivileges = true
        let abi = cl_landlock_abi_version()
        guard abi > 0 else {
            throw SandboxFailure(step: "Landlock", reason: "the kernel does not offer it; pass --no-landlock or --best-effort")
        }
        spec.landlockHandled = cl_landlock_fs_all(abi)
        spec.landlockRules = [
            SandboxLandlockRule(path: "/", access: cl_landlock_fs_read()),
            SandboxLandlockRule(path: "/tmp", access: spec.landlockHandled),
            SandboxLandlockRule(path: "/dev", access: spec.landlockHandled),
        ]
        spec.seccompProgram = try DefaultSeccomp.compile()
        return spec
    }

    /// Plans, starts and waits for the workload; returns the exit code `cloister launch`
    /// returns (the workload's, 128 + signal when killed, 2 when a control cannot be applied).
    public static func run(command: [String]) -> Int32 {
        let cgroups: SandboxCgroups
        var spec: SandboxSpec
        do {
            // Everything decided before anything is created (in LaunchPlan.make's order), so a
            // refusal leaves nothing behind.
            spec = try defaultSpec(command: command, cgroups: nil)
            cgroups = try SandboxCgroups.plan(memoryMax: memoryMax, pidsMax: pidsMax, cpuQuota: nil, cpuPeriod: nil, root: cgroupRoot)
            spec.cgroupProcs = cgroups.procsFiles
        } catch {
            return refuse(error)
        }
        let pid: Int32
        switch SandboxStarter.start(spec, cgroups: cgroups) {
        case .success(let started): pid = started
        case .failure(let error): return refuse(error)
        }
        // SIGTERM, SIGINT and SIGHUP stop the workload and let cloister remove its cgroups,
        // rather than killing cloister and leaving them behind. Installed only now, after
        // execve, so the workload keeps the default dispositions.
        workloadPID = pid
        for number in [SIGTERM, SIGINT, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in if workloadPID > 0 { kill(workloadPID, SIGKILL) } }
            sigemptyset(&action.sa_mask)
            sigaction(number, &action, nil)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { break }
        }
        cgroups.remove()
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    private static func refuse(_ failure: SandboxFailure) -> Int32 {
        let message = "cloister: cannot apply \(failure.step): \(failure.reason); nothing was started\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        return 2
    }
}

/// Read by the signal handler, which can capture nothing; set once, before the handlers.
nonisolated(unsafe) private var workloadPID: Int32 = 0
