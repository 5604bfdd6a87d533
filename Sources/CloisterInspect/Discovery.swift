import CloisterModel
import CloisterFormats
import CloisterSystem

/// A workload found on the host: which processes form it and how its runtime names it.
public struct DiscoveredWorkload: Sendable {
    public var kind: WorkloadKind
    public var runtime: String
    public var id: String
    public var name: String
    /// The leading process: container or sandbox init, or the hypervisor process.
    public var leader: Int
    public var members: [Int]
    /// Extra identity facts (`uuid`, the libvirt domain XML path, …).
    public var attributes: [String: String] = [:]

    public var postureID: String { "\(runtime):\(id)" }
}

/// Groups processes into workloads. A workload is one entry however many processes it has;
/// ordinary host processes and the runtimes' own helpers (conmon, shims, the outer bwrap) are
/// not workloads.
public struct Discovery {
    let root: HostRoot
    let table: [Int: ProcessRecord]
    let hostNamespaces: [NamespaceType: UInt64]
    let children: [Int: [Int]]

    init(root: HostRoot, table: [Int: ProcessRecord], hostNamespaces: [NamespaceType: UInt64]) {
        self.root = root
        self.table = table
        self.hostNamespaces = hostNamespaces
        var children: [Int: [Int]] = [:]
        for record in table.values { children[record.parentPID, default: []].append(record.pid) }
        self.children = children
    }

    /// Processes that start, contain or supervise workloads without being workloads themselves.
    static let runtimeHelpers: Set<String> = [
        "conmon", "containerd-shim", "containerd-shim-runc-v2", "containerd-shim-runc-v1", "runc", "crun",
        "lxc-start", "systemd-nspawn", "slirp4netns", "rootlessport", "rootlessport-child", "pasta",
        "podman", "containerd", "dockerd", "docker-proxy", "crio", "libvirtd", "virtqemud", "firejail", "unshare",
        "bwrap", "fuse-overlayfs", "catatonit", "jailer",
    ]

    static let hypervisors: [(prefix: String, runtime: String)] = [
        ("qemu-system-", "qemu"), ("qemu-kvm", "qemu"), ("firecracker", "firecracker"),
        ("cloud-hypervisor", "cloud-hypervisor"), ("cloud-hyperviso", "cloud-hypervisor"),
    ]

    func discover(state: RuntimeState) -> [DiscoveredWorkload] {
        var byKey: [String: DiscoveredWorkload] = [:]
        var order: [String] = []
        func add(_ pid: Int, key: String, make: () -> DiscoveredWorkload) {
            if byKey[key] == nil {
                byKey[key] = make()
                order.append(key)
            }
            byKey[key]!.members.append(pid)
        }

        for pid in table.keys.sorted() {
            guard let record = table[pid], !record.isKernelThread else { continue }
            if let hypervisor = hypervisorRuntime(record) {
                add(pid, key: "vm:\(pid)") { vmWorkload(record, runtime: hypervisor, state: state) }
                continue
            }
            if let hint = CgroupSignature.match(record.cgroups) {
                if Self.runtimeHelpers.contains(record.executableName) || Self.runtimeHelpers.contains(record.name),
                    !isNamespaceLeaderInside(record)
                {
                    continue
                }
                add(pid, key: "\(hint.runtime):\(hint.id)") {
                    DiscoveredWorkload(
                        kind: .container, runtime: hint.runtime, id: hint.id, name: hint.name ?? shortID(hint.id),
                        leader: pid, members: [])
                }
                continue
            }
            guard let tuple = privateNamespaces(record), !tuple.isEmpty else { continue }
            if isSystemdServiceSandbox(record, privates: tuple) { continue }
            let leader = namespaceLeader(of: record)
            if leader.pid == record.pid, isLauncherOutsideItsSandbox(record) { continue }
            add(pid, key: "ns:\(leader.pid)") { sandboxWorkload(leader: leader, state: state) }
        }

        var result: [DiscoveredWorkload] = []
        for key in order {
            guard var workload = byKey[key] else { continue }
            workload.members.sort()
            // The leader is the member whose parent is outside the workload (the container init).
            let members = Set(workload.members)
            if let init_ = workload.members.first(where: { !members.contains(table[$0]?.parentPID ?? 0) }) {
                workload.leader = init_
            }
            // bwrap and firejail stay as PID 1 of their sandbox to reap; the confinement that
            // matters is the one the command they started runs under.
            if let launcher = table[workload.leader], ["bwrap", "firejail"].contains(launcher.executableName),
                let payload = (children[launcher.pid] ?? []).sorted().first(where: { members.contains($0) })
            {
                workload.leader = payload
            }
            refineIdentity(&workload, state: state)
            result.append(workload)
        }
        return result
    }

