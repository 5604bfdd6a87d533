import CloisterModel
import CloisterPipeline
import Foundation
import Testing

/// `check` of a pod whose seccompProfile is Localhost: the profile file is found under the
/// kubelet's seccomp directory (`--seccomp-root`), never outside it, and decoded like an OCI
/// linux.seccomp; RuntimeDefault and a missing file are unknown with why, not guessed.
@Suite("Kubernetes Localhost seccomp profiles, decoded")
struct KubernetesSeccompTests {
    /// A scratch directory with a `seccomp/` root and a pod manifest beside it.
    struct Scratch {
        let directory: String
        var root: String { directory + "/seccomp" }

        init() throws {
            directory = NSTemporaryDirectory() + "cloister-k8s-seccomp-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory + "/seccomp/profiles", withIntermediateDirectories: true)
        }

        func write(_ relative: String, _ text: String) throws {
            try text.write(toFile: directory + "/" + relative, atomically: true, encoding: .utf8)
        }

        /// A pod manifest whose one container runs as root with `profile` as its seccompProfile
        /// (a flow mapping), and `extra` lines in its securityContext.
        func pod(_ name: String, profile: String, extra: String = "") throws -> String {
            let path = directory + "/\(name).yaml"
            try """
                apiVersion: v1
                kind: Pod
                metadata: {name: \(name), namespace: shop}
                spec:
                  containers:
                  - name: app
                    image: example.org/app:1.4
                    securityContext:
                      runAsUser: 0
                      seccompProfile: \(profile)
                \(extra)
                """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Allows everything but what `denied` names (ERRNO), like a loosened default.
    static func allowing(except denied: [String]) -> String {
        """
        {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
         "syscalls": [{"names": \(denied), "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
        """
    }

    func check(_ scratch: Scratch, _ paths: [String]) throws -> CheckPipeline.Output {
        try CheckPipeline(paths: paths, seccompRoot: scratch.root).run(settings: PipelineTests.settings)
    }

    @Test("A Localhost profile under --seccomp-root is decoded, and the rules follow what it allows")
    func localhostDecoded() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // One profile that lets io_uring, bpf and keyctl through; one that refuses them.
        try scratch.write("seccomp/profiles/loose.json", Self.allowing(except: ["reboot"]))
        try scratch.write(
            "seccomp/profiles/tight.json",
            Self.allowing(except: ["io_uring_setup", "bpf", "keyctl", "add_key", "request_key", "unshare", "clone3", "perf_event_open"]))
        let loose = try scratch.pod(
            "loose", profile: "{type: Localhost, localhostProfile: profiles/loose.json}",
            extra: "      capabilities: {add: [BPF]}")
        let tight = try scratch.pod(
            "tight", profile: "{type: Localhost, localhostProfile: profiles/tight.json}",
            extra: "      capabilities: {add: [BPF]}")
        let checked = try check(scratch, [loose, tight])
        #expect(checked.result.errors.isEmpty)
        let loosePosture = try #require(checked.result.workloads.first { $0.location?.file == loose })
        let tightPosture = try #require(checked.result.workloads.first { $0.location?.file == tight })
        #expect(loosePosture.seccomp?.source == .declared)
        #expect(loosePosture.seccomp?.reachable?.ioUring == .allowed)
        #expect(loosePosture.seccomp?.reachable?.bpf == .allowed)
        #expect(tightPosture.seccomp?.reachable?.ioUring == .denied)
        #expect(tightPosture.seccomp?.reachable?.keyctl == .denied)
        let native = try #require(tightPosture.seccomp?.syscalls?.first { $0.architecture == "x86_64" })
        #expect(native.deniedCalls.contains("bpf") && native.allowedCalls.contains("read"))

        func rules(_ posture: Posture) -> Set<String> {
            Set(checked.findings.filter { $0.workload == posture.id }.map(\.rule))
        }
        // The same rules as on a live container with that filter: io_uring, bpf with CAP_BPF
        // outside a user namespace, the keyring shared with the host's root.
        #expect(rules(loosePosture).isSuperset(of: ["esc-io-uring", "esc-bpf", "esc-keyring", "esc-namespace-creation"]))
        // (clone stays allowed in the tight one, so namespace creation is still reachable there.)
        #expect(rules(tightPosture).isDisjoint(with: ["esc-io-uring", "esc-bpf", "esc-keyring"]))
        #expect(!rules(tightPosture).contains("ct-seccomp-unconfined"))
    }

