import CloisterCodec
import CloisterFormats
import CloisterModel
import CloisterSystem
import Foundation

/// Declared beside observed (`scan --declared`): the config.json a container's runtime was
/// started from, read from the runtime's own state (runc's `state.json` label `bundle=…`,
/// crun's `status`), mapped to a posture as `check` maps it, and compared with what the kernel
/// shows. Each difference that leaves the workload less confined than declared is a `Drift`.
enum DeclaredDrift {
    /// The bundle directory of the OCI container whose init is `pid`, from the runtimes' state.
    static func bundle(ofInit pid: Int, root: HostRoot) -> String? {
        var roots = RuntimeState.runcRoots
        if let namespaces = try? Files.list(root.path(RuntimeState.containerdRuncRoot)) {
            roots += namespaces.map { "\(RuntimeState.containerdRuncRoot)/\($0)" }
        }
        for directory in roots {
            guard let ids = try? Files.list(root.path(directory)) else { continue }
            for id in ids.prefix(8192) {
                let path = root.path("\(directory)/\(id)/state.json")
                guard let head = try? Files.read(path, limit: 4096), RuncStateFile.initProcessPID(in: head) == pid,
                    let bytes = try? Files.read(path, limit: 8 << 20)
                else { continue }
                return RuncBundle.bundle(stateJSON: bytes)
            }
        }
        if let ids = try? Files.list(root.path("/run/crun")) {
            for id in ids.prefix(8192) {
                guard let bytes = try? Files.read(root.path("/run/crun/\(id)/status"), limit: 1 << 20),
                    EngineStateParser.crunPID(status: bytes) == pid
                else { continue }
                return RuncBundle.bundle(crunStatus: bytes)
            }
        }
        return nil
    }

    /// Sets `posture.drift` for an OCI container (or says in `unknown` why it could not).
    static func compare(_ posture: inout Posture, leader: Int, root: HostRoot, decoder: SeccompFilterDecoder = SeccompFilterDecoder()) {
        guard posture.kind == .container else { return }
        guard let bundle = bundle(ofInit: leader, root: root) else {
            posture.unknown[.drift] = "no runc or crun state names the bundle of PID \(leader): its declared configuration is not on this host"
            return
        }
        let file = (bundle.hasSuffix("/") ? bundle : bundle + "/") + "config.json"
        var declared: Posture
        let text: String
        do {
            text = try Files.readText(root.path(file), limit: 8 << 20)
            declared = try OCIConfig.posture(try JSONDocument.parse(text), file: file)
        } catch {
            posture.unknown[.drift] = "the bundle's \(file) cannot be read as an OCI configuration: \(error)"
            return
        }
        // The declared profile decoded as the kernel's filter was, when that was read.
        if posture.seccomp?.reachable != nil, var seccomp = declared.seccomp, seccomp.mode == .filter,
            let profile = DeclaredSeccomp.profile(configText: text)
        {
            DeclaredSeccomp.apply(profile, file: file, decoder: decoder, to: &seccomp, unknown: &declared.unknown)
            declared.seccomp = seccomp
        }
        posture.drift = differences(declared: declared, observed: posture, source: file)
        // Hooks ran on the host before the container's init and leave no trace in /proc: the
        // bundle is where they are seen.
        posture.hooks = declared.hooks
    }

