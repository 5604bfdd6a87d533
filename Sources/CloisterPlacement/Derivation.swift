import CloisterModel

/// Infers a workload description's needs from a posture, observed (`cloister scan`, `--pid`)
/// or declared (`cloister check`, `--from`), so `advise` can answer "should this be a VM?"
/// for something that already runs or is already written down. Pure: no I/O.
///
/// What a posture cannot say (who wrote the code, who shares the host, compliance, the
/// platform) takes conservative-neutral defaults that are listed in `defaulted`, so the advice
/// shows them as assumptions to confirm.
public func derive(from posture: Posture) -> WorkloadDescription {
    var needs = WorkloadNeeds()
    var defaulted = [
        "trust", "tenancy", "specAuthor", "data", "compliance", "hostTrusted", "needs.os", "needs.arch",
        "performance.startupMs", "performance.density", "performance.io", "platform.kvm",
        "platform.confidentialHardware",
    ]

    let effective = Set(posture.capabilities.effective.map(WorkloadDescription.normaliseCapability))
    let hostControl: Set<String> = ["CAP_SYS_ADMIN", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_PTRACE"]
    // `privileged` leaves every capability and every device: either is the tell.
    needs.privileged = posture.cgroup?.devicesAllowAll == true || hostControl.isSubset(of: effective)
    if !needs.privileged { needs.capabilities = effective.sorted() }
    if effective.contains("CAP_SYS_MODULE") { needs.kernel = .modules }

    // Only the namespaces whose sharing is a choice the workload makes; a plain container
    // shares the host's user namespace by default and that is not a need.
    for type in [NamespaceType.pid, .net, .ipc, .uts, .mnt] where posture.namespaces[type] == .host {
        needs.hostNamespaces.append(type)
    }

    var devices: [String] = []
    var filesystems: Set<String> = []
    for device in posture.devices where !device.standard {
        let path = device.path
        if isGPU(path) {
            needs.gpu = true
        } else if path == "/dev/fuse" {
            filesystems.insert("fuse")
        } else if !devices.contains(path) {
            devices.append(path)
        }
    }
    for mount in posture.mounts {
        let type = mount.type.lowercased()
        if type.hasPrefix("fuse") { filesystems.insert("fuse") }
        if type == "nfs" || type == "nfs4" { filesystems.insert("nfs") }
        if type == "cifs" || type == "smb3" { filesystems.insert("cifs") }
        if isGPU(mount.target) { needs.gpu = true }
    }
    if let hypervisor = posture.hypervisor {
        for passthrough in hypervisor.passthrough where passthrough.kind == "vfio" {
            // A VFIO-assigned device is a device need; whether it is a GPU the posture cannot say.
            let path = passthrough.host.hasPrefix("/dev/") ? passthrough.host : "/dev/vfio/vfio"
            if !devices.contains(path) { devices.append(path) }
        }
    }
    needs.devices = devices.sorted()
    needs.filesystems = filesystems.sorted()

    if posture.namespaces.net == .host {
        needs.network = .both
    } else {
        defaulted.append("needs.network")
    }

    return WorkloadDescription(
        name: posture.name.isEmpty ? posture.id : posture.name, trust: .internal, tenancy: .single, needs: needs,
        defaulted: defaulted.sorted())
}

/// NVIDIA and DRM render nodes.
func isGPU(_ path: String) -> Bool {
    path.hasPrefix("/dev/nvidia") || path.hasPrefix("/dev/dri/") || path == "/dev/dri" || path == "/dev/kfd"
}