    @Test("A missing profile is unknown with its path named; nothing fires on a guess")
    func missingProfile() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let pod = try scratch.pod("missing", profile: "{type: Localhost, localhostProfile: profiles/absent.json}")
        let checked = try check(scratch, [pod])
        let posture = try #require(checked.result.workloads.first)
        #expect(posture.seccomp?.mode == .filter)
        #expect(posture.seccomp?.reachable == nil)
        let why = try #require(posture.unknown["seccomp.reachable"])
        #expect(why.contains(scratch.root + "/profiles/absent.json") && why.contains("does not exist"))
        let rules = Set(checked.findings.map(\.rule))
        #expect(!rules.contains("esc-io-uring") && !rules.contains("esc-namespace-creation"))
        #expect(checked.undetermined.contains { $0.message.contains("esc-io-uring") })
    }

    @Test("Hostile paths: '..', an absolute path and a symlink out of the root are not read")
    func hostilePaths() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // A profile outside the root that would otherwise be read.
        try scratch.write("outside.json", Self.allowing(except: []))
        try FileManager.default.createSymbolicLink(
            atPath: scratch.root + "/profiles/escape.json", withDestinationPath: scratch.directory + "/outside.json")
        try FileManager.default.createSymbolicLink(atPath: scratch.root + "/profiles/up.json", withDestinationPath: "../../outside.json")
        // A symlink that stays inside the root is followed, as the kubelet would.
        try scratch.write("seccomp/profiles/real.json", Self.allowing(except: ["io_uring_setup"]))
        try FileManager.default.createSymbolicLink(atPath: scratch.root + "/profiles/alias.json", withDestinationPath: "real.json")

