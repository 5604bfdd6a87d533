import CloisterCodec
import CloisterModel
import CloisterOCI

/// OCI runtime `config.json` (runtime-spec config.md and config-linux.md) → declared posture.
/// The file is read into the runtime-spec wire type (`Spec`, shared with the bundle writers);
/// `posture(_:file:name:document:)` is the one conversion from it to a posture.
public enum OCIConfig {
    /// Namespace type names in the runtime-spec and their posture names.
    static let namespaceTypes: [(spec: String, posture: NamespaceType)] = [
        ("pid", .pid), ("network", .net), ("mount", .mnt), ("ipc", .ipc), ("uts", .uts), ("user", .user),
        ("cgroup", .cgroup), ("time", .time),
    ]

    /// Reads a parsed config.json. Type errors name the line of the value at fault, and each
    /// posture field keeps the line that declared it.
    public static func posture(_ root: DocNode, file: String, name: String? = nil) throws(DocumentError) -> Posture {
        let document = DocCursor(root)
        guard root.entries != nil else { throw document.error("must be a JSON object") }
        guard document["ociVersion"] != nil else { throw document.error("has no ociVersion: not an OCI runtime configuration") }
        let spec = try DocNodeDecoder.decode(Spec.self, from: document)
        return try posture(spec, file: file, name: name, document: document)
    }

