import CloisterCodec
import CloisterModel

/// libvirt domain XML (formatdomain.html) → declared posture of the guest's qemu.
public enum Libvirt {
    public static func posture(_ domain: XMLElementNode, file: String) throws(DocumentError) -> Posture {
        guard domain.name == "domain" else {
            throw DocumentError(line: domain.line, message: "the root element is <\(domain.name)>, not <domain>")
        }
        guard let type = domain["type"] else { throw DocumentError(line: domain.line, path: "/domain", message: "<domain> has no type attribute") }
        let nameElement = domain.child("name")
        guard let name = nameElement?.trimmedText, !name.isEmpty else {
            throw DocumentError(line: domain.line, path: "/domain", message: "<domain> has no <name>")
        }
        var builder = DeclaredPosture(
            id: "libvirt:\(name)", kind: .vm, runtime: "libvirt", name: name, file: file, line: domain.line, path: "/domain")
        func at(_ element: XMLElementNode?, _ path: String, _ field: String) {
            guard let element else { return }
            builder.declared(field, line: element.line, path: path)
        }
        let devices = domain.child("devices")
        let emulator = devices?.child("emulator")?.trimmedText
        // type='kvm' uses KVM; type='qemu' is plain emulation (TCG).
        var hypervisor = Hypervisor(emulator: "qemu", binary: emulator, accelerator: type == "kvm" ? "kvm" : type == "qemu" ? "tcg" : type)
        builder.declared("hypervisor.accelerator", line: domain.line, path: "/domain/@type")
        hypervisor.uuid = domain.child("uuid")?.trimmedText
        if let osType = domain.child("os")?.child("type") {
            hypervisor.machine = osType["machine"]
            at(osType, "/domain/os/type/@machine", "hypervisor.machine")
        }
        if let vcpu = domain.child("vcpu"), let count = Int(vcpu.trimmedText) { hypervisor.vcpus = count }

        // libvirt starts qemu with a seccomp sandbox unless qemu.conf turns it off.
        hypervisor.sandbox = HypervisorSandbox(
            enabled: true,
            options: ["obsolete": "deny", "elevateprivileges": "deny", "spawn": "deny", "resourcecontrol": "deny"])
        builder.defaulted("hypervisor.sandbox", DefaultSource.libvirtSandbox)
        hypervisor.consoles.append(Console(kind: "qmp", transport: "unix", localOnly: true, password: false))
        builder.defaulted("hypervisor.consoles", DefaultSource.libvirtMonitor)

        // Security labels.
        let seclabels = domain.all("seclabel")
        for (index, seclabel) in seclabels.enumerated() {
            let path = "/domain/seclabel[\(index + 1)]"
            let model = seclabel["model"] ?? ""
            let labelType = seclabel["type"] ?? "dynamic"
            let label = seclabel.child("label")?.trimmedText
            switch model {
            case "selinux":
                if labelType == "none" {
                    builder.posture.mac.selinux = SELinuxLabel(context: "unconfined", user: nil, role: nil, type: "unconfined_t", level: nil)
                } else if let label {
                    builder.posture.mac.selinux = selinuxLabel(label)
                } else {
                    builder.unknown(.macSELinux, "svirt_t with a dynamic MCS level chosen at start")
                }
                at(seclabel, path, "mac.selinux")
            case "apparmor":
                if labelType == "none" {
                    builder.posture.mac.apparmor = AppArmorLabel(profile: "unconfined", mode: "unconfined")
                } else {
                    builder.posture.mac.apparmor = AppArmorLabel(profile: label ?? "libvirt-\(hypervisor.uuid ?? name)", mode: "enforce")
                }
                at(seclabel, path, "mac.apparmor")
            case "dac":
                if let label {
                    // +UID:+GID or user:group
                    let owner = label.split(separator: ":").first.map(String.init) ?? label
                    if owner.hasPrefix("+"), let uid = UInt32(owner.dropFirst()) {
                        hypervisor.user = ProcessUser(uid: uid)
                    } else if let uid = UInt32(owner) {
                        hypervisor.user = ProcessUser(uid: uid)
                    } else {
                        hypervisor.user = ProcessUser(name: owner)
                    }
                    at(seclabel, path, "hypervisor.user")
                }
            default:
                if labelType == "none" {
                    builder.unknown(.mac, "<seclabel type='none'>: no security driver confines this guest")
                    at(seclabel, path, "mac")
                }
            }
        }
        // A model the domain gives no <seclabel> for is labelled by the host's driver as if none
        // were given (formatdomain, "Security label"): a DAC-only label, as libvirt writes in
        // every live domain, says nothing of SELinux or AppArmor.
        let macModels = seclabels.filter { ["selinux", "apparmor"].contains($0["model"] ?? "") || $0["model"] == nil && $0["type"] == "none" }
        if macModels.isEmpty {
            builder.defaulted("mac", DefaultSource.libvirtSeclabel)
            builder.unknown(.mac, "the host's security driver (SELinux svirt or AppArmor libvirt-UUID) labels the guest dynamically")
        }
        if hypervisor.user.uid == nil, hypervisor.user.name == nil {
            builder.unknown(.hypervisorUser, "qemu.conf user (libvirt-qemu on Debian, qemu on Fedora; root if so configured)")
        }

        // Devices.
        var children: [String: Int] = [:]
        for device in devices?.children ?? [] {
            let count = (children[device.name] ?? 0) + 1
            children[device.name] = count
            let path = "/domain/devices/\(device.name)[\(count)]"
            switch device.name {
            case "graphics":
                if let console = graphicsConsole(device) {
                    if console.console.password == nil {
                        // Without passwd=, qemu.conf's vnc_sasl / spice_sasl decide whether a
                        // client must authenticate; that file is the host's, not this one.
                        builder.unknown(
                            FieldPath("hypervisor.consoles").element(hypervisor.consoles.count).appending("password"),
                            "<graphics type='\(console.console.kind)'> sets no passwd: whether SASL authenticates clients is qemu.conf's \(console.console.kind)_sasl on the host, not read")
                    }
                    // SPICE's TLS port is a listener of its own beside the plain one, as qemu's
                    // -spice port=,tls-port= opens them; port 0 (or none, with a TLS port) opens no
                    // plain listener.
                    let firstIndex = hypervisor.consoles.count
                    defer {
                        for index in hypervisor.consoles.indices.dropFirst(firstIndex + 1) where hypervisor.consoles[index].password == nil {
                            builder.unknown(
                                FieldPath("hypervisor.consoles").element(index).appending("password"),
                                "<graphics type='\(hypervisor.consoles[index].kind)'> sets no passwd: whether SASL authenticates clients is qemu.conf's \(hypervisor.consoles[index].kind)_sasl on the host, not read")
                        }
                    }
                    if console.console.kind == "spice", console.console.transport == "tcp",
                        let tlsPort = device["tlsPort"], tlsPort != "0", tlsPort != "-1"
                    {
                        var secure = console.console
                        let host = secure.address.flatMap(NetworkAddress.split)?.host ?? "127.0.0.1"
                        secure.address = NetworkAddress.join(host: host, port: tlsPort)
                        secure.tls = true
                        let plainPort = device["port"]
                        if plainPort == nil || plainPort == "0" {
                            hypervisor.consoles.append(secure)
                        } else {
                            var plain = console.console
                            plain.tls = false
                            hypervisor.consoles.append(plain)
                            at(device, path, "hypervisor.consoles[\(hypervisor.consoles.count - 1)]")
                            hypervisor.consoles.append(secure)
                        }
                    } else {
                        hypervisor.consoles.append(console.console)
                    }
                    // <graphics type='vnc' websocket='N'>: qemu's -vnc …,websocket=N listens on
                    // the VNC host too (-1: a port libvirt picks at start).
                    if console.console.kind == "vnc", console.console.transport == "tcp", let websocket = device["websocket"] {
                        var socket = console.console
                        socket.transport = "websocket"
                        let host = socket.address.flatMap(NetworkAddress.split)?.host ?? "127.0.0.1"
                        socket.address = NetworkAddress.join(host: host, port: websocket == "-1" ? "auto" : websocket)
                        hypervisor.consoles.append(socket)
                        at(device, path, "hypervisor.consoles[\(hypervisor.consoles.count - 1)]")
                    }
                    if console.defaultedListen {
                        builder.defaulted("hypervisor.consoles", DefaultSource.libvirtGraphicsListen)
                        // Which console's address is the default: qemu.conf's *_listen may change it.
                        builder.defaulted(
                            "hypervisor.consoles[\(hypervisor.consoles.count - 1)].address", DefaultSource.libvirtGraphicsListen)
                    }
                    at(device, path, "hypervisor.consoles[\(hypervisor.consoles.count - 1)]")
                }
            case "serial", "console", "parallel", "channel":
                // libvirt keeps the first <console> presented as a serial port (target type
                // serial, or none given) as a copy of the first <serial>: one chardev, one
                // -device; it opens nothing of its own (formatdomain, "Console").
                if device.name == "console", ["serial", nil].contains(device.child("target")?["type"]),
                    devices?.child("serial") != nil, children["console"] == 1
                {
                    continue
                }
                if let console = characterConsole(device) {
                    let field = "hypervisor.consoles[\(hypervisor.consoles.count)]"
                    // A TCP chardev without tls='yes' or 'no' on its <source> takes qemu.conf's
                    // chardev_tls (off unless the host turns it on).
                    if console.tls == nil, ["tcp", "telnet"].contains(console.transport) {
                        builder.unknown(
                            FieldPath("hypervisor.consoles").element(hypervisor.consoles.count).appending("tls"),
                            "<\(device.name) type='tcp'> sets no tls: whether qemu serves it over TLS is qemu.conf's chardev_tls on the host, not read")
                    }
                    hypervisor.consoles.append(console)
                    at(device, path, field)
                }
            case "hostdev":
                if let passthrough = hostdev(device) {
                    hypervisor.passthrough.append(passthrough)
                    at(device, path, "hypervisor.passthrough[\(hypervisor.passthrough.count - 1)]")
                }
            case "interface":
                var interfaceType = device["type"] ?? "unknown"
                // <interface type='user'><backend type='passt'/>: passt, a process of its own,
                // not SLiRP inside qemu (formatdomain, "Userspace connection using passt").
                if interfaceType == "user", device.child("backend")?["type"] == "passt" { interfaceType = "passt" }
                hypervisor.network.append(NetworkBackend(type: interfaceType, id: device.child("alias")?["name"]))
                at(device, path, "hypervisor.network[\(hypervisor.network.count - 1)]")
                if interfaceType == "hostdev", let passthrough = hostdev(device) {
                    hypervisor.passthrough.append(passthrough)
                }
                if let model = device.child("model")?["type"], QemuCommandLine.legacyDeviceModels.contains(model) {
                    hypervisor.legacyDevices.append(model)
                    at(device, path, "hypervisor.legacyDevices")
                }
            case "disk":
                if device["device"] == "floppy" {
                    for legacy in ["isa-fdc", "floppy"] where !hypervisor.legacyDevices.contains(legacy) {
                        hypervisor.legacyDevices.append(legacy)
                    }
                    at(device, path, "hypervisor.legacyDevices")
                }
                if let source = device.child("source"), let hostPath = source["file"] ?? source["dev"] ?? source["dir"] {
                    let readOnly = device.child("readonly") != nil
                    builder.posture.mounts.append(
                        Mount(source: hostPath, target: device.child("target")?["dev"] ?? "", readOnly: readOnly,
                              type: device["device"] ?? "disk", hostPath: hostPath))
                    at(device, path, "mounts[\(builder.posture.mounts.count - 1)]")
                }
            case "sound":
                if let model = device["model"], QemuCommandLine.legacyDeviceModels.contains(model) {
                    hypervisor.legacyDevices.append(model)
                    at(device, path, "hypervisor.legacyDevices")
                }
            case "controller":
                if device["type"] == "fdc" {
                    hypervisor.legacyDevices.append("isa-fdc")
                    at(device, path, "hypervisor.legacyDevices")
                }
            default:
                break
            }
        }
        if let machine = hypervisor.machine, QemuCommandLine.buildsFloppyController(machine: machine),
            !hypervisor.legacyDevices.contains("isa-fdc")
        {
            hypervisor.legacyDevices.append("isa-fdc")
            builder.defaulted("hypervisor.legacyDevices", DefaultSource.qemuFloppy)
        }

        // <qemu:commandline> passes arguments straight to qemu, around libvirt's checks.
        for extra in domain.children where extra.name == "qemu:commandline" || extra.name.hasSuffix(":commandline") {
            let arguments = extra.children.filter { $0.name.hasSuffix("arg") }.compactMap { $0["value"] }
            let parsed = QemuCommandLine.parse(["qemu-system"] + arguments + ["-nodefaults", "-net", "none"])
            let extraConsoles = parsed.consoles
            hypervisor.consoles += extraConsoles
            hypervisor.passthrough += parsed.passthrough
            hypervisor.legacyDevices += parsed.legacyDevices.filter { !hypervisor.legacyDevices.contains($0) }
            hypervisor.network += parsed.network
            if parsed.sandbox != nil {
                hypervisor.sandbox = parsed.hypervisor.sandbox
            }
            builder.declared("hypervisor.consoles", line: extra.line, path: "/domain/qemu:commandline")
        }
        builder.posture.hypervisor = hypervisor
        builder.posture.command = emulator.map { [$0] } ?? []
        return builder.posture
    }

