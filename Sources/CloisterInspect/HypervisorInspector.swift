import CloisterModel
import CloisterFormats
import CloisterSystem

/// A running hypervisor, from the kernel's view (its KVM file descriptors, threads, listening
/// sockets and user) joined with what its command line asked for.
struct HypervisorInspector {
    let root: HostRoot
    let table: [Int: ProcessRecord]
    let passwd: [UInt32: String]

    func inspect(_ workload: DiscoveredWorkload, leader: ProcessRecord, unknown: inout [FieldPath: String]) -> Hypervisor {
        let emulator = workload.runtime == "libvirt" ? "qemu" : workload.runtime
        var hypervisor = DeclaredHypervisor.from(arguments: leader.command, emulator: emulator)
        hypervisor.binary = leader.command.first
        if let uuid = workload.attributes["uuid"] { hypervisor.uuid = uuid }

        let base = root.pid(leader.pid)
        var kvmVM = false
        var vcpus = 0
        var socketInodes: Set<UInt64> = []
        var observedPassthrough: [Passthrough] = []
        if let fds = try? Files.list(base + "/fd") {
            for fd in fds.prefix(16384) {
                guard let target = try? Files.readLink("\(base)/fd/\(fd)") else { continue }
                if target == "anon_inode:kvm-vm" {
                    kvmVM = true
                } else if target.hasPrefix("anon_inode:kvm-vcpu") {
                    vcpus += 1
                } else if target.hasPrefix("socket:["), let inode = NamespaceLink.inode(target) {
                    socketInodes.insert(inode)
                } else if target.hasPrefix("/dev/vfio/"), target != "/dev/vfio/vfio" {
                    observedPassthrough.append(Passthrough(kind: "vfio", host: target))
                } else if target.hasPrefix("/dev/bus/usb/") {
                    observedPassthrough.append(Passthrough(kind: "usb-host", host: target))
                }
            }
        } else {
            unknown[.hypervisorAccelerator] = "cannot list \(base)/fd (needs CAP_SYS_PTRACE or the same user)"
        }

        // What the kernel shows wins over what was asked: `-accel kvm:tcg` falls back silently.
        if kvmVM {
            hypervisor.accelerator = "kvm"
            hypervisor.vcpus = vcpus
        } else if unknown[.hypervisorAccelerator] == nil {
            hypervisor.accelerator = emulator == "qemu" ? "tcg" : "unknown"
            if emulator != "qemu" { unknown[.hypervisorAccelerator] = "no KVM file descriptor open" }
        }
        for device in observedPassthrough where !hypervisor.passthrough.contains(device) {
            hypervisor.passthrough.append(device)
        }

        if leader.status.uids.count >= 2 {
            let uid = leader.status.uids[1]
            hypervisor.user = ProcessUser(uid: uid, name: passwd[uid])
        } else {
            unknown[.hypervisorUser] = "no Uid line in \(base)/status"
        }

        hypervisor.listening = listening(pid: leader.pid, inodes: socketInodes)
        // A console the command line names is confirmed, or corrected, by the sockets it holds.
        for index in hypervisor.consoles.indices where hypervisor.consoles[index].transport == "tcp" {
            guard let address = hypervisor.consoles[index].address, let port = address.split(separator: ":").last else { continue }
            if let bound = hypervisor.listening.first(where: { $0.hasSuffix(":\(port)") }) {
                hypervisor.consoles[index].address = bound
                hypervisor.consoles[index].localOnly = SocketTableParser.isLoopback(bound)
            }
        }
        return hypervisor
    }

    func listening(pid: Int, inodes: Set<UInt64>) -> [String] {
        guard !inodes.isEmpty else { return [] }
        var result: [String] = []
        for (file, ipv6) in [("tcp", false), ("tcp6", true)] {
            guard let text = try? Files.readText("\(root.pid(pid))/net/\(file)", limit: 16 << 20) else { continue }
            for (inode, address) in SocketTableParser.listeningSockets(text, ipv6: ipv6) where inodes.contains(inode) {
                result.append(address)
            }
        }
        return result.sorted()
    }
}

/// What a hypervisor's command line declares: qemu's through the parser `check --qemu` uses,
/// so a running guest and its command line in a file mean the same.
enum DeclaredHypervisor {
    static func from(arguments: [String], emulator: String) -> Hypervisor {
        switch emulator {
        case "qemu":
            return QemuCommandLine.parse(arguments).hypervisor
        case "firecracker", "cloud-hypervisor":
            var hypervisor = Hypervisor(emulator: emulator, accelerator: "unknown")
            // Both install their own seccomp filters unless told not to.
            let disabled = arguments.contains("--no-seccomp")
                || zip(arguments, arguments.dropFirst()).contains { $0.0 == "--seccomp" && $0.1 == "false" }
            hypervisor.sandbox = HypervisorSandbox(enabled: !disabled)
            return hypervisor
        default:
            return Hypervisor(emulator: emulator, accelerator: "unknown")
        }
    }
}