    /// The posture `spec` declares. `document` is the file it was read from, if any: field
    /// locations (and the lines of errors) are looked up there by the same key paths; without
    /// it (a bundle cloister wrote) the posture carries none.
    public static func posture(_ spec: Spec, file: String, name: String? = nil, document: DocCursor? = nil) throws(DocumentError)
        -> Posture
    {
        let workloadName = name ?? spec.hostname ?? file
        var builder = DeclaredPosture(
            id: "oci:\(file)", kind: .container, runtime: engine(spec.annotations ?? [:]) ?? "oci", name: workloadName, file: file,
            at: document)
        let process = document?["process"]
        let linux = document?["linux"]
        // Where a default lands when the file has no object that would have declared it.
        let anywhere: DocCursor? = document

        if let args = spec.process?.args { builder.posture.command = args }

        // Namespaces: listed → the container gets its own (or joins the one at `path`).
        var listed: [String: (namespace: Spec.Namespace, at: DocCursor?)] = [:]
        for (index, namespace) in (spec.linux?.namespaces ?? []).enumerated() {
            let entry = element(linux?["namespaces"], index)
            guard namespaceTypes.contains(where: { $0.spec == namespace.type }) else {
                throw error(
                    at: entry?["type"], path: "linux.namespaces[\(index)].type",
                    "\"\(namespace.type)\" is not a namespace type (pid, network, mount, ipc, uts, user, cgroup, time)")
            }
            listed[namespace.type] = (namespace, entry)
        }
        for (specName, postureName) in namespaceTypes {
            let field = "namespaces.\(postureName.rawValue)"
            if let (namespace, entry) = listed[specName] {
                builder.declared(field, at: entry)
                if let path = namespace.path {
                    switch joinedNamespace(path) {
                    case .host: builder.posture.namespaces[postureName] = .host
                    case .pinned:
                        builder.posture.namespaces[postureName] = .private
                        builder.defaulted(field, DefaultSource.ociPinnedNamespace, at: entry)
                    case nil:
                        builder.unknown(.namespace(postureName), "joins the namespace at \(path); whose it is is not in the file")
                    }
                } else {
                    builder.posture.namespaces[postureName] = .private
                }
            } else {
                builder.posture.namespaces[postureName] = .host
                builder.defaulted(field, DefaultSource.ociNamespaceAbsent, at: linux?["namespaces"] ?? linux ?? anywhere)
            }
        }

        // User and ID mappings.
        if let user = spec.process?.user {
            if let uid = user.uid { builder.posture.user.uid = uid; builder.declared("user.uid", at: process?.at("user", "uid")) }
            if let gid = user.gid { builder.posture.user.gid = gid; builder.declared("user.gid", at: process?.at("user", "gid")) }
            // The runtime calls setgroups with exactly these (none when absent).
            builder.posture.user.groups = user.additionalGids ?? []
            if user.additionalGids != nil { builder.declared("user.groups", at: process?.at("user", "additionalGids")) }
        }
        if let limits = spec.process?.rlimits {
            builder.posture.rlimits = limits.map {
                ResourceLimit(name: $0.type, soft: ResourceLimit.text($0.soft), hard: ResourceLimit.text($0.hard))
            }
            builder.declared("rlimits", at: process?["rlimits"])
        }
        if let sysctl = spec.linux?.sysctl, !sysctl.isEmpty {
            builder.posture.sysctls = sysctl
            builder.declared("sysctls", at: linux?["sysctl"])
        }
        if let rdt = spec.linux?.intelRdt {
            builder.posture.intelRdt = IntelRDT(closID: rdt.closID, l3CacheSchema: rdt.l3CacheSchema, memBwSchema: rdt.memBwSchema)
            builder.declared("intelRdt", at: linux?["intelRdt"])
        }
        builder.posture.user.uidMap = mappings(spec.linux?.uidMappings)
        builder.posture.user.gidMap = mappings(spec.linux?.gidMappings)
        builder.declared("user.uidMap", at: linux?["uidMappings"])
        if builder.posture.namespaces.user == .private {
            let root = builder.posture.user.uidMap.lazy.compactMap { $0.hostID(for: 0) }.first
            builder.posture.user.rootMappedToHost = root == 0
            if let uid = builder.posture.user.uid {
                builder.posture.user.hostUid = builder.posture.user.uidMap.lazy.compactMap { $0.hostID(for: uid) }.first
            }
            if let gid = builder.posture.user.gid {
                builder.posture.user.hostGid = builder.posture.user.gidMap.lazy.compactMap { $0.hostID(for: gid) }.first
            }
        } else if builder.posture.namespaces.user == .host {
            // The host's user namespace: every ID is itself, as /proc/PID/uid_map shows it.
            if builder.posture.user.uidMap.isEmpty, builder.posture.user.gidMap.isEmpty {
                let identity = [IDMapRange(inside: 0, outside: 0, count: UInt32.max)]
                builder.posture.user.uidMap = identity
                builder.posture.user.gidMap = identity
            }
            builder.posture.user.rootMappedToHost = true
            builder.posture.user.hostUid = builder.posture.user.uid
            builder.posture.user.hostGid = builder.posture.user.gid
        }

        // Capabilities: the five sets as listed.
        if let capabilities = spec.process?.capabilities {
            let at = process?["capabilities"]
            func set(_ key: String, _ names: [String]?) -> [String] {
                builder.declared("capabilities.\(key)", at: at?[key] ?? at)
                return LinuxCapabilities.sorted((names ?? []).map(LinuxCapabilities.normalize))
            }
            let declared = CapabilitySets(
                effective: set("effective", capabilities.effective), permitted: set("permitted", capabilities.permitted),
                bounding: set("bounding", capabilities.bounding), ambient: set("ambient", capabilities.ambient),
                inheritable: set("inheritable", capabilities.inheritable))
            builder.posture.capabilities = LinuxCapabilities.afterExec(declared, uid: builder.posture.user.uid ?? 0)
        } else {
            builder.unknown(.capabilities, "process.capabilities is absent; runtimes differ on what that means")
        }

        // seccomp.
        if let seccomp = spec.linux?.seccomp {
            builder.posture.seccomp = Seccomp(mode: .filter, filters: 1)
            builder.declared("seccomp.mode", at: linux?["seccomp"])
            if seccomp.defaultAction == "SCMP_ACT_ALLOW", seccomp.syscalls?.isEmpty ?? true {
                builder.unknown(.seccompFilters, "the filter allows every system call (defaultAction SCMP_ACT_ALLOW, no rules)")
            }
        } else {
            builder.posture.seccomp = Seccomp(mode: .disabled)
            builder.defaulted("seccomp.mode", DefaultSource.ociSeccompAbsent, at: linux ?? anywhere)
        }

        if let noNewPrivileges = spec.process?.noNewPrivileges {
            builder.posture.noNewPrivileges = noNewPrivileges
            builder.declared("noNewPrivileges", at: process?["noNewPrivileges"])
        } else {
            builder.posture.noNewPrivileges = false
            builder.defaulted("noNewPrivileges", DefaultSource.ociNoNewPrivileges, at: process ?? anywhere)
        }

        if let profile = spec.process?.apparmorProfile {
            builder.posture.mac.apparmor = AppArmorLabel(profile: profile, mode: nil)
            builder.declared("mac.apparmor", at: process?["apparmorProfile"])
        }
        if let label = spec.process?.selinuxLabel {
            builder.posture.mac.selinux = selinuxLabel(label)
            builder.declared("mac.selinux", at: process?["selinuxLabel"])
        }

        // Devices: the defaults plus those listed.
        builder.posture.devices = ociDefaultDevices(terminal: spec.process?.terminal ?? false)
        builder.defaulted("devices", DefaultSource.ociDefaultDevices, at: linux?["devices"] ?? linux ?? anywhere)
        for (index, entry) in (spec.linux?.devices ?? []).enumerated() {
            let type = entry.type
            var device = Device(
                path: entry.path, access: "rw", source: .config,
                type: type == "b" ? "block" : type == "c" || type == "u" ? "char" : type == "p" ? "fifo" : type,
                major: entry.major, minor: entry.minor)
            device.standard = Device.isStandard(device.path)
            builder.posture.devices.removeAll { $0.path == device.path }
            builder.posture.devices.append(device)
            builder.declared("devices[\(builder.posture.devices.count - 1)]", at: element(linux?["devices"], index))
        }

        // Mounts. The engine's own per-container files (podman's userdata, Docker's
        // containers/ID/hosts, the pod's CRI sandbox files and kubelet volumes) are recognised as
        // the scan recognises them, for the container the bundle's path names.
        let annotations = spec.annotations ?? [:]
        let containerID = Self.containerID(bundleFile: file)
        for (index, entry) in (spec.mounts ?? []).enumerated() {
            let options = entry.options ?? []
            let type = entry.type ?? (options.contains("bind") || options.contains("rbind") ? "bind" : "")
            let source = entry.source ?? ""
            let bind = type == "bind" || options.contains("bind") || options.contains("rbind")
            var mount = Mount(
                source: source, target: entry.destination, readOnly: options.contains("ro"), type: type,
                hostPath: bind ? source : nil, options: options)
            if bind, let containerID {
                mount.managedBy = EngineFiles.manager(
                    hostPath: source, runtime: builder.posture.runtime, containerID: containerID,
                    podUID: annotations["io.kubernetes.cri.sandbox-uid"] ?? annotations["io.kubernetes.pod.uid"],
                    sandboxID: annotations["io.kubernetes.cri.sandbox-id"], target: entry.destination)
            }
            builder.posture.mounts.append(mount)
            builder.declared("mounts[\(builder.posture.mounts.count - 1)]", at: element(document?["mounts"], index))
        }

        // What runc and crun do with readonlyPaths and maskedPaths is mount: the mounts below
        // are the ones the kernel shows for them, so mount rules read a file as they read a scan.
        let protectedLists = [("readonlyPaths", spec.linux?.readonlyPaths ?? []), ("maskedPaths", spec.linux?.maskedPaths ?? [])]
        let protection = protectionMounts(spec)
        for (offset, entry) in protectedLists.flatMap({ key, paths in paths.indices.map { (key, $0) } }).enumerated()
        where offset < protection.count {
            builder.posture.mounts.append(protection[offset])
            builder.declared("mounts[\(builder.posture.mounts.count - 1)]", at: element(linux?[entry.0], entry.1))
        }
        builder.posture.maskedPaths = spec.linux?.maskedPaths ?? []
        if spec.linux?.maskedPaths != nil { builder.declared("maskedPaths", at: linux?["maskedPaths"]) }
        builder.posture.readOnlyPaths = spec.linux?.readonlyPaths ?? []
        if spec.linux?.readonlyPaths != nil { builder.declared("readOnlyPaths", at: linux?["readonlyPaths"]) }

        // Hooks: host programs the runtime runs for the container, listed by stage.
        if let hooks = spec.hooks {
            builder.posture.hooks = hooks.stages.flatMap { stage in
                stage.hooks.map { RuntimeHook(stage: stage.name, path: $0.path, args: $0.args ?? []) }
            }
            builder.declared("hooks", at: document?["hooks"])
        }

        if let readonly = spec.root?.readonly {
            builder.posture.readOnlyRootfs = readonly
            builder.declared("readOnlyRootfs", at: document?.at("root", "readonly"))
        } else {
            builder.posture.readOnlyRootfs = false
            builder.defaulted("readOnlyRootfs", DefaultSource.ociRootReadonly, at: document?["root"] ?? anywhere)
        }

        // Resources.
        let resources = spec.linux?.resources
        let resourcesAt = linux?["resources"]
        var cgroup = CgroupLimits(version: "declared", path: spec.linux?.cgroupsPath ?? "")
        func limit(_ value: Int64?, at keys: String..., field: String) -> Limit {
            if let value {
                builder.declared(field, at: keys.reduce(resourcesAt) { $0?[$1] })
                return value < 0 ? .max : .value(UInt64(value))
            }
            builder.defaulted(field, DefaultSource.noLimit, at: resourcesAt ?? linux ?? anywhere)
            return .max
        }
        cgroup.memoryMax = limit(resources?.memory?.limit, at: "memory", "limit", field: "cgroup.memoryMax")
        cgroup.memorySwapMax = resources?.memory?.swap.map { $0 < 0 ? Limit.max : .value(UInt64($0)) }
        cgroup.pidsMax = limit(resources?.pids?.limit, at: "pids", "limit", field: "cgroup.pidsMax")
        cgroup.cpuQuota = limit(resources?.cpu?.quota, at: "cpu", "quota", field: "cgroup.cpuQuota")
        cgroup.cpuPeriod = resources?.cpu?.period
        cgroup.cpuWeight = resources?.cpu?.shares
        // The runtime writes no weight without shares (the cgroup keeps the kernel's default), and
        // 1024 shares is that default: only other shares set a priority (CIS Docker 5.12).
        cgroup.cpuPrioritySet = resources?.cpu?.shares.map { $0 != 0 && $0 != 1024 } ?? false
        if resources?.cpu?.shares != nil { builder.declared("cgroup.cpuPrioritySet", at: resourcesAt?["cpu"]?["shares"]) }
        for (index, rule) in (resources?.devices ?? []).enumerated() {
            let wildcard = rule.type == nil || rule.type == "a"
            let anyNumber = rule.major == nil && rule.minor == nil
            if wildcard, anyNumber {
                cgroup.devicesAllowAll = rule.allow ?? false
                builder.declared("cgroup.devicesAllowAll", at: element(resourcesAt?["devices"], index))
            }
        }
        builder.posture.cgroup = cgroup
        return builder.posture
    }