    static func graphicsConsole(_ graphics: XMLElementNode) -> (console: Console, defaultedListen: Bool)? {
        let type = graphics["type"] ?? ""
        guard type == "vnc" || type == "spice" || type == "rdp" else { return nil }
        let listen = graphics.child("listen")
        if listen?["type"] == "none" { return nil }
        if let socket = listen?["socket"] ?? graphics["socket"] {
            return (Console(kind: type, transport: "unix", address: socket, localOnly: true, password: graphics["passwd"] != nil ? true : type == "rdp" ? false : nil), false)
        }
        let address = listen?["address"] ?? graphics["listen"]
        let defaulted = address == nil && listen?["type"] != "network"
        let host = address ?? "127.0.0.1"
        let port = graphics["port"].flatMap { $0 == "-1" ? nil : $0 } ?? (graphics["autoport"] == "yes" || graphics["port"] == "-1" ? "auto" : "")
        let local = listen?["type"] == "network" ? false : (!NetworkAddress.isWildcard(host) && NetworkAddress.isLoopback(host))
        return (
            Console(
                kind: type, transport: "tcp", address: NetworkAddress.join(host: host, port: port), localOnly: local,
                password: graphics["passwd"] != nil ? true : type == "rdp" ? false : nil, tls: type == "spice" ? graphics["tlsPort"] != nil : nil),
            defaulted
        )
    }

