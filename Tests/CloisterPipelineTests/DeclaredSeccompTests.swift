import CloisterModel
import CloisterPipeline
import Foundation
import Testing

/// `check` of an OCI config.json decodes its linux.seccomp as a live filter is decoded: the
/// profile compiled with libseccomp, the program evaluated.
@Suite("Declared seccomp profiles, decoded")
struct DeclaredSeccompTests {
    static let fixtures = "\(PipelineTests.repository)/Tests/CloisterCheckTests/Fixtures/oci"

    /// A config.json in a fresh directory, with `seccomp` as its linux.seccomp.
    static func config(seccomp: String) throws -> String {
        let directory = NSTemporaryDirectory() + "cloister-declared-seccomp-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let text = try String(contentsOfFile: fixtures + "/podman-default.json", encoding: .utf8)
        var object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        var linux = try #require(object["linux"] as? [String: Any])
        linux["seccomp"] = try JSONSerialization.jsonObject(with: Data(seccomp.utf8))
        object["linux"] = linux
        let path = directory + "/config.json"
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("podman's own config.json: the default profile's surface, and the rules on it")
    func podmanDefault() throws {
        let checked = try CheckPipeline(paths: [Self.fixtures + "/podman-default.json"]).run(settings: PipelineTests.settings)
        let posture = try #require(checked.result.workloads.first)
        let seccomp = try #require(posture.seccomp)
        #expect(seccomp.source == .declared)
        let reachable = try #require(seccomp.reachable)
        // podman's profile (the fixture's 22 rules) lets unshare and clone3 run, refuses io_uring.
        #expect(reachable.namespaceCreation == .allowed)
        #expect(reachable.ioUring == .denied)
        #expect(reachable.personality == .conditional)
        let native = try #require(seccomp.syscalls?.first { $0.architecture == "x86_64" })
        #expect(native.allowedCalls.contains("read") && native.deniedCalls.contains("io_uring_setup"))
        let rules = Set(checked.findings.filter { $0.workload == posture.id }.map(\.rule))
        #expect(rules.contains("esc-namespace-creation"))
        #expect(!rules.contains("esc-io-uring"))
    }

    @Test("A profile that allows io_uring_setup fires esc-io-uring; a profile libseccomp refuses is unknown, not fired")
    func customProfiles() throws {
        let allowing = try Self.config(seccomp: """
            {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "architectures": ["SCMP_ARCH_X86_64"],
             "syscalls": [{"names": ["read", "write", "io_uring_setup", "io_uring_enter"], "action": "SCMP_ACT_ALLOW"}]}
            """)
        let broken = try Self.config(seccomp: """
            {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_BOGUS"}]}
            """)
        defer {
            for file in [allowing, broken] { try? FileManager.default.removeItem(atPath: (file as NSString).deletingLastPathComponent) }
        }
        let checked = try CheckPipeline(paths: [allowing, broken]).run(settings: PipelineTests.settings)
        let allowed = try #require(checked.result.workloads.first { $0.id == "oci:\(allowing)" })
        #expect(allowed.seccomp?.reachable?.ioUring == .allowed)
        #expect(allowed.seccomp?.reachable?.namespaceCreation == .denied)
        #expect(allowed.seccomp?.syscalls?.first?.allowedCalls.sorted() == ["io_uring_enter", "io_uring_setup", "read", "write"])
        #expect(checked.findings.contains { $0.workload == allowed.id && $0.rule == "esc-io-uring" })

        let refused = try #require(checked.result.workloads.first { $0.id == "oci:\(broken)" })
        #expect(refused.seccomp?.reachable == nil)
        let why = try #require(refused.unknown["seccomp.reachable"])
        #expect(why.contains(broken) && why.contains("SCMP_ACT_BOGUS"), "\(why)")
        #expect(!checked.findings.contains { $0.workload == refused.id && $0.rule == "esc-io-uring" })
    }
}