    func hypervisorRuntime(_ record: ProcessRecord) -> String? {
        for candidate in [record.executableName, record.name] {
            for (prefix, runtime) in Self.hypervisors where candidate.hasPrefix(prefix) { return runtime }
        }
        return nil
    }

    /// The namespace types in which `record` differs from the host (PID 1).
    func privateNamespaces(_ record: ProcessRecord) -> Set<NamespaceType>? {
        guard !hostNamespaces.isEmpty else { return nil }
        var result: Set<NamespaceType> = []
        for (type, inode) in record.namespaces where hostNamespaces[type] != nil && hostNamespaces[type] != inode {
            result.insert(type)
        }
        return result
    }

    /// systemd hardening (PrivateTmp=, ProtectSystem=, PrivateNetwork=) gives host services their
    /// own mount or network namespace; those are host processes, not workloads.
    func isSystemdServiceSandbox(_ record: ProcessRecord, privates: Set<NamespaceType>) -> Bool {
        guard privates.isSubset(of: [.mnt, .net, .uts, .ipc]) else { return false }
        return record.cgroups.contains { $0.path.contains("/system.slice/") && $0.path.hasSuffix(".service") }
    }

    /// Walks up while the parent is in exactly the same namespaces.
    func namespaceLeader(of record: ProcessRecord) -> ProcessRecord {
        var current = record
        var steps = 0
        while let parent = table[current.parentPID], parent.pid > 1, parent.namespaces == current.namespaces,
            steps < 4096
        {
            current = parent
            steps += 1
        }
        return current
    }

    /// `unshare --fork`, the outer firejail and the outer bwrap sit in some new namespaces while
    /// their child, in more of them, is the sandbox.
    func isLauncherOutsideItsSandbox(_ record: ProcessRecord) -> Bool {
        guard ["unshare", "firejail", "bwrap"].contains(record.executableName) else { return false }
        return (children[record.pid] ?? []).contains { child in
            guard let childRecord = table[child] else { return false }
            return childRecord.namespaces != record.namespaces
        }
    }

    /// bwrap and firejail run as PID 1 inside the sandbox they create: that one is the sandbox.
    func isNamespaceLeaderInside(_ record: ProcessRecord) -> Bool {
        guard let parent = table[record.parentPID] else { return false }
        return parent.namespaces[.pid] != record.namespaces[.pid] && record.status.namespacePIDs.last == 1
            && !["conmon", "containerd-shim", "runc", "crun"].contains(record.executableName)
    }

    func ancestors(of pid: Int, limit: Int = 64) -> [ProcessRecord] {
        var result: [ProcessRecord] = []
        var current = table[pid]?.parentPID ?? 0
        while current > 1, let record = table[current], result.count < limit {
            result.append(record)
            current = record.parentPID
        }
        return result
    }