    static func characterConsole(_ device: XMLElementNode) -> Console? {
        let type = device["type"] ?? "pty"
        // <serial> and <console> are terminals; <channel> is a virtio-serial port (the guest
        // agent, or any named port) that qemu writes as virtserialport.
        let kind = device.name == "parallel" ? "parallel" : device.name == "channel" ? "channel" : "serial"
        let source = device.child("source")
        switch type {
        case "tcp", "udp":
            // A TCP device may have two <source>s (udp: connect and bind); the bind one listens.
            let sources = device.all("source")
            let bound = sources.first { $0["mode"] == "bind" }
            let chosen = bound ?? source
            let server = bound != nil
            let host = chosen?["host"] ?? ""
            // <protocol type='raw'|'telnet'|'telnets'|'tls'>: telnets and tls are TLS-wrapped
            // (libvirt writes them as telnet=on or not, with tls-creds when chardev_tls is on).
            let wireProtocol = device.child("protocol")?["type"] ?? "raw"
            let tlsAttribute = chosen?["tls"]
            let tls: Bool? = tlsAttribute == "yes" ? true : tlsAttribute == "no" ? false : nil
            let endpoint = QemuEndpoint(
                transport: type == "tcp" && (wireProtocol == "telnet" || wireProtocol == "telnets") ? "telnet" : type, host: host,
                port: chosen?["service"], server: server, tls: tls ?? false)
            var console = endpoint.console(kind: kind)
            if type == "tcp" { console.tls = tls }
            return console
        case "unix":
            return QemuEndpoint(transport: "unix", path: source?["path"], server: source?["mode"] == "bind").console(kind: kind)
        case "pty", "stdio", "file", "null", "vc", "pipe", "dev", "spicevmc", "spiceport", "nmdm":
            // Only network and socket devices are openings; the rest stay on this host.
            return device.name == "channel" ? nil : Console(kind: kind, transport: type, address: source?["path"], localOnly: true)
        default:
            return nil
        }
    }

