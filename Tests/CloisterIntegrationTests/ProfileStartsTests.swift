import Foundation
import Testing

/// Every seccomp profile `cloister profile` emits must start its container where users run it:
/// podman with Debian's runc, plain runc, Docker's engine (and crun where the host allows it),
/// with and without no_new_privileges, as root and as a non-root container user. Debian 12's
/// runc 1.1 loads the filter *before* it drops to the container user when no_new_privileges is
/// off, so a profile without the runtime's own init calls fails there with "unable to setup
/// user: operation not permitted".
///
/// Each start runs the workload's own check (its output, the uid it runs as) and a call outside
/// the profile: `adjtimex` (read-only, allowed by podman's and moby's default profiles, in no
/// group a service profile allows), which must fail with EPERM under the generated profile and
/// succeed under the engine's default (the control run).
@Suite(.serialized) struct ProfileStartsTests {
    /// The workload: what is learned and what must still work under the profile.
    static let workload = "echo hello; ls / > /dev/null; id -u; echo done"
    /// The workload, then the probe outside the profile.
    static let probe = workload + "; adjtimex > /dev/null; echo adjtimex=$?"

    enum Source: String, CaseIterable, CustomStringConvertible {
        case learned, description
        var description: String { rawValue }
    }

    struct Mode: CustomStringConvertible, Sendable {
        var noNewPrivileges: Bool
        var uid: Int
        var description: String { "\(noNewPrivileges ? "no_new_privs" : "privs") uid \(uid)" }
        static let all = [false, true].flatMap { nnp in [0, 1000].map { Mode(noNewPrivileges: nnp, uid: $0) } }
    }

    /// The profiles, made once per source: learned from the workload run on the host
    /// (busybox of test-assets/), or from a workload description with no special needs.
    static func profile(_ source: Source, in directory: URL, runtimes: [String] = []) throws -> URL {
        let cloister = try Paths.cloisterExecutable().path
        let policies = Paths.repositoryRoot.appendingPathComponent("policies").path
        let profile = directory.appendingPathComponent("\(source).json")
        let runtimeFlags = runtimes.flatMap { ["--runtime", $0] }
        switch source {
        case .learned:
            let record = directory.appendingPathComponent("record.json")
            try Shell.run([cloister, "learn", "-o", record.path, "--", Paths.rootfs.path + "/bin/busybox", "sh", "-c", workload])
            try Shell.run([cloister, "profile", "--learned", record.path, "-o", profile.path, "--policies", policies] + runtimeFlags)
        case .description:
            let description = directory.appendingPathComponent("service.yaml")
            try "version: 1\nname: service\ntrust: untrusted\ntenancy: multi-hostile\nneeds:\n  network: none\n"
                .write(to: description, atomically: true, encoding: .utf8)
            try Shell.run([cloister, "profile", description.path, "--emit", "seccomp", "-o", profile.path, "--policies", policies] + runtimeFlags)
        }
        return profile
    }

