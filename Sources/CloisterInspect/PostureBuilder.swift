import CloisterCodec
import CloisterModel
import CloisterSystem

/// A device's major and minor numbers: the key that ties a bind mount to the host mount it
/// came from.
struct DeviceNumber: Hashable {
    var major: UInt32
    var minor: UInt32
}

/// Builds one workload's posture from /proc and /sys. Every field either holds what the kernel
/// said or is listed in `unknown` with why; nothing is guessed.
struct PostureBuilder {
    let root: HostRoot
    let table: [Int: ProcessRecord]
    let host: HostFacts
    let hostNamespaces: [NamespaceType: UInt64]
    /// The host's mounts by device, so resolving a bind mount's host path is not a scan of
    /// every host mount (hundreds on a busy container host) for every container mount.
    let hostMountsByDevice: [DeviceNumber: [MountInfoEntry]]
    let hierarchies: CgroupHierarchies
    let passwd: [UInt32: String]
    /// Read MAC labels with libapparmor/libselinux (live host with that LSM active).
    let useAppArmorLibrary: Bool
    let useSELinuxLibrary: Bool
    /// Reads and decodes the seccomp filters of live workloads; nil when the scan does not
    /// (`filterSkipped` then says why, or nothing for a captured tree).
    var filterDecoder: SeccompFilterDecoder? = nil
    var filterSkipped: String? = nil

    /// Engines whose containers an OCI runtime creates.
    static let ociEngines: Set<String> = ["docker", "containerd", "cri-o", "podman", "runc", "crun"]

