import CloisterModel

/// Where a qemu character device (monitor, QMP, serial port, gdb stub, `-chardev`) leads.
/// Built from both spellings: the legacy one (`tcp:host:port,server=on`, `unix:/path`, `stdio`,
/// `mon:stdio`, `chardev:ID`; chardev/char.c qemu_chr_parse_compat) and `-chardev BACKEND,…`.
public struct QemuEndpoint: Sendable, Equatable {
    /// `tcp`, `telnet`, `websocket`, `udp`, `unix`, `pty`, `stdio`, `vc`, `file`, `pipe`,
    /// `null`, `none`, `fd`, `tty`, `parallel`, `spice`, `ringbuf`, or the backend's own name.
    public var transport: String
    public var host: String?
    public var port: String?
    public var path: String?
    /// Listening (`server=on`) rather than connecting out.
    public var server: Bool
    public var tls: Bool
    /// `mon:` prefix: a monitor is multiplexed onto this device (Ctrl-a c switches to it).
    public var multiplexedMonitor: Bool
    /// `chardev:ID`: a reference to a `-chardev` declared elsewhere.
    public var chardevReference: String?

    public init(
        transport: String, host: String? = nil, port: String? = nil, path: String? = nil, server: Bool = false,
        tls: Bool = false, multiplexedMonitor: Bool = false, chardevReference: String? = nil
    ) {
        self.transport = transport
        self.host = host
        self.port = port
        self.path = path
        self.server = server
        self.tls = tls
        self.multiplexedMonitor = multiplexedMonitor
        self.chardevReference = chardevReference
    }

    /// Parses the legacy spelling taken by `-monitor`, `-qmp`, `-serial`, `-parallel`, `-gdb`.
    public static func parseLegacy(_ text: String) -> QemuEndpoint {
        if text.hasPrefix("mon:") {
            // Iterative, not recursive: `mon:mon:mon:…` must not grow the stack.
            var rest = Substring(text)
            while rest.hasPrefix("mon:") { rest = rest.dropFirst(4) }
            var inner = parseLegacy(String(rest))
            inner.multiplexedMonitor = true
            return inner
        }
        if text.hasPrefix("chardev:") {
            return QemuEndpoint(transport: "chardev", chardevReference: String(text.dropFirst(8)))
        }
        let (head, tail) = splitOnce(text, ":")
        switch head {
        case "tcp", "telnet", "websocket":
            // tcp:[host]:port[,server=on][,wait=off][,nodelay=on][,reconnect=N]
            let (address, optionText) = splitOnce(tail ?? "", ",")
            let options = QemuOptionList.parse(optionText ?? "")
            let hostPort = NetworkAddress.split(address) ?? (host: "", port: address)
            return QemuEndpoint(
                transport: head, host: hostPort.host, port: hostPort.port,
                server: options.flag("server") ?? false, tls: options["tls-creds"] != nil)
        case "unix":
            let (path, optionText) = splitOnce(tail ?? "", ",")
            let options = QemuOptionList.parse(optionText ?? "")
            return QemuEndpoint(transport: "unix", path: path, server: options.flag("server") ?? false)
        case "udp":
            // udp:[remote_host]:remote_port[@[src_ip]:src_port]: qemu sends to the remote and
            // receives on the local address.
            let (remote, local) = splitOnce(tail ?? "", "@")
            let remoteAddress = NetworkAddress.split(remote) ?? (host: "", port: remote)
            if let local, let localAddress = NetworkAddress.split(local) {
                return QemuEndpoint(
                    transport: "udp", host: localAddress.host, port: localAddress.port, server: true)
            }
            return QemuEndpoint(transport: "udp", host: remoteAddress.host, port: remoteAddress.port)
        case "file", "pipe":
            return QemuEndpoint(transport: head, path: tail)
        case "vc":
            return QemuEndpoint(transport: "vc")
        case "stdio", "pty", "null", "none", "msmouse", "braille":
            return QemuEndpoint(transport: head)
        default:
            if text.hasPrefix("/dev/parport") { return QemuEndpoint(transport: "parallel", path: text) }
            if text.hasPrefix("/dev/") { return QemuEndpoint(transport: "tty", path: text) }
            if text.hasPrefix("COM") { return QemuEndpoint(transport: "tty", path: text) }
            return QemuEndpoint(transport: head.isEmpty ? "unknown" : head)
        }
    }

