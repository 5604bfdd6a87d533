import CloisterModel
import CloisterRules
import Testing

/// `under` and `covers` compare paths component by component, after reading the posture's path
/// lexically; the shipped sensitive-mount rules rest on them.
@Suite("Path operators")
struct PathOperatorTests {
    func fires(_ condition: String, hostPath: String?) throws -> Bool {
        let rules = try RulePack.parse(
            yaml: ResolutionTests.rule(when: condition), file: "r.yaml", includeCases: false)
        var posture = Posture(id: "podman:a", kind: .container, runtime: "podman", name: "a")
        posture.mounts = [Mount(source: "x", target: "/x", readOnly: false, type: "bind", hostPath: hostPath)]
        return !RuleEngine(pack: RulePack(rules: rules)).evaluate([posture]).isEmpty
    }

    static let underVar = "{field: mounts, where: {field: hostPath, under: [/var, /etc/kubernetes]}}"
    static let coversDocker = "{field: mounts, where: {field: hostPath, covers: /var/lib/docker}}"

    @Test("under: the directory itself and anything in it, not a name that only begins like it", arguments: [
        ("/var", true), ("/var/lib/x", true), ("/var/", true), ("//var//lib", true), ("/etc/kubernetes/pki", true),
        ("/variable", false), ("/etc", false), ("/etc/kubernetesx", false), ("/", false), ("var/lib", false),
        ("/srv/../var/log", true), ("/var/../etc", false), ("/../../var", true),
    ])
    func under(hostPath: String, expected: Bool) throws {
        #expect(try fires(Self.underVar, hostPath: hostPath) == expected)
    }

    @Test("covers: the path itself and every directory that holds it", arguments: [
        ("/", true), ("/var", true), ("/var/lib", true), ("/var/lib/docker", true), ("/var/lib/", true),
        ("/var/lib/docker/containers", false), ("/var/li", false), ("/var/lib/dock", false), ("/srv", false),
        ("relative", false), ("/var/lib/docker/..", true),
    ])
    func covers(hostPath: String, expected: Bool) throws {
        #expect(try fires(Self.coversDocker, hostPath: hostPath) == expected)
    }

    @Test("An unset host path holds for neither")
    func unset() throws {
        #expect(try !fires(Self.underVar, hostPath: nil))
        #expect(try !fires(Self.coversDocker, hostPath: nil))
    }

    @Test("The rule's own paths must be absolute and plain", arguments: ["var", "/var/", "/var/../etc", "//var", "/var/./lib"])
    func plainPathsOnly(path: String) {
        let problems = ResolutionTests().messages(
            ResolutionTests.rule(when: "{field: mounts, where: {field: hostPath, under: [\"\(path)\"]}}"))
        #expect(problems.contains { $0.contains("absolute paths written plainly") }, "\(problems)")
    }

    @Test("They apply to text only")
    func textOnly() {
        let problems = ResolutionTests().messages(ResolutionTests.rule(when: "{field: user.uid, covers: /var}"))
        #expect(problems.contains { $0.contains("`covers` applies to text") }, "\(problems)")
    }

    // The shipped rules, on the mounts the live engines make (issue 19).

    static let dockerID = String(repeating: "ab", count: 32)

    func sensitive(_ mount: Mount) -> [String] {
        var posture = HardenedPosture.make(kind: .container, id: "docker:\(Self.dockerID)")
        posture.mounts.append(mount)
        return RuleEngine(pack: Shipped.pack).evaluate([posture]).map(\.rule).filter { $0.hasPrefix("ct-sensitive-mount") }
    }

    @Test("Docker's own per-container files are not sensitive mounts; the same path declared is")
    func dockerOwnFiles() {
        let path = "/var/lib/docker/containers/\(Self.dockerID)/hosts"
        #expect(sensitive(Mount(source: "/dev/vda1", target: "/etc/hosts", readOnly: false, type: "ext4", hostPath: path, managedBy: "docker")).isEmpty)
        #expect(sensitive(Mount(source: "/dev/vda1", target: "/etc/hosts", readOnly: false, type: "ext4", hostPath: path)) == ["ct-sensitive-mount-rw"])
        #expect(sensitive(Mount(source: "/dev/vda1", target: "/etc/hosts", readOnly: true, type: "ext4", hostPath: path)) == ["ct-sensitive-mount-ro"])
    }

    @Test("A Kubernetes hostPath of /var, read-write, is a critical sensitive mount", arguments: ["/var", "/var/", "/var/run", "/run", "/var/lib/kubelet"])
    func hostPathVar(path: String) {
        #expect(sensitive(Mount(source: "v", target: "/host", readOnly: false, type: "bind", hostPath: path)) == ["ct-sensitive-mount-rw"])
    }

    @Test("Application data beside the engines' directories is not sensitive", arguments: ["/var/lib/app", "/var/log/app", "/srv/data", "/home/u/data", "/run/user/1000/x", "/variable"])
    func applicationData(path: String) {
        #expect(sensitive(Mount(source: "v", target: "/data", readOnly: false, type: "bind", hostPath: path)).isEmpty)
    }
}
