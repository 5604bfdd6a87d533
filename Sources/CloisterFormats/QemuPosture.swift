import CloisterModel

extension QemuConfig {
    /// The declared posture of a guest started with this command line.
    /// `argumentLines[i]` is the line argv[i] stands on, when argv came from a file.
    public func declaredPosture(file: String, line: Int?, argumentLines: [Int]? = nil) -> Posture {
        let guest = name ?? binary.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "qemu"
        var builder = DeclaredPosture(id: "qemu:\(name ?? file)", kind: .vm, runtime: "qemu", name: guest, file: file, line: line)
        builder.posture.hypervisor = hypervisor
        for (field, index) in argumentIndexes {
            let argumentLine = argumentLines.flatMap { index < $0.count ? $0[index] : nil }
            builder.declared(field, line: argumentLine, path: "argv[\(index)]")
        }
        for field in defaultedFields {
            let source: String
            switch field {
            case "hypervisor.accelerator": source = DefaultSource.qemuAccelerator
            case "hypervisor.machine": source = DefaultSource.qemuMachine
            case "hypervisor.consoles": source = DefaultSource.qemuConsoles
            case "hypervisor.network": source = DefaultSource.qemuNetwork
            case "hypervisor.legacyDevices": source = DefaultSource.qemuFloppy
            case "hypervisor.sandbox": source = DefaultSource.qemuSandbox
            default: source = "qemu default"
            }
            builder.defaulted(field, source)
        }
        // The qemu process's own confinement, as far as its command line says: qemu installs a
        // seccomp filter only with -sandbox on; who starts it, and with which capabilities, is
        // its parent's to decide (a root shell keeps every capability, libvirt drops them).
        builder.posture.seccomp = Seccomp(mode: hypervisor.sandbox.enabled ? .filter : .disabled)
        if let index = argumentIndexes["hypervisor.sandbox"] {
            builder.declared("seccomp.mode", line: argumentLines.flatMap { index < $0.count ? $0[index] : nil }, path: "argv[\(index)]")
        } else {
            builder.defaulted("seccomp.mode", DefaultSource.qemuSandbox)
        }
        if hypervisor.sandbox.enabled {
            // -sandbox on installs qemu's built-in filter, a deny-list whose calls change with
            // qemu's version (io_uring, for one, stays open: its block layer may use it).
            let why = "-sandbox on installs qemu's built-in filter, whose calls depend on the qemu version, not the command line: a scan reads it from the running process"
            builder.unknown(FieldPath("seccomp.syscalls"), why)
            builder.unknown(FieldPath("seccomp.reachable"), why)
        }
        builder.unknown(
            .capabilities, "a qemu command line does not say which capabilities the process that starts it holds (a root shell keeps every one; libvirt drops them)")
        if runAs == nil {
            builder.unknown(
                FieldPath("user.hostUid"), "who starts qemu is not on its command line (-runas or -run-with user= would name the user it drops to)")
        }
        if startedByLibvirt {
            // The same fact the domain XML gives without a static <seclabel>.
            builder.defaulted("mac", DefaultSource.libvirtSeclabel)
            builder.unknown(.mac, "started by libvirt: the host's security driver (SELinux svirt or AppArmor libvirt-UUID) labels qemu at start; the label is not on the command line")
        }
        if accelerators.count > 1 {
            // qemu uses the first accelerator that initialises: a guest declared kvm:tcg runs
            // under TCG, silently, on a host where /dev/kvm cannot be opened.
            builder.unknown(
                .hypervisorAccelerator,
                "\(accelerators.joined(separator: ", then ")): the first that initialises on the host is used")
        }
        for (index, note) in notes.enumerated() { builder.unknown(FieldPath("notes").element(index), note) }
        if !readConfig.isEmpty {
            builder.unknown(.hypervisor, "-readconfig files were not read: \(readConfig.joined(separator: ", "))")
        }
        if !unrecognizedOptions.isEmpty {
            builder.unknown(.command, "options not interpreted: \(unrecognizedOptions.prefix(20).joined(separator: " "))")
        }
        return builder.posture
    }
}
