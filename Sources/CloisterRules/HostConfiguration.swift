import CloisterModel
import Yams

// Host configuration findings: the daemons' settings and the modes of their sockets and files
// (HostFacts.daemons) judged by the checks below, whose titles, severities, CIS Docker Benchmark
// items and remediations are data (rules/host/daemons.yaml). A check is code because it reads
// daemon facts, not a posture; the file and the code must name the same checks (a test holds
// them equal). Each finding is the host's (`workload: "host"`), naming the daemon it concerns.

public struct HostConfigurationRules: Sendable {
    public static let supportedVersion = 1
    public static let relativePath = "host/daemons.yaml"

    public struct Rule: Sendable, Equatable {
        public var id: String
        public var daemon: String
        public var title: String
        public var severity: Severity
        /// CIS Docker Benchmark 1.6.0 item, when the check decides exactly that item.
        public var cis: String?
        public var remediation: String
        public var urls: [String]
    }

    public var rules: [Rule]

    /// What one check found: fired with the evidence, silent, or undecided with why.
    enum Outcome {
        case fired(detail: String, evidence: [String: String])
        case silent
        case undecided(String)
    }

    /// Every check the code knows, by rule id.
    static let checks: [String: @Sendable (DaemonFacts) -> Outcome] = [
        "docker-icc-enabled": { facts in
            setting(facts, "icc", default: "true") { value, source in
                value == "false" ? nil : "inter-container communication on the default bridge is \(value == "true" ? "on" : value) (\(source))"
            }
        },
        "docker-log-level-not-info": { facts in
            setting(facts, "log-level", default: "info") { value, source in
                value == "info" ? nil : "log level \(value) (\(source))"
            }
        },
        "docker-tcp-without-tlsverify": { facts in
            let hosts = facts.settings["hosts"]?.values ?? []
            let tcp = hosts.filter { $0.hasPrefix("tcp://") }
            guard !tcp.isEmpty else { return undecidedIfConfigUnread(facts) ?? .silent }
            let verify = facts.settings["tlsverify"]
            if verify?.value == "true" { return .silent }
            return .fired(
                detail: "the API listens on \(tcp.joined(separator: ", ")) without --tlsverify: anyone who reaches it is root on the host (\(facts.settings["hosts"]?.source ?? "argv"))",
                evidence: evidence(facts, ["hosts": hosts.joined(separator: ","), "tlsverify": verify?.value ?? "unset"]))
        },
        "docker-no-userns-remap": { facts in
            setting(facts, "userns-remap", default: "") { value, source in
                value.isEmpty ? "no user namespace remapping: root in a container is root on the host" : nil
            }
        },
        "docker-no-authorization-plugin": { facts in
            let plugins = facts.settings["authorization-plugins"]?.values ?? []
            if !plugins.isEmpty { return .silent }
            if let undecided = undecidedIfConfigUnread(facts) { return undecided }
            return .fired(detail: "no authorization plugin: every client of the socket may do anything", evidence: evidence(facts, ["authorization-plugins": ""]))
        },
        "docker-no-new-privileges-default": { facts in
            setting(facts, "no-new-privileges", default: "false") { value, source in
                value == "true" ? nil : "containers may gain privileges through setuid binaries unless each sets no-new-privileges"
            }
        },
        "docker-live-restore-disabled": { facts in
            setting(facts, "live-restore", default: "false") { value, source in
                value == "true" ? nil : "live restore is off: stopping or upgrading dockerd stops every container"
            }
        },
        "docker-userland-proxy-enabled": { facts in
            setting(facts, "userland-proxy", default: "true") { value, source in
                value == "false" ? nil : "the userland proxy handles published ports (\(source))"
            }
        },
        "docker-seccomp-unconfined-default": { facts in
            setting(facts, "seccomp-profile", default: "") { value, source in
                value == "unconfined" ? "the default seccomp profile is unconfined for every container (\(source))" : nil
            }
        },
        "docker-socket-ownership": { facts in
            ownership(facts, role: "socket", user: 0, groups: ["docker", "root"], wanted: "root:docker")
        },
        "docker-socket-permissions": { facts in permissions(facts, role: "socket", allowed: 0o660) },
        "docker-config-directory-ownership": { facts in
            ownership(facts, role: "config-directory", user: 0, groups: ["root"], wanted: "root:root")
        },
        "docker-config-directory-permissions": { facts in permissions(facts, role: "config-directory", allowed: 0o755) },
        "docker-daemon-json-ownership": { facts in ownership(facts, role: "config", user: 0, groups: ["root"], wanted: "root:root") },
        "docker-daemon-json-permissions": { facts in permissions(facts, role: "config", allowed: 0o644) },
        "containerd-socket-ownership": { facts in ownership(facts, role: "socket", user: 0, groups: ["root"], wanted: "root:root") },
        "containerd-socket-permissions": { facts in permissions(facts, role: "socket", allowed: 0o660) },
        "containerd-grpc-tcp-without-tls": { facts in
            guard let address = facts.settings["grpc.tcp_address"], let value = address.value, !value.isEmpty else { return .silent }
            if let cert = facts.settings["grpc.tcp_tls_cert"]?.value, !cert.isEmpty { return .silent }
            return .fired(
                detail: "containerd's gRPC API listens on \(value) without TLS (\(address.source)): whoever reaches it runs containers as root",
                evidence: evidence(facts, ["grpc.tcp_address": value, "grpc.tcp_tls_cert": "unset"]))
        },
        "containerd-cri-apparmor-disabled": { facts in
            let keys = ["plugins.io.containerd.grpc.v1.cri.disable_apparmor", "plugins.io.containerd.cri.v1.runtime.disable_apparmor"]
            guard let key = keys.first(where: { facts.settings[$0]?.value == "true" }), let setting = facts.settings[key] else { return .silent }
            return .fired(
                detail: "disable_apparmor = true (\(setting.source)): Kubernetes containers run without AppArmor whatever their pod asks",
                evidence: evidence(facts, [key: "true"]))
        },
        "libvirt-security-driver-none": { facts in
            guard let setting = facts.settings["security_driver"] else { return undecidedIfConfigUnread(facts) ?? .silent }
            return setting.values.contains("none")
                ? .fired(detail: "security_driver = \"none\": no sVirt label, qemu confined by neither SELinux nor AppArmor (\(setting.source))",
                         evidence: evidence(facts, ["security_driver": setting.values.joined(separator: ",")]))
                : .silent
        },
        "libvirt-qemu-user-root": { facts in
            guard let setting = facts.settings["user"] else { return undecidedIfConfigUnread(facts) ?? .silent }
            return ["root", "+0", "0"].contains(setting.value ?? "")
                ? .fired(detail: "qemu runs as root (\(setting.source)): a guest escape is root on the host",
                         evidence: evidence(facts, ["user": setting.value ?? ""]))
                : .silent
        },
        "libvirt-seccomp-sandbox-off": { facts in
            guard let setting = facts.settings["seccomp_sandbox"] else { return undecidedIfConfigUnread(facts) ?? .silent }
            return setting.value == "0"
                ? .fired(detail: "seccomp_sandbox = 0: qemu runs without -sandbox (\(setting.source))",
                         evidence: evidence(facts, ["seccomp_sandbox": "0"]))
                : .silent
        },
        "podman-default-capabilities-added": { facts in
            guard let setting = facts.settings["default_capabilities"] else { return undecidedIfConfigUnread(facts) ?? .silent }
            let added = setting.values.map(capabilityName).filter { !dockerDefaultCapabilities.contains($0) }
            guard !added.isEmpty else { return .silent }
            return .fired(
                detail: "default_capabilities adds \(added.joined(separator: ", ")) to every container (\(setting.source))",
                evidence: evidence(facts, ["default_capabilities": setting.values.joined(separator: ",")]))
        },
        "podman-seccomp-unconfined-default": { facts in
            guard let setting = facts.settings["seccomp_profile"] else { return undecidedIfConfigUnread(facts) ?? .silent }
            return setting.value == "unconfined"
                ? .fired(detail: "seccomp_profile = \"unconfined\": every container runs without seccomp (\(setting.source))",
                         evidence: evidence(facts, ["seccomp_profile": "unconfined"]))
                : .silent
        },
        "podman-apparmor-unconfined-default": { facts in
            guard let setting = facts.settings["apparmor_profile"] else { return undecidedIfConfigUnread(facts) ?? .silent }
            return setting.value == "unconfined"
                ? .fired(detail: "apparmor_profile = \"unconfined\": containers run without AppArmor where the host has it (\(setting.source))",
                         evidence: evidence(facts, ["apparmor_profile": "unconfined"]))
                : .silent
        },
        "podman-userns-host-default": { facts in
            // A rootless user's podman runs in that user's namespace whatever `userns` says.
            if facts.settings["scope"] != nil { return .silent }
            // containers.conf(5): userns defaults to "host"; an empty value means the same.
            return setting(facts, "userns", default: "host") { value, source in
                value.isEmpty || value == "host"
                    ? "userns \(value.isEmpty ? "unset" : "= \"\(value)\"") (\(source)): root in a container is root on the host"
                    : nil
            }
        },
        "libvirt-vnc-listen-unprotected": { facts in consoleListen(facts, protocol: "vnc") },
        "libvirt-spice-listen-unprotected": { facts in consoleListen(facts, protocol: "spice") },
    ]

    /// What Docker (and podman before 4.0) grants when nothing is added: capabilities beyond
    /// these, made every container's default, are added ones.
    static let dockerDefaultCapabilities: Set<String> = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]

    /// `sys_admin`, `SYS_ADMIN` and `CAP_SYS_ADMIN` are the same capability to podman.
    static func capabilityName(_ text: String) -> String {
        let upper = text.uppercased()
        return upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
    }

    static func evidence(_ facts: DaemonFacts, _ fields: [String: String]) -> [String: String] {
        let prefix = "daemons.\(facts.daemon)" + (facts.pid.map { "[pid \($0)]" } ?? "")
        var result: [String: String] = [:]
        for (key, value) in fields { result["\(prefix).\(key)"] = value }
        return result
    }

    static func undecidedIfConfigUnread(_ facts: DaemonFacts) -> Outcome? {
        guard let why = facts.unknown["daemon.json"] ?? facts.unknown["qemu.conf"] ?? facts.unknown["containers.conf"] else { return nil }
        return .undecided(why)
    }

    /// A setting's effective value (the daemon's default where neither argv nor the file sets
    /// it); `judge` returns the finding's detail, or nil when the value is right.
    static func setting(_ facts: DaemonFacts, _ key: String, default fallback: String,
                        judge: (String, String) -> String?) -> Outcome {
        let set = facts.settings[key]
        if set == nil, let undecided = undecidedIfConfigUnread(facts) { return undecided }
        let value = set?.value ?? fallback
        let source = set?.source ?? "default"
        guard let detail = judge(value, source) else { return .silent }
        return .fired(detail: detail, evidence: evidence(facts, [key: "\(value) (\(source))"]))
    }

    static func ownership(_ facts: DaemonFacts, role: String, user: UInt32, groups: Set<String>, wanted: String) -> Outcome {
        let wrong = facts.files.filter { file in
            file.role == role && (file.uid != user || !(groups.contains(file.group ?? "") || (file.gid == 0 && groups.contains("root"))))
        }
        guard !wrong.isEmpty else { return .silent }
        return .fired(
            detail: wrong.map { "\($0.path) is owned by \($0.uid):\($0.group ?? String($0.gid)), not \(wanted)" }.joined(separator: "; "),
            evidence: evidence(facts, Dictionary(wrong.map { ("\($0.path).owner", "\($0.uid):\($0.gid)") }, uniquingKeysWith: { a, _ in a })))
    }

    static func permissions(_ facts: DaemonFacts, role: String, allowed: UInt32) -> Outcome {
        let wrong = facts.files.filter { $0.role == role && $0.permissions & ~allowed != 0 }
        guard !wrong.isEmpty else { return .silent }
        return .fired(
            detail: wrong.map { "\($0.path) has mode \($0.mode), more open than 0\(String(allowed, radix: 8))" }.joined(separator: "; "),
            evidence: evidence(facts, Dictionary(wrong.map { ("\($0.path).mode", $0.mode) }, uniquingKeysWith: { a, _ in a })))
    }

    /// A VNC or SPICE console on every interface with neither TLS nor SASL (libvirt's
    /// `*_listen`, `*_tls`, `*_sasl`; the listen default is 127.0.0.1).
    static func consoleListen(_ facts: DaemonFacts, protocol name: String) -> Outcome {
        guard let listen = facts.settings["\(name)_listen"] else { return undecidedIfConfigUnread(facts) ?? .silent }
        let address = listen.value ?? ""
        guard ["0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0"].contains(address) else { return .silent }
        let tls = facts.settings["\(name)_tls"]?.value == "1"
        let sasl = facts.settings["\(name)_sasl"]?.value == "1"
        if tls || sasl { return .silent }
        return .fired(
            detail: "\(name)_listen = \"\(address)\" (\(listen.source)) with neither \(name)_tls nor \(name)_sasl: guests' consoles are open to the network",
            evidence: evidence(facts, ["\(name)_listen": address, "\(name)_tls": facts.settings["\(name)_tls"]?.value ?? "unset",
                                       "\(name)_sasl": facts.settings["\(name)_sasl"]?.value ?? "unset"]))
    }

    // MARK: Judging

    public struct Result: Sendable {
        public var findings: [Finding]
        /// Rule ids and why, for the checks that could not decide.
        public var undecided: [(rule: String, daemon: String, why: String)]
    }

    public func judge(_ daemons: [DaemonFacts]) -> Result {
        var result = Result(findings: [], undecided: [])
        for facts in daemons {
            for rule in rules where rule.daemon == facts.daemon {
                guard let check = Self.checks[rule.id] else { continue }
                switch check(facts) {
                case .silent: break
                case .undecided(let why): result.undecided.append((rule.id, facts.daemon, why))
                case .fired(let detail, let evidence):
                    var references: [Reference] = []
                    if let cis = rule.cis { references += CISDockerNumbering.references(forItem: cis) }
                    references += rule.urls.map { Reference(source: "url", id: $0, url: $0) }
                    let who = facts.daemon + (facts.pid.map { " (pid \($0))" } ?? "")
                    result.findings.append(Finding(
                        rule: rule.id, severity: rule.severity, workload: HostAdvisories.hostWorkload,
                        message: "\(who): \(rule.title): \(detail)", evidence: evidence, references: references))
                }
            }
        }
        return result
    }

    // MARK: Reading

    public static func parse(yaml text: String, file: String) throws -> HostConfigurationRules {
        let (root, problems) = try YAMLFile.open(text, file: file, known: supportedVersion, what: "host rule")
        var rules: [Rule] = []
        for pair in root.pairs {
            switch pair.key {
            case "version": break
            case "rules":
                for item in pair.value.items {
                    var values: [String: String] = [:]
                    var urls: [String] = []
                    for field in item.pairs {
                        switch field.key {
                        case "id", "daemon", "title", "severity", "cis", "remediation": values[field.key] = field.value.string
                        case "urls": urls = field.value.items.compactMap(\.string)
                        default: problems.fail(field.keyNode, "unknown key `\(field.key)` in a host rule")
                        }
                    }
                    guard let id = values["id"], let daemon = values["daemon"], let title = values["title"],
                        let severity = values["severity"].flatMap(Severity.init(rawValue:))
                    else {
                        problems.fail(item, "a host rule needs id, daemon, title and severity")
                        continue
                    }
                    guard checks[id] != nil else {
                        problems.fail(item, "host rule `\(id)` has no check in this program (known: \(checks.keys.sorted().joined(separator: ", ")))")
                        continue
                    }
                    if rules.contains(where: { $0.id == id }) { problems.fail(item, "host rule `\(id)` is listed twice") }
                    rules.append(Rule(
                        id: id, daemon: daemon, title: title, severity: severity, cis: values["cis"],
                        remediation: values["remediation"] ?? "", urls: urls))
                }
            default: problems.fail(pair.keyNode, "unknown key `\(pair.key)` (version, rules)")
            }
        }
        try problems.throwIfAny()
        return HostConfigurationRules(rules: rules)
    }
}
