import CloisterCodec
import CloisterModel

/// Compose files (compose-spec, services) → one declared posture per service, with the
/// defaults Docker and Podman apply.
public enum Compose {
    public static func isCompose(_ root: DocNode) -> Bool {
        root["services"]?.entries != nil
    }

    public static func postures(_ root: DocNode, file: String, project: String) throws(DocumentError) -> [Posture] {
        let document = DocCursor(root)
        guard let services = document["services"] else { throw document.error("has no services") }
        let declaredProject = try document["name"]?.string()
        let projectName = declaredProject ?? project
        var result: [Posture] = []
        for (serviceName, service) in try services.mapping() {
            result.append(try posture(service, name: serviceName, project: projectName, file: file))
        }
        return result
    }

    /// `512m`, `1g`, `1gb`, `2048k`, `100` (bytes) as Compose and Docker write sizes.
    public static func bytes(_ text: String) -> UInt64? {
        let lower = text.lowercased().trimmingCharacters()
        let units: [(String, Double)] = [
            ("kb", 1024), ("mb", 1_048_576), ("gb", 1_073_741_824), ("tb", 1_099_511_627_776), ("k", 1024),
            ("m", 1_048_576), ("g", 1_073_741_824), ("t", 1_099_511_627_776), ("b", 1),
        ]
        for (unit, factor) in units where lower.hasSuffix(unit) {
            guard let number = Double(lower.dropLast(unit.count)), number >= 0, number < 1.6e19 / factor else { return nil }
            return UInt64(number * factor)
        }
        guard let number = Double(lower), number >= 0, number < 1.8e19 else { return nil }
        return UInt64(number)
    }

    /// The OCI runtime a Compose `runtime:` names, when the name is one's own (`runc`, `crun`,
    /// `runsc`, `youki`, `kata`, `kata-runtime`, `io.containerd.kata.v2`).
    public static func ociRuntime(named name: String) -> String? {
        let last = String(name.split(separator: "/").last ?? Substring(name))
        if ["runc", "crun", "runsc", "youki"].contains(last) { return last }
        if last.hasPrefix("kata") || last == "io.containerd.kata.v2" { return "kata" }
        if last == "io.containerd.runsc.v1" { return "runsc" }
        return nil
    }