    func build(_ workload: DiscoveredWorkload) -> Posture? {
        guard let leader = table[workload.leader] else { return nil }
        let base = root.pid(leader.pid)
        var posture = Posture(
            id: workload.postureID, kind: workload.kind, runtime: workload.runtime, name: workload.name,
            pid: leader.pid, processes: workload.members,
            command: leader.command.isEmpty ? ProcessReader.readCommand(pid: leader.pid, root: root) : leader.command,
            source: .observed)
        var unknown: [FieldPath: String] = [:]

        // Namespaces, compared with PID 1's.
        for type in NamespaceType.allCases {
            guard let host = hostNamespaces[type] else {
                unknown[.namespace(type)] = "the host's \(type.rawValue) namespace is unknown (no readable link for kthreadd or PID 1)"
                continue
            }
            guard let mine = leader.namespaces[type] else {
                unknown[.namespace(type)] = "cannot read \(base)/ns/\(type.rawValue)"
                continue
            }
            posture.namespaces[type] = mine == host ? .host : .private
        }

        // User identity: status shows IDs as the host sees them; the maps translate.
        let uidMap = (try? Files.readText(base + "/uid_map", limit: 64 << 10)).map(IDMapParser.parse)
        let gidMap = (try? Files.readText(base + "/gid_map", limit: 64 << 10)).map(IDMapParser.parse)
        if let uidMap { posture.user.uidMap = uidMap } else { unknown[.userUidMap] = "cannot read \(base)/uid_map" }
        if let gidMap { posture.user.gidMap = gidMap } else { unknown[.userGidMap] = "cannot read \(base)/gid_map" }
        if leader.status.uids.count >= 2 {
            let hostUid = leader.status.uids[1]
            posture.user.hostUid = hostUid
            posture.user.uid = uidMap.flatMap { Self.insideID(hostID: hostUid, map: $0) }
        } else {
            unknown[.userUid] = "no Uid line in \(base)/status"
        }
        if leader.status.gids.count >= 2 {
            let hostGid = leader.status.gids[1]
            posture.user.hostGid = hostGid
            posture.user.gid = gidMap.flatMap { Self.insideID(hostID: hostGid, map: $0) }
        }
        if let uidMap { posture.user.rootMappedToHost = IDMapParser.hostID(0, in: uidMap) == 0 }
        if let groups = leader.status.groups, let gidMap {
            // A group the map does not cover shows as the overflow GID inside; keep it out.
            posture.user.groups = groups.compactMap { Self.insideID(hostID: $0, map: gidMap) }
        }
        if let bytes = try? Files.read(base + "/limits", limit: 16 << 10) {
            posture.rlimits = bytes.withUnsafeBufferPointer { ProcLimitsParser.parse(bytes: $0) }
        } else {
            unknown[.rlimits] = "cannot read \(base)/limits"
        }

        // Capabilities, decoded against the kernel's cap_last_cap.
        if let lastCap = host.capLastCap {
            let status = leader.status
            func names(_ mask: UInt64?, _ set: CapabilitySet) -> [String] {
                guard let mask else {
                    unknown[.capabilities(set)] = "no capability line for the \(set.rawValue) set in \(base)/status"
                    return []
                }
                return CapabilityNames.decode(mask: mask, lastCap: lastCap).names
            }
            posture.capabilities = CapabilitySets(
                effective: names(status.capEffective, .effective), permitted: names(status.capPermitted, .permitted),
                bounding: names(status.capBounding, .bounding), ambient: names(status.capAmbient, .ambient),
                inheritable: names(status.capInheritable, .inheritable))
        } else {
            unknown[.capabilities] = "kernel.cap_last_cap is unreadable, so capability masks cannot be decoded"
        }

        // Seccomp and no_new_privs.
        if let mode = leader.status.seccompMode {
            var seccomp = Seccomp(mode: mode, filters: leader.status.seccompFilters)
            if mode == .filter {
                if let filterDecoder {
                    filterDecoder.apply(pid: leader.pid, leaderStatus: leader.status, root: root, to: &seccomp, unknown: &unknown)
                } else if let filterSkipped {
                    SeccompFilterDecoder.markUnknown(filterSkipped, &unknown)
                }
            }
            posture.seccomp = seccomp
        } else {
            unknown[.seccomp] = "no Seccomp line in \(base)/status (kernel built without CONFIG_SECCOMP)"
        }
        if let noNewPrivileges = leader.status.noNewPrivileges {
            posture.noNewPrivileges = noNewPrivileges
        } else {
            unknown[.noNewPrivileges] = "no NoNewPrivs line in \(base)/status"
        }

        posture.mac = macLabels(pid: leader.pid, unknown: &unknown)

        // Mounts, as the workload sees them, with host paths for bind mounts.
        var workloadMounts: [MountInfoEntry] = []
        // Mount paths are the workload's: raw invalid UTF-8 is kept as \xNN, not replaced.
        if let bytes = try? Files.read(base + "/mountinfo", limit: 8 << 20) {
            workloadMounts = MountInfoParser.parse(bytes: bytes).entries
            let ownCgroups = Set(leader.cgroups.map(\.path))
            let podUID = leader.cgroups.lazy.compactMap { EngineFiles.podUID(cgroupPath: $0.path) }.first
            posture.mounts = workloadMounts.map { entry in
                var mount = mount(entry, ownCgroups: ownCgroups)
                if let hostPath = mount.hostPath {
                    mount.managedBy = EngineFiles.manager(
                        hostPath: hostPath, runtime: workload.runtime, containerID: workload.id, podUID: podUID,
                        sandboxID: workload.attributes["sandboxID"], target: mount.target)
                }
                return mount
            }
            let protected = Self.protectedPaths(workloadMounts)
            posture.maskedPaths = protected.masked
            posture.readOnlyPaths = protected.readOnly
            if let rootMount = workloadMounts.last(where: { $0.mountPoint == "/" }) {
                posture.readOnlyRootfs = rootMount.readOnly
            } else {
                unknown[.readOnlyRootfs] = "no mount at / in \(base)/mountinfo"
            }
        } else {
            unknown[.mounts] = "cannot read \(base)/mountinfo"
            unknown[.readOnlyRootfs] = "cannot read \(base)/mountinfo"
        }

        var deviceRules: [CgroupFileParser.DeviceRule]?
        posture.cgroup = cgroupLimits(leader, unknown: &unknown, deviceRules: &deviceRules)
        posture.devices = devices(workload, leader: leader, deviceRules: deviceRules, unknown: &unknown)

        if workload.kind == .vm {
            posture.hypervisor = HypervisorInspector(root: root, table: table, passwd: passwd)
                .inspect(workload, leader: leader, unknown: &unknown)
            if posture.hypervisor != nil, var seccomp = posture.seccomp {
                // The weakest thread decides what a compromised device model can do.
                let threads = threadSeccomp(pid: leader.pid)
                seccomp.threads = threads.count
                seccomp.threadsUnfiltered = threads.unfiltered
                posture.seccomp = seccomp
            }
        }
        // Engine and OCI runtime are both facts: an OCI engine's container without a readable
        // runtime is unknown (a rule about runc cannot decide it), never assumed to be runc.
        if let ociRuntime = workload.attributes["ociRuntime"] {
            posture.ociRuntime = ociRuntime
        } else if Self.ociEngines.contains(workload.runtime) {
            unknown[FieldPath("ociRuntime")] =
                "no OCI runtime state for PID \(leader.pid) under /run/runc, /run/crun, /run/youki, /run/containerd/runc or /run/docker/runtime-*, and no conmon or containerd shim naming one"
        }
        engineSettings(workload, posture: &posture, unknown: &unknown)
        posture.unknown = unknown
        return posture
    }

