import ArgumentParser
import CloisterCodec
import CloisterLaunch
import CloisterModel
import CloisterPipeline
import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct LaunchCommand: CloisterSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Start a command hardened as a target posture asks, then verify it from /proc.",
        discussion: """
            Sandbox mode (the default) needs no runtime: cloister creates the namespaces, maps \
            root inside to an unprivileged host range, builds a read-only root, sets cgroup \
            limits, drops every capability, sets no_new_privs, applies Landlock and a seccomp \
            filter, then runs CMD. When any requested control cannot be applied nothing starts \
            and the error names the control (exit 2). After the start the workload is scanned \
            and any difference from the target stops it with exit 1 (--keep-on-drift keeps it). \
            Otherwise the exit code is the workload's.
            """)

    @Option(help: "A target posture (JSON, as `scan --format json` prints one, or advise's hardening.targetPosture). Flags override it.")
    var posture: String?

    @Option(help: "sandbox (native, the default) or oci (a bundle run by --runtime). vm is not implemented yet.")
    var mode: String = "sandbox"

    @Option(help: "OCI mode: the runtime that runs the bundle (runc or crun).")
    var runtime: String = "runc"

    @Option(help: "VM mode: the guest kernel.")
    var kernel: String?

    @Option(help: "VM mode: the guest initramfs.")
    var initrd: String?

    @Option(help: "VM mode: a raw disk image (attached read-only).")
    var disk: String?

    @Option(help: "VM mode: the guest's serial console, a file or unix:PATH.")
    var serial: String?

    @Option(help: "VM mode: auto (KVM when usable, TCG otherwise), kvm or tcg.")
    var accel: String = "auto"

    @Option(help: "A directory to become the root. Default: a tmpfs holding the host's /usr read-only.")
    var rootfs: String?

    @Option(help: "Hostname inside the UTS namespace.")
    var hostname: String = "cloister"

    @Option(help: "An OCI linux.seccomp profile (JSON) to compile with libseccomp. Default: a built-in deny list.")
    var seccomp: String?

    @Flag(help: "Load no seccomp filter.")
    var noSeccomp = false

    @Option(name: .customLong("cap-add"), help: "Keep this capability (inside the user namespace). Repeatable.")
    var capAdd: [String] = []

    @Option(name: .customLong("landlock-read"), help: "Landlock: allow reading and executing beneath PATH. Repeatable.")
    var landlockRead: [String] = []

    @Option(name: .customLong("landlock-write"), help: "Landlock: allow every file access beneath PATH. Repeatable.")
    var landlockWrite: [String] = []

    @Flag(help: "Do not apply Landlock.")
    var noLandlock = false

    @Option(help: "Memory limit (bytes, or with k, m, g). Default 256m.")
    var memory: String = "256m"

    @Option(name: .customLong("pids-limit"), help: "Maximum number of processes. Default 128.")
    var pidsLimit: UInt64 = 128

    @Option(help: "CPU bandwidth in CPUs (0.5 = half a CPU).")
    var cpus: Double?

    @Flag(help: "Set no cgroup limits.")
    var noCgroup = false

    @Option(help: "RLIMIT_NOFILE (soft and hard).")
    var nofile: UInt64?

    @Option(help: "User ID inside the user namespace.")
    var uid: UInt32?

    @Option(help: "Group ID inside the user namespace.")
    var gid: UInt32?

    @Flag(help: "Leave the root filesystem writable.")
    var writableRoot = false

    @Option(help: "AppArmor profile to exec into (needs AppArmor running).")
    var apparmor: String?

    @Option(help: "SELinux context to exec into (needs SELinux enabled).")
    var selinux: String?

    @Flag(help: "Skip controls the host cannot offer (an LSM that is not running), reporting each skip.")
    var bestEffort = false

    @Flag(help: "Print the plan and start nothing.")
    var dryRun = false

    @Option(help: "How --dry-run prints the plan: text, or json (schema cloister.launch-plan/v1).")
    var format: TextOrJSON = .text

    @Flag(help: "Do not scan the workload after it starts.")
    var noVerify = false

    @Flag(help: "Report differences from the target but keep the workload running.")
    var keepOnDrift = false

    @Argument(parsing: .postTerminator, help: "The command to run.")
    var command: [String] = []

    func validate() throws {
        if mode == "vm" {
            if serial == nil { throw ValidationError("--mode vm needs --serial FILE or --serial unix:PATH") }
            if !["auto", "kvm", "tcg"].contains(accel) { throw ValidationError("--accel must be auto, kvm or tcg") }
            return
        }
        if command.isEmpty { throw ValidationError("give the command after --: cloister launch [FLAGS] -- CMD") }
        if mode != "sandbox" && mode != "oci" {
            throw ValidationError("--mode must be sandbox, oci or vm, not \(mode)")
        }
        if mode == "oci" && rootfs == nil { throw ValidationError("--mode oci needs --rootfs DIR (the bundle's root)") }
        if !["runc", "crun"].contains(runtime) { throw ValidationError("--runtime must be runc or crun") }
        if noSeccomp && seccomp != nil { throw ValidationError("--seccomp and --no-seccomp conflict") }
        if noLandlock && !(landlockRead.isEmpty && landlockWrite.isEmpty) {
            throw ValidationError("--no-landlock conflicts with --landlock-read/--landlock-write")
        }
    }

    static func parseBytes(_ text: String) throws -> UInt64 {
        let lower = text.lowercased()
        let units: [Character: UInt64] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30]
        if let last = lower.last, let unit = units[last], let value = UInt64(lower.dropLast()) { return value * unit }
        guard let value = UInt64(lower) else { throw ValidationError("--memory \(text) is not a size (64m, 1g, 1048576)") }
        return value
    }

    func targetPosture() throws -> Posture {
        var target = LaunchPlan.defaultTarget(command: command)
        if let posture {
            do {
                target = try JSONDecoder().decode(Posture.self, from: Data(contentsOf: URL(fileURLWithPath: posture)))
            } catch {
                throw CLIError.input("\(posture) is not a posture (JSON): \(error)")
            }
            if target.user.uidMap.isEmpty, target.namespaces.user == .private {
                let defaults = LaunchPlan.defaultTarget(command: command)
                target.user.uidMap = defaults.user.uidMap
                target.user.gidMap = defaults.user.gidMap
            }
        }
        if !capAdd.isEmpty {
            let names = capAdd.map { $0.uppercased().hasPrefix("CAP_") ? $0.uppercased() : "CAP_" + $0.uppercased() }
            target.capabilities.bounding = Array(Set(target.capabilities.bounding + names)).sorted()
        }
        if noSeccomp { target.seccomp = Seccomp(mode: .disabled) }
        if writableRoot { target.readOnlyRootfs = false }
        if let uid { target.user.uid = uid }
        if let gid { target.user.gid = gid }
        if let apparmor { target.mac.apparmor = AppArmorLabel(profile: apparmor, mode: "enforce") }
        if let selinux {
            let parts = selinux.split(separator: ":").map(String.init)
            target.mac.selinux = SELinuxLabel(
                context: selinux, user: parts.first, role: parts.count > 1 ? parts[1] : nil,
                type: parts.count > 2 ? parts[2] : nil, level: parts.count > 3 ? parts[3...].joined(separator: ":") : nil)
        }
        if noCgroup {
            target.cgroup = nil
        } else if posture == nil {
            var limits = CgroupLimits(version: "planned", path: "")
            limits.memoryMax = .value(try Self.parseBytes(memory))
            limits.pidsMax = .value(pidsLimit)
            if let cpus {
                limits.cpuPeriod = 100_000
                limits.cpuQuota = .value(UInt64(cpus * 100_000))
            }
            target.cgroup = limits
        }
        return target
    }

    func run() async throws {
        if mode == "vm" { return try runVM() }
        var options = LaunchOptions(command: command)
        options.rootfs = rootfs
        options.hostname = hostname
        options.seccompProfile = seccomp
        options.landlock = !noLandlock
        if !landlockRead.isEmpty || !landlockWrite.isEmpty {
            options.landlockRead = landlockRead
            options.landlockWrite = landlockWrite
        }
        if let nofile { options.rlimits.append((resource: 7, soft: nofile, hard: nofile)) }  // RLIMIT_NOFILE
        options.bestEffort = bestEffort

        var plan: LaunchPlan
        do {
            plan = try LaunchPlan.make(target: try targetPosture(), options: options)
        } catch let error as LaunchError {
            throw CLIError.input(error.description)
        }
        if mode == "oci" {
            let unsupported = OCIBundle.unsupported(plan)
            if let first = unsupported.first, !bestEffort {
                throw CLIError.input("cannot apply \(first); pass --best-effort to skip it; nothing was started")
            }
            plan.skipped += unsupported
        }
        for skip in plan.skipped { writeStandardError("cloister: warning: skipped \(skip)\n") }
        if dryRun, format == .json {
            var bundle: JSONValue = .null
            if mode == "oci", let rootfs {
                bundle = try JSONValue.encode(OCIBundle.config(plan, rootfs: rootfs))
            }
            print(LaunchPlanJSON.render(plan, mode: mode, bundle: bundle))
            return
        }
        if dryRun {
            print(plan.summary)
            if mode == "oci", let rootfs {
                print(String(decoding: try OCIBundle.encoded(plan, rootfs: rootfs), as: UTF8.self))
            }
            return
        }
        if mode == "oci", let rootfs { return try runOCI(plan, rootfs: rootfs) }
        let workload: LaunchedWorkload
        do {
            workload = try Launcher.start(plan)
        } catch let error as LaunchError {
            throw CLIError.input(error.description)
        }
        // SIGTERM, SIGINT and SIGHUP stop the workload and let cloister remove its cgroups,
        // rather than killing cloister and leaving them behind. Ignored only now, after execve,
        // so the workload keeps the default dispositions.
        let pid = workload.pid
        let forwarding = Supervisor.forwardTerminationSignals { _ = kill(pid, SIGKILL) }
        defer { withExtendedLifetime(forwarding) {} }
        if !noVerify {
            let drifts: [PostureDrift]
            do {
                drifts = Verification.compare(plan: plan, observed: try ScanPipeline.observe(pid: Int(workload.pid)))
            } catch {
                // A workload that already exited (a short command) cannot be scanned.
                if hasExited(workload.pid) {
                    writeStandardError("cloister: warning: the workload exited before it could be verified\n")
                    drifts = []
                } else {
                    workload.kill()
                    _ = workload.wait()
                    writeStandardError("cloister: cannot verify the workload (\(error)); it was stopped\n")
                    throw ExitCode(1)
                }
            }
            // A scan of a workload that exited meanwhile (a zombie: its namespaces, cgroups and
            // mounts are gone) reads as unknown fields, not as drift.
            if !drifts.isEmpty, hasExited(workload.pid) {
                writeStandardError("cloister: warning: the workload exited before it could be verified\n")
            } else if !drifts.isEmpty {
                for drift in drifts { writeStandardError("cloister: drift: \(drift)\n") }
                if !keepOnDrift {
                    workload.kill()
                    _ = workload.wait()
                    writeStandardError("cloister: the workload differs from its target and was stopped\n")
                    throw ExitCode(1)
                }
            }
        }
        let status = workload.wait()
        if status != 0 { throw ExitCode(status) }
    }

    /// VM mode: qemu in the foreground (spawn=deny forbids -daemonize), verified by a scan.
    private func runVM() throws {
        guard let serial else { return }
        var options = QemuPlan.Options(serial: serial)
        options.kernel = kernel
        options.initrd = initrd
        options.disk = disk
        options.accelerator = accel
        options.memoryMiB = max(64, try Self.parseBytes(memory) >> 20)
        let plan: QemuPlan
        do {
            plan = try QemuPlan.make(options)
        } catch let error as LaunchError {
            throw CLIError.input(error.description)
        }
        for warning in plan.warnings { writeStandardError("cloister: warning: \(warning)\n") }
        if dryRun {
            print(plan.arguments.joined(separator: " "))
            return
        }
        if !serial.hasPrefix("unix:"), let user = plan.user {
            // qemu opens the console file after dropping to `user`: create it for that user.
            let fd = open(serial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            if fd >= 0 {
                if let entry = getpwnam(user) { fchown(fd, entry.pointee.pw_uid, entry.pointee.pw_gid) }
                close(fd)
            }
        }
        let qemu = try supervise(plan.arguments)
        let child = qemu.pid
        qemu.stopOnTermination { _ = kill(child, SIGKILL) }
        if !noVerify {
            // setpriv execs qemu in place, so the child is qemu once its name says so.
            var observed: Posture?
            for _ in 0..<100 where observed == nil {
                if hasExited(child) { break }
                if ProcessNames.comm(child).hasPrefix("qemu") {
                    usleep(200_000)  // let qemu install its sandbox and open KVM
                    observed = try? ScanPipeline.observe(pid: Int(child))
                }
                if observed == nil { usleep(20_000) }
            }
            if let observed {
                let drifts = plan.compare(observed)
                if !drifts.isEmpty {
                    for drift in drifts { writeStandardError("cloister: drift: \(drift)\n") }
                    if !keepOnDrift {
                        kill(child, SIGKILL)
                        _ = qemu.wait()
                        writeStandardError("cloister: the VM differs from its target and was stopped\n")
                        throw ExitCode(1)
                    }
                }
            } else {
                writeStandardError("cloister: warning: the VM exited before it could be verified\n")
            }
        }
        let status = qemu.wait()
        if status != 0 { throw ExitCode(status) }
    }

    /// OCI mode: writes the bundle, runs `RUNTIME run` in the foreground, finds the container's
    /// init in the runtime's state and verifies it as sandbox mode does.
    private func runOCI(_ plan: LaunchPlan, rootfs: String) throws {
        var plan = plan
        plan.landlockHandled = 0
        plan.landlockRules = []
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-oci-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try OCIBundle.write(plan, rootfs: (rootfs as NSString).standardizingPath.hasPrefix("/") ? rootfs
                            : FileManager.default.currentDirectoryPath + "/" + rootfs, to: directory)
        let id = "cloister-\(getpid())"
        let runtimeProcess = try supervise([runtime, "run", "--bundle", directory, id])
        let runtimeName = runtime
        runtimeProcess.stopOnTermination { _ = Shell.kill(runtime: runtimeName, id: id) }
        if !noVerify {
            // The container's init, from the runtime's state (runc /run/runc, crun /run/crun).
            var initPID: Int32?
            let deadline = Date().addingTimeInterval(10)
            while initPID == nil && Date() < deadline {
                for stateDirectory in ["/run/runc", "/run/crun"] {
                    if let data = FileManager.default.contents(atPath: "\(stateDirectory)/\(id)/state.json"),
                        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                        let pid = (object["init_process_pid"] ?? object["pid"]) as? Int, pid > 0
                    {
                        initPID = Int32(pid)
                    }
                }
                if let code = runtimeProcess.exitCodeIfExited() {
                    writeStandardError("cloister: warning: the workload exited before it could be verified\n")
                    if code != 0 { throw ExitCode(code) }
                    return
                }
                if initPID == nil { usleep(10_000) }
            }
            if let initPID, !isZombie(initPID),
                let observed = try? ScanPipeline.observe(pid: Int(initPID))
            {
                var expected = plan
                expected.cgroup = plan.cgroup  // the runtime's own cgroup; limits compared by value
                let drifts = Verification.compare(plan: expected, observed: observed)
                if !drifts.isEmpty && !isZombie(initPID) {
                    for drift in drifts { writeStandardError("cloister: drift: \(drift)\n") }
                    if !keepOnDrift {
                        _ = Shell.kill(runtime: runtime, id: id)
                        _ = runtimeProcess.wait()
                        writeStandardError("cloister: the workload differs from its target and was stopped\n")
                        throw ExitCode(1)
                    }
                }
            }
        }
        let status = runtimeProcess.wait()
        if status != 0 { throw ExitCode(status) }
    }

    /// Starts a foreground child for VM or OCI mode; a failure to start is an input error.
    private func supervise(_ arguments: [String]) throws -> Supervisor {
        do {
            return try Supervisor(spawning: arguments)
        } catch {
            throw CLIError.input(error.description)
        }
    }

    /// Whether our child `pid` has exited or is exiting, waiting up to 200 ms: an exiting task
    /// loses its namespaces and mounts (so a scan reads them as unknown) a moment before it
    /// becomes a zombie. WNOWAIT leaves it for `wait()` to reap.
    private func hasExited(_ pid: Int32) -> Bool {
        for _ in 0..<40 {
            var info = siginfo_t()
            if waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0, info._sifields._sigchld.si_pid == pid {
                return true
            }
            if isZombie(pid) { return true }
            usleep(5_000)
        }
        return false
    }

    private func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }
}

