import CloisterModel
import Foundation
import Testing

/// The seccomp-surface rules (rules/seccomp-surface.yaml) on real podman containers: each fires
/// where the container's filter, read from the kernel, lets its call run and the rest of the
/// posture (a capability, a host setting, the host's PID namespace) makes the call usable, and
/// stays silent under podman's default profile or a profile that refuses the call.
@Suite("seccomp-surface rules on podman containers", .serialized, .needsPodman)
struct SeccompSurfaceRuleTests {
    /// A host setting as /proc/sys shows it; nil when the file is absent.
    static func sysctl(_ path: String) -> Int? {
        (try? String(contentsOfFile: "/proc/sys/" + path, encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// podman's default profile with `names` allowed whatever the capabilities.
    static func allowing(_ names: [String], _ label: String, in directory: ScratchDirectory) throws -> String {
        try SeccompFilterTests.profile("\(label).json", in: directory) { rules in
            SeccompFilterTests.removing(Set(names), from: &rules)
            rules.append(["names": names, "action": "SCMP_ACT_ALLOW"])
        }
    }

    /// podman's default profile with `names` refused (ERRNO EPERM).
    static func refusing(_ names: [String], _ label: String, in directory: ScratchDirectory) throws -> String {
        try SeccompFilterTests.profile("\(label).json", in: directory) { rules in
            SeccompFilterTests.removing(Set(names), from: &rules)
            rules.append(["names": names, "action": "SCMP_ACT_ERRNO", "errnoRet": 1])
        }
    }

    /// Runs a container with `flags` and scans it.
    static func scan(_ label: String, _ flags: [String]) throws -> Assessed {
        let container = try PodmanContainer.run(label, flags: flags)
        defer { container.stop() }
        return try Assess.workload(pid: container.pid)
    }

    @Test("esc-bpf: CAP_BPF with a profile that allows bpf fires; podman's default refuses bpf without CAP_SYS_ADMIN")
    func bpf() throws {
        let directory = try ScratchDirectory("surface-bpf")
        defer { directory.remove() }
        let profile = try Self.allowing(["bpf"], "bpf", in: directory)
        let loose = try Self.scan("surface-bpf", ["--cap-add", "BPF", "--security-opt", "seccomp=\(profile)"])
        #expect(loose.posture.seccomp?.reachable?.bpf == .allowed)
        #expect(loose.posture.capabilities.effective.contains("CAP_BPF"))
        loose.expect(fires: ["esc-bpf"])
        let standard = try Self.scan("surface-bpf-default", ["--cap-add", "BPF"])
        #expect(standard.posture.seccomp?.reachable?.bpf == .denied)
        standard.expect(fires: [], silent: ["esc-bpf"])
    }

    @Test("esc-userfaultfd: CAP_SYS_PTRACE with a profile that allows userfaultfd fires; the default refuses it")
    func userfaultfd() throws {
        let directory = try ScratchDirectory("surface-uffd")
        defer { directory.remove() }
        let profile = try Self.allowing(["userfaultfd"], "uffd", in: directory)
        let loose = try Self.scan("surface-uffd", ["--cap-add", "SYS_PTRACE", "--security-opt", "seccomp=\(profile)"])
        #expect(loose.posture.seccomp?.reachable?.userfaultfd == .allowed)
        loose.expect(fires: ["esc-userfaultfd"])
        let standard = try Self.scan("surface-uffd-default", ["--cap-add", "SYS_PTRACE"])
        #expect(standard.posture.seccomp?.reachable?.userfaultfd == .denied)
        standard.expect(fires: [], silent: ["esc-userfaultfd"])
    }

    @Test("esc-perf-event follows the profile and the host's perf_event_paranoid")
    func perfEvent() throws {
        let directory = try ScratchDirectory("surface-perf")
        defer { directory.remove() }
        let profile = try Self.allowing(["perf_event_open"], "perf", in: directory)
        let loose = try Self.scan("surface-perf", ["--security-opt", "seccomp=\(profile)"])
        #expect(loose.posture.seccomp?.reachable?.perfEventOpen == .allowed)
        let paranoid = Self.sysctl("kernel/perf_event_paranoid")
        #expect(loose.posture.kernelSettings?.perfEventParanoid == paranoid)
        // Unprivileged callers get in below level 3 (Debian's kernels add 3 and default to it).
        if let paranoid, paranoid < 3 {
            loose.expect(fires: ["esc-perf-event"])
        } else {
            loose.expect(fires: [], silent: ["esc-perf-event"])
        }
        let standard = try Self.scan("surface-perf-default", [])
        #expect(standard.posture.seccomp?.reachable?.perfEventOpen == .denied)
        standard.expect(fires: [], silent: ["esc-perf-event"])
    }

    @Test("esc-keyring: podman's default lets keyctl run for a root container without a user namespace; refusing it silences the rule")
    func keyring() throws {
        let standard = try Self.scan("surface-keyring-default", [])
        #expect(standard.posture.seccomp?.reachable?.keyctl == .allowed)
        #expect(standard.posture.namespaces.user == .host)
        standard.expect(fires: ["esc-keyring"])
        let directory = try ScratchDirectory("surface-keyring")
        defer { directory.remove() }
        let profile = try Self.refusing(["keyctl", "add_key", "request_key"], "keyring", in: directory)
        let tight = try Self.scan("surface-keyring", ["--security-opt", "seccomp=\(profile)"])
        #expect(tight.posture.seccomp?.reachable?.keyctl == .denied)
        tight.expect(fires: [], silent: ["esc-keyring"])
    }

    @Test("esc-ptrace-host: --pid=host with ptrace allowed follows Yama; refusing ptrace silences it; a private PID namespace never fires")
    func ptraceHost() throws {
        let shared = try Self.scan("surface-ptrace", ["--pid", "host"])
        #expect(shared.posture.namespaces.pid == .host)
        #expect(shared.posture.seccomp?.reachable?.ptrace == .allowed)
        let scope = Self.sysctl("kernel/yama/ptrace_scope")
        #expect(shared.posture.kernelSettings?.ptraceScope == scope)
        if scope == nil || scope == 0 {
            shared.expect(fires: ["esc-ptrace-host"])
        } else {
            shared.expect(fires: [], silent: ["esc-ptrace-host"])
        }
        let directory = try ScratchDirectory("surface-ptrace")
        defer { directory.remove() }
        let profile = try Self.refusing(["ptrace"], "ptrace", in: directory)
        let refused = try Self.scan("surface-ptrace-refused", ["--pid", "host", "--cap-add", "SYS_PTRACE", "--security-opt", "seccomp=\(profile)"])
        #expect(refused.posture.seccomp?.reachable?.ptrace == .denied)
        refused.expect(fires: [], silent: ["esc-ptrace-host"])
        let own = try Self.scan("surface-ptrace-own", ["--cap-add", "SYS_PTRACE"])
        own.expect(fires: [], silent: ["esc-ptrace-host"])
    }
}

/// `cloister scan --self`: the scanner's own confinement, as given to it (before it drops its
/// own capabilities), with the seccomp mode and count and why the filter cannot be read.
@Suite("scan --self", .serialized)
struct ScanSelfTests {
    static func scanSelf(prefix: [String] = []) throws -> (posture: Posture, report: ScanReport) {
        let executable = try Paths.cloisterExecutable().path
        let result = try Shell.run(
            prefix + [executable, "scan", "--self", "--format", "json", "--rules", Assess.rulesDirectory.path,
                      "--policy", Assess.exposurePolicy.path], check: false)
        #expect(result.status == 0 || result.status == 1, "\(result.stderr)")
        let report = try JSONDecoder().decode(ScanReport.self, from: Data(result.stdout.utf8))
        let posture = try #require(report.workloads.first)
        #expect(report.workloads.count == 1)
        return (posture, report)
    }

    /// The test process's own status line, which the child inherits.
    static func ownStatus(_ key: String) throws -> String {
        let text = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix(key + ":") })
        return line.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
    }

    @Test("What it was given: capabilities and no_new_privs before its own drop, no seccomp filter")
    func plain() throws {
        let (posture, _) = try Self.scanSelf()
        #expect(posture.id.contains("self-"))
        #expect(posture.name == "self")
        // The scanner keeps two capabilities and sets no_new_privs for itself; --self reports
        // what it had before that, which is what this test process hands down.
        let effective = try #require(UInt64(try Self.ownStatus("CapEff"), radix: 16))
        #expect(posture.capabilities.effective.count == effective.nonzeroBitCount)
        #expect(posture.noNewPrivileges == (try Self.ownStatus("NoNewPrivs") == "1"))
        #expect(posture.seccomp?.mode == .disabled)
        #expect(posture.kernelSettings != nil)
    }

    @Test("Under setpriv: no_new_privs and a reduced bounding set show; without CAP_SYS_PTRACE the host's namespaces are judged from inside", .enabled(if: Host.requires(Host.isRoot && Shell.has("setpriv")), "needs root and setpriv"))
    func reduced() throws {
        let (posture, report) = try Self.scanSelf(prefix: [
            "setpriv", "--no-new-privs", "--bounding-set", "-all,+chown,+net_raw", "--inh-caps", "-all", "--",
        ])
        #expect(posture.noNewPrivileges == true)
        #expect(posture.capabilities.bounding.sorted() == ["CAP_CHOWN", "CAP_NET_RAW"])
        // Without CAP_SYS_PTRACE kthreadd's namespace links cannot be read: the user namespace
        // is still told from the UID map, the others are unknown with why.
        #expect(posture.namespaces.user == .host)
        #expect(posture.unknown["namespaces.net"]?.contains("from inside") == true)
        #expect(report.issues.contains { $0.message.contains("kthreadd") })
    }

    @Test("Under a seccomp filter: mode and count from status, the filter itself unknown with the kernel's reason")
    func filtered() throws {
        let directory = try ScratchDirectory("self-seccomp")
        defer { directory.remove() }
        let profile = try directory.write("allow.json", """
            {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["reboot"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
            """)
        let executable = try Paths.cloisterExecutable().path
        let (posture, report) = try Self.scanSelf(prefix: [executable, "seccomp-exec", profile, "--"])
        let seccomp = try #require(posture.seccomp)
        #expect(seccomp.mode == .filter)
        #expect((seccomp.filters ?? 0) >= 1)
        #expect(seccomp.reachable == nil && seccomp.syscalls == nil)
        #expect(posture.unknown["seccomp.reachable"]?.contains("PTRACE_SECCOMP_GET_FILTER") == true)
        // Rules on the filter's surface are undetermined, not fired on a guess.
        #expect(!report.findings.contains { $0.rule == "esc-io-uring" })
        #expect(!report.findings.contains { $0.rule == "ct-seccomp-unconfined" })
    }

    /// Inside a podman container (podman's default: 11 capabilities, its seccomp profile, no
    /// user namespace), running this very build: the container's root is the host's, seen
    /// through an overlay that discards writes (`--rootfs /:O`), so the executable and its
    /// libraries are where they are here.
    @Test("Inside a podman container: podman named, its capabilities and filter count, the filter unknown with why", .needsPodman)
    func insidePodman() throws {
        let executable = try Paths.cloisterExecutable().path
        let run = try PodmanContainer.podman(
            ["run", "--rm"] + PodmanContainer.runFlags + ["--rootfs", "/:O", executable, "scan", "--self", "--format", "json",
             "--rules", Assess.rulesDirectory.path, "--policy", Assess.exposurePolicy.path], check: false)
        #expect(run.status == 0 || run.status == 1, "\(run.stderr)")
        let report = try JSONDecoder().decode(ScanReport.self, from: Data(run.stdout.utf8))
        let posture = try #require(report.workloads.first)
        #expect(posture.runtime == "podman")
        #expect(posture.namespaces.pid == .private)
        #expect(posture.namespaces.user == .host)
        #expect(posture.unknown["namespaces.net"] != nil)
        #expect(posture.capabilities.effective.count == 11, "\(posture.capabilities.effective)")
        #expect(!posture.capabilities.effective.contains("CAP_SYS_ADMIN"))
        #expect(posture.noNewPrivileges == false)
        #expect(posture.seccomp?.mode == .filter && (posture.seccomp?.filters ?? 0) >= 1)
        #expect(posture.unknown["seccomp.reachable"]?.contains("PTRACE_SECCOMP_GET_FILTER") == true)
        #expect(!report.issues.contains { $0.message.contains("run as root for full coverage") })
        let rules = Set(report.findings.map(\.rule))
        #expect(rules.contains("ct-root-no-userns") && !rules.contains("ct-seccomp-unconfined"))
    }

    @Test("--self does not combine with --pid")
    func usage() throws {
        let result = try Assess.cloister(["scan", "--self", "--pid", "1"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--self"))
    }
}

/// The filters firejail and qemu install, read live and decoded: the calls their own
/// documentation says they refuse are refused.
@Suite("sandbox filters read live", .serialized)
struct SandboxFilterTests {
    /// firejail 0.9.72's `--seccomp` default list is @default-nodebuggers
    /// (/usr/share/doc/firejail/syscalls.txt): @mount, @module, @reboot, @swap, @debug, the
    /// keyring, bpf, userfaultfd, ptrace and personality among it; unshare is not. On the
    /// native x86_64 entry all of it is refused. Its filter for the i386 entry (firejail builds
    /// one per architecture) was read here letting bpf, userfaultfd, personality and the new
    /// mount API (fsopen, fsmount, move_mount, open_tree, fsconfig) through: a group is as
    /// reachable as its weakest entry point, so those groups are `allowed`, and the test holds
    /// the posture to exactly what each architecture's table says.
    @Test("firejail --seccomp: the default list is refused on x86_64, and each group is as reachable as its weakest entry point", .needsFirejail)
    func firejail() throws {
        let sandbox = try Firejail.start("firejail-seccomp", extraFlags: ["--seccomp"])
        defer { sandbox.stop() }
        let posture = try Cloister.scanWorkload(containing: sandbox.pid)
        let seccomp = try #require(posture.seccomp)
        #expect(seccomp.mode == .filter)
        #expect(seccomp.source == .kernel)
        let reachable = try #require(seccomp.reachable, "filter not read: \(posture.unknown)")
        let tables = try #require(seccomp.syscalls)
        let native = try #require(tables.first { $0.architecture == "x86_64" })
        for call in [
            "mount", "umount2", "pivot_root", "fsopen", "fsmount", "move_mount", "open_tree", "fsconfig", "init_module",
            "finit_module", "kexec_load", "kexec_file_load", "reboot", "swapon", "syslog", "bpf", "userfaultfd", "keyctl",
            "add_key", "request_key", "ptrace", "personality", "perf_event_open",
        ] {
            #expect(native.deniedCalls.contains(call), "x86_64: \(call) not denied")
        }
        for call in ["read", "write", "openat", "unshare"] {
            #expect(native.allowedCalls.contains(call), "x86_64: \(call) not allowed")
        }
        // Each group is `allowed` exactly when some decoded entry point lets a member run.
        let members: [(String, SeccompReach, [String])] = [
            ("bpf", reachable.bpf, ["bpf"]), ("userfaultfd", reachable.userfaultfd, ["userfaultfd"]),
            ("keyctl", reachable.keyctl, ["keyctl", "add_key", "request_key"]), ("ptrace", reachable.ptrace, ["ptrace"]),
            ("perfEventOpen", reachable.perfEventOpen, ["perf_event_open"]), ("personality", reachable.personality, ["personality"]),
            ("mount", reachable.mount, ["mount", "move_mount", "fsopen", "fsmount", "open_tree", "fsconfig"]),
            ("kexec", reachable.kexec, ["kexec_load", "kexec_file_load"]), ("moduleLoading", reachable.moduleLoading, ["init_module", "finit_module"]),
        ]
        for (group, reach, calls) in members {
            let somewhere = tables.contains { table in calls.contains { table.allowedCalls.contains($0) } }
            #expect((reach == .allowed) == somewhere, "\(group) is \(reach), allowed on some entry point: \(somewhere)")
        }
        // The groups every entry point refuses.
        for (group, reach) in [("keyctl", reachable.keyctl), ("ptrace", reachable.ptrace), ("kexec", reachable.kexec), ("moduleLoading", reachable.moduleLoading)] {
            #expect(reach == .denied, "\(group) is \(reach)")
        }
        #expect(reachable.namespaceCreation == .allowed)
    }

    /// qemu's `-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny`
    /// (docs: "-sandbox"; the lists in system/qemu-seccomp.c): the default set (reboot, swap,
    /// syslog, mount, kexec_load), obsolete calls, set*id, fork/vfork/execve, and the scheduler
    /// and priority calls refused; clone decided on its flags (threads only).
    @Test("qemu -sandbox on with every group denied: the documented calls are refused", .needsQemu)
    func qemu() throws {
        let guest = try QemuGuest(QemuOptions(label: "tcg-sandbox-filter", accelerator: .tcg, sandbox: true))
        defer { guest.stop() }
        let posture = try Cloister.scanWorkload(containing: guest.pid)
        let seccomp = try #require(posture.seccomp)
        #expect(seccomp.mode == .filter)
        let native = try #require(seccomp.syscalls?.first { $0.architecture == "x86_64" }, "filter not read: \(posture.unknown)")
        let groups: [(String, [String])] = [
            ("default", ["reboot", "swapon", "swapoff", "syslog", "mount", "kexec_load"]),
            ("obsolete", ["sysfs", "ustat", "uselib"]),
            ("elevateprivileges", ["setuid", "setgid", "setresuid", "setresgid", "setsid"]),
            ("spawn", ["fork", "vfork", "execve"]),
            ("resourcecontrol", ["setpriority", "sched_setaffinity", "sched_setparam"]),
        ]
        for (group, calls) in groups {
            for call in calls { #expect(native.deniedCalls.contains(call), "\(group): \(call) not denied") }
        }
        #expect(native.conditionalCalls.contains { $0.name == "clone" }, "clone is decided on its flags")
        #expect(native.conditionalCalls.contains { $0.name == "sched_setscheduler" }, "sched_setscheduler is decided on its policy")
        for call in ["read", "write", "ppoll", "ioctl"] { #expect(native.allowedCalls.contains(call), "\(call) not allowed") }
    }
}