    /// Docker's own record of the container (config.v2.json, hostconfig.json in its directory
    /// under the data root); for another OCI engine's container the fields are unknown, so a
    /// rule on them is undecided rather than silent.
    func engineSettings(_ workload: DiscoveredWorkload, posture: inout Posture, unknown: inout [FieldPath: String]) {
        guard workload.kind == .container, Self.ociEngines.contains(workload.runtime) else { return }
        if workload.runtime == "docker", let directory = workload.attributes["dockerContainerDirectory"] {
            let config = try? Files.read(root.path(directory + "/config.v2.json"), limit: 8 << 20)
            let host = try? Files.read(root.path(directory + "/hostconfig.json"), limit: 8 << 20)
            if let settings = DockerContainerSettings.parse(
                configV2: config, hostConfig: host, directory: directory)
            {
                posture.engineSettings = settings
                return
            }
        }
        let why = workload.runtime == "docker"
            ? "Docker's config.v2.json and hostconfig.json for this container could not be read"
            : "\(workload.runtime) keeps these settings where cloister does not read them"
        for field in Self.engineSettingFields { unknown[FieldPath("engineSettings.\(field)")] = why }
    }

    static let engineSettingFields = ["healthCheck", "restartPolicy", "networks", "publishedPorts", "ulimits"]

    static func insideID(hostID: UInt32, map: [IDMapRange]) -> UInt32? {
        for range in map where hostID >= range.outside && UInt64(hostID) < UInt64(range.outside) + UInt64(range.count) {
            return range.inside + (hostID - range.outside)
        }
        return nil
    }

    func threadSeccomp(pid: Int) -> (count: Int, unfiltered: Int) {
        guard let tids = try? Files.list(root.pid(pid) + "/task") else { return (0, 0) }
        var count = 0
        var unfiltered = 0
        for tid in tids.prefix(4096) {
            guard let text = try? Files.readText("\(root.pid(pid))/task/\(tid)/status", limit: 64 << 10) else { continue }
            count += 1
            if ProcStatus.parse(text).seccompMode != .filter { unfiltered += 1 }
        }
        return (count, unfiltered)
    }

    // MARK: MAC