enum Shell {
    /// `RUNTIME kill ID KILL`: stops an OCI container cloister started.
    /// Returns the runtime's exit code, or -1 when it could not be started.
    static func kill(runtime: String, id: String) -> Int32 {
        (try? Supervisor(spawning: [runtime, "kill", id, "KILL"]).wait()) ?? -1
    }
}

enum ProcessNames {
    static func comm(_ pid: pid_t) -> String {
        let fd = open("/proc/\(pid)/comm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 64) }
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
    }
}

/// `launch --dry-run --format json`: the plan, each control as the launcher applies it.
enum LaunchPlanJSON {
    static let schema = "cloister.launch-plan/v1"

    static func render(_ plan: LaunchPlan, mode: String, bundle: JSONValue) -> String {
        func ranges(_ map: [IDMapRange]) -> JSONValue {
            .array(map.map { .object(["inside": .number(Double($0.inside)), "outside": .number(Double($0.outside)), "count": .number(Double($0.count))]) })
        }
        var object: JSONObject = [
            "schema": .string(schema), "mode": .string(mode),
            "command": .array(plan.command.map { .string($0) }), "executable": .string(plan.executable),
            "namespaces": .array(plan.namespaces.map { .string($0.rawValue) }),
            "uidMap": ranges(plan.uidMap), "gidMap": ranges(plan.gidMap),
            "uid": .number(Double(plan.uid)), "gid": .number(Double(plan.gid)),
            "capabilities": .array(plan.capabilityNames.map { .string($0) }),
            "noNewPrivileges": .bool(plan.noNewPrivileges),
            "rootfs": plan.rootfs.map { .string($0) } ?? .null, "readOnlyRoot": .bool(plan.readOnlyRoot),
            "hostname": .string(plan.hostname),
            "rlimits": .array(plan.rlimits.map {
                .object(["resource": .number(Double($0.resource)), "soft": .number(Double($0.soft)), "hard": .number(Double($0.hard))])
            }),
            "cgroup": plan.cgroup.map { .string($0.summary) } ?? .null,
            "seccomp": plan.seccomp.map { filter in
                .object(["source": .string(plan.seccompSource ?? ""), "instructions": .number(Double(filter.program.count / 8))])
            } ?? .null,
            "landlock": plan.landlockHandled == 0 ? .null : .object([
                "abi": .number(Double(plan.landlockABI ?? 0)),
                "rules": .array(plan.landlockRules.map { .object(["path": .string($0.path), "writable": .bool($0.writable)]) }),
            ]),
            "apparmorProfile": plan.apparmorProfile.map { .string($0) } ?? .null,
            "selinuxLabel": plan.selinuxLabel.map { .string($0) } ?? .null,
            "skipped": .array(plan.skipped.map { .string($0) }), "warnings": .array(plan.warnings.map { .string($0) }),
        ]
        if case .null = bundle {} else { object["ociConfig"] = bundle }
        return JSONValue.object(object).serialized(pretty: true)
    }
}
