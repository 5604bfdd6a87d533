import CloisterCodec
import CloisterModel

/// libvirt's `qemu.conf` (src/qemu/qemu.conf.in): the host-wide settings a domain XML defers to.
/// A domain that sets no `passwd` on its `<graphics>` gets `vnc_password`/`spice_password` or
/// SASL from here; a domain without a static `<seclabel>` is labelled by `security_driver`; the
/// qemu process runs as `user`; `seccomp_sandbox = 0` turns qemu's `-sandbox` off. Without this
/// file those fields of a libvirt posture stay unknown, each with why.
public struct LibvirtQemuConf: Sendable, Equatable {
    /// One setting: its value (a list's elements joined by commas) and the line it is on.
    public struct Setting: Sendable, Equatable {
        public var value: String
        public var isList: Bool
        public var line: Int
    }

    public var file: String
    public var settings: [String: Setting]

    public init(file: String, settings: [String: Setting]) {
        self.file = file
        self.settings = settings
    }

    /// Parses libvirt's configuration syntax (virconf): `name = value` per line, a value being a
    /// quoted string, an integer or a `[ … ]` list of them (which may span lines); `#` starts a
    /// comment outside a string. A line that is none of these is an error naming its line.
    public static func parse(_ text: String, file: String) throws(DocumentError) -> LibvirtQemuConf {
        var settings: [String: Setting] = [:]
        var scanner = Scanner(Array(text.unicodeScalars))
        while true {
            scanner.skipBlankAndComments()
            guard let first = scanner.peek else { break }
            let line = scanner.line
            guard first.properties.isAlphabetic || first == "_" else {
                throw DocumentError(line: line, message: "expected a setting name, found \"\(first.escaped(asASCII: true))\"")
            }
            let name = scanner.take { $0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "_" }
            scanner.skipSpaces()
            guard scanner.peek == "=" else { throw DocumentError(line: scanner.line, path: name, message: "\(name): expected = after the name") }
            scanner.advance()
            scanner.skipSpaces()
            if scanner.peek == "[" {
                scanner.advance()
                var elements: [String] = []
                while true {
                    scanner.skipBlankAndComments()
                    guard let next = scanner.peek else {
                        throw DocumentError(line: line, path: name, message: "\(name): the list is not closed with ]")
                    }
                    if next == "]" { scanner.advance(); break }
                    if next == "," { scanner.advance(); continue }
                    elements.append(try scanner.scalarValue(name: name))
                    if elements.count > 4096 { throw DocumentError(line: line, path: name, message: "\(name): list longer than 4096") }
                }
                settings[name] = Setting(value: elements.joined(separator: ","), isList: true, line: line)
            } else {
                settings[name] = Setting(value: try scanner.scalarValue(name: name), isList: false, line: line)
            }
            scanner.skipSpaces()
            if scanner.peek == "#" { scanner.skipLine() }
            if let rest = scanner.peek, rest != "\n", rest != ";" {
                throw DocumentError(line: scanner.line, path: name, message: "\(name): unexpected text after the value")
            }
            if scanner.peek == ";" { scanner.advance() }
        }
        return LibvirtQemuConf(file: file, settings: settings)
    }

    public subscript(name: String) -> Setting? { settings[name] }

    /// A 0/1 setting: nil when absent or not a number.
    func flag(_ name: String) -> Bool? { settings[name].flatMap { Int($0.value) }.map { $0 != 0 } }

