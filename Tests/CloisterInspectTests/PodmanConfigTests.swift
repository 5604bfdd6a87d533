import CloisterModel
import CloisterSystem
import Foundation
import Testing

@testable import CloisterInspect

/// Podman's containers.conf as the scanner reads it: the distribution's file, the
/// administrator's, drop-ins in name order (a later key replaces an earlier one), each setting
/// with its file and line; a rootless user's own file as an entry of its own; a file that does
/// not parse named with its line, never half read.
@Suite("Podman containers.conf")
struct PodmanConfigTests {
    /// A host tree under a temporary directory with these files (absolute paths inside it).
    static func tree(_ files: [String: String]) throws -> HostRoot {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloister-podman-\(UUID().uuidString)").path
        for (path, text) in files {
            let full = directory + path
            try FileManager.default.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        return HostRoot(prefix: directory)
    }

    static let weakened = """
        # written by an administrator
        [containers]
        apparmor_profile = "unconfined"   # a comment after the value
        default_capabilities = [
          "CHOWN",
          "sys_admin",   # lower case is accepted by podman
          "NET_ADMIN",
        ]
        seccomp_profile = "unconfined"
        [engine]
        userns = "auto"   # not the [containers] key: ignored
        """

    @Test("the administrator's file over the distribution's, each setting with its file and line")
    func layered() throws {
        let root = try Self.tree([
            "/usr/share/containers/containers.conf": "[containers]\nuserns = \"host\"\nseccomp_profile = \"/usr/share/containers/seccomp.json\"\n",
            "/etc/containers/containers.conf": Self.weakened,
            "/etc/containers/containers.conf.d/10-userns.conf": "[containers]\nuserns = \"auto\"\n",
        ])
        let entries = PodmanConfigInspector.inspect(root: root)
        #expect(entries.count == 1)
        let facts = try #require(entries.first)
        #expect(facts.daemon == "podman")
        #expect(facts.unknown.isEmpty, "\(facts.unknown)")
        #expect(facts.settings["apparmor_profile"] == DaemonSetting(["unconfined"], source: "/etc/containers/containers.conf:3"))
        #expect(facts.settings["default_capabilities"]?.values == ["CHOWN", "sys_admin", "NET_ADMIN"])
        #expect(facts.settings["default_capabilities"]?.source == "/etc/containers/containers.conf:4")
        #expect(facts.settings["seccomp_profile"]?.source == "/etc/containers/containers.conf:9")
        #expect(facts.settings["userns"] == DaemonSetting(["auto"], source: "/etc/containers/containers.conf.d/10-userns.conf:2"))
        #expect(facts.configFile == "/etc/containers/containers.conf.d/10-userns.conf")
    }

    @Test("a rootless user's file is an entry of its own; a symlinked one is not followed")
    func userOverride() throws {
        let root = try Self.tree([
            "/usr/share/containers/containers.conf": "[containers]\nuserns = \"host\"\n",
            "/etc/passwd": "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n",
            "/home/alice/.config/containers/containers.conf": "[containers]\nseccomp_profile = \"unconfined\"\n",
        ])
        try FileManager.default.createDirectory(atPath: root.path("/home/bob/.config/containers"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: root.path("/home/bob/.config/containers/containers.conf"), withDestinationPath: "/etc/shadow")
        let entries = PodmanConfigInspector.inspect(root: root)
        #expect(entries.count == 2)
        let alice = try #require(entries.last)
        #expect(alice.settings["scope"]?.value == "user alice")
        #expect(alice.settings["seccomp_profile"]?.source == "/home/alice/.config/containers/containers.conf:2")
        #expect(alice.settings["userns"]?.value == "host", "the system file is read first")
        #expect(entries.first?.settings["scope"] == nil)
    }

    @Test("a value that is not a string, boolean or array of strings is an error with its line", arguments: [
        ("[containers]\nuserns = auto\n", ":2"), ("[containers]\ndefault_capabilities = [\"CHOWN\", 7]\n", ":2"),
        ("[containers]\ndefault_capabilities = [\n \"CHOWN\",\n", ":2"),
    ])
    func malformed(_ text: String, _ line: String) throws {
        let root = try Self.tree(["/etc/containers/containers.conf": text])
        let facts = try #require(PodmanConfigInspector.inspect(root: root).first)
        let why = try #require(facts.unknown["containers.conf"])
        #expect(why.contains("/etc/containers/containers.conf" + line), "\(why)")
    }

    @Test("no containers.conf anywhere: no podman entry")
    func absent() throws {
        #expect(PodmanConfigInspector.inspect(root: try Self.tree(["/etc/hostname": "h\n"])).isEmpty)
    }

    @Test("the installed distribution file parses whole",
          .enabled(if: FileManager.default.fileExists(atPath: "/usr/share/containers/containers.conf"), "containers-common is not installed"))
    func installed() throws {
        let facts = try #require(PodmanConfigInspector.inspect(root: HostRoot(prefix: "")).first)
        #expect(facts.unknown["containers.conf"] == nil, "\(facts.unknown)")
        // Debian 12's file sets the default capabilities, a subset of Docker's.
        #expect(facts.settings["default_capabilities"]?.values.contains("CHOWN") == true)
    }
}
