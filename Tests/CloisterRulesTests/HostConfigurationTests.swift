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
        #expect(Self.rules.rules.count == 24)
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
