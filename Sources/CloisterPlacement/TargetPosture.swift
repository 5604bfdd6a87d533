import CloisterModel

/// Builds the posture a workload should have under the chosen option: everything private that
/// the workload does not need from the host, no capabilities beyond what it asks for, a seccomp
/// filter, no_new_privs, a read-only root, cgroup limits, MAC labels, and for guests a
/// sandboxed hypervisor. Relaxations come only from the description's needs.
enum TargetPosture {
    /// The qemu `-sandbox` options that deny what a device model never needs.
    static let qemuSandboxOptions = [
        "obsolete": "deny", "elevateprivileges": "deny", "spawn": "deny", "resourcecontrol": "deny",
    ]

    static func build(option: IsolationOption, description: WorkloadDescription) -> Posture {
        let needs = description.needs
        var namespaces = Namespaces()
        for type in NamespaceType.allCases {
            namespaces[type] = needs.hostNamespaces.contains(type) ? .host : .private
        }
        // Only the user-namespaced option and the sandboxes that bring their own kernel keep
        // root away from host root; a plain container shares the host's user namespace.
        let ownsUserNamespace = option.id != "container" && option.id != "hardened-container"
        if !ownsUserNamespace, !needs.hostNamespaces.contains(.user) { namespaces.user = .host }

        let capabilities = needs.capabilities.sorted()
        var user = UserIdentity(rootMappedToHost: needs.privileged && !ownsUserNamespace)
        if option.id == "userns-container" {
            // One unprivileged 64k range per workload; the launcher picks the real offset.
            user.uidMap = [IDMapRange(inside: 0, outside: 100_000, count: 65_536)]
            user.gidMap = [IDMapRange(inside: 0, outside: 100_000, count: 65_536)]
            user.rootMappedToHost = false
        }
        if !needs.privileged {
            user.uid = 65534
            user.gid = 65534
        }

        var posture = Posture(
            id: "target:\(description.name)", kind: option.kind, runtime: option.runtime, name: description.name,
            source: .declared, namespaces: namespaces, user: user,
            capabilities: CapabilitySets(
                effective: capabilities, permitted: capabilities, bounding: capabilities, ambient: [],
                inheritable: []),
            seccomp: Seccomp(mode: .filter), noNewPrivileges: true,
            mac: MACLabels(
                apparmor: AppArmorLabel(profile: "cloister-\(profileName(description.name))", mode: "enforce"),
                selinux: SELinuxLabel(
                    context: "system_u:system_r:container_t:s0", user: "system_u", role: "system_r",
                    type: option.kind == .vm ? "svirt_t" : "container_t", level: "s0")),
            devices: needs.devices.sorted().map { Device(path: $0, access: "rw", source: .config) },
            readOnlyRootfs: true)
        if option.kind == .vm {
            posture.mac.selinux?.context = "system_u:system_r:svirt_t:s0"
        }
        if needs.privileged && option.kind != .vm {
            // A privileged container runs without a seccomp filter or MAC confinement on every
            // mainstream runtime; a target that claimed otherwise would report drift forever.
            // The relaxation is named in the advice.
            posture.seccomp = nil
            posture.mac = MACLabels()
        }
        var cgroup = CgroupLimits(version: "v2", path: "")
        cgroup.pidsMax = .value(1024)
        cgroup.cpuWeight = 100
        posture.cgroup = cgroup

        if option.kind == .vm {
            let emulator = option.id == "microvm" ? "firecracker" : "qemu"
            posture.hypervisor = Hypervisor(
                emulator: emulator, accelerator: "kvm",
                machine: option.id == "confidential-vm" ? confidentialMachine(description) : nil,
                sandbox: HypervisorSandbox(enabled: true, options: emulator == "qemu" ? qemuSandboxOptions : [:]),
                user: ProcessUser(uid: nil, name: "cloister-vmm"),
                consoles: [Console(kind: "serial", transport: "unix", localOnly: true)])
        }
        return posture
    }

    static func confidentialMachine(_ description: WorkloadDescription) -> String {
        if description.platform.confidentialHardware.contains(.sevSNP) { return "q35,confidential-guest-support=sev-snp" }
        if description.platform.confidentialHardware.contains(.tdx) { return "q35,confidential-guest-support=tdx" }
        return "q35"
    }

    /// A profile name safe for AppArmor and file names: letters, digits, `-`, `_`, `.`.
    static func profileName(_ name: String) -> String {
        let cleaned = String(name.unicodeScalars.map { scalar -> Character in
            let char = Character(scalar)
            return scalar.isASCII && (char.isLetter || char.isNumber || "-_.".contains(char)) ? char : "_"
        })
        return String(cleaned.prefix(64))
    }
}
