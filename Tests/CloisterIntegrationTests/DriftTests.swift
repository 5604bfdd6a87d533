import CloisterModel
import Foundation
import Testing

/// `scan --declared`: a live container beside the config.json of the bundle its runtime started
/// it from. A container started from one configuration whose bundle now declares a stronger one
/// (here: plain runc started without a seccomp filter, then the bundle's config.json edited to
/// declare one, no_new_privs and a private user mapping) shows the drift, both values as
/// evidence; an unedited container shows none.
@Suite("drift between a container's bundle and the kernel", .serialized)
struct DriftTests {
    static func editConfig(_ bundle: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = bundle.appendingPathComponent("config.json")
        guard var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw HarnessError("\(url.path) is not a JSON object")
        }
        edit(&config)
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: url)
    }

    /// runc spec's NOFILE limit, stated: raising a hard limit needs CAP_SYS_RESOURCE here.
    static func nofile(_ config: inout [String: Any]) {
        LiveDeclaredTests.editProcess(&config) { $0["rlimits"] = [["type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024]] }
    }

    @Test("a runc bundle edited after the start: declared seccomp and no_new_privs not in force", .needsRunc)
    func editedBundle() throws {
        let container = try RuncContainer.run("drift") { config in
            Self.nofile(&config)
            LiveDeclaredTests.editProcess(&config) { $0["noNewPrivileges"] = false }
        }
        defer { container.stop() }
        try Self.editConfig(container.bundle) { config in
            LiveDeclaredTests.editProcess(&config) { $0["noNewPrivileges"] = true }
            config["hooks"] = ["createRuntime": [["path": "/usr/bin/true", "args": ["true", "hook"]]]]
            // /dev was mounted writable; the bundle now says read-only.
            config["mounts"] = (config["mounts"] as? [[String: Any]] ?? []).map { mount in
                guard mount["destination"] as? String == "/dev" else { return mount }
                var edited = mount
                edited["options"] = (mount["options"] as? [String] ?? []) + ["ro"]
                return edited
            }
            LiveDeclaredTests.editLinux(&config) { linux in
                linux["seccomp"] = [
                    "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                    "syscalls": [["names": ["kexec_load"], "action": "SCMP_ACT_ERRNO"]],
                ]
            }
        }
        let scan = try Assess.workload(pid: container.pid, ["--declared"])
        let drift = try #require(scan.posture.drift, "no drift compared; unknown: \(scan.posture.unknown)")
        let configPath = container.bundle.appendingPathComponent("config.json").path
        #expect(drift.contains(Drift(field: "seccomp.mode", declared: "filter", observed: "disabled", source: configPath)))
        #expect(drift.contains(Drift(field: "noNewPrivileges", declared: "true", observed: "false", source: configPath)))
        #expect(drift.contains(Drift(field: "mounts.readOnly", declared: "/dev read-only", observed: "/dev writable", source: configPath)))
        // Hooks ran on the host and leave nothing in /proc: the bundle's are listed.
        #expect(scan.posture.hooks == [RuntimeHook(stage: "createRuntime", path: "/usr/bin/true", args: ["true", "hook"])])
        // The read-only root it declares is in force: no drift there.
        #expect(!drift.contains { $0.field == "readOnlyRootfs" })
        scan.expect(fires: ["drift-seccomp", "drift-no-new-privs", "drift-mount-writable"], silent: ["drift-read-only-rootfs", "drift-capabilities", "drift-namespace"])
        let finding = try #require(scan.findings.first { $0.rule == "drift-seccomp" })
        #expect(finding.message.contains(configPath) && finding.message.contains("disabled"))
    }

    @Test("a runc bundle edited to deny io_uring after a start under a filter that allows it: drift-seccomp-surface", .needsRunc)
    func weakerFilterInForce() throws {
        func profile(denying names: [String]) -> [String: Any] {
            ["defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
             "syscalls": [["names": names, "action": "SCMP_ACT_ERRNO"]]]
        }
        let container = try RuncContainer.run("drift-surface") { config in
            Self.nofile(&config)
            LiveDeclaredTests.editLinux(&config) { $0["seccomp"] = profile(denying: ["kexec_load"]) }
        }
        defer { container.stop() }
        try Self.editConfig(container.bundle) { config in
            LiveDeclaredTests.editLinux(&config) { $0["seccomp"] = profile(denying: ["kexec_load", "io_uring_setup"]) }
        }
        let scan = try Assess.workload(pid: container.pid, ["--declared"])
        #expect(scan.posture.seccomp?.source == .kernel)
        #expect(scan.posture.seccomp?.reachable?.ioUring == .allowed)
        let drift = try #require(scan.posture.drift, "no drift compared; unknown: \(scan.posture.unknown)")
        let configPath = container.bundle.appendingPathComponent("config.json").path
        #expect(drift.contains(Drift(field: "seccomp.reachable.ioUring", declared: "denied", observed: "allowed", source: configPath)))
        // Groups both sides allow, or both deny, are no drift.
        #expect(!drift.contains { $0.field == "seccomp.reachable.kexec" || $0.field == "seccomp.reachable.mount" })
        scan.expect(fires: ["drift-seccomp-surface", "esc-io-uring"], silent: ["drift-seccomp"])
    }

    @Test("an unedited runc bundle: compared, no drift", .needsRunc)
    func unedited() throws {
        let container = try RuncContainer.run("nodrift") { Self.nofile(&$0) }
        defer { container.stop() }
        let scan = try Assess.workload(pid: container.pid, ["--declared"])
        #expect(scan.posture.drift == [])
        #expect(!scan.rules.contains { $0.hasPrefix("drift-") })
        // Without --declared nothing is compared.
        #expect(try Assess.workload(pid: container.pid).posture.drift == nil)
    }

    @Test("podman's containers: the bundle found through runc's state, no drift", .needsPodman)
    func podman() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("drift-volume"))
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        for flags in [
            [], ["--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined"], PodmanFindingsTests.hardenedFlags,
            ["--privileged", "-v", "\(scratch.path):/data:ro"],
        ] {
            let container = try PodmanContainer.run("drift", flags: flags)
            defer { container.stop() }
            let scan = try Assess.workload(pid: container.pid, ["--declared"])
            #expect(scan.posture.drift == [], "\(flags): \(scan.posture.drift ?? []) unknown: \(scan.posture.unknown)")
        }
    }
}
