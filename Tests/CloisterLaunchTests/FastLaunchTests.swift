import CCloisterShim
import CloisterLaunch
import CloisterLaunchCore
import CloisterModel
import CloisterOCI
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The fast path of `cloister launch --no-verify -- CMD` (FastLaunch, in the Foundation-free
/// front executable) must apply exactly what the full command applies for the default target.
/// Compared here as the values handed to the C child, field by field; LaunchTests compares the
/// two launched processes from /proc.
@Suite("fast launch path: the same spec as the full plan (no launch)")
struct FastLaunchTests {
    @Test(
        "only `launch --no-verify -- CMD` takes the fast path",
        arguments: [
            (["launch", "--no-verify", "--", "/bin/true"], ["/bin/true"]),
            (["launch", "--no-verify", "--", "sh", "-c", "exit 3"], ["sh", "-c", "exit 3"]),
            (["launch", "--", "/bin/true"], nil),
            (["launch", "--no-verify", "--memory", "64m", "--", "/bin/true"], nil),
            (["launch", "--memory", "64m", "--no-verify", "--", "/bin/true"], nil),
            (["launch", "--no-verify", "--dry-run", "--", "/bin/true"], nil),
            (["launch", "--no-verify", "--"], nil),
            (["launch", "--no-verify", "--", ""], nil),
            (["launch", "--no-verify", "/bin/true"], nil),
            (["scan", "--no-verify", "--", "/bin/true"], nil),
            (["--help"], nil),
            ([], nil),
        ] as [([String], [String]?)])
    func recognises(arguments: [String], command: [String]?) {
        #expect(FastLaunch.command(from: arguments) == command)
    }

    @Test(
        "the fast spec equals the full plan's spec for the default target, seccomp program included",
        .enabled(if: cl_landlock_abi_version() > 0, "the default target asks for Landlock, which this kernel does not offer"),
        arguments: [["/bin/true"], ["true"], ["sh", "-c", "echo hi"]])
    func sameSpec(command: [String]) throws {
        let plan = try LaunchPlan.make(target: LaunchPlan.defaultTarget(command: command), options: LaunchOptions(command: command))
        let full = Launcher.spec(plan)
        let fast = try FastLaunch.defaultSpec(command: command, cgroups: plan.cgroup?.cgroups)
        #expect(fast.executable == full.executable)
        #expect(fast.namespaceFlags == full.namespaceFlags)
        #expect(fast.uidMap == full.uidMap && fast.gidMap == full.gidMap)
        #expect(fast.binds == full.binds && fast.symlinks == full.symlinks)
        #expect(fast.landlockHandled == full.landlockHandled && fast.landlockRules == full.landlockRules)
        #expect(fast.seccompProgram == full.seccompProgram, "the default seccomp programs differ")
        #expect((fast.seccompProgram?.count ?? 0) >= 8 * DefaultSeccomp.deniedSyscalls.count / 2)
        // And every other field: the whole value.
        #expect(fast == full)
    }

    @Test("the fast path's cgroups are the full plan's for the default limits, on this host's hierarchy")
    func sameCgroups() throws {
        let target = LaunchPlan.defaultTarget(command: ["/bin/true"])
        let limits = try #require(target.cgroup)
        let full = try CgroupPlan.make(limits: limits, root: FastLaunch.cgroupRoot, name: "launch-compare")
        let fast = try SandboxCgroups.plan(
            memoryMax: FastLaunch.memoryMax, pidsMax: FastLaunch.pidsMax, cpuQuota: nil, cpuPeriod: nil,
            root: FastLaunch.cgroupRoot, name: "launch-compare")
        #expect(fast == full.cgroups)
        #expect(!fast.directories.isEmpty)
        let settings = fast.directories.flatMap(\.settings).map(\.value)
        #expect(settings.contains(String(256 * 1024 * 1024)) && settings.contains("128"))
    }

    @Test("the built-in OCI profile is the fast path's deny list")
    func oneDenyList() {
        let names = LinuxSeccomp.builtInDefault.syscalls?.flatMap(\.names) ?? []
        #expect(names == DefaultSeccomp.deniedSyscalls)
        #expect(LinuxSeccomp.builtInDefault.defaultAction == "SCMP_ACT_ALLOW")
    }
}

/// The cgroups are created while the child builds its root (`cl_launch_begin`), so a failure
/// there must stop a child that is already running: nothing starts, nothing is left.
@Suite("launch start: cgroups created after clone, failing closed")
struct SandboxStarterTests {
    @Test(
        "cgroups that cannot be created stop the begun child: the error names the cgroup step, no child or directory is left",
        .enabled(if: geteuid() == 0 && cl_landlock_abi_version() > 0, "needs root (user namespace with the 100000 map) and Landlock"))
    func cgroupFailureStopsChild() throws {
        // A fake v2 root: it names controllers, but its cgroup.subtree_control does not exist,
        // so the first write of create() fails, after the clone.
        var template = Array("/tmp/cloister-fake-cgroup.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let root = String(cString: try #require(made))
        defer { try? FileManager.default.removeItem(atPath: root) }
        let controllers = open(root + "/cgroup.controllers", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        _ = write(controllers, "memory pids\n", 12)
        close(controllers)
        let cgroups = try SandboxCgroups.plan(memoryMax: 1 << 28, pidsMax: 128, cpuQuota: nil, cpuPeriod: nil, root: root, name: "fail")
        #expect(cgroups.directories.map(\.path) == [root + "/cloister/fail"])
        var spec = try FastLaunch.defaultSpec(command: ["/bin/true"], cgroups: cgroups)
        spec.cgroupProcs = cgroups.procsFiles

        let result = SandboxStarter.start(spec, cgroups: cgroups)
        guard case .failure(let failure) = result else {
            Issue.record("started despite cgroups that cannot be created: \(result)")
            return
        }
        #expect(failure.step.hasPrefix("cgroup"), "\(failure)")
        #expect(failure.reason.contains("cgroup.subtree_control"), "\(failure)")
        // The child was killed and reaped: this thread has no child left, and no directory.
        let children = (try? String(contentsOfFile: "/proc/thread-self/children", encoding: .utf8)) ?? "?"
        #expect(children.trimmingCharacters(in: .whitespaces).isEmpty, "children left: \(children)")
        #expect(access(root + "/cloister/fail", F_OK) != 0)
    }
}