    /// Settles, in a posture read from a libvirt domain, what this file decides: the graphics
    /// consoles' authentication and TLS, the security driver's label where the domain has no
    /// static one, the qemu user and the seccomp sandbox. Each field so set is recorded as
    /// declared at its line of this file.
    public func apply(to posture: inout Posture) {
        guard posture.runtime == "libvirt", var hypervisor = posture.hypervisor else { return }
        func declared(_ field: String, _ name: String) {
            posture.fieldLocations[field] = SourceLocation(file: file, line: settings[name]?.line, path: name)
        }
        /// A default the domain left is now this file's setting.
        func settle(_ field: String, _ name: String) {
            posture.defaulted.removeAll { $0 == field }
            posture.defaultSources?.removeValue(forKey: field)
            declared(field, name)
        }
        for index in hypervisor.consoles.indices where ["vnc", "spice"].contains(hypervisor.consoles[index].kind) {
            let kind = hypervisor.consoles[index].kind
            let field = "hypervisor.consoles[\(index)].password"
            if hypervisor.consoles[index].password == nil {
                // An empty password still turns passwords on (and refuses every client).
                let password = settings["\(kind)_password"] != nil
                let sasl = flag("\(kind)_sasl") ?? false
                hypervisor.consoles[index].password = password || sasl
                posture.unknown.removeValue(forKey: FieldPath(field))
                declared(field, password ? "\(kind)_password" : "\(kind)_sasl")
            }
            let address = "hypervisor.consoles[\(index)].address"
            if posture.defaulted.contains(address) {
                // The domain names no listen address: qemu.conf's own, or its automatic socket.
                if flag("\(kind)_auto_unix_socket") == true {
                    hypervisor.consoles[index].transport = "unix"
                    hypervisor.consoles[index].address = nil
                    hypervisor.consoles[index].localOnly = true
                    settle(address, "\(kind)_auto_unix_socket")
                } else if let listen = settings["\(kind)_listen"]?.value {
                    let port = hypervisor.consoles[index].address.flatMap(NetworkAddress.split)?.port ?? ""
                    hypervisor.consoles[index].address = NetworkAddress.join(host: listen, port: port)
                    hypervisor.consoles[index].localOnly = !NetworkAddress.isWildcard(listen) && NetworkAddress.isLoopback(listen)
                    settle(address, "\(kind)_listen")
                }
            }
            if kind == "vnc", hypervisor.consoles[index].transport != "unix" {
                hypervisor.consoles[index].tls = flag("vnc_tls") ?? false
            }
        }
        // A TCP serial port, console or channel whose <source> says nothing of TLS is served
        // over TLS when chardev_tls = 1 (qemu.conf.in: "Enable use of TLS encryption on the
        // chardev TCP transports"; off when absent).
        for index in hypervisor.consoles.indices
        where ["serial", "channel", "parallel"].contains(hypervisor.consoles[index].kind)
            && ["tcp", "telnet"].contains(hypervisor.consoles[index].transport) && hypervisor.consoles[index].tls == nil
        {
            let field = "hypervisor.consoles[\(index)].tls"
            hypervisor.consoles[index].tls = flag("chardev_tls") ?? false
            posture.unknown.removeValue(forKey: FieldPath("hypervisor.consoles").element(index).appending("tls"))
            declared(field, "chardev_tls")
        }
        if posture.unknown[.mac] != nil, posture.mac.apparmor == nil, posture.mac.selinux == nil,
            let driver = settings["security_driver"]
        {
            let drivers = driver.value.split(separator: ",").map(String.init)
            let name = hypervisor.uuid ?? posture.name
            if drivers == ["none"] {
                posture.unknown.removeValue(forKey: .mac)
                declared("mac", "security_driver")
            } else if drivers.contains("apparmor") || drivers.contains("selinux") {
                if drivers.contains("apparmor") { posture.mac.apparmor = AppArmorLabel(profile: "libvirt-\(name)", mode: "enforce") }
                if drivers.contains("selinux") {
                    // svirt_t with an MCS level libvirt picks at start.
                    posture.mac.selinux = SELinuxLabel(context: "system_u:system_r:svirt_t", user: "system_u", role: "system_r", type: "svirt_t", level: nil)
                }
                posture.unknown.removeValue(forKey: .mac)
                declared("mac", "security_driver")
            }
        }
        if posture.unknown[.hypervisorUser] != nil, let user = settings["user"]?.value {
            // "+N" is a UID; digits alone are a name first, as libvirt reads them.
            if user.hasPrefix("+"), let uid = UInt32(user.dropFirst()) {
                hypervisor.user = ProcessUser(uid: uid)
            } else {
                hypervisor.user = ProcessUser(name: user)
                if user == "root" { hypervisor.user.uid = 0 }
            }
            posture.unknown.removeValue(forKey: .hypervisorUser)
            declared("hypervisor.user", "user")
        }
        if let sandbox = settings["seccomp_sandbox"], let value = Int(sandbox.value) {
            if value == 0 { hypervisor.sandbox = HypervisorSandbox(enabled: false) }
            settle("hypervisor.sandbox", "seccomp_sandbox")
        }
        posture.hypervisor = hypervisor
    }

    /// A cursor over the file's characters that counts lines.
    struct Scanner {
        let characters: [Unicode.Scalar]
        var index = 0
        var line = 1

        init(_ characters: [Unicode.Scalar]) { self.characters = characters }

        var peek: Unicode.Scalar? { index < characters.count ? characters[index] : nil }

        mutating func advance() {
            if peek == "\n" { line += 1 }
            index += 1
        }

        mutating func take(while predicate: (Unicode.Scalar) -> Bool) -> String {
            var text = String.UnicodeScalarView()
            while let character = peek, predicate(character) {
                text.append(character)
                advance()
            }
            return String(text)
        }

        mutating func skipSpaces() { _ = take { $0 == " " || $0 == "\t" || $0 == "\r" } }

        mutating func skipLine() { _ = take { $0 != "\n" } }

        mutating func skipBlankAndComments() {
            while let character = peek {
                if character == "#" { skipLine() } else if character.properties.isWhitespace { advance() } else { return }
            }
        }

        /// A quoted string (no escapes in virconf) or an integer.
        mutating func scalarValue(name: String) throws(DocumentError) -> String {
            let start = line
            guard let first = peek else { throw DocumentError(line: start, path: name, message: "\(name): no value") }
            if first == "\"" || first == "'" {
                advance()
                let text = take { $0 != first && $0 != "\n" }
                guard peek == first else { throw DocumentError(line: start, path: name, message: "\(name): the string is not closed") }
                advance()
                return text
            }
            let number = take { $0 == "-" || $0 == "+" || $0.properties.numericType != nil }
            guard !number.isEmpty, Int(number) != nil else {
                throw DocumentError(line: start, path: name, message: "\(name): a value is a quoted string, a number or a [ list ]")
            }
            return number
        }
    }
}