    func macLabels(pid: Int, unknown: inout [FieldPath: String]) -> MACLabels {
        var labels = MACLabels()
        let base = root.pid(pid)
        let lsms = host.lsms
        let apparmorActive = lsms?.contains("apparmor")
        let selinuxActive = lsms?.contains("selinux")

        if apparmorActive != false {
            if useAppArmorLibrary, let live = try? AppArmorLibrary.processLabel(pid: Int32(pid)) {
                labels.apparmor = AppArmorLabel(profile: live.label, mode: live.mode ?? (live.label == "unconfined" ? "unconfined" : nil))
            } else if let text = try? Files.readText(base + "/attr/apparmor/current", limit: 64 << 10) {
                labels.apparmor = MACLabelParser.apparmor(SafeText.decode(Array(text.utf8)))
            } else if apparmorActive == true || lsms == nil,
                let text = try? Files.readText(base + "/attr/current", limit: 64 << 10),
                MACLabelParser.selinux(text) == nil || text.contains("(")
            {
                labels.apparmor = MACLabelParser.apparmor(SafeText.decode(Array(text.utf8)))
            } else if apparmorActive == true {
                unknown[.macAppArmor] = "AppArmor is active but \(base)/attr/current cannot be read"
            }
        }
        if selinuxActive != false {
            if useSELinuxLibrary, let context = try? SELinuxLibrary.processContext(pid: Int32(pid)) {
                labels.selinux = MACLabelParser.selinux(context)
            } else if labels.apparmor == nil, let text = try? Files.readText(base + "/attr/current", limit: 64 << 10),
                !text.contains("("), let parsed = MACLabelParser.selinux(SafeText.decode(Array(text.utf8)))
            {
                labels.selinux = parsed
            } else if selinuxActive == true {
                unknown[.macSELinux] = "SELinux is active but \(base)/attr/current cannot be read"
            }
            // Permissive: the kernel logs what the domain is not allowed and refuses nothing.
            if host.selinuxEnforcing == false { labels.selinux?.confined = false }
            // The same for one domain the policy makes permissive on an enforcing host.
            if useSELinuxLibrary, host.selinuxEnforcing == true, let context = labels.selinux?.context,
                labels.selinux?.confined == true, let permissive = SELinuxLibrary.domainIsPermissive(context)
            {
                labels.selinux?.permissiveDomain = permissive
                if permissive { labels.selinux?.confined = false }
            }
        }
        return labels
    }

    // MARK: Mounts

    func mount(_ entry: MountInfoEntry, ownCgroups: Set<String>) -> Mount {
        var mount = Mount(
            source: entry.source, target: entry.mountPoint, readOnly: entry.readOnly, type: entry.fsType,
            root: entry.root, options: entry.mountOptions)
        mount.propagation = propagation(entry)
        if !Self.isOwnKernelView(entry, ownCgroups: ownCgroups) { mount.hostPath = hostPath(for: entry) }
        return mount
    }

    /// Propagation with the host: `shared` when the mount is in a peer group a host mount is in
    /// (mounts made on either side appear on the other), `slave` when it receives from one. A
    /// peer group of the workload's own (systemd-nspawn makes every mount inside shared among
    /// the container's mounts) carries nothing to or from the host, so that mount is `private`
    /// as far as the host is concerned. Peer groups live on one filesystem: only host mounts of
    /// the same device are compared.
    func propagation(_ entry: MountInfoEntry) -> String {
        let host = Set((hostMountsByDevice[DeviceNumber(major: entry.major, minor: entry.minor)] ?? []).flatMap(\.optionalFields))
        if entry.optionalFields.contains(where: { $0.hasPrefix("shared:") && host.contains($0) }) { return "shared" }
        if entry.optionalFields.contains(where: { $0.hasPrefix("master:") && host.contains("shared:" + $0.dropFirst("master:".count)) }) {
            return "slave"
        }
        return entry.optionalFields.contains("unbindable") ? "unbindable" : "private"
    }

    /// The runtime's standard mounts of the workload's own kernel views are not host
    /// directories, even where they share the host's superblock: its own cgroup (a v1
    /// hierarchy is one superblock for the whole host), and proc or sysfs at /proc and /sys
    /// (sysfs is the host's instance whenever the network namespace is). A bind of the host's
    /// cgroup root, or of /proc elsewhere, still gets its host path.
    static func isOwnKernelView(_ entry: MountInfoEntry, ownCgroups: Set<String>) -> Bool {
        switch entry.fsType {
        case "cgroup", "cgroup2": return entry.root != "/" && ownCgroups.contains(entry.root)
        case "proc": return entry.mountPoint == "/proc" || entry.mountPoint.hasPrefix("/proc/")
        case "sysfs": return entry.mountPoint == "/sys" || entry.mountPoint.hasPrefix("/sys/")
        default: return false
        }
    }