    /// What the kernel shows weaker than declared. Fields either side does not know are left out.
    static func differences(declared: Posture, observed: Posture, source: String) -> [Drift] {
        var drift: [Drift] = []
        func add(_ field: String, _ declared: String, _ observed: String) {
            drift.append(Drift(field: field, declared: declared, observed: observed, source: source))
        }
        if declared.seccomp?.mode == .filter, let mode = observed.seccomp?.mode, mode != .filter, mode != .strict {
            add("seccomp.mode", SeccompMode.filter.rawValue, mode.rawValue)
        }
        // A group of calls the installed filter lets run that the declared profile refuses.
        if let declaredReach = declared.seccomp?.reachable, let observedReach = observed.seccomp?.reachable {
            for (group, path) in SeccompReachable.groups
            where observedReach[keyPath: path] == .allowed && declaredReach[keyPath: path] == .denied {
                add("seccomp.reachable.\(group)", SeccompReach.denied.rawValue, SeccompReach.allowed.rawValue)
            }
        }
        if declared.noNewPrivileges == true, observed.noNewPrivileges == false {
            add("noNewPrivileges", "true", "false")
        }
        if declared.readOnlyRootfs == true, observed.readOnlyRootfs == false {
            add("readOnlyRootfs", "true", "false")
        }
        for type in NamespaceType.allCases where declared.namespaces[type] == .private && observed.namespaces[type] == .host {
            add("namespaces.\(type.rawValue)", "private", "host")
        }
        if declared.user.rootMappedToHost == false, observed.user.rootMappedToHost == true {
            add("user.rootMappedToHost", "false", "true")
        }
        // Supplementary groups the process holds that the file does not give it.
        if let granted = declared.user.groups, let held = observed.user.groups {
            let extra = held.filter { !granted.contains($0) && $0 != declared.user.gid }
            if !extra.isEmpty {
                add("user.groups", granted.map(String.init).joined(separator: ","), extra.map(String.init).joined(separator: ","))
            }
        }
        // A limit the kernel shows higher than the file sets it.
        if let declaredLimits = declared.rlimits, let observedLimits = observed.rlimits {
            var shown: [String: ResourceLimit] = [:]
            for limit in observedLimits { shown[limit.name] = limit }
            for limit in declaredLimits {
                guard let seen = shown[limit.name] else { continue }
                if ResourceLimit.exceeds(seen.hard, limit.hard) || ResourceLimit.exceeds(seen.soft, limit.soft) {
                    add("rlimits.\(limit.name)", "\(limit.soft)/\(limit.hard)", "\(seen.soft)/\(seen.hard)")
                }
            }
        }
        // A mount declared read-only that the kernel shows writable at the same place. The
        // cgroup filesystem is left out: on a v1 or hybrid host runtimes mount a tmpfs at
        // /sys/fs/cgroup and the read-only hierarchies inside it, not one read-only mount.
        var shownReadOnly: [String: Bool] = [:]
        for mount in observed.mounts { shownReadOnly[mount.target] = mount.readOnly }
        var reported: Set<String> = []
        for mount in declared.mounts where mount.readOnly && mount.type != "cgroup" && mount.type != "cgroup2" {
            guard shownReadOnly[mount.target] == false, reported.insert(mount.target).inserted else { continue }
            add("mounts.readOnly", "\(mount.target) read-only", "\(mount.target) writable")
        }
        // A capability held that the configuration does not grant (sets the file declares).
        if declared.unknown[.capabilities] == nil {
            for set in [CapabilitySet.bounding, .effective] {
                let granted = Set(declared.capabilities[set])
                let extra = observed.capabilities[set].filter { !granted.contains($0) }
                if !extra.isEmpty {
                    add("capabilities.\(set.rawValue)", declared.capabilities[set].joined(separator: ","), extra.joined(separator: ","))
                }
            }
        }
        return drift
    }
}

extension CapabilitySets {
    subscript(set: CapabilitySet) -> [String] {
        switch set {
        case .effective: effective
        case .permitted: permitted
        case .bounding: bounding
        case .ambient: ambient
        case .inheritable: inheritable
        }
    }
}

/// The bundle path in runc's `state.json` (`config.labels`: `bundle=PATH`) and crun's `status`.
public enum RuncBundle {
    struct RuncState: Decodable {
        struct Config: Decodable { var labels: [String]? }
        var config: Config?
    }

    struct CrunStatus: Decodable { var bundle: String? }

    public static func bundle(stateJSON bytes: [UInt8]) -> String? {
        guard let state = try? JSONDecoder().decode(RuncState.self, from: Data(bytes)) else { return nil }
        for label in state.config?.labels ?? [] where label.hasPrefix("bundle=") {
            let path = String(label.dropFirst(7))
            return path.hasPrefix("/") ? path : nil
        }
        return nil
    }

    public static func bundle(crunStatus bytes: [UInt8]) -> String? {
        guard let path = (try? JSONDecoder().decode(CrunStatus.self, from: Data(bytes)))?.bundle, path.hasPrefix("/") else { return nil }
        return path
    }
}