    static func posture(_ service: DocCursor, name: String, project: String, file: String) throws(DocumentError) -> Posture {
        guard service.node.entries != nil || service.node.isNull else { throw service.error("must be a mapping") }
        var builder = DeclaredPosture(
            id: "compose:\(project)/\(name)", kind: .container, runtime: "compose", name: "\(project)/\(name)", file: file,
            at: service)
        if let command = service["command"] {
            if let elements = command.node.elements {
                builder.posture.command = elements.compactMap(\.text)
            } else {
                builder.posture.command = (try command.string()).split(separator: " ").map(String.init)
            }
        }
        // `runtime:` names a runtime the Docker daemon knows; a name that is an OCI runtime's own
        // says which one creates the container (others, such as a vendor wrapper, say nothing).
        if let runtime = service["runtime"], let name = Self.ociRuntime(named: try runtime.string()) {
            builder.posture.ociRuntime = name
            builder.declared("ociRuntime", at: runtime)
        }
        let privilegedCursor = service["privileged"]
        let privileged = try privilegedCursor?.bool() ?? false

        // security_opt: seccomp, apparmor, label, no-new-privileges (docker run --security-opt),
        // each as `key=value` or the older `key:value`.
        var seccomp: (value: String, at: DocCursor)?
        var apparmor: (value: String, at: DocCursor)?
        var labels: [(value: String, at: DocCursor)] = []
        var noNewPrivileges: (value: Bool, at: DocCursor)?
        var systemPathsUnconfined = false
        for option in try service["security_opt"]?.list() ?? [] {
            let text = try option.string()
            let separator = text.firstIndex(where: { $0 == "=" || $0 == ":" })
            let key = separator.map { String(text[..<$0]) } ?? text
            let value = separator.map { String(text[text.index(after: $0)...]) } ?? ""
            switch key {
            case "seccomp": seccomp = (value, option)
            case "apparmor": apparmor = (value, option)
            case "label": labels.append((value, option))
            case "no-new-privileges": noNewPrivileges = (value.isEmpty || value == "true", option)
            case "systempaths": systemPathsUnconfined = value == "unconfined"
            default: break
            }
        }

        // Namespaces: private unless a *_mode says host.
        func mode(_ key: String, _ field: NamespaceType) throws(DocumentError) {
            if let cursor = service[key] {
                let value = try cursor.string()
                builder.posture.namespaces[field] = value == "host" ? .host : .private
                builder.declared("namespaces.\(field.rawValue)", at: cursor)
            } else {
                builder.posture.namespaces[field] = .private
            }
        }
        try mode("pid", .pid)
        try mode("ipc", .ipc)
        try mode("network_mode", .net)
        try mode("uts", .uts)
        builder.posture.namespaces.mnt = .private
        builder.posture.namespaces.time = .host
        if let cgroup = service["cgroup"] {
            builder.posture.namespaces.cgroup = try cgroup.string() == "host" ? .host : .private
            builder.declared("namespaces.cgroup", at: cgroup)
        } else {
            builder.unknown(.namespace(.cgroup), "private on cgroup v2 hosts, the host's on cgroup v1 hosts")
        }
        if let userns = service["userns_mode"] {
            let value = try userns.string()
            builder.posture.namespaces.user = value == "host" ? .host : .private
            builder.declared("namespaces.user", at: userns)
        } else {
            builder.posture.namespaces.user = .host
            builder.defaulted("namespaces.user", DefaultSource.dockerUserNamespace, at: service)
        }
        if builder.posture.namespaces.user == .host {
            builder.posture.user.rootMappedToHost = true
        }

        if let user = service["user"] {
            let text = try user.string()
            let parts = text.split(separator: ":", maxSplits: 1)
            if let first = parts.first, let uid = UInt32(first) {
                builder.posture.user.uid = uid
                builder.posture.user.hostUid = builder.posture.namespaces.user == .host ? uid : nil
            } else if parts.first == "root" {
                builder.posture.user.uid = 0
            } else {
                builder.unknown(.userUid, "the image's passwd entry for \(text)")
            }
            if parts.count == 2, let gid = UInt32(parts[1]) { builder.posture.user.gid = gid }
            builder.declared("user.uid", at: user)
        } else {
            builder.unknown(.userUid, "the image's USER (often root)")
        }

        // Capabilities.
        let add = try (service["cap_add"]?.list() ?? []).map { c throws(DocumentError) in try c.string() }
        let drop = try (service["cap_drop"]?.list() ?? []).map { c throws(DocumentError) in try c.string() }
        let bounding =
            privileged ? LinuxCapabilities.all : LinuxCapabilities.adjust(LinuxCapabilities.dockerDefault, add: add, drop: drop)
        let dropsAll = drop.contains { LinuxCapabilities.normalize($0) == "ALL" }
        for set in ["bounding", "effective", "permitted"] {
            if privileged {
                builder.defaulted("capabilities.\(set)", DefaultSource.dockerPrivileged, at: privilegedCursor)
            } else if !dropsAll {
                builder.defaulted("capabilities.\(set)", DefaultSource.dockerCapabilities, at: service["cap_add"] ?? service["cap_drop"] ?? service)
            }
            if let cursor = service["cap_add"] ?? service["cap_drop"] { builder.declared("capabilities.\(set)", at: cursor) }
        }
        builder.posture.capabilities.bounding = bounding
        if let uid = builder.posture.user.uid, uid != 0 {
            builder.posture.capabilities.effective = []
            builder.posture.capabilities.permitted = []
        } else {
            builder.posture.capabilities.effective = bounding
            builder.posture.capabilities.permitted = bounding
        }

        // seccomp.
        if privileged && seccomp == nil {
            builder.posture.seccomp = Seccomp(mode: .disabled)
            builder.defaulted("seccomp.mode", DefaultSource.dockerPrivileged, at: privilegedCursor)
        } else if let seccomp {
            builder.posture.seccomp = Seccomp(mode: seccomp.value == "unconfined" ? .disabled : .filter)
            builder.declared("seccomp.mode", at: seccomp.at)
        } else {
            builder.posture.seccomp = Seccomp(mode: .filter)
            builder.defaulted("seccomp.mode", DefaultSource.dockerSeccomp, at: service)
        }

        if let noNewPrivileges {
            builder.posture.noNewPrivileges = noNewPrivileges.value
            builder.declared("noNewPrivileges", at: noNewPrivileges.at)
        } else {
            builder.posture.noNewPrivileges = false
            builder.defaulted("noNewPrivileges", DefaultSource.dockerNoNewPrivileges, at: service)
        }

        if let apparmor {
            builder.posture.mac.apparmor = AppArmorLabel(
                profile: apparmor.value, mode: apparmor.value == "unconfined" ? "unconfined" : "enforce")
            builder.declared("mac.apparmor", at: apparmor.at)
        } else if privileged {
            builder.posture.mac.apparmor = AppArmorLabel(profile: "unconfined", mode: "unconfined")
            builder.defaulted("mac.apparmor", DefaultSource.dockerPrivileged, at: privilegedCursor)
        } else {
            builder.unknown(.macAppArmor, "docker-default (or containers-default) on hosts with AppArmor enabled, none elsewhere")
        }
        if labels.contains(where: { $0.value == "disable" }) {
            builder.posture.mac.selinux = SELinuxLabel(context: "spc_t", user: nil, role: nil, type: "spc_t", level: nil)
            builder.declared("mac.selinux", at: labels.first { $0.value == "disable" }?.at)
        } else if !labels.isEmpty {
            var parts: [String: String] = [:]
            for label in labels {
                let (key, value) = splitOnce(label.value, ":")
                parts[key] = value
            }
            builder.posture.mac.selinux = SELinuxLabel(
                context: ["user", "role", "type", "level"].map { parts[$0] ?? "" }.joined(separator: ":"),
                user: parts["user"], role: parts["role"], type: parts["type"] ?? "container_t", level: parts["level"])
            builder.declared("mac.selinux", at: labels.first?.at)
        }

        // Devices.
        builder.posture.devices = ociDefaultDevices(terminal: try service["tty"]?.bool() ?? false)
        builder.defaulted("devices", DefaultSource.ociDefaultDevices, at: service)
        if privileged {
            builder.posture.devices.append(Device(path: "/dev", access: "rwm", source: .config))
            builder.declared("devices[\(builder.posture.devices.count - 1)]", at: privilegedCursor)
        }
        for device in try service["devices"]?.list() ?? [] {
            var hostPath = ""
            var containerPath = ""
            var access = "rwm"
            if let source = device["source"] {
                hostPath = try source.string()
                containerPath = try device["target"]?.string() ?? hostPath
                access = try device["permissions"]?.string() ?? "rwm"
            } else {
                let parts = try device.string().split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                hostPath = parts[0]
                containerPath = parts.count > 1 ? parts[1] : hostPath
                if parts.count > 2 { access = parts[2] }
                if parts.count == 2, parts[1].allSatisfy({ "rwm".contains($0) }), !parts[1].isEmpty {
                    containerPath = hostPath
                    access = parts[1]
                }
            }
            _ = hostPath
            builder.posture.devices.append(Device(path: containerPath, access: access, source: .config))
            builder.declared("devices[\(builder.posture.devices.count - 1)]", at: device)
        }

        // Volumes: `SOURCE:TARGET[:MODE]` or the long form.
        for volume in try service["volumes"]?.list() ?? [] {
            var mount: Mount
            if volume.node.entries != nil {
                let type = try volume["type"]?.string() ?? "volume"
                let source = try volume["source"]?.string() ?? ""
                guard let target = volume["target"] else { throw volume.error("has no target") }
                mount = Mount(
                    source: source, target: try target.string(), readOnly: try volume["read_only"]?.bool() ?? false,
                    type: type, hostPath: type == "bind" ? source : nil)
            } else {
                let text = try volume.string()
                let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                if parts.count == 1 {
                    mount = Mount(source: "", target: parts[0], readOnly: false, type: "volume")
                } else {
                    let source = parts[0]
                    let options = parts.count > 2 ? parts[2].split(separator: ",").map(String.init) : []
                    let bind = source.hasPrefix("/") || source.hasPrefix(".") || source.hasPrefix("~") || source.hasPrefix("$")
                    mount = Mount(
                        source: source, target: parts[1], readOnly: options.contains("ro"), type: bind ? "bind" : "volume",
                        hostPath: bind ? source : nil, options: options)
                }
            }
            builder.posture.mounts.append(mount)
            builder.declared("mounts[\(builder.posture.mounts.count - 1)]", at: volume)
            if mount.hostPath != nil { builder.declared("mounts[\(builder.posture.mounts.count - 1)].hostPath", at: volume) }
        }

        // security_opt systempaths=unconfined: Docker leaves /proc and /sys unmasked.
        let unmasked = systemPathsUnconfined
        ContainerDefaultPaths.apply(to: &builder, unmasked: privileged || unmasked, at: privilegedCursor ?? service)

        if let readOnly = service["read_only"] {
            builder.posture.readOnlyRootfs = try readOnly.bool()
            builder.declared("readOnlyRootfs", at: readOnly)
        } else {
            builder.posture.readOnlyRootfs = false
            builder.defaulted("readOnlyRootfs", DefaultSource.dockerReadOnly, at: service)
        }

        // Limits: service-level keys, else deploy.resources.limits.
        let limits = service.at("deploy", "resources", "limits")
        var cgroup = CgroupLimits(version: "declared", path: "")
        if let memory = service["mem_limit"] ?? limits?["memory"] {
            guard let bytes = bytes(memory.node.text ?? "") else { throw memory.error("is not a size") }
            cgroup.memoryMax = .value(bytes)
            builder.declared("cgroup.memoryMax", at: memory)
        } else {
            cgroup.memoryMax = .max
            builder.defaulted("cgroup.memoryMax", DefaultSource.noLimit, at: service)
        }
        if let pids = service["pids_limit"] ?? limits?["pids"] {
            let value = try pids.int()
            cgroup.pidsMax = value <= 0 ? .max : .value(UInt64(value))
            builder.declared("cgroup.pidsMax", at: pids)
        } else {
            cgroup.pidsMax = .max
            builder.defaulted("cgroup.pidsMax", DefaultSource.noLimit, at: service)
        }
        if let cpus = service["cpus"] ?? limits?["cpus"] {
            guard let value = Double(cpus.node.text ?? ""), value >= 0, value < 1e12 else { throw cpus.error("is not a number of CPUs") }
            cgroup.cpuQuota = value == 0 ? .max : .value(UInt64((value * 100_000).rounded(.up)))
            cgroup.cpuPeriod = 100_000
            builder.declared("cgroup.cpuQuota", at: cpus)
        } else {
            cgroup.cpuQuota = .max
            builder.defaulted("cgroup.cpuQuota", DefaultSource.noLimit, at: service)
        }
        if privileged { cgroup.devicesAllowAll = true }
        builder.posture.cgroup = cgroup
        return builder.posture
    }
}

extension LinuxCapabilities {
    /// Docker's and Podman's default set: the same 14 capabilities as containerd's.
    public static var dockerDefault: [String] { containerDefault }
}