    /// The container a bundle's config.json belongs to, from where engines keep it: podman's
    /// `overlay-containers/ID/userdata/config.json`, and the bundle directory named by the ID
    /// for Docker (`…/moby/ID/config.json`) and containerd (`…/NAMESPACE/ID/config.json`).
    static func containerID(bundleFile file: String) -> String? {
        let parts = file.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count >= 2, parts.last == "config.json" else { return nil }
        if parts.count >= 4, parts[parts.count - 2] == "userdata", parts[parts.count - 4] == "overlay-containers" {
            return String(parts[parts.count - 3])
        }
        let directory = parts[parts.count - 2]
        // Engines name containers by 64 hexadecimal digits; anything else is not a bundle of theirs.
        guard directory.count == 64, directory.allSatisfy(\.isHexDigit) else { return nil }
        return String(directory)
    }

    /// The engine that wrote a config.json, from the annotations it leaves there, named as the
    /// scan names the workloads it manages. `org.systemd.property.*` annotations are passed by
    /// any engine to the runtime's systemd cgroup driver and name none.
    static func engine(_ annotations: [String: String]) -> String? {
        let keys = annotations.keys
        if annotations["io.container.manager"] == "libpod" || keys.contains(where: { $0.hasPrefix("io.podman.") }) { return "podman" }
        if keys.contains(where: { $0.hasPrefix("com.docker.") }) { return "docker" }
        if keys.contains(where: { $0.hasPrefix("io.kubernetes.cri-o.") }) { return "cri-o" }
        if keys.contains(where: { $0.hasPrefix("io.kubernetes.cri.") }) { return "containerd" }
        return nil
    }

