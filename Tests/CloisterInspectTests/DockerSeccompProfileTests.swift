import CloisterInspect
import Foundation
import Testing

/// moby's resolution of a profile's `includes`/`excludes` (profiles/seccomp/seccomp_linux.go):
/// tested on hand-written profiles in that format, entry by entry.
@Suite("Docker-format seccomp profiles: includes and excludes")
struct DockerSeccompProfileTests {
    static func profile(_ entries: String) throws -> [String: Any] {
        let text = #"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": ["# + entries + "]}"
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func names(_ resolution: DockerSeccompProfile.Resolution) -> [String] {
        (resolution.object["syscalls"] as? [[String: Any]] ?? []).flatMap { $0["names"] as? [String] ?? [] }
    }

    static func resolve(
        _ object: [String: Any], bounding: Set<String>? = [], architecture: String = "amd64",
        kernel: DockerSeccompProfile.KernelVersion? = .init(major: 6, minor: 1)
    ) throws -> DockerSeccompProfile.Resolution {
        try DockerSeccompProfile.resolve(object, for: .init(bounding: bounding, architecture: architecture, kernel: kernel)).get()
    }

    @Test("includes.caps needs every capability in the bounding set; excludes.caps drops on any")
    func capabilities() throws {
        let object = try Self.profile(#"""
            {"names": ["mount", "unshare"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["both"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"]}},
            {"name": "chroot", "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN", "CAP_SYS_CHROOT"]}}
            """#)
        #expect(Self.names(try Self.resolve(object, bounding: ["CAP_SYS_ADMIN"])) == ["mount", "unshare"])
        #expect(Self.names(try Self.resolve(object, bounding: ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"])) == ["mount", "unshare", "both"])
        #expect(Self.names(try Self.resolve(object, bounding: ["CAP_CHOWN"])) == ["chroot"])
        #expect(Self.names(try Self.resolve(object, bounding: ["CAP_SYS_CHROOT"])) == [])
        #expect(try Self.resolve(object, bounding: ["CAP_CHOWN"]).dropped == 2)
        // A bounding set nobody knows cannot decide a capability condition.
        #expect(throws: DockerSeccompProfile.ResolutionError.self) { try Self.resolve(object, bounding: nil) }
    }

    @Test("arches: the engine's own architecture in libseccomp's short names")
    func architectures() throws {
        let object = try Self.profile(#"""
            {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
            {"names": ["sync_file_range2"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm", "arm64"]}},
            {"names": ["not_on_s390"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["s390", "s390x"]}}
            """#)
        #expect(Self.names(try Self.resolve(object, architecture: "amd64")) == ["arch_prctl", "not_on_s390"])
        #expect(Self.names(try Self.resolve(object, architecture: "arm64")) == ["sync_file_range2", "not_on_s390"])
        #expect(Self.names(try Self.resolve(object, architecture: "s390x")) == [])
    }

    @Test("minKernel: the loading kernel's major.minor; unknown, read as met and said")
    func minimumKernel() throws {
        let object = try Self.profile(#"""
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
            {"names": ["old_only"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.10"}}
            """#)
        #expect(Self.names(try Self.resolve(object, kernel: .init(major: 4, minor: 4))) == ["old_only"])
        #expect(Self.names(try Self.resolve(object, kernel: .init(major: 4, minor: 19))) == ["ptrace", "old_only"])
        #expect(Self.names(try Self.resolve(object, kernel: .init(major: 6, minor: 1))) == ["ptrace"])
        let unknown = try Self.resolve(object, kernel: nil)
        #expect(Self.names(unknown) == ["ptrace"])
        #expect(unknown.kernelAssumed == ["4.8", "5.10"])
        #expect(DockerSeccompProfile.KernelVersion(release: "6.1.0-18-amd64") == .init(major: 6, minor: 1))
        #expect(DockerSeccompProfile.KernelVersion(release: "3.12-1-amd64") == .init(major: 3, minor: 12))
        #expect(DockerSeccompProfile.KernelVersion(release: "six") == nil)
    }

    @Test("what moby refuses is refused: a minKernel that is no version, name and names together")
    func refusals() throws {
        let badKernel = try Self.profile(#"{"names": ["x"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "latest"}}"#)
        #expect(throws: DockerSeccompProfile.ResolutionError.self) { try Self.resolve(badKernel) }
        let both = try Self.profile(#"{"name": "x", "names": ["y"], "action": "SCMP_ACT_ALLOW"}"#)
        #expect(throws: DockerSeccompProfile.ResolutionError.self) { try Self.resolve(both) }
        // Conditions are stripped from what is kept; a lone name becomes names.
        let kept = try Self.resolve(try Self.profile(#"{"name": "read", "action": "SCMP_ACT_ALLOW", "includes": {}, "excludes": {}}"#))
        let entry = try #require((kept.object["syscalls"] as? [[String: Any]])?.first)
        #expect(entry["includes"] == nil && entry["excludes"] == nil && entry["name"] == nil)
        #expect(entry["names"] as? [String] == ["read"])
    }
}