    /// What the runtime hid or made read-only under /proc and /sys, as the mounts show it: the
    /// OCI `maskedPaths` (a bind of /dev/null over a file, an empty read-only tmpfs over a
    /// directory) and `readonlyPaths` (a read-only bind of proc or sysfs over itself), so an
    /// observed posture and a declared one mean the same by these fields.
    static func protectedPaths(_ mounts: [MountInfoEntry]) -> (masked: [String], readOnly: [String]) {
        var masked: [String] = []
        var readOnly: [String] = []
        for entry in mounts where entry.mountPoint.hasPrefix("/proc/") || entry.mountPoint.hasPrefix("/sys/") {
            if entry.root == "/null", entry.fsType == "tmpfs" || entry.fsType == "devtmpfs" {
                masked.append(entry.mountPoint)
            } else if entry.fsType == "tmpfs", entry.root == "/", entry.readOnly,
                !entry.mountPoint.hasPrefix("/sys/fs/cgroup")
            {
                masked.append(entry.mountPoint)
            } else if entry.fsType == "proc" || entry.fsType == "sysfs", entry.root != "/", entry.readOnly {
                readOnly.append(entry.mountPoint)
            }
        }
        return (masked, readOnly)
    }

    /// A bind mount's host path: the host mount of the same device whose root contains this
    /// mount's root, plus the rest of the path.
    func hostPath(for entry: MountInfoEntry) -> String? {
        guard !Self.pseudoFilesystems.contains(entry.fsType) || entry.root != "/" else { return nil }
        var best: (mount: MountInfoEntry, depth: Int)?
        for host in hostMountsByDevice[DeviceNumber(major: entry.major, minor: entry.minor)] ?? [] {
            guard entry.root == host.root || entry.root.hasPrefix(host.root == "/" ? "/" : host.root + "/") else { continue }
            let depth = host.root.count
            if best == nil || depth > best!.depth || (depth == best!.depth && host.mountPoint.count < best!.mount.mountPoint.count) {
                best = (host, depth)
            }
        }
        guard let match = best?.mount else { return nil }
        let rest = entry.root.dropFirst(match.root == "/" ? 0 : match.root.count)
        var path = match.mountPoint == "/" ? String(rest) : match.mountPoint + rest
        if path.isEmpty { path = "/" }
        if path.count > 1, path.hasSuffix("/") { path.removeLast() }
        return path
    }

    static let pseudoFilesystems: Set<String> = [
        "proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2", "tmpfs", "devtmpfs", "overlay", "securityfs",
        "debugfs", "tracefs", "bpf", "pstore", "hugetlbfs", "fusectl", "configfs", "binfmt_misc", "nsfs", "shm",
    ]

    // MARK: Cgroups