    static func hostdev(_ device: XMLElementNode) -> Passthrough? {
        let source = device.child("source")
        // <interface type='hostdev'> hands over a PCI network function the same way.
        let type = device.name == "interface" ? "pci" : device["type"]
        switch type {
        case "pci":
            guard let address = source?.child("address") else { return Passthrough(kind: "vfio", host: "") }
            func hex(_ key: String, _ width: Int) -> String {
                let raw = address[key] ?? "0"
                let digits = raw.hasPrefix("0x") ? String(raw.dropFirst(2)) : raw
                return String(repeating: "0", count: max(0, width - digits.count)) + digits
            }
            return Passthrough(kind: "vfio", host: "\(hex("domain", 4)):\(hex("bus", 2)):\(hex("slot", 2)).\(hex("function", 1).prefix(1))")
        case "usb":
            if let vendor = source?.child("vendor")?["id"], let product = source?.child("product")?["id"] {
                return Passthrough(kind: "usb-host", host: "vendorid=\(vendor),productid=\(product)")
            }
            if let address = source?.child("address") {
                return Passthrough(kind: "usb-host", host: "hostbus=\(address["bus"] ?? ""),hostaddr=\(address["device"] ?? "")")
            }
            return Passthrough(kind: "usb-host", host: "")
        // Named as the device qemu is given for them, so both sides say the same: a SCSI LUN
        // becomes scsi-generic, a vhost SCSI host (<source protocol='vhost' wwpn=…>)
        // vhost-scsi, a mediated device a vfio-pci (or -ccw, -ap) on its mdev sysfs path.
        case "scsi":
            let adapter = source?.child("adapter")?["name"] ?? ""
            let address = source?.child("address")
            let unit = ["bus", "target", "unit"].compactMap { address?[$0] }.joined(separator: ":")
            return Passthrough(kind: "scsi-generic", host: unit.isEmpty ? adapter : "\(adapter):\(unit)")
        case "scsi_host":
            return Passthrough(kind: "vhost-scsi", host: source?["wwpn"] ?? "")
        case "mdev":
            let uuid = source?.child("address")?["uuid"] ?? ""
            return Passthrough(kind: "mdev", host: uuid.isEmpty ? "" : "/sys/bus/mdev/devices/\(uuid)")
        default:
            return nil
        }
    }
}
