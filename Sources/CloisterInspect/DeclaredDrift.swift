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

    /// Sets `posture.drift` for a guest libvirt started: the live domain in its status file
    /// (`/run/libvirt/qemu/NAME.xml`: `<domstatus pid=…>` around the domain as libvirt runs it,
    /// with the labels and ports it chose at start), settled by the daemon's qemu.conf, beside
    /// what the qemu process and its argv show. A field qemu.conf decides is compared only when
    /// qemu.conf was read: unread, its default is not assumed.
    static func compareLibvirt(_ posture: inout Posture, statusFile: String, root: HostRoot, qemuConf: (conf: LibvirtQemuConf?, why: String?)) {
        let declared: Posture
        do {
            let text = try Files.readText(root.path(statusFile), limit: 16 << 20)
            declared = try LibvirtLiveDomain.declared(statusText: text, file: statusFile, qemuConf: qemuConf.conf)
        } catch {
            posture.unknown[.drift] = "\(statusFile) cannot be read as libvirt's live domain: \(error)"
            return
        }
        if qemuConf.conf == nil {
            posture.unknown[FieldPath("drift").appending("qemuConf")] =
                "libvirt's qemu.conf not read (\(qemuConf.why ?? "unknown")): its sandbox and console settings were not compared"
        }
        posture.drift = LibvirtLiveDomain.drift(declared: declared, observed: posture, source: statusFile)
    }

    /// Where a hypervisor runs less confined than its domain declares: without the seccomp
    /// sandbox, as root where a user was declared, with a console open to the network (or
    /// without its password) that the domain keeps local, with a passthrough device it does not
    /// declare, or without the MAC label the security driver gave it.
    static func hypervisorDifferences(declared: Posture, observed: Posture, source: String) -> [Drift] {
        guard let want = declared.hypervisor, let have = observed.hypervisor else { return [] }
        var drift: [Drift] = []
        func add(_ field: String, _ declaredValue: String, _ observedValue: String) {
            // A field qemu.conf settled names qemu.conf as its source.
            let file = declared.fieldLocations[field]?.file ?? source
            drift.append(Drift(field: field, declared: declaredValue, observed: observedValue, source: file))
        }
        if want.sandbox.enabled {
            let kernelMode = observed.seccomp?.mode
            if !have.sandbox.enabled || (kernelMode != nil && kernelMode != .filter) {
                add("hypervisor.sandbox", "on", have.sandbox.enabled ? "on, but seccomp \(kernelMode?.rawValue ?? "unknown")" : "off")
            }
        }
        if let uid = want.user.uid, uid != 0, have.user.uid == 0 {
            add("hypervisor.user", "uid \(uid)", "uid 0")
        } else if want.user.uid == nil, let name = want.user.name, name != "root", have.user.uid == 0 {
            add("hypervisor.user", name, "uid 0")
        }
        // Consoles reachable from the network, per kind: more on the process than declared.
        let networked: (Console) -> Bool = { $0.localOnly == false && $0.transport != "unix" }
        for kind in Set(have.consoles.filter(networked).map(\.kind)).sorted() {
            let open = have.consoles.filter { networked($0) && $0.kind == kind }
            let allowed = want.consoles.filter { networked($0) && $0.kind == kind }.count
            guard open.count > allowed else { continue }
            let declaredText = want.consoles.filter { $0.kind == kind }.map(describe).joined(separator: ", ")
            add("hypervisor.consoles", declaredText.isEmpty ? "no \(kind)" : declaredText, open.map(describe).joined(separator: ", "))
        }
        // A console whose clients the domain (or qemu.conf) makes authenticate, served without.
        for kind in ["vnc", "spice"] {
            let protected = want.consoles.contains { $0.kind == kind && $0.password == true }
            let open = have.consoles.filter { $0.kind == kind && $0.password == false }
            if protected, !open.isEmpty, !have.consoles.contains(where: { $0.kind == kind && $0.password == true }) {
                add("hypervisor.consoles.password", "\(kind) with a password or SASL", open.map(describe).joined(separator: ", ") + " without")
            }
        }
        // A serial port, console or channel the domain (or qemu.conf's chardev_tls) serves over
        // TLS, served in the clear: TLS was its only authentication.
        for kind in ["serial", "channel", "parallel"] {
            let protected = want.consoles.firstIndex { networked($0) && $0.kind == kind && $0.tls == true }
            let open = have.consoles.filter { networked($0) && $0.kind == kind && $0.tls == false }
            if let protected, !open.isEmpty {
                // The domain's <source tls='yes'>, or qemu.conf's chardev_tls: whichever declared it.
                let file = declared.fieldLocations["hypervisor.consoles[\(protected)].tls"]?.file ?? source
                drift.append(Drift(
                    field: "hypervisor.consoles.tls", declared: "\(kind) over TLS",
                    observed: open.map(describe).joined(separator: ", ") + " without TLS", source: file))
            }
        }
        let declaredKinds = Set(want.passthrough.map(\.kind))
        let extra = have.passthrough.filter { !declaredKinds.contains($0.kind) }
        if !extra.isEmpty {
            add("hypervisor.passthrough", want.passthrough.map(\.kind).joined(separator: ",").nonEmpty ?? "none",
                extra.map { "\($0.kind) \($0.host)" }.joined(separator: ", "))
        }
        // The label libvirt's security driver gave the guest, absent from the process.
        if observed.unknown[.mac] == nil {
            if let profile = declared.mac.apparmor?.profile, profile != "unconfined",
                observed.mac.apparmor == nil || observed.mac.apparmor?.profile == "unconfined"
            {
                add("mac.apparmor", profile, observed.mac.apparmor?.profile ?? "none")
            }
            if let type = declared.mac.selinux?.type, type != "unconfined_t",
                observed.mac.selinux == nil || observed.mac.selinux?.type == "unconfined_t"
            {
                add("mac.selinux", type, observed.mac.selinux?.type ?? "none")
            }
        }
        return drift
    }

    static func describe(_ console: Console) -> String {
        "\(console.kind) \(console.address ?? console.transport)"
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

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
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

/// libvirt's live status file (`/run/libvirt/qemu/NAME.xml`) as a declared posture, and what a
/// running qemu shows weaker than it. Public for the fuzz target.
public enum LibvirtLiveDomain {
    public struct NotAStatusFile: Error, CustomStringConvertible {
        public var description: String { "not libvirt's <domstatus> around a <domain>" }
    }

    /// The domain as libvirt runs it (`<domstatus pid=…>` around the domain, with the labels and
    /// ports libvirt chose at start), settled by `qemuConf`. Without qemu.conf, what it decides
    /// (the sandbox, console authentication) is left out of the comparison: its default is not
    /// assumed.
    public static func declared(statusText: String, file: String, qemuConf: LibvirtQemuConf?) throws -> Posture {
        let status = try XMLText.parse(statusText)
        guard status.name == "domstatus", let domain = status.child("domain") else { throw NotAStatusFile() }
        var declared = try Libvirt.posture(domain, file: file)
        // libvirt records the namespaces it gave qemu (qemu.conf `namespaces`) in the status.
        if status.child("namespaces")?.child("mount") != nil { declared.namespaces[.mnt] = .private }
        // The domain does not list qemu's capabilities (qemu.conf's clear_emulator_capabilities
        // and user decide them): nothing to hold the process's against.
        declared.unknown[.capabilities] = "a libvirt domain does not declare qemu's capabilities"
        if let qemuConf {
            qemuConf.apply(to: &declared)
        } else {
            // A declared sandbox "off" and a nil password compare nothing.
            declared.hypervisor?.sandbox.enabled = false
            declared.hypervisor?.consoles.indices.forEach { declared.hypervisor?.consoles[$0].password = nil }
        }
        return declared
    }

    /// What the process shows weaker than `declared`: the OCI fields both carry (namespaces,
    /// user mapping, limits) and the hypervisor's own.
    public static func drift(declared: Posture, observed: Posture, source: String) -> [Drift] {
        DeclaredDrift.differences(declared: declared, observed: observed, source: source)
            + DeclaredDrift.hypervisorDifferences(declared: declared, observed: observed, source: source)
    }
}
