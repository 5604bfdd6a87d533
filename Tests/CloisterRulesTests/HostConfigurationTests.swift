import CloisterModel
import CloisterResourceFiles
import CloisterRules
import Testing

/// The host configuration rules on daemon facts as the scanner records them: each rule fires on
/// the setting or mode it names and stays silent on the hardened one; an unreadable
/// configuration file makes a check undecided, never silent.
@Suite("Host configuration rules")
struct HostConfigurationTests {
    static let rules: HostConfigurationRules = {
        do { return try HostConfigurationRules.load(path: Repository.rulesDirectory + "/" + HostConfigurationRules.relativePath) } catch {
            fatalError("the shipped host rules do not load:\n\(error.localizedDescription)")
        }
    }()

    static func fired(_ facts: DaemonFacts) -> Set<String> { Set(rules.judge([facts]).findings.map(\.rule)) }

    static func docker(_ settings: [String: [String]], files: [FileFacts] = [], unknown: [String: String] = [:]) -> DaemonFacts {
        DaemonFacts(
            daemon: "dockerd", pid: 42, command: ["dockerd"],
            settings: settings.mapValues { DaemonSetting($0, source: "/etc/docker/daemon.json:2") }, files: files, unknown: unknown)
    }

    static let hardenedDocker: [String: [String]] = [
        "icc": ["false"], "userns-remap": ["default"], "live-restore": ["true"], "userland-proxy": ["false"],
        "no-new-privileges": ["true"], "authorization-plugins": ["authz-broker"], "log-level": ["info"],
        "hosts": ["unix:///run/docker.sock"],
    ]

    static let goodFiles = [
        FileFacts(role: "socket", path: "/run/docker.sock", uid: 0, gid: 998, group: "docker", mode: "0660"),
        FileFacts(role: "config", path: "/etc/docker/daemon.json", uid: 0, gid: 0, group: "root", mode: "0644"),
        FileFacts(role: "config-directory", path: "/etc/docker", uid: 0, gid: 0, group: "root", mode: "0755"),
    ]

    @Test("every rule in the file has a check, and every check a rule")
    func fileAndCodeAgree() {
        #expect(Set(Self.rules.rules.map(\.id)).count == Self.rules.rules.count)
        #expect(Self.rules.rules.count == 28)
    }

    static func podman(_ settings: [String: [String]], unknown: [String: String] = [:]) -> DaemonFacts {
        DaemonFacts(
            daemon: "podman", configFile: "/etc/containers/containers.conf",
            settings: settings.mapValues { DaemonSetting($0, source: "/etc/containers/containers.conf:7") }, unknown: unknown)
    }

    @Test("podman: each weakened containers.conf setting fires its rule with the file and line; the defaults fire only userns")
    func podmanSettings() throws {
        let hardened: [String: [String]] = [
            "default_capabilities": ["CHOWN", "dac_override", "CAP_KILL"], "seccomp_profile": ["/usr/share/containers/seccomp.json"],
            "apparmor_profile": ["container-default"], "userns": ["auto"],
        ]
        #expect(Self.fired(Self.podman(hardened)).isEmpty)
        for (key, values, rule) in [
            ("default_capabilities", ["CHOWN", "sys_admin"], "podman-default-capabilities-added"),
            ("seccomp_profile", ["unconfined"], "podman-seccomp-unconfined-default"),
            ("apparmor_profile", ["unconfined"], "podman-apparmor-unconfined-default"),
            ("userns", ["host"], "podman-userns-host-default"),
        ] {
            var settings = hardened
            settings[key] = values
            let findings = Self.rules.judge([Self.podman(settings)]).findings
            #expect(Set(findings.map(\.rule)) == [rule], "\(key)")
            #expect(findings.first?.message.contains("/etc/containers/containers.conf:7") == true, "\(findings.first?.message ?? "")")
        }
        let capabilities = Self.rules.judge([Self.podman(["default_capabilities": ["CHOWN", "sys_admin"]])]).findings
        #expect(capabilities.first?.message.contains("CAP_SYS_ADMIN") == true)
        #expect(capabilities.first?.severity == .high)
        // Nothing set: podman's defaults; only the user namespace default is a finding.
        #expect(Self.fired(Self.podman([:])) == ["podman-userns-host-default"])
        // A rootless user's file: that podman runs in the user's namespace whatever userns says.
        #expect(Self.fired(Self.podman(["scope": ["user alice"]])).isEmpty)
        // A file that did not parse: undecided, never silent by default.
        let unread = Self.rules.judge([Self.podman([:], unknown: ["containers.conf": "/etc/containers/containers.conf:3: broken"])])
        #expect(unread.findings.isEmpty)
        #expect(Set(unread.undecided.map(\.rule)).isSuperset(of: ["podman-userns-host-default", "podman-seccomp-unconfined-default"]))
    }

