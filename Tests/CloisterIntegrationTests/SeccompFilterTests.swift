import CloisterModel
import Foundation
import Testing

/// The seccomp filters of real podman containers, read from the kernel by `scan` and decoded:
/// what they allow equals what libseccomp makes of the same profile (`check` of the config.json
/// podman handed to runc compiles its linux.seccomp with libseccomp), the escape rules follow
/// what the filter really allows, and what the decoding says is checked inside the container.
@Suite("seccomp filters read from podman containers", .serialized, .needsPodman)
struct SeccompFilterTests {
    /// podman's default profile (containers-common), the base of the custom ones.
    static let defaultProfile = "/usr/share/containers/seccomp.json"

    /// A copy of podman's default profile with `edit` applied to its `syscalls` rules, written
    /// to `directory`.
    static func profile(
        _ name: String, in directory: ScratchDirectory, _ edit: (inout [[String: Any]]) -> Void
    ) throws -> String {
        try directory.write(name, try profileText(edit))
    }

    static func profileText(_ edit: (inout [[String: Any]]) -> Void) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: defaultProfile))
        guard var object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            var rules = object["syscalls"] as? [[String: Any]]
        else { throw HarnessError("\(defaultProfile) has no syscalls list") }
        edit(&rules)
        object["syscalls"] = rules
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// Docker's shape on podman's profile: clone only without namespace flags (CLONE_NEWNS|…|
    /// CLONE_NEWCGROUP, 0x7E020000), no unshare or setns, clone3 refused with ENOSYS so libcs
    /// fall back to clone.
    static func refuseNamespaceCreation(_ rules: inout [[String: Any]]) {
        removing(["unshare", "clone", "clone3", "setns"], from: &rules)
        rules.append([
            "names": ["clone"], "action": "SCMP_ACT_ALLOW",
            "args": [["index": 0, "value": 0x7E02_0000, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"]],
        ])
        rules.append(["names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38])
    }

    /// Removes `names` from every rule of the profile.
    static func removing(_ names: Set<String>, from rules: inout [[String: Any]]) {
        for index in rules.indices {
            let kept = (rules[index]["names"] as? [String] ?? []).filter { !names.contains($0) }
            rules[index]["names"] = kept
        }
        rules.removeAll { ($0["names"] as? [String] ?? []).isEmpty }
    }

    /// The container's filter as scan reads it, and the same profile as check decodes it.
    static func scanAndCheck(_ container: PodmanContainer) throws -> (scan: Assessed, declared: Posture) {
        let scan = try Assess.workload(pid: container.pid)
        let config = try container.ociConfigPath()
        let (report, _, stderr) = try Cloister.check([config])
        let declared = try #require(report.workloads.first, "check of \(config) gave no workload: \(stderr)")
        return (scan, declared)
    }

    /// The allowed, denied and conditional calls per architecture, read and declared, are the
    /// same sets (the filter runc installed is libseccomp's program for that profile).
    static func expectSameSurface(_ observed: Posture, _ declared: Posture, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(observed.seccomp?.source == .kernel, sourceLocation: sourceLocation)
        #expect(declared.seccomp?.source == .declared, sourceLocation: sourceLocation)
        let live = observed.seccomp?.syscalls ?? []
        let profile = declared.seccomp?.syscalls ?? []
        #expect(!live.isEmpty && live.map(\.architecture) == profile.map(\.architecture), sourceLocation: sourceLocation)
        for (read, compiled) in zip(live, profile) {
            #expect(Set(read.allowedCalls) == Set(compiled.allowedCalls),
                    "\(read.architecture): allowed by the kernel's filter only \(Set(read.allowedCalls).subtracting(compiled.allowedCalls).sorted()), by the profile only \(Set(compiled.allowedCalls).subtracting(read.allowedCalls).sorted())",
                    sourceLocation: sourceLocation)
            #expect(Set(read.conditionalCalls.map(\.name)) == Set(compiled.conditionalCalls.map(\.name)), sourceLocation: sourceLocation)
        }
        #expect(observed.seccomp?.reachable == declared.seccomp?.reachable, sourceLocation: sourceLocation)
    }

    /// Runs `busybox unshare -U true` in the container: whether namespace creation really works.
    static func canUnshare(_ container: PodmanContainer) throws -> Bool {
        try PodmanContainer.podman(["exec", container.name, "/bin/busybox", "unshare", "-U", "true"], check: false).status == 0
    }

    @Test("podman's default profile: io_uring refused, unshare allowed (and it works), personality on its argument")
    func defaultProfile() throws {
        let container = try PodmanContainer.run("seccomp-default")
        defer { container.stop() }
        let (scan, declared) = try Self.scanAndCheck(container)
        let seccomp = try #require(scan.posture.seccomp)
        #expect(seccomp.mode == .filter)
        let reachable = try #require(seccomp.reachable, "filter not read: \(scan.posture.unknown)")
        #expect(reachable.ioUring == .denied)
        #expect(reachable.bpf == .denied)
        #expect(reachable.namespaceCreation == .allowed)
        #expect(reachable.personality == .conditional)
        #expect(reachable.kexec == .denied && reachable.moduleLoading == .denied)
        let native = try #require(seccomp.syscalls?.first { $0.architecture == "x86_64" })
        #expect(native.allowed > 250)
        #expect(native.deniedCalls.contains("io_uring_setup"))
        Self.expectSameSurface(scan.posture, declared)
        // What the decoding says, seen from inside: unshare(CLONE_NEWUSER) succeeds.
        #expect(try Self.canUnshare(container))
        scan.expect(fires: ["esc-namespace-creation"], silent: ["esc-io-uring", "ct-seccomp-unconfined"])
        // The container still runs after the read.
        #expect(ProcFS.exists(container.pid))
        #expect(try PodmanContainer.podman(["exec", container.name, "/bin/busybox", "true"], check: false).status == 0)

        // --no-seccomp-filters: not read, unknown with why, and the rules on it undecided.
        let skipped = try Assess.workload(pid: container.pid, ["--no-seccomp-filters"])
        #expect(skipped.posture.seccomp?.reachable == nil)
        #expect(skipped.posture.unknown["seccomp.reachable"]?.contains("--no-seccomp-filters") == true)
        skipped.expect(fires: [], silent: ["esc-namespace-creation", "esc-io-uring"])
    }

    @Test("seccomp=unconfined: no filter to read, every escape rule on seccomp fires")
    func unconfined() throws {
        let container = try PodmanContainer.run("seccomp-unconfined", flags: ["--security-opt", "seccomp=unconfined"])
        defer { container.stop() }
        let scan = try Assess.workload(pid: container.pid)
        #expect(scan.posture.seccomp?.mode == .disabled)
        #expect(scan.posture.seccomp?.reachable == nil)
        #expect(scan.posture.unknown["seccomp.reachable"] == nil)
        scan.expect(fires: ["ct-seccomp-unconfined", "esc-namespace-creation", "esc-io-uring"])
    }

    @Test("A custom profile that allows io_uring: esc-io-uring fires on the running container")
    func ioUringAllowed() throws {
        let directory = try ScratchDirectory("seccomp-io-uring")
        defer { directory.remove() }
        let profile = try Self.profile("io-uring.json", in: directory) { rules in
            rules.append(["names": ["io_uring_setup", "io_uring_enter", "io_uring_register"], "action": "SCMP_ACT_ALLOW"])
        }
        let container = try PodmanContainer.run("seccomp-io-uring", flags: ["--security-opt", "seccomp=\(profile)"])
        defer { container.stop() }
        let (scan, declared) = try Self.scanAndCheck(container)
        #expect(scan.posture.seccomp?.reachable?.ioUring == .allowed)
        Self.expectSameSurface(scan.posture, declared)
        scan.expect(fires: ["esc-io-uring"], silent: ["ct-seccomp-unconfined"])
    }

    @Test("A profile with argument filters and no namespace creation: clone conditional, unshare refused inside")
    func argumentFilter() throws {
        let directory = try ScratchDirectory("seccomp-arguments")
        defer { directory.remove() }
        let profile = try Self.profile("arguments.json", in: directory, Self.refuseNamespaceCreation)
        let container = try PodmanContainer.run("seccomp-arguments", flags: ["--security-opt", "seccomp=\(profile)"])
        defer { container.stop() }
        let (scan, declared) = try Self.scanAndCheck(container)
        let seccomp = try #require(scan.posture.seccomp)
        #expect(seccomp.reachable?.namespaceCreation == .conditional)
        let native = try #require(seccomp.syscalls?.first { $0.architecture == "x86_64" })
        let clone = try #require(native.conditionalCalls.first { $0.name == "clone" })
        #expect(clone.complete)
        #expect(clone.cases.contains { $0.action == "ALLOW" && $0.when.contains { $0.contains("0x7e020000") } })
        #expect(native.deniedCalls.contains("unshare") && native.deniedCalls.contains("clone3"))
        Self.expectSameSurface(scan.posture, declared)
        // Inside: no user namespace, yet the shell still forks (clone without namespace flags).
        #expect(try !Self.canUnshare(container))
        #expect(try PodmanContainer.podman(["exec", container.name, "/bin/sh", "-c", "/bin/true && echo forked"], check: false)
            .stdout.contains("forked"))
        scan.expect(fires: [], silent: ["esc-namespace-creation", "esc-io-uring"])
    }

}

/// bwrap --seccomp: a filter cloister compiled, installed by bubblewrap, read back from the
/// sandboxed process, and equal to libseccomp's view of the same JSON profile.
@Suite("seccomp filter of a bwrap sandbox", .serialized, .needsBubblewrap)
struct BubblewrapSeccompTests {
    @Test("bwrap --seccomp FD: the filter read from the sandbox is the profile's")
    func bwrapSeccomp() throws {
        let directory = try ScratchDirectory("bwrap-seccomp")
        defer { directory.remove() }
        let policies = Paths.repositoryRoot.appendingPathComponent("policies").path
        let description = try directory.write(
            "worker.yaml", "version: 1\nname: worker\ntrust: untrusted\ntenancy: multi-hostile\nneeds:\n  network: none\n")
        let bpf = directory.url.appendingPathComponent("worker.bpf").path
        let emitted = try Cloister.run(["profile", description, "--emit", "seccomp-bpf", "-o", bpf, "--policies", policies])
        #expect(emitted.status == 0, "\(emitted.stderr)")
        let json = try Cloister.run(["profile", description, "--policies", policies])
        #expect(json.status == 0, "\(json.stderr)")
        // The same profile as an OCI config.json, for check to compile with libseccomp.
        let profile = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let config: [String: Any] = ["ociVersion": "1.0.2", "process": ["args": ["sleep"], "cwd": "/"], "linux": ["seccomp": profile]]
        let configPath = try directory.write("config.json", String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self))

        let sandbox = try Bubblewrap.start("bwrap-seccomp", extraFlags: ["--seccomp", "9"], descriptor: (9, bpf))
        defer { sandbox.stop() }
        let scan = try Assess.workload(pid: sandbox.pid)
        let seccomp = try #require(scan.posture.seccomp)
        #expect(seccomp.mode == .filter && seccomp.source == .kernel, "\(scan.posture.unknown)")
        #expect(seccomp.reachable?.ioUring == .denied)
        #expect(seccomp.reachable?.namespaceCreation != .allowed)
        let (checked, _, stderr) = try Cloister.check([configPath])
        let declared = try #require(checked.workloads.first, "\(stderr)")
        let live = try #require(seccomp.syscalls?.first { $0.architecture == "x86_64" })
        let compiled = try #require(declared.seccomp?.syscalls?.first { $0.architecture == "x86_64" })
        #expect(Set(live.allowedCalls) == Set(compiled.allowedCalls))
        #expect(Set(live.conditionalCalls.map(\.name)) == Set(compiled.conditionalCalls.map(\.name)))
        scan.expect(fires: [], silent: ["esc-io-uring", "esc-namespace-creation"])
    }
}