    /// Also hands back the v1 device rules, read once here for both `devicesAllowAll` and the
    /// access of each device node.
    func cgroupLimits(
        _ leader: ProcessRecord, unknown: inout [FieldPath: String], deviceRules: inout [CgroupFileParser.DeviceRule]?
    ) -> CgroupLimits? {
        let memberships = leader.cgroups
        guard !memberships.isEmpty else {
            unknown[.cgroup] = "cannot read \(root.pid(leader.pid))/cgroup"
            return nil
        }
        // A path that is not valid UTF-8 is shown escaped; opening the escaped (or a U+FFFD)
        // form could read a decoy cgroup the workload named so: its limits stay unknown.
        if let inexact = memberships.first(where: { !$0.pathIsExact }) {
            unknown[.cgroup] = "cgroup path \(inexact.path) is not valid UTF-8: its limits are not read, so no other cgroup can stand in for it"
            return nil
        }
        let unified = memberships.first(where: \.isUnified)
        func v1Path(_ controller: String) -> String? {
            guard let membership = memberships.first(where: { $0.controllers.contains(controller) }),
                let mountPoint = hierarchies.v1[controller]
            else { return nil }
            return root.path(mountPoint + membership.path)
        }
        let unifiedDirectory = unified.flatMap { membership in hierarchies.unified.map { root.path($0 + membership.path) } }

        func read(_ path: String) -> String? { try? Files.readText(path, limit: 64 << 10) }
        func v2Has(_ controller: String) -> Bool {
            guard let unifiedDirectory, hierarchies.v1[controller] == nil else { return false }
            return Files.exists(unifiedDirectory)
        }

        let primaryPath = memberships.first(where: { $0.controllers.contains("memory") })?.path ?? unified?.path ?? ""
        var limits = CgroupLimits(version: hierarchies.v1.isEmpty ? "v2" : (hierarchies.unified == nil ? "v1" : "hybrid"),
            path: primaryPath)

        // Memory
        if v2Has("memory"), let directory = unifiedDirectory {
            if let text = read(directory + "/memory.max") { limits.memoryMax = CgroupFileParser.limit(text) }
            if let text = read(directory + "/memory.swap.max") { limits.memorySwapMax = CgroupFileParser.limit(text) }
        } else if let directory = v1Path("memory") {
            if let text = read(directory + "/memory.limit_in_bytes") { limits.memoryMax = CgroupFileParser.limit(text) }
            if let text = read(directory + "/memory.memsw.limit_in_bytes") { limits.memorySwapMax = CgroupFileParser.limit(text) }
        }
        if limits.memoryMax == nil { unknown[.cgroupMemoryMax] = "no memory controller file readable for cgroup \(primaryPath)" }

        // PIDs
        if v2Has("pids"), let directory = unifiedDirectory, let text = read(directory + "/pids.max") {
            limits.pidsMax = CgroupFileParser.limit(text)
        } else if let directory = v1Path("pids"), let text = read(directory + "/pids.max") {
            limits.pidsMax = CgroupFileParser.limit(text)
        }
        if limits.pidsMax == nil {
            // The root cgroup has no pids.max: no limit applies there. Which cgroup is the
            // root is asked of the hierarchy that holds the pids controller: on a hybrid host a
            // process can sit at the v1 pids root while its v2 path is not the root.
            let pidsPath = hierarchies.v1["pids"] != nil
                ? memberships.first(where: { $0.controllers.contains("pids") })?.path
                : unified?.path
            if pidsPath == "/" { limits.pidsMax = .max } else {
                unknown[.cgroupPidsMax] = "no pids controller file readable for cgroup \(primaryPath)"
            }
        }

        // CPU
        if v2Has("cpu"), let directory = unifiedDirectory {
            if let text = read(directory + "/cpu.max"), let cpu = CgroupFileParser.cpuMax(text) {
                limits.cpuQuota = cpu.quota
                limits.cpuPeriod = cpu.period
            }
            if let text = read(directory + "/cpu.weight") { limits.cpuWeight = UInt64(HostInspector.firstLine(text)) }
            limits.cpuPrioritySet = limits.cpuWeight.map { $0 != 100 && $0 != 39 }
        } else if let directory = v1Path("cpu") {
            if let text = read(directory + "/cpu.cfs_quota_us") { limits.cpuQuota = CgroupFileParser.limit(text) }
            if let text = read(directory + "/cpu.cfs_period_us") { limits.cpuPeriod = UInt64(HostInspector.firstLine(text)) }
            if let text = read(directory + "/cpu.shares") { limits.cpuWeight = UInt64(HostInspector.firstLine(text)) }
            limits.cpuPrioritySet = limits.cpuWeight.map { $0 != 1024 }
        }

        if let directory = v1Path("devices"), let text = read(directory + "/devices.list") {
            limits.devicesAllowAll = CgroupFileParser.devicesAllowAll(text)
            deviceRules = CgroupFileParser.deviceRules(text)
        }
        return limits
    }

    // MARK: Devices