    func sandboxWorkload(leader: ProcessRecord, state: RuntimeState) -> DiscoveredWorkload {
        if let runc = state.runcByPID[leader.pid] {
            var workload = DiscoveredWorkload(
                kind: .container, runtime: runc.runtime, id: runc.id, name: runc.id, leader: leader.pid, members: [])
            workload.attributes["ociRuntime"] = runc.ociRuntime
            return workload
        }
        var runtime = "unshare"
        let lineage = [leader] + ancestors(of: leader.pid, limit: 8)
        if let launcher = lineage.first(where: { ["bwrap", "firejail", "systemd-nspawn", "lxc-start", "cloister"].contains($0.executableName) }) {
            switch launcher.executableName {
            case "bwrap": runtime = "bubblewrap"
            case "firejail": runtime = "firejail"
            case "cloister": runtime = "cloister"
            case "systemd-nspawn": runtime = "systemd-nspawn"
            default: runtime = "lxc"
            }
        }
        let kind: WorkloadKind = runtime == "systemd-nspawn" || runtime == "lxc" ? .container : .sandbox
        // Name a sandbox after what it runs, skipping the launcher that is PID 1 inside it.
        var named = leader
        if ["bwrap", "firejail"].contains(leader.executableName),
            let child = (children[leader.pid] ?? []).sorted().first.flatMap({ table[$0] })
        {
            named = child
        }
        // comm is cut at 15 bytes; argv[0] is not.
        var name = named.executableName
        if named.command.isEmpty, let first = ProcessReader.readCommand(pid: named.pid, root: root).first, !first.isEmpty {
            name = String(first.split(separator: "/").last ?? Substring(first))
        }
        // systemd-nspawn's machine name: -M/--machine, else the last component of its
        // -D/--directory, else of its -i/--image without `.raw` (as nspawn itself names it).
        if runtime == "systemd-nspawn", let launcher = lineage.first(where: { $0.executableName == "systemd-nspawn" }) {
            let options = DaemonArguments(launcher.command)
            if let machine = options.value(["--machine", "-M"]), !machine.isEmpty {
                name = machine
            } else if let tree = options.value(["--directory", "-D"]) ?? options.value(["--image", "-i"]),
                let last = tree.split(separator: "/").last
            {
                name = last.hasSuffix(".raw") ? String(last.dropLast(4)) : String(last)
            }
        }
        // firejail --name=NAME (also how `firejail --join=NAME` finds it).
        if runtime == "firejail", let option = lineage.lazy.flatMap(\.command).first(where: { $0.hasPrefix("--name=") }) {
            name = String(option.dropFirst("--name=".count))
        }
        return DiscoveredWorkload(
            kind: kind, runtime: runtime, id: "pid-\(leader.pid)", name: name, leader: leader.pid, members: [])
    }

    func vmWorkload(_ record: ProcessRecord, runtime: String, state: RuntimeState) -> DiscoveredWorkload {
        var workload = DiscoveredWorkload(
            kind: .vm, runtime: runtime, id: "pid-\(record.pid)", name: "\(runtime)-\(record.pid)",
            leader: record.pid, members: [])
        let arguments = record.command
        func value(after flags: Set<String>) -> String? {
            guard let index = arguments.firstIndex(where: { flags.contains($0) }), index + 1 < arguments.count else {
                return nil
            }
            return arguments[index + 1]
        }
        switch runtime {
        case "qemu":
            let config = QemuCommandLine.parse(arguments)
            if let name = config.name { workload.name = name }
            if let uuid = config.uuid {
                workload.attributes["uuid"] = uuid
                workload.id = uuid
            }
            if let domain = state.libvirtByPID[record.pid] {
                workload.runtime = "libvirt"
                workload.name = domain.name
                workload.id = domain.uuid ?? domain.name
                workload.attributes["libvirtXML"] = domain.path
            }
        case "firecracker":
            if let id = value(after: ["--id", "-id"]) {
                workload.id = id
                workload.name = id
            }
        default:
            break
        }
        return workload
    }

    /// Names from runtime state: conmon's arguments for podman, engines' state files otherwise.
    func refineIdentity(_ workload: inout DiscoveredWorkload, state: RuntimeState) {
        switch workload.runtime {
        case "podman":
            for pid in workload.members {
                guard let parent = table[table[pid]?.parentPID ?? 0], parent.executableName == "conmon" else { continue }
                let arguments = parent.command
                for (index, argument) in arguments.enumerated() where index + 1 < arguments.count {
                    if argument == "-n" || argument == "--name" { workload.name = arguments[index + 1] }
                }
                break
            }
            if workload.name == shortID(workload.id), let name = state.podmanNames[workload.id] { workload.name = name }
        case "docker":
            if let directory = state.dockerContainerDirectory(id: workload.id, root: root) {
                workload.attributes["dockerContainerDirectory"] = directory
                if let bytes = try? Files.read(root.path(directory + "/config.v2.json"), limit: 8 << 20),
                    let name = EngineStateParser.dockerName(configV2: bytes)
                {
                    workload.name = name
                }
            }
        case "containerd", "cri-o":
            let identity = state.criIdentity(id: workload.id, runtime: workload.runtime, root: root)
            if let name = identity.name { workload.name = name }
            if let sandboxID = identity.sandboxID { workload.attributes["sandboxID"] = sandboxID }
        default:
            break
        }
        if workload.attributes["ociRuntime"] == nil, let name = ociRuntime(of: workload, state: state) {
            workload.attributes["ociRuntime"] = name
        }
    }

