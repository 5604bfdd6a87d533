import CloisterCodec
import CloisterModel

/// OCI runtime `config.json` (runtime-spec config.md and config-linux.md) → declared posture.
public enum OCIConfig {
    /// Namespace type names in the runtime-spec and their posture names.
    static let namespaceTypes: [(spec: String, posture: NamespaceType)] = [
        ("pid", .pid), ("network", .net), ("mount", .mnt), ("ipc", .ipc), ("uts", .uts), ("user", .user),
        ("cgroup", .cgroup), ("time", .time),
    ]

    public static func posture(_ root: DocNode, file: String, name: String? = nil) throws(DocumentError) -> Posture {
        let document = DocCursor(root)
        guard root.entries != nil else { throw document.error("must be a JSON object") }
        guard let version = document["ociVersion"] else { throw document.error("has no ociVersion: not an OCI runtime configuration") }
        _ = try version.string()
        let hostname = try document["hostname"]?.string()
        let workloadName = name ?? hostname ?? file
        var builder = DeclaredPosture(
            id: "oci:\(file)", kind: .container, runtime: "oci", name: workloadName, file: file, at: document)
        let process = document["process"]
        let linux = document["linux"]

        if let args = process?["args"] {
            builder.posture.command = try args.list().map { element throws(DocumentError) in try element.string() }
        }

        // Namespaces: listed → the container gets its own (or joins the one at `path`).
        var listed: [String: DocCursor] = [:]
        for entry in try linux?["namespaces"]?.list() ?? [] {
            guard let type = entry["type"] else { throw entry.error("has no type") }
            let typeName = try type.string()
            guard namespaceTypes.contains(where: { $0.spec == typeName }) else {
                throw type.error("\"\(typeName)\" is not a namespace type (pid, network, mount, ipc, uts, user, cgroup, time)")
            }
            listed[typeName] = entry
        }
        for (specName, postureName) in namespaceTypes {
            let field = "namespaces.\(postureName.rawValue)"
            if let entry = listed[specName] {
                builder.declared(field, at: entry)
                if let path = try entry["path"]?.string() {
                    if path.hasPrefix("/proc/1/ns/") {
                        builder.posture.namespaces[postureName] = .host
                    } else {
                        builder.unknown(.namespace(postureName), "joins the namespace at \(path); whose it is is not in the file")
                    }
                } else {
                    builder.posture.namespaces[postureName] = .private
                }
            } else {
                builder.posture.namespaces[postureName] = .host
                builder.defaulted(field, DefaultSource.ociNamespaceAbsent, at: linux?["namespaces"] ?? linux ?? document)
            }
        }

        // User and ID mappings.
        if let user = process?["user"] {
            if let uid = user["uid"] { builder.posture.user.uid = try uid.uint32(); builder.declared("user.uid", at: uid) }
            if let gid = user["gid"] { builder.posture.user.gid = try gid.uint32(); builder.declared("user.gid", at: gid) }
        }
        builder.posture.user.uidMap = try mappings(linux?["uidMappings"])
        builder.posture.user.gidMap = try mappings(linux?["gidMappings"])
        builder.declared("user.uidMap", at: linux?["uidMappings"])
        if builder.posture.namespaces.user == .private {
            let root = builder.posture.user.uidMap.lazy.compactMap { $0.hostID(for: 0) }.first
            builder.posture.user.rootMappedToHost = root == 0
            if let uid = builder.posture.user.uid {
                builder.posture.user.hostUid = builder.posture.user.uidMap.lazy.compactMap { $0.hostID(for: uid) }.first
            }
        } else if builder.posture.namespaces.user == .host {
            builder.posture.user.rootMappedToHost = true
            builder.posture.user.hostUid = builder.posture.user.uid
            builder.posture.user.hostGid = builder.posture.user.gid
        }

        // Capabilities: the five sets as listed.
        if let capabilities = process?["capabilities"] {
            func set(_ key: String) throws(DocumentError) -> [String] {
                let names = try (capabilities[key]?.list() ?? []).map { element throws(DocumentError) in
                    LinuxCapabilities.normalize(try element.string())
                }
                builder.declared("capabilities.\(key)", at: capabilities[key] ?? capabilities)
                return LinuxCapabilities.sorted(names)
            }
            let declared = CapabilitySets(
                effective: try set("effective"), permitted: try set("permitted"), bounding: try set("bounding"),
                ambient: try set("ambient"), inheritable: try set("inheritable"))
            builder.posture.capabilities = LinuxCapabilities.afterExec(declared, uid: builder.posture.user.uid ?? 0)
        } else {
            builder.unknown(.capabilities, "process.capabilities is absent; runtimes differ on what that means")
        }

        // seccomp.
        if let seccomp = linux?["seccomp"] {
            builder.posture.seccomp = Seccomp(mode: .filter, filters: 1)
            builder.declared("seccomp.mode", at: seccomp)
            if let action = try seccomp["defaultAction"]?.string(), action == "SCMP_ACT_ALLOW",
                try seccomp["syscalls"]?.list().isEmpty ?? true
            {
                builder.unknown(.seccompFilters, "the filter allows every system call (defaultAction SCMP_ACT_ALLOW, no rules)")
            }
        } else {
            builder.posture.seccomp = Seccomp(mode: .disabled)
            builder.defaulted("seccomp.mode", DefaultSource.ociSeccompAbsent, at: linux ?? document)
        }

        if let noNewPrivileges = process?["noNewPrivileges"] {
            builder.posture.noNewPrivileges = try noNewPrivileges.bool()
            builder.declared("noNewPrivileges", at: noNewPrivileges)
        } else {
            builder.posture.noNewPrivileges = false
            builder.defaulted("noNewPrivileges", DefaultSource.ociNoNewPrivileges, at: process ?? document)
        }

        if let profile = process?["apparmorProfile"] {
            builder.posture.mac.apparmor = AppArmorLabel(profile: try profile.string(), mode: nil)
            builder.declared("mac.apparmor", at: profile)
        }
        if let label = process?["selinuxLabel"] {
            builder.posture.mac.selinux = selinuxLabel(try label.string())
            builder.declared("mac.selinux", at: label)
        }

        // Devices: the defaults plus those listed.
        let terminal = try process?["terminal"]?.bool() ?? false
        builder.posture.devices = ociDefaultDevices(terminal: terminal)
        builder.defaulted("devices", DefaultSource.ociDefaultDevices, at: linux?["devices"] ?? linux ?? document)
        for entry in try linux?["devices"]?.list() ?? [] {
            guard let path = entry["path"] else { throw entry.error("has no path") }
            let type = try entry["type"]?.string()
            var device = Device(
                path: try path.string(), access: "rw", source: .config,
                type: type == "b" ? "block" : type == "c" || type == "u" ? "char" : type == "p" ? "fifo" : type,
                major: try entry["major"].map { c throws(DocumentError) in try c.uint32() },
                minor: try entry["minor"].map { c throws(DocumentError) in try c.uint32() })
            device.standard = Device.isStandard(device.path)
            builder.posture.devices.removeAll { $0.path == device.path }
            builder.posture.devices.append(device)
            builder.declared("devices[\(builder.posture.devices.count - 1)]", at: entry)
        }

        // Mounts.
        for entry in try document["mounts"]?.list() ?? [] {
            guard let destination = entry["destination"] else { throw entry.error("has no destination") }
            let options = try (entry["options"]?.list() ?? []).map { element throws(DocumentError) in try element.string() }
            let type = try entry["type"]?.string() ?? (options.contains("bind") || options.contains("rbind") ? "bind" : "")
            let source = try entry["source"]?.string() ?? ""
            let bind = type == "bind" || options.contains("bind") || options.contains("rbind")
            let mount = Mount(
                source: source, target: try destination.string(), readOnly: options.contains("ro"), type: type,
                hostPath: bind ? source : nil, options: options)
            builder.posture.mounts.append(mount)
            builder.declared("mounts[\(builder.posture.mounts.count - 1)]", at: entry)
        }

        if let masked = linux?["maskedPaths"] {
            builder.posture.maskedPaths = try masked.list().map { element throws(DocumentError) in try element.string() }
            builder.declared("maskedPaths", at: masked)
        } else {
            builder.posture.maskedPaths = []
        }
        if let readonly = linux?["readonlyPaths"] {
            builder.posture.readOnlyPaths = try readonly.list().map { element throws(DocumentError) in try element.string() }
            builder.declared("readOnlyPaths", at: readonly)
        } else {
            builder.posture.readOnlyPaths = []
        }

        if let readonly = document.at("root", "readonly") {
            builder.posture.readOnlyRootfs = try readonly.bool()
            builder.declared("readOnlyRootfs", at: readonly)
        } else {
            builder.posture.readOnlyRootfs = false
            builder.defaulted("readOnlyRootfs", DefaultSource.ociRootReadonly, at: document["root"] ?? document)
        }

        // Resources.
        let resources = linux?["resources"]
        var cgroup = CgroupLimits(version: "declared", path: try linux?["cgroupsPath"]?.string() ?? "")
        func limit(_ cursor: DocCursor?, field: String) throws(DocumentError) -> Limit {
            if let cursor {
                let value = try cursor.int()
                builder.declared(field, at: cursor)
                return value < 0 ? .max : .value(UInt64(value))
            }
            builder.defaulted(field, DefaultSource.noLimit, at: resources ?? linux ?? document)
            return .max
        }
        cgroup.memoryMax = try limit(resources?.at("memory", "limit"), field: "cgroup.memoryMax")
        cgroup.memorySwapMax = try resources?.at("memory", "swap").map { c throws(DocumentError) in
            let value = try c.int()
            return value < 0 ? Limit.max : .value(UInt64(value))
        }
        cgroup.pidsMax = try limit(resources?.at("pids", "limit"), field: "cgroup.pidsMax")
        cgroup.cpuQuota = try limit(resources?.at("cpu", "quota"), field: "cgroup.cpuQuota")
        cgroup.cpuPeriod = try resources?.at("cpu", "period").map { c throws(DocumentError) in UInt64(clamping: try c.int()) }
        cgroup.cpuWeight = try resources?.at("cpu", "shares").map { c throws(DocumentError) in UInt64(clamping: try c.int()) }
        for rule in try resources?["devices"]?.list() ?? [] {
            let allow = try rule["allow"]?.bool() ?? false
            let type = try rule["type"]?.string()
            let wildcard = type == nil || type == "a"
            let anyNumber = rule["major"] == nil && rule["minor"] == nil
            if wildcard, anyNumber {
                cgroup.devicesAllowAll = allow
                builder.declared("cgroup.devicesAllowAll", at: rule)
            }
        }
        builder.posture.cgroup = cgroup
        return builder.posture
    }

    static func mappings(_ cursor: DocCursor?) throws(DocumentError) -> [IDMapRange] {
        try (cursor?.list() ?? []).map { entry throws(DocumentError) in
            guard let inside = entry["containerID"], let outside = entry["hostID"], let size = entry["size"] else {
                throw entry.error("needs containerID, hostID and size")
            }
            return IDMapRange(
                inside: try inside.uint32(), outside: try outside.uint32(),
                count: try size.uint32())
        }
    }
}