        let cases: [(name: String, path: String, reason: String)] = [
            ("dotdot", "../outside.json", "contains '..'"),
            ("absolute", scratch.directory + "/outside.json", "is absolute"),
            ("symlink-absolute", "profiles/escape.json", "leads outside"),
            ("symlink-relative", "profiles/up.json", "leads outside"),
        ]
        var pods: [String] = []
        for entry in cases {
            pods.append(try scratch.pod(entry.name, profile: "{type: Localhost, localhostProfile: \"\(entry.path)\"}"))
        }
        let alias = try scratch.pod("alias", profile: "{type: Localhost, localhostProfile: profiles/alias.json}")
        let checked = try check(scratch, pods + [alias])
        for (entry, pod) in zip(cases, pods) {
            let posture = try #require(checked.result.workloads.first { $0.location?.file == pod })
            #expect(posture.seccomp?.reachable == nil, "\(entry.name) was read")
            #expect(posture.unknown["seccomp.reachable"]?.contains(entry.reason) == true, "\(entry.name): \(posture.unknown)")
        }
        let followed = try #require(checked.result.workloads.first { $0.location?.file == alias })
        #expect(followed.seccomp?.reachable?.ioUring == .denied)
    }

    @Test("RuntimeDefault is the node runtime's choice: unknown with why, the rules on it undetermined")
    func runtimeDefault() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let pod = try scratch.pod("default", profile: "{type: RuntimeDefault}")
        let checked = try check(scratch, [pod])
        let posture = try #require(checked.result.workloads.first)
        #expect(posture.seccomp?.mode == .filter)
        #expect(posture.seccomp?.reachable == nil)
        #expect(posture.unknown["seccomp.reachable"]?.contains("RuntimeDefault") == true)
        #expect(!checked.findings.contains { $0.rule == "esc-io-uring" || $0.rule == "ct-seccomp-unconfined" })
        #expect(checked.undetermined.contains { $0.message.contains("esc-io-uring") })
    }

    @Test("A Docker-format profile's includes/excludes apply as the engine applies them, for the container's bounding set")
    func conditionalEntries() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // Written from moby's format (profiles/seccomp: includes/excludes with caps, arches, minKernel).
        try scratch.write("seccomp/profiles/docker.json", """
            {"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
             "syscalls": [{"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
                          {"names": ["mount", "umount2", "unshare", "setns"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                          {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
                          {"names": ["sync_file_range2"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["ppc64le", "arm64"]}},
                          {"names": ["chroot"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
                          {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}}]}
            """)
        try scratch.write("seccomp/profiles/archmap.json", """
            {"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
             "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}
            """)
        let admin = try scratch.pod(
            "admin", profile: "{type: Localhost, localhostProfile: profiles/docker.json}", extra: "      capabilities: {add: [SYS_ADMIN]}")
        let plainPod = try scratch.pod("plain", profile: "{type: Localhost, localhostProfile: profiles/docker.json}")
        let archMap = try scratch.pod("archmap", profile: "{type: Localhost, localhostProfile: profiles/archmap.json}")
        let checked = try check(scratch, [admin, plainPod, archMap])
        #expect(checked.result.errors.isEmpty)
        func native(_ file: String) throws -> SeccompSyscalls {
            let posture = try #require(checked.result.workloads.first { $0.location?.file == file })
            #expect(posture.seccomp?.source == .declared, "\(posture.unknown)")
            return try #require(posture.seccomp?.syscalls?.first { $0.architecture == "x86_64" })
        }
        let withAdmin = try native(admin)
        let without = try native(plainPod)
        // includes caps: only the container holding CAP_SYS_ADMIN gets mount and unshare.
        for call in ["mount", "umount2", "unshare", "setns"] {
            #expect(withAdmin.allowedCalls.contains(call), "\(call) with CAP_SYS_ADMIN")
            #expect(!without.allowedCalls.contains(call), "\(call) without CAP_SYS_ADMIN")
        }
        // excludes caps: chroot only for the one without it.
        #expect(without.allowedCalls.contains("chroot") && !withAdmin.allowedCalls.contains("chroot"))
        // arches: amd64's entry applies here, ppc64le/arm64's does not.
        #expect(without.allowedCalls.contains("arch_prctl"))
        #expect(!without.allowedCalls.contains("sync_file_range2"))
        // minKernel: the node's kernel is not named by a checked file, so it is read as met, and said.
        #expect(without.allowedCalls.contains("ptrace"))
        let plainPosture = try #require(checked.result.workloads.first { $0.location?.file == plainPod })
        #expect(plainPosture.defaultSources?["seccomp.syscalls"]?.contains("minKernel 4.8") == true)
        // archMap alone is plain: the native architecture and its compat ones (x32 shares
        // x86_64's audit architecture, so it is decoded with it).
        let plain = try #require(checked.result.workloads.first { $0.location?.file == archMap })
        #expect(plain.seccomp?.syscalls?.map(\.architecture).sorted() == ["x32", "x86", "x86_64"])
        #expect(plain.seccomp?.syscalls?.first { $0.architecture == "x86" }?.allowedCalls.contains("read") == true)
        #expect(plain.seccomp?.reachable?.compat32 == .allowed)
        #expect(plain.defaultSources?["seccomp.syscalls"] == nil)
    }

    /// containers-common's default profile, as Debian installs it for podman (and CRI-O): the real
    /// file, with its capability- and architecture-conditioned entries.
    static let containersCommonProfile = "/usr/share/containers/seccomp.json"

    @Test(
        "podman's installed default profile: CAP_SYS_ADMIN opens bpf and perf_event_open, CAP_DAC_READ_SEARCH open_by_handle_at",
        .enabled(if: FileManager.default.fileExists(atPath: containersCommonProfile), "containers-common (podman's dependency) is not installed"))
    func containersCommonDefault() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write("seccomp/profiles/default.json", try String(contentsOfFile: Self.containersCommonProfile, encoding: .utf8))
        let profile = "{type: Localhost, localhostProfile: profiles/default.json}"
        let admin = try scratch.pod("admin", profile: profile, extra: "      capabilities: {add: [SYS_ADMIN, DAC_READ_SEARCH]}")
        let plainPod = try scratch.pod("plain", profile: profile)
        let checked = try check(scratch, [admin, plainPod])
        func posture(_ file: String) throws -> Posture { try #require(checked.result.workloads.first { $0.location?.file == file }) }
        let adminPosture = try posture(admin)
        let withAdmin = try #require(adminPosture.seccomp?.syscalls?.first { $0.architecture == "x86_64" }, "\(adminPosture.unknown)")
        let without = try #require(try posture(plainPod).seccomp?.syscalls?.first { $0.architecture == "x86_64" })
        for call in ["bpf", "perf_event_open", "fanotify_init", "open_by_handle_at"] {
            #expect(withAdmin.allowedCalls.contains(call), "\(call) with the capability")
            #expect(without.deniedCalls.contains(call), "\(call) without it")
        }
        #expect(try posture(admin).seccomp?.reachable?.bpf == .allowed)
        #expect(try posture(plainPod).seccomp?.reachable?.bpf == .denied)
        // Architecture entries: x86's modify_ldt and arch_prctl apply here; s390's calls do not exist on x86_64.
        #expect(without.allowedCalls.contains("arch_prctl") && without.allowedCalls.contains("modify_ldt"))
        #expect(!without.allowedCalls.contains("sync_file_range2"))
    }
}
