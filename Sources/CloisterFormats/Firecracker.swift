import CloisterCodec
import CloisterModel

/// Firecracker VM configuration (`--config-file`, the same shape as the API's PUT bodies:
/// boot-source, drives, machine-config, network-interfaces, vsock, …) → declared posture.
public enum Firecracker {
    public static func isConfiguration(_ root: DocNode) -> Bool {
        root["boot-source"] != nil || root["machine-config"] != nil
    }

    public static func posture(_ root: DocNode, file: String) throws(DocumentError) -> Posture {
        let document = DocCursor(root)
        guard root.entries != nil else { throw document.error("must be a JSON object") }
        guard let boot = document["boot-source"] else { throw document.error("has no boot-source") }
        guard let kernel = boot["kernel_image_path"] else { throw boot.error("has no kernel_image_path") }
        let kernelPath = try kernel.string()
        var builder = DeclaredPosture(
            id: "firecracker:\(file)", kind: .vm, runtime: "firecracker", name: file, file: file, at: document)
        var hypervisor = Hypervisor(
            emulator: "firecracker", binary: nil, accelerator: "kvm",
            sandbox: HypervisorSandbox(enabled: true, options: ["filter": "default"]))
        builder.defaulted("hypervisor.accelerator", DefaultSource.firecrackerKVM, at: document)
        builder.defaulted("hypervisor.sandbox", DefaultSource.firecrackerSeccomp, at: document)
        if let vcpus = document.at("machine-config", "vcpu_count") {
            hypervisor.vcpus = Int(clamping: try vcpus.int())
            builder.declared("hypervisor.vcpus", at: vcpus)
        }
        let bootArgs = try boot["boot_args"]?.string() ?? ""
        if bootArgs.split(separator: " ").contains(where: { $0.hasPrefix("console=ttyS") }) {
            // The guest's serial port is Firecracker's stdout/stdin.
            hypervisor.consoles.append(Console(kind: "serial", transport: "stdio", localOnly: true))
            builder.declared("hypervisor.consoles", at: boot["boot_args"])
        }
        if let vsock = document["vsock"] {
            guard let path = vsock["uds_path"] else { throw vsock.error("has no uds_path") }
            hypervisor.consoles.append(Console(kind: "vsock", transport: "unix", address: try path.string(), localOnly: true))
            builder.declared("hypervisor.consoles", at: vsock)
        }
        for interface in try document["network-interfaces"]?.list() ?? [] {
            guard let id = interface["iface_id"], interface["host_dev_name"] != nil else {
                throw interface.error("needs iface_id and host_dev_name")
            }
            hypervisor.network.append(NetworkBackend(type: "tap", id: try id.string()))
            builder.declared("hypervisor.network", at: interface)
        }
        for drive in try document["drives"]?.list() ?? [] {
            guard let path = drive["path_on_host"] ?? drive["socket"] else { throw drive.error("needs path_on_host") }
            let readOnly = try drive["is_read_only"]?.bool() ?? false
            builder.posture.mounts.append(
                Mount(source: try path.string(), target: try drive["drive_id"]?.string() ?? "", readOnly: readOnly, type: "block-device"))
            builder.declared("mounts[\(builder.posture.mounts.count - 1)]", at: drive)
        }
        builder.posture.command = [kernelPath] + (bootArgs.isEmpty ? [] : [bootArgs])
        builder.unknown(.hypervisorUser, "set by the jailer's --uid/--gid on the command line, not in the configuration")
        builder.posture.hypervisor = hypervisor
        return builder.posture
    }
}