    @Test("a hardened dockerd with tight files fires nothing")
    func hardened() {
        #expect(Self.fired(Self.docker(Self.hardenedDocker, files: Self.goodFiles)).isEmpty)
    }

    @Test("each weakened setting fires its rule, and only it", arguments: [
        ("icc", ["true"], "docker-icc-enabled"), ("userns-remap", [""], "docker-no-userns-remap"),
        ("live-restore", ["false"], "docker-live-restore-disabled"), ("userland-proxy", ["true"], "docker-userland-proxy-enabled"),
        ("no-new-privileges", ["false"], "docker-no-new-privileges-default"), ("authorization-plugins", [], "docker-no-authorization-plugin"),
        ("log-level", ["debug"], "docker-log-level-not-info"), ("seccomp-profile", ["unconfined"], "docker-seccomp-unconfined-default"),
        ("hosts", ["unix:///run/docker.sock", "tcp://0.0.0.0:2375"], "docker-tcp-without-tlsverify"),
    ])
    func weakened(_ key: String, _ values: [String], _ rule: String) {
        var settings = Self.hardenedDocker
        settings[key] = values
        #expect(Self.fired(Self.docker(settings, files: Self.goodFiles)) == [rule])
    }

    @Test("TCP with --tlsverify is silent; defaults (nothing set) fire the defaults' rules")
    func tlsAndDefaults() {
        var settings = Self.hardenedDocker
        settings["hosts"] = ["tcp://0.0.0.0:2376"]
        settings["tlsverify"] = ["true"]
        #expect(Self.fired(Self.docker(settings, files: Self.goodFiles)).isEmpty)
        #expect(Self.fired(Self.docker([:], files: Self.goodFiles)) == [
            "docker-icc-enabled", "docker-no-userns-remap", "docker-live-restore-disabled", "docker-userland-proxy-enabled",
            "docker-no-new-privileges-default", "docker-no-authorization-plugin",
        ])
    }

    @Test("modes and owners more open than CIS allows", arguments: [
        (FileFacts(role: "socket", path: "/run/docker.sock", uid: 0, gid: 998, group: "docker", mode: "0666"), "docker-socket-permissions"),
        (FileFacts(role: "socket", path: "/run/docker.sock", uid: 1000, gid: 998, group: "docker", mode: "0660"), "docker-socket-ownership"),
        (FileFacts(role: "socket", path: "/run/docker.sock", uid: 0, gid: 100, group: "users", mode: "0660"), "docker-socket-ownership"),
        (FileFacts(role: "config", path: "/etc/docker/daemon.json", uid: 0, gid: 0, group: "root", mode: "0664"), "docker-daemon-json-permissions"),
        (FileFacts(role: "config", path: "/etc/docker/daemon.json", uid: 1000, gid: 0, group: "root", mode: "0644"), "docker-daemon-json-ownership"),
        (FileFacts(role: "config-directory", path: "/etc/docker", uid: 0, gid: 0, group: "root", mode: "0777"), "docker-config-directory-permissions"),
        (FileFacts(role: "config-directory", path: "/etc/docker", uid: 0, gid: 4, group: "adm", mode: "0755"), "docker-config-directory-ownership"),
    ])
    func files(_ file: FileFacts, _ rule: String) {
        let files = Self.goodFiles.filter { $0.role != file.role } + [file]
        #expect(Self.fired(Self.docker(Self.hardenedDocker, files: files)) == [rule])
    }

    @Test("an unreadable daemon.json makes the setting checks undecided, not silent")
    func unreadableConfig() {
        let facts = Self.docker([:], files: Self.goodFiles, unknown: ["daemon.json": "/etc/docker/daemon.json is not a JSON object"])
        let judged = Self.rules.judge([facts])
        #expect(judged.findings.isEmpty)
        #expect(Set(judged.undecided.map(\.rule)).isSuperset(of: ["docker-icc-enabled", "docker-no-userns-remap"]))
    }

    @Test("containerd's socket")
    func containerd() {
        let loose = DaemonFacts(daemon: "containerd", pid: 7, files: [FileFacts(role: "socket", path: "/run/containerd/containerd.sock", uid: 0, gid: 999, group: "docker", mode: "0666")])
        #expect(Self.fired(loose) == ["containerd-socket-ownership", "containerd-socket-permissions"])
        let tight = DaemonFacts(daemon: "containerd", pid: 7, files: [FileFacts(role: "socket", path: "/run/containerd/containerd.sock", uid: 0, gid: 0, group: "root", mode: "0660")])
        #expect(Self.fired(tight).isEmpty)
    }

    @Test("containerd's config.toml: gRPC on TCP without TLS, AppArmor disabled for CRI")
    func containerdConfig() {
        func facts(_ settings: [String: String]) -> DaemonFacts {
            DaemonFacts(daemon: "containerd", pid: 7, settings: settings.mapValues { DaemonSetting([$0], source: "/etc/containerd/config.toml:3") })
        }
        #expect(Self.fired(facts(["grpc.tcp_address": "0.0.0.0:10010"])) == ["containerd-grpc-tcp-without-tls"])
        #expect(Self.fired(facts(["grpc.tcp_address": "0.0.0.0:10010", "grpc.tcp_tls_cert": "/etc/containerd/tls.crt"])).isEmpty)
        #expect(Self.fired(facts(["grpc.tcp_address": ""])).isEmpty)
        #expect(Self.fired(facts(["plugins.io.containerd.grpc.v1.cri.disable_apparmor": "true"])) == ["containerd-cri-apparmor-disabled"])
        #expect(Self.fired(facts(["plugins.io.containerd.grpc.v1.cri.disable_apparmor": "false"])).isEmpty)
    }

    static func qemuConf(_ settings: [String: String]) -> DaemonFacts {
        DaemonFacts(daemon: "libvirt", configFile: "/etc/libvirt/qemu.conf",
                    settings: settings.mapValues { DaemonSetting([$0], source: "/etc/libvirt/qemu.conf:1") })
    }

    @Test("libvirt's qemu.conf: the shipped defaults fire nothing; each weakening fires its rule", arguments: [
        (["security_driver": "none"], "libvirt-security-driver-none"), (["user": "root"], "libvirt-qemu-user-root"),
        (["user": "+0"], "libvirt-qemu-user-root"), (["seccomp_sandbox": "0"], "libvirt-seccomp-sandbox-off"),
        (["vnc_listen": "0.0.0.0"], "libvirt-vnc-listen-unprotected"), (["spice_listen": "::"], "libvirt-spice-listen-unprotected"),
    ])
    func libvirt(_ settings: [String: String], _ rule: String) {
        #expect(Self.fired(Self.qemuConf([:])).isEmpty)
        #expect(Self.fired(Self.qemuConf(settings)) == [rule])
    }

    @Test("a VNC console on every interface with TLS or SASL is protected")
    func protectedConsoles() {
        #expect(Self.fired(Self.qemuConf(["vnc_listen": "0.0.0.0", "vnc_tls": "1"])).isEmpty)
        #expect(Self.fired(Self.qemuConf(["vnc_listen": "0.0.0.0", "vnc_sasl": "1"])).isEmpty)
        #expect(Self.fired(Self.qemuConf(["spice_listen": "127.0.0.1"])).isEmpty)
    }

    @Test("a host rule the program has no check for is refused with its line")
    func unknownRule() {
        let text = "version: 1\nrules:\n  - {id: docker-nonsense, daemon: dockerd, title: t, severity: low}\n"
        #expect(throws: (any Error).self) { try HostConfigurationRules.parse(yaml: text, file: "h.yaml") }
    }
}