    /// The OCI runtime that created the workload, from what the host shows: the state directory
    /// the runtime wrote for this very init process (runc's, crun's, youki's format), else the
    /// supervisor's argv: conmon's `-r`/`--runtime` (podman, CRI-O), the containerd shim's own
    /// name (`containerd-shim-runsc-v1`, `containerd-shim-kata-v2`), gVisor's `runsc-*`
    /// processes. A `containerd-shim-runc-v2` may drive crun (its `BinaryName` option), so its
    /// name alone decides nothing.
    func ociRuntime(of workload: DiscoveredWorkload, state: RuntimeState) -> String? {
        if let found = state.runcByPID[workload.leader] { return found.ociRuntime }
        for member in workload.members where member != workload.leader {
            if let found = state.runcByPID[member] { return found.ociRuntime }
        }
        guard let leader = table[workload.leader] else { return nil }
        for record in [leader] + ancestors(of: leader.pid, limit: 8) {
            let names = [record.executableName, record.name]
            if names.contains("conmon") {
                let options = DaemonArguments(record.command)
                if let path = options.value(["--runtime", "-r"]), let last = path.split(separator: "/").last {
                    return OCIRuntimeName.normalized(String(last))
                }
                return nil
            }
            if let shim = names.first(where: { $0.hasPrefix("containerd-shim-") }) {
                if shim.hasPrefix("containerd-shim-runsc-") { return "runsc" }
                if shim.hasPrefix("containerd-shim-kata-") { return "kata" }
                return nil
            }
            if names.contains(where: { $0.hasPrefix("runsc") }) { return "runsc" }
        }
        return nil
    }

    func shortID(_ id: String) -> String { String(id.prefix(12)) }
}

/// OCI runtime names as cloister reports them: a binary's base name, with the spellings of one
/// runtime folded into one (`kata-runtime`, `kata-qemu` are `kata`).
public enum OCIRuntimeName {
    public static func normalized(_ name: String) -> String {
        if name.hasPrefix("kata") { return "kata" }
        if name.hasPrefix("runsc") { return "runsc" }
        return name
    }
}

/// Container runtimes leave their container ID in the cgroup path.
enum CgroupSignature {
    struct Match {
        var runtime: String
        var id: String
        var name: String?
    }

    static func match(_ memberships: [CgroupMembership]) -> Match? {
        // Prefer the unified hierarchy, then any.
        let ordered = memberships.sorted { ($0.isUnified ? 0 : 1) < ($1.isUnified ? 0 : 1) }
        // A hybrid host lists a dozen v1 hierarchies, mostly at the same path: each path once.
        var tried: Set<String> = []
        for membership in ordered where tried.insert(membership.path).inserted {
            if let found = match(path: membership.path) { return found }
        }
        return nil
    }

    static func match(path: String) -> Match? {
        let components = path.split(separator: "/")
        for (index, component) in components.enumerated().reversed() {
            let part = String(component.hasSuffix(".scope") ? component.dropLast(6) : component)
            if let id = hexID(after: "libpod-", in: part), !part.hasPrefix("libpod-conmon-") {
                return Match(runtime: "podman", id: id)
            }
            if let id = hexID(after: "docker-", in: part) { return Match(runtime: "docker", id: id) }
            if index > 0, components[index - 1] == "docker", isHexID(part) { return Match(runtime: "docker", id: part) }
            if let id = hexID(after: "cri-containerd-", in: part) { return Match(runtime: "containerd", id: id) }
            if let id = hexID(after: "crio-", in: part), !part.hasPrefix("crio-conmon-") {
                return Match(runtime: "cri-o", id: id)
            }
            if path.contains("kubepods"), isHexID(part) { return Match(runtime: "containerd", id: part) }
            if part.hasPrefix("lxc.payload.") {
                let name = String(part.dropFirst("lxc.payload.".count))
                return Match(runtime: "lxc", id: name, name: name)
            }
            if index > 0, components[index - 1] == "lxc.payload" || components[index - 1] == "lxc" {
                return Match(runtime: "lxc", id: part, name: part)
            }
            if part.hasPrefix("systemd-nspawn@"), part.hasSuffix(".service") {
                let name = String(part.dropFirst("systemd-nspawn@".count).dropLast(".service".count))
                return Match(runtime: "systemd-nspawn", id: name, name: name)
            }
        }
        return nil
    }

    static func hexID(after prefix: String, in part: String) -> String? {
        guard part.hasPrefix(prefix) else { return nil }
        let rest = String(part.dropFirst(prefix.count))
        return isHexID(rest) ? rest : nil
    }

    static func isHexID(_ text: String) -> Bool {
        text.count == 64 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}