    /// Devices the workload holds open, and (for workloads with their own mount namespace) the
    /// device nodes its root filesystem offers.
    func devices(
        _ workload: DiscoveredWorkload, leader: ProcessRecord, deviceRules: [CgroupFileParser.DeviceRule]?,
        unknown: inout [FieldPath: String]
    ) -> [Device] {
        var devices: [Device] = []
        var seen: Set<String> = []
        for pid in workload.members.prefix(256) {
            let fdDirectory = root.pid(pid) + "/fd"
            let fds: [String]
            do {
                fds = try Files.list(fdDirectory)
            } catch let error as SystemError where !error.isGone {
                // Without CAP_DAC_READ_SEARCH a user-namespaced workload's fd/ (0500, its own
                // UID) cannot be listed: what it holds open is unknown, not absent.
                if unknown[.devices] == nil { unknown[.devices] = "cannot list \(fdDirectory): \(error)" }
                continue
            } catch {
                continue
            }
            for fd in fds.prefix(8192) {
                guard let target = try? Files.readLink("\(fdDirectory)/\(fd)") else { continue }
                let path: String
                if target.hasPrefix("/dev/") {
                    path = target
                } else if target.hasPrefix("anon_inode:kvm-") || target == "anon_inode:kvm-vm" {
                    continue
                } else {
                    continue
                }
                let key = "fd:\(path)"
                guard !seen.contains(key) else { continue }
                seen.insert(key)
                let access = (try? Files.readText("\(root.pid(pid))/fdinfo/\(fd)", limit: 4096)).flatMap(FDInfoParser.access) ?? "unknown"
                devices.append(Device(path: path, access: access, source: .fd))
            }
        }
        // A hypervisor sees the host's /dev; what it holds open is what matters, and that is above.
        guard workload.kind != .vm else { return devices }
        var nodes = rootDevices(pid: leader.pid, unknown: &unknown)
        // On cgroup v1 the device controller's list is what the kernel enforces at open(2):
        // report that, not the node's mode bits, which root in the workload can bypass.
        if let rules = deviceRules {
            for index in nodes.indices {
                guard let major = nodes[index].major, let minor = nodes[index].minor else { continue }
                nodes[index].access = CgroupFileParser.access(
                    for: rules, type: nodes[index].type == "block" ? "b" : "c", major: major, minor: minor)
            }
        }
        devices += nodes
        return devices
    }

    /// Device nodes under /dev in the workload's root, walked with every lookup confined to that
    /// root (openat2 RESOLVE_IN_ROOT) and nothing followed: a workload that plants `/dev ->
    /// /host/dev` or `dev/x -> ../../..` shows its own tree, never the host's.
    func rootDevices(pid: Int, unknown: inout [FieldPath: String]) -> [Device] {
        let rooted: RootedDirectory
        do {
            rooted = try RootedDirectory(path: root.pid(pid) + "/root")
        } catch {
            unknown[.devices] = "cannot open the workload's root: \(error)"
            return []
        }
        return Self.deviceNodes(in: rooted, unknown: &unknown)
    }

    static func deviceNodes(in rooted: RootedDirectory, unknown: inout [FieldPath: String]) -> [Device] {
        var devices: [Device] = []
        var queue = ["dev"]
        var visited = 0
        // Bounded: a hostile tree cannot make the scan walk forever.
        while !queue.isEmpty, visited < 64, devices.count < 4096 {
            let directory = queue.removeFirst()
            visited += 1
            let entries: [(name: String, status: Files.Status)]
            do {
                entries = try rooted.listDevices(in: directory)
            } catch {
                if directory == "dev" { unknown[.devices] = "cannot list /dev in the workload's root: \(error)" }
                continue
            }
            for (name, status) in entries.prefix(4096) {
                let path = "/\(directory)/\(name)"
                if status.isDirectory {
                    if directory.split(separator: "/").count < 4, !["shm", "mqueue", "hugepages"].contains(name) {
                        queue.append("\(directory)/\(name)")
                    }
                    continue
                }
                guard status.isCharDevice || status.isBlockDevice else { continue }
                devices.append(Device(
                    path: SafeText.decode(Array(path.utf8)), access: modeAccess(status.mode), source: .rootfs,
                    type: status.isCharDevice ? "char" : "block", major: status.rdevMajor, minor: status.rdevMinor))
            }
        }
        return devices
    }

    /// Access a device node's permission bits give its owner (the workload's root usually owns /dev).
    static func modeAccess(_ mode: UInt32) -> String {
        var access = ""
        if mode & 0o400 != 0 || mode & 0o004 != 0 { access += "r" }
        if mode & 0o200 != 0 || mode & 0o002 != 0 { access += "w" }
        return access.isEmpty ? "-" : access
    }
}