    static func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("starts"))
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The checks every start must pass: it started, the workload ran as the user asked, and
    /// the call outside the profile got EPERM from the filter.
    static func expectConfined(_ result: CommandResult, uid: Int, _ label: String) {
        #expect(result.status == 0, "\(label): did not start or failed (status \(result.status)): \(result.stderr)")
        #expect(result.stdout.contains("hello\n\(uid)\ndone\n"), "\(label): stdout \(result.stdout)")
        #expect(result.stdout.contains("adjtimex=1"), "\(label): adjtimex was not refused: \(result.stdout)")
        #expect((result.stdout + result.stderr).contains("Operation not permitted"), "\(label): \(result.stderr)")
    }

    static func expectControl(_ result: CommandResult, _ label: String) {
        #expect(result.status == 0, "\(label) control: \(result.stderr)")
        #expect(result.stdout.contains("adjtimex=0"), "\(label) control: adjtimex fails even without the profile: \(result.stdout) \(result.stderr)")
    }

    @Test(.needsPodman, arguments: Source.allCases)
    func podmanWithRunc(_ source: Source) throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let profile = try Self.profile(source, in: directory)
        func run(_ flags: [String]) throws -> CommandResult {
            try PodmanContainer.podman(
                ["run", "--rm", "--network", "none"] + PodmanContainer.runFlags + flags
                    + ["--rootfs", Paths.rootfs.path, "sh", "-c", Self.probe], check: false)
        }
        Self.expectControl(try run([]), "podman")
        for mode in Mode.all {
            var flags = ["--security-opt", "seccomp=\(profile.path)", "--user", "\(mode.uid):\(mode.uid)"]
            if mode.noNewPrivileges { flags += ["--security-opt", "no-new-privileges"] }
            Self.expectConfined(try run(flags), uid: mode.uid, "podman+runc \(source) \(mode)")
        }
    }

    @Test(.needsRunc, arguments: Source.allCases)
    func plainRunc(_ source: Source) throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let profile = try JSONSerialization.jsonObject(with: Data(contentsOf: try Self.profile(source, in: directory, runtimes: ["runc"])))
        for mode in Mode.all {
            let bundle = directory.appendingPathComponent("bundle-\(mode.noNewPrivileges)-\(mode.uid)")
            try FileManager.default.createDirectory(at: bundle, withIntermediateDirectories: true)
            try Shell.run(["runc", "spec", "--bundle", bundle.path])
            let configURL = bundle.appendingPathComponent("config.json")
            guard var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any],
                var process = config["process"] as? [String: Any], var linux = config["linux"] as? [String: Any]
            else { throw HarnessError("runc spec wrote an unexpected config.json") }
            process["terminal"] = false
            process["args"] = ["sh", "-c", Self.probe]
            process["user"] = ["uid": mode.uid, "gid": mode.uid]
            process["noNewPrivileges"] = mode.noNewPrivileges
            process["rlimits"] = [["type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024]]
            config["process"] = process
            config["root"] = ["path": Paths.rootfs.path, "readonly": true]
            linux["seccomp"] = profile
            config["linux"] = linux
            try JSONSerialization.data(withJSONObject: config).write(to: configURL)
            let id = uniqueName("starts")
            defer { _ = try? Shell.run(["runc", "delete", "-f", id], check: false) }
            let result = try Shell.run(["runc", "run", "--bundle", bundle.path, id], timeout: 60, check: false)
            Self.expectConfined(result, uid: mode.uid, "runc \(source) \(mode)")
        }
    }

    @Test(.needsDocker, arguments: Source.allCases)
    func dockerEngine(_ source: Source) throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let profile = try Self.profile(source, in: directory, runtimes: ["docker"])
        let engine = try DockerEngine.start()
        defer { engine.stop() }
        func run(_ flags: [String]) throws -> CommandResult {
            try engine.docker(
                ["run", "--rm", "--network", "none"] + flags + [DockerEngine.image, "sh", "-c", Self.probe],
                timeout: 120, check: false)
        }
        Self.expectControl(try run([]), "docker")
        for mode in Mode.all {
            var flags = ["--security-opt", "seccomp=\(profile.path)", "--user", "\(mode.uid):\(mode.uid)"]
            if mode.noNewPrivileges { flags += ["--security-opt", "no-new-privileges"] }
            Self.expectConfined(try run(flags), uid: mode.uid, "docker \(source) \(mode)")
        }
    }

    /// crun refuses a hybrid v1/v2 cgroup host ("cgroups in hybrid mode not supported"), as this
    /// one and CI's are; it runs where /sys/fs/cgroup is cgroup2 and crun is installed.
    static var canRunCrun: Bool {
        // cgroup.controllers sits at the top only when /sys/fs/cgroup is the unified hierarchy.
        let pureV2 = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers")
        return Host.isRoot && pureV2 && Shell.has("crun") && Shell.has("podman") && Paths.assetsBuilt
    }

    @Test(.enabled(if: canRunCrun, "crun refuses hybrid v1/v2 cgroup hosts such as this one ('cgroups in hybrid mode not supported'); it runs where /sys/fs/cgroup is cgroup2 and crun is installed"),
          arguments: Source.allCases)
    func podmanWithCrun(_ source: Source) throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let profile = try Self.profile(source, in: directory, runtimes: ["crun"])
        for mode in Mode.all {
            var flags = ["--security-opt", "seccomp=\(profile.path)", "--user", "\(mode.uid):\(mode.uid)"]
            if mode.noNewPrivileges { flags += ["--security-opt", "no-new-privileges"] }
            let result = try Shell.run(
                ["podman", "--runtime", "crun", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                 "run", "--rm", "--network", "none"] + PodmanContainer.runFlags + flags
                    + ["--rootfs", Paths.rootfs.path, "sh", "-c", Self.probe], check: false)
            Self.expectConfined(result, uid: mode.uid, "podman+crun \(source) \(mode)")
        }
    }

    /// The same learned record without the runtime's init calls does not start under runc
    /// without no_new_privileges: the failure the runtime-init data exists to prevent.
    @Test(.needsRunc) func withoutRuntimeInitRuncCannotStart() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cloister = try Paths.cloisterExecutable().path
        let record = directory.appendingPathComponent("record.json")
        let profile = directory.appendingPathComponent("bare.json")
        try Shell.run([cloister, "learn", "-o", record.path, "--", Paths.rootfs.path + "/bin/busybox", "sh", "-c", Self.workload])
        try Shell.run([cloister, "profile", "--learned", record.path, "--no-runtime-init", "-o", profile.path,
                       "--policies", Paths.repositoryRoot.appendingPathComponent("policies").path])
        let result = try PodmanContainer.podman(
            ["run", "--rm", "--network", "none"] + PodmanContainer.runFlags
                + ["--security-opt", "seccomp=\(profile.path)", "--user", "1000:1000", "--rootfs", Paths.rootfs.path,
                   "sh", "-c", Self.workload], check: false)
        #expect(result.status != 0, "started without the runtime's init calls: \(result.stdout)")
        #expect(result.stderr.contains("operation not permitted"), "\(result.stderr)")
    }
}