    /// Whose namespace a `linux.namespaces[].path` joins, where the path alone says so:
    /// `/proc/1/ns/*` (or `/proc/self/ns/*` of the runtime, which runs in the host's) is the
    /// host's; a namespace pinned by bind mount under `/run/netns` (`ip netns`, podman's netavark,
    /// CNI), `/run/user/N/netns` or an engine's own state directory was made for a workload.
    enum JoinedNamespace { case host, pinned }

    static func joinedNamespace(_ path: String) -> JoinedNamespace? {
        if path.hasPrefix("/proc/1/ns/") { return .host }
        let pinnedDirectories = ["/run/netns/", "/var/run/netns/", "/run/ipcns/", "/run/utsns/", "/run/userns/"]
        if pinnedDirectories.contains(where: { path.hasPrefix($0) }), !path.contains("/../") { return .pinned }
        if path.hasPrefix("/run/user/"), path.split(separator: "/").dropFirst(3).first == "netns", !path.contains("/../") {
            return .pinned
        }
        return nil
    }

    /// Directories that runtimes are given in `maskedPaths` (runc masks a directory with an
    /// empty read-only tmpfs, a file with a bind of /dev/null). Everything masked under /sys is
    /// a directory; under /proc these are.
    static let procDirectories: Set<String> = [
        "acpi", "asound", "bus", "driver", "fs", "irq", "net", "pressure", "scsi", "sys", "sysvipc", "tty",
    ]

