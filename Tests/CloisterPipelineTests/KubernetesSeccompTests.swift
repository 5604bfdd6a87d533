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

    @Test("A Docker-format profile with conditional entries is not decoded as if they were plain rules")
    func conditionalEntries() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try scratch.write("seccomp/profiles/docker.json", """
            {"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
             "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                          {"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}
            """)
        try scratch.write("seccomp/profiles/archmap.json", """
            {"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
             "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}
            """)
        let conditional = try scratch.pod("conditional", profile: "{type: Localhost, localhostProfile: profiles/docker.json}")
        let archMap = try scratch.pod("archmap", profile: "{type: Localhost, localhostProfile: profiles/archmap.json}")
        let checked = try check(scratch, [conditional, archMap])
        let unresolved = try #require(checked.result.workloads.first { $0.location?.file == conditional })
        #expect(unresolved.seccomp?.reachable == nil)
        #expect(unresolved.unknown["seccomp.reachable"]?.contains("includes/excludes") == true)
        // archMap alone is plain: the native architecture and its compat ones (x32 shares
        // x86_64's audit architecture, so it is decoded with it).
        let plain = try #require(checked.result.workloads.first { $0.location?.file == archMap })
        #expect(plain.seccomp?.syscalls?.map(\.architecture).sorted() == ["x32", "x86", "x86_64"])
        #expect(plain.seccomp?.syscalls?.first { $0.architecture == "x86" }?.allowedCalls.contains("read") == true)
        #expect(plain.seccomp?.reachable?.compat32 == .allowed)
    }
}
