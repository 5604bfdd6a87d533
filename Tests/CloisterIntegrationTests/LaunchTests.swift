import CloisterModel
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension Host {
    /// Sandbox mode creates a user namespace and maps 100000:65536 (root) and writes cgroups.
    static var canLaunchSandbox: Bool { isRoot && Paths.assetsBuilt }
}

extension Trait where Self == ConditionTrait {
    static var needsLaunch: Self {
        .enabled(if: Host.requires(Host.canLaunchSandbox),
                 "needs root (subordinate uid map, cgroups) and test-assets/rootfs (scripts/test-assets.sh)")
    }
}

/// `cloister launch` in sandbox mode: every control checked from /proc of the launched process
/// directly, and through `cloister scan --pid`.
@Suite("cloister launch, sandbox mode", .serialized)
struct LaunchTests {
    static func launch(_ flags: [String], _ command: [String], timeout: Int = 60) throws -> CommandResult {
        try Shell.run([try Paths.cloisterExecutable().path, "launch"] + flags + ["--"] + command, timeout: timeout, check: false)
    }

    /// Starts `sleep 60` under cloister in the background and finds the workload's PID.
    static func startSleeper(_ flags: [String]) throws -> (BackgroundProcess, Int32) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-launch-\(UUID().uuidString).log")
        let process = try BackgroundProcess(
            [try Paths.cloisterExecutable().path, "launch", "--rootfs", Paths.rootfs.path] + flags + ["--", "/bin/sleep", "60"],
            log: log)
        guard let pid = ProcFS.waitForDescendant(of: process.pid, named: "sleep", timeout: 20) else {
            process.stop()
            throw HarnessError("the launched sleep did not appear; cloister said: \(process.log)")
        }
        return (process, pid)
    }

    static func status(_ pid: Int32, _ field: String) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix(field + ":") }
            .map { $0.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces) }
    }

    static func namespace(_ pid: Int32, _ type: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\(type)")
    }

    @Test("full hardening: namespaces, maps, no capabilities, no_new_privs, seccomp filter, read from /proc", .needsLaunch)
    func hardenedFromProc() throws {
        let (process, pid) = try Self.startSleeper(["--memory", "64m", "--pids-limit", "20"])
        defer { process.stop() }
        let me = getpid()
        for type in ["pid", "net", "mnt", "ipc", "uts", "user", "cgroup"] {
            let theirs = try #require(Self.namespace(pid, type))
            #expect(theirs != Self.namespace(me, type), "namespace \(type) is shared with the test process")
        }
        let uidMap = try String(contentsOfFile: "/proc/\(pid)/uid_map", encoding: .utf8)
        #expect(uidMap.split(whereSeparator: \.isWhitespace) == ["0", "100000", "65536"])
        #expect(Self.status(pid, "Uid")?.hasPrefix("100000") == true, "root inside is host uid 100000")
        for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
            #expect(Self.status(pid, set) == "0000000000000000", "\(set)")
        }
        #expect(Self.status(pid, "NoNewPrivs") == "1")
        #expect(Self.status(pid, "Seccomp") == "2")
        // Only stdio open.
        let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").sorted()
        #expect(fds == ["0", "1", "2"])
        // cgroup limits, v1 or v2, from the files the kernel enforces.
        let cgroups = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)
        #expect(cgroups.contains("/cloister/launch-"))
        // The root is read-only and is not the host's.
        let mountinfo = try String(contentsOfFile: "/proc/\(pid)/mountinfo", encoding: .utf8)
        let root = try #require(mountinfo.split(separator: "\n").first { $0.split(separator: " ")[4] == "/" })
        #expect(root.split(separator: " ")[5].split(separator: ",").contains("ro"))
    }

    @Test("full hardening seen by cloister scan --pid: the posture matches the target", .needsLaunch)
    func hardenedThroughScan() throws {
        let (process, pid) = try Self.startSleeper(["--memory", "64m", "--pids-limit", "20", "--uid", "1000", "--gid", "1000"])
        defer { process.stop() }
        let posture = try Cloister.scanWorkload(containing: pid)
        #expect(posture.kind == .sandbox)
        #expect(posture.runtime == "cloister")
        for type in [NamespaceType.pid, .net, .mnt, .ipc, .uts, .user, .cgroup] {
            #expect(posture.namespaces[type] == .private, "namespace \(type)")
        }
        #expect(posture.user.uidMap == [IDMapRange(inside: 0, outside: 100_000, count: 65_536)])
        #expect(posture.user.uid == 1000)
        #expect(posture.user.hostUid == 101_000)
        #expect(posture.user.rootMappedToHost == false)
        #expect(posture.capabilities == CapabilitySets())
        #expect(posture.noNewPrivileges == true)
        #expect(posture.seccomp?.mode == .filter)
        #expect(posture.readOnlyRootfs == true)
        #expect(posture.cgroup?.memoryMax == .value(64 * 1024 * 1024))
        #expect(posture.cgroup?.pidsMax == .value(20))
        #expect(process.isRunning, "verification found drift and stopped the workload: \(process.log)")
    }

    @Test("--cap-add keeps exactly that capability in every set, ambient included", .needsLaunch)
    func capabilityKept() throws {
        let (process, pid) = try Self.startSleeper(["--cap-add", "NET_BIND_SERVICE", "--uid", "1000"])
        defer { process.stop() }
        let bit = String(format: "%016llx", UInt64(1) << 10)
        for set in ["CapPrm", "CapEff", "CapBnd", "CapAmb", "CapInh"] {
            #expect(Self.status(pid, set) == bit, "\(set)")
        }
    }

    @Test("Landlock denies a path outside the ruleset and allows one inside", .needsLaunch)
    func landlockDenies() throws {
        let rootfs = Paths.rootfs.path
        let denied = try Self.launch(
            ["--rootfs", rootfs, "--landlock-read", "/bin", "--landlock-write", "/tmp"],
            ["/bin/sh", "-c", "echo inside > /tmp/ok && /bin/cat /tmp/ok && /bin/cat /etc/passwd"])
        #expect(denied.stdout.contains("inside"))
        #expect(denied.stderr.contains("Permission denied"), "\(denied.stderr)")
        #expect(denied.status == 1)
        let allowed = try Self.launch(["--rootfs", rootfs], ["/bin/cat", "/etc/passwd"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stdout.contains("root"))
    }

    @Test("a syscall blocked by an OCI seccomp profile fails with its errnoRet", .needsLaunch)
    func seccompBlocks() throws {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-seccomp-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: profile) }
        try Data("""
            {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
             "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
            """.utf8).write(to: profile)
        let rootfs = Paths.rootfs.path
        let blocked = try Self.launch(["--rootfs", rootfs, "--seccomp", profile.path], ["/bin/mkdir", "/tmp/d"])
        #expect(blocked.status == 1)
        #expect(blocked.stderr.contains("Operation not permitted"), "\(blocked.stderr)")
        let control = try Self.launch(["--rootfs", rootfs], ["/bin/mkdir", "/tmp/d"])
        #expect(control.status == 0, "\(control.stderr)")
        // The built-in default refuses namespace creation inside.
        let unshare = try Self.launch(["--rootfs", rootfs], ["/bin/unshare", "-n", "/bin/true"])
        #expect(unshare.status != 0)
    }

    @Test("hostname, and the host's /usr as a read-only root when no --rootfs is given", .needsLaunch)
    func hostUsrView() throws {
        let result = try Self.launch(["--hostname", "box"], ["/bin/sh", "-c", "hostname; ls /; touch /usr/x"])
        #expect(result.stdout.contains("box"))
        #expect(!result.stdout.contains("root\n"), "the host's /root is not visible")
        #expect(result.stderr.contains("Read-only file system"), "\(result.stderr)")
    }

    @Test("fail closed: a control that cannot be applied starts nothing and names the control", .needsLaunch)
    func failClosed() throws {
        let marker = ["/bin/sh", "-c", "echo STARTED"]
        let rootfs = Paths.rootfs.path
        // An LSM that is not running (AppArmor here; skipped where it runs).
        if !FileManager.default.fileExists(atPath: "/sys/kernel/security/apparmor") {
            let apparmor = try Self.launch(["--rootfs", rootfs, "--apparmor", "cloister-test"], marker)
            #expect(apparmor.status == 2)
            #expect(!apparmor.stdout.contains("STARTED"))
            #expect(apparmor.stderr.contains("AppArmor"), "\(apparmor.stderr)")
            let skipped = try Self.launch(["--rootfs", rootfs, "--apparmor", "cloister-test", "--best-effort"], marker)
            #expect(skipped.stdout.contains("STARTED"))
            #expect(skipped.stderr.contains("skipped AppArmor"), "\(skipped.stderr)")
        }
        // An rlimit above the hard limit.
        let rlimit = try Self.launch(["--rootfs", rootfs, "--nofile", "999999999"], marker)
        #expect(rlimit.status == 2)
        #expect(!rlimit.stdout.contains("STARTED"))
        #expect(rlimit.stderr.contains("rlimit"))
        // A Landlock path that does not exist inside the root fails in the child, before execve.
        let landlock = try Self.launch(["--rootfs", rootfs, "--landlock-read", "/no/such/dir"], marker)
        #expect(landlock.status == 2)
        #expect(!landlock.stdout.contains("STARTED"))
        #expect(landlock.stderr.contains("Landlock rule path"), "\(landlock.stderr)")
        // A rootfs without /proc to mount on.
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let noProc = try Self.launch(["--rootfs", empty.path], marker)
        #expect(noProc.status == 2)
        #expect(noProc.stderr.contains("root filesystem"))
    }

    @Test("--dry-run prints the plan and starts nothing", .needsLaunch)
    func dryRun() throws {
        // The plan echoes the command, so the marker is computed: only a run prints "42".
        let result = try Self.launch(["--dry-run", "--rootfs", Paths.rootfs.path], ["/bin/sh", "-c", "echo $((40+2))"])
        #expect(result.status == 0)
        #expect(!result.stdout.split(separator: "\n").contains("42"))
        for line in ["namespaces", "uid map", "cgroup", "capabilities   none", "no_new_privs   true", "landlock", "seccomp"] {
            #expect(result.stdout.contains(line), "\(line)")
        }
        // The same plan as JSON, with its schema name.
        let json = try Self.launch(["--dry-run", "--format", "json", "--rootfs", Paths.rootfs.path], ["/bin/true"])
        #expect(json.status == 0, "\(json.stderr)")
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
        #expect(plan["schema"] as? String == "cloister.launch-plan/v1")
        #expect(plan["noNewPrivileges"] as? Bool == true)
        #expect((plan["capabilities"] as? [String])?.isEmpty == true)
        #expect((plan["namespaces"] as? [String])?.contains("user") == true)
        #expect(plan["seccomp"] as? [String: Any] != nil)
    }

    @Test("the workload's exit code passes through", .needsLaunch)
    func exitCode() throws {
        let result = try Self.launch(["--rootfs", Paths.rootfs.path], ["/bin/sh", "-c", "exit 7"])
        #expect(result.status == 7)
    }

    @Test("OCI mode: runc runs the written bundle with the planned controls; Landlock is refused, not dropped", .needsRunc)
    func ociMode() throws {
        let rootfs = Paths.rootfs.path
        let refused = try Self.launch(["--mode", "oci", "--rootfs", rootfs], ["/bin/true"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("Landlock"), "\(refused.stderr)")

        let log = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-oci-\(UUID().uuidString).log")
        let process = try BackgroundProcess(
            [try Paths.cloisterExecutable().path, "launch", "--mode", "oci", "--no-landlock", "--rootfs", rootfs,
             "--memory", "64m", "--pids-limit", "20", "--", "/bin/sleep", "60"],
            log: log)
        defer { process.stop() }
        // runc reparents the container's init: find it in runc's state for cloister's container id.
        var found: Int32?
        wait(timeout: 20) {
            let state = "/run/runc/cloister-\(process.pid)/state.json"
            if let data = FileManager.default.contents(atPath: state),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let pid = object["init_process_pid"] as? Int, ProcFS.comm(Int32(pid)) == "sleep"
            {
                found = Int32(pid)
            }
            return found != nil
        }
        let pid = try #require(found, "no container sleep appeared: \(process.log)")
        let posture = try Cloister.scanWorkload(containing: pid)
        #expect(posture.runtime == "runc")
        for type in [NamespaceType.pid, .net, .mnt, .ipc, .uts, .user] {
            #expect(posture.namespaces[type] == .private, "namespace \(type)")
        }
        #expect(posture.user.uidMap == [IDMapRange(inside: 0, outside: 100_000, count: 65_536)])
        #expect(posture.capabilities == CapabilitySets())
        #expect(posture.noNewPrivileges == true)
        #expect(posture.seccomp?.mode == .filter)
        #expect(posture.readOnlyRootfs == true)
        #expect(posture.cgroup?.memoryMax == .value(64 * 1024 * 1024))
        #expect(posture.cgroup?.pidsMax == .value(20))
        #expect(process.isRunning, "verification stopped it: \(process.log)")
    }

    @Test("VM mode: qemu under TCG as nobody, its sandbox on, the guest boots to its serial file, the scan agrees", .needsQemu, .needsLaunch)
    func vmMode() throws {
        let serial = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-vm-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: serial) }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-vm-\(UUID().uuidString).out")
        let process = try BackgroundProcess(
            [try Paths.cloisterExecutable().path, "launch", "--mode", "vm", "--accel", "tcg",
             "--kernel", Paths.kernel.path, "--initrd", Paths.initramfs.path, "--serial", serial.path],
            log: log)
        defer { process.stop() }
        let booted = wait(timeout: 90) {
            ((try? String(contentsOf: serial, encoding: .utf8)) ?? "").contains("CLOISTER-GUEST-UP") || !process.isRunning
        }
        #expect(booted && process.isRunning, "guest did not boot or cloister stopped it: \(process.log)")
        #expect(process.log.contains("TCG emulation is not a security boundary"))
        // setpriv execs qemu in place: cloister's child is qemu itself.
        let qemu = try #require(ProcFS.descendants(of: process.pid).first { ProcFS.comm($0)?.hasPrefix("qemu") == true })
        let posture = try Cloister.scanWorkload(containing: qemu)
        #expect(posture.kind == .vm)
        #expect(posture.hypervisor?.accelerator == "tcg")
        #expect(posture.hypervisor?.sandbox.enabled == true)
        #expect(posture.hypervisor?.user.uid == 65_534)
        #expect(posture.noNewPrivileges == true)
    }

    @Test("VM mode --dry-run prints the qemu command with every sandbox option", .needsQemu)
    func vmDryRun() throws {
        let result = try Shell.run(
            [try Paths.cloisterExecutable().path, "launch", "--mode", "vm", "--accel", "tcg", "--dry-run",
             "--kernel", Paths.kernel.path, "--initrd", Paths.initramfs.path, "--serial", "unix:/tmp/cloister-vm.sock"],
            check: false)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"))
        #expect(result.stdout.contains("-serial unix:/tmp/cloister-vm.sock,server=on,wait=off"))
        #expect(!result.stdout.contains("-daemonize"))
    }
}