    /// Parses `-chardev BACKEND,id=ID,…`; returns the id with the endpoint.
    public static func parseChardev(_ given: QemuOptionList) -> (id: String?, endpoint: QemuEndpoint) {
        let options = qapiChardev(given)
        let backend = options["backend"] ?? ""
        let id = options["id"]
        var endpoint: QemuEndpoint
        switch backend {
        case "socket":
            if let path = options["path"] {
                endpoint = QemuEndpoint(transport: "unix", path: path)
            } else if options["fd"] != nil {
                endpoint = QemuEndpoint(transport: "fd")
            } else {
                let transport =
                    options.flag("websocket") == true ? "websocket" : options.flag("telnet") == true ? "telnet" : "tcp"
                endpoint = QemuEndpoint(transport: transport, host: options["host"] ?? "", port: options["port"])
            }
            endpoint.server = options.flag("server") ?? false
            endpoint.tls = options["tls-creds"] != nil
        case "udp":
            if let localPort = options["localport"] {
                endpoint = QemuEndpoint(
                    transport: "udp", host: options["localaddr"] ?? "", port: localPort, server: true)
            } else {
                endpoint = QemuEndpoint(transport: "udp", host: options["host"] ?? "", port: options["port"])
            }
        case "file", "pipe":
            endpoint = QemuEndpoint(transport: backend, path: options["path"])
        case "serial", "tty":
            endpoint = QemuEndpoint(transport: "tty", path: options["path"])
        case "parallel", "parport":
            endpoint = QemuEndpoint(transport: "parallel", path: options["path"])
        case "spicevmc", "spiceport":
            endpoint = QemuEndpoint(transport: "spice")
        case "memory":
            endpoint = QemuEndpoint(transport: "ringbuf")
        default:
            endpoint = QemuEndpoint(transport: backend.isEmpty ? "unknown" : backend)
        }
        return (id, endpoint)
    }

    /// The QAPI shape of a chardev (`chardev-add`'s `ChardevBackend`, which the JSON form of
    /// `-chardev` takes: `{"id":…,"backend":{"type":"socket","data":{"addr":{"type":"inet",
    /// "data":{"host":…,"port":…}},"server":true,"telnet":true,"tls-creds":…}}}`, its address a
    /// legacy `SocketAddressLegacy` with `data` or a flat `SocketAddress`), flattened to the
    /// keys of the dotted form (`backend=socket,host=…,port=…,server=on`). A list already in
    /// that form is returned as it is.
    static func qapiChardev(_ options: QemuOptionList) -> QemuOptionList {
        guard let type = options["backend.type"] else { return options }
        var flat = QemuOptionList(options: [QemuOption(key: "backend", value: type)])
        if let id = options["id"] { flat.options.append(QemuOption(key: "id", value: id)) }
        for option in options.options where option.key.hasPrefix("backend.data.") {
            var key = String(option.key.dropFirst("backend.data.".count))
            // ChardevUdp's `local` address is where qemu listens: the dotted form's localaddr/localport.
            if key.hasPrefix("local.") {
                key = String(key.dropFirst(6))
                if key.hasPrefix("data.") { key = String(key.dropFirst(5)) }
                if key == "host" || key == "port" {
                    flat.options.append(QemuOption(key: key == "host" ? "localaddr" : "localport", value: option.value))
                }
                continue
            }
            if key.hasPrefix("addr.") || key.hasPrefix("remote.") {
                key = String(key.drop { $0 != "." }.dropFirst())
                if key.hasPrefix("data.") { key = String(key.dropFirst(5)) }
                switch key {
                case "type":
                    // inet, unix, vsock, fd: the kind of address; `fd` names a passed descriptor.
                    if option.value == "fd" { flat.options.append(QemuOption(key: "fd", value: "")) }
                    continue
                case "str": key = "fd"  // SocketAddress fd: {"type":"fd","str":"NAME"}
                default: break
                }
            }
            // ChardevFile's `out` is the path written to.
            if key == "out", type == "file" || type == "pipe" { key = "path" }
            // ChardevHostdev's `device` is the host device's path.
            if key == "device" { key = "path" }
            flat.options.append(QemuOption(key: key, value: option.value))
        }
        // QAPI's ChardevSocket listens unless told otherwise (`server`, default true), where
        // the dotted form connects out unless `server=on`.
        if type == "socket", flat["server"] == nil { flat.options.append(QemuOption(key: "server", value: "on")) }
        return flat
    }

    /// Transports over a network socket: whoever reaches the address drives the device.
    public var isNetwork: Bool { ["tcp", "telnet", "websocket", "udp"].contains(transport) }

    /// True when only this host can reach the device. A listener on the wildcard is reachable
    /// from the network; a client connecting out gives the device to whoever listens there, so a
    /// remote peer is not local either. An empty host on a client means localhost (qemu's
    /// socket code resolves it so). UNIX sockets, ptys, stdio and files are local. nil when the
    /// socket is a passed-in descriptor.
    public var localOnly: Bool? {
        if transport == "fd" { return nil }
        guard isNetwork else { return true }
        let host = host ?? ""
        if host.isEmpty { return !server }
        if NetworkAddress.isWildcard(host) { return false }
        return NetworkAddress.isLoopback(host)
    }

    public var address: String? {
        if isNetwork {
            return NetworkAddress.join(host: (host ?? "").isEmpty && !server ? "localhost" : host ?? "", port: port ?? "")
        }
        return path
    }

    /// The console this endpoint is, for a front end of `kind`.
    public func console(kind: String) -> Console {
        Console(
            kind: kind, transport: transport, address: address, localOnly: localOnly,
            // Monitors, serial ports and gdb stubs have no authentication of their own.
            password: isNetwork || transport == "unix" ? false : nil,
            tls: isNetwork ? tls : nil)
    }
}

func splitOnce(_ text: String, _ separator: Character) -> (String, String?) {
    guard let index = text.firstIndex(of: separator) else { return (text, nil) }
    return (String(text[..<index]), String(text[text.index(after: index)...]))
}