    /// The mounts runc and crun make for `linux.readonlyPaths` (a read-only bind of the path over
    /// itself, so of the proc or sysfs mount that holds it) and `linux.maskedPaths` (a read-only
    /// tmpfs over a directory, the container's /dev/null over a file), as mountinfo shows them.
    static func protectionMounts(_ spec: Spec) -> [Mount] {
        // By destination (the last listed wins, as the last mount there is the one seen), so a
        // file with many mounts and many paths costs one lookup a path component, not a scan.
        var byDestination: [String: Spec.Mount] = [:]
        for mount in spec.mounts ?? [] {
            var destination = mount.destination
            while destination.count > 1, destination.hasSuffix("/") { destination.removeLast() }
            byDestination[destination] = mount
        }
        /// The listed mount that holds `path`: the nearest of its ancestors (or itself) mounted.
        func holder(of path: String) -> Spec.Mount? {
            var candidate = Substring(path)
            for _ in 0..<256 {
                if let mount = byDestination[String(candidate)] { return mount }
                guard let slash = candidate.lastIndex(of: "/"), !candidate.isEmpty else { return nil }
                candidate = slash == candidate.startIndex ? (candidate == "/" ? "" : "/") : candidate[..<slash]
                if candidate.isEmpty { return nil }
            }
            return nil
        }
        let securityOptions: Set<String> = ["nosuid", "nodev", "noexec"]
        var result: [Mount] = []
        for path in spec.linux?.readonlyPaths ?? [] {
            guard let parent = holder(of: path), let type = parent.type, type == "proc" || type == "sysfs" else {
                // A path on no proc or sysfs mount is a bind of itself on the root filesystem.
                result.append(Mount(source: path, target: path, readOnly: true, type: "bind", root: path, options: ["ro", "bind"]))
                continue
            }
            let root = "/" + path.dropFirst(parent.destination.count).drop { $0 == "/" }
            let options = ["ro"] + (parent.options ?? []).filter(securityOptions.contains)
            result.append(Mount(source: parent.source ?? type, target: path, readOnly: true, type: type, root: root, options: options))
        }
        let dev = holder(of: "/dev/null")
        for path in spec.linux?.maskedPaths ?? [] {
            let name = path.split(separator: "/").dropFirst().first.map(String.init) ?? ""
            let isDirectory = path.hasPrefix("/sys/") || (path.hasPrefix("/proc/") && procDirectories.contains(name)
                && path.split(separator: "/").count == 2)
            if isDirectory {
                result.append(Mount(source: "tmpfs", target: path, readOnly: true, type: "tmpfs", root: "/", options: ["ro"]))
            } else {
                let type = dev?.type ?? "devtmpfs"
                result.append(Mount(source: dev?.source ?? type, target: path, readOnly: false, type: type, root: "/null", options: []))
            }
        }
        return result
    }

    static func mappings(_ ranges: [Spec.IDMapping]?) -> [IDMapRange] {
        (ranges ?? []).map { IDMapRange(inside: $0.containerID, outside: $0.hostID, count: $0.size) }
    }

    /// The cursor of element `index` of a list, as `DocCursor.list()` names it.
    static func element(_ list: DocCursor?, _ index: Int) -> DocCursor? {
        guard let list, let elements = list.node.elements, elements.indices.contains(index) else { return nil }
        return DocCursor(elements[index], path: "\(list.path)[\(index)]")
    }

    /// An error at `cursor`, or, for a spec that was not read from a file, at `path` alone.
    static func error(at cursor: DocCursor?, path: String, _ message: String) -> DocumentError {
        cursor?.error(message) ?? DocumentError(line: nil, path: path, message: "\(path) \(message)")
    }
}

extension Spec.IDMapping: DocRequiredKeys {
    public static var missingKeysMessage: String { "needs containerID, hostID and size" }
}
