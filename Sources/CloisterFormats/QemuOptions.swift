import CloisterCodec

// qemu's option syntax (QemuOpts, util/qemu-option.c): `value,key=value,flag,key=value`.
// - A first element without `=` is the value of the option's implied key (`-accel kvm`,
//   `-netdev user,id=n0`, `-vnc :1`).
// - `,,` stands for one literal comma inside a value (`-drive file=a,,b.img`).
// - A bare `key` elsewhere means `key=on`; `nokey` is the old spelling of `key=off`.
// - When a key repeats, the last one wins (qemu_opt_get returns the last).

/// One `key=value` element of a qemu option argument.
public struct QemuOption: Sendable, Equatable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// A parsed qemu option argument, in the order given.
public struct QemuOptionList: Sendable, Equatable {
    public var options: [QemuOption]

    public init(options: [QemuOption] = []) {
        self.options = options
    }

    /// At most this many elements are kept from one argument: a hostile argv cannot make the
    /// parser hold more than it bounds.
    public static let maximumElements = 512

    /// Parses `text`. `impliedKey` names the key of a leading element without `=`.
    /// A value that starts with `{` is the JSON form that qemu accepts for -device, -object,
    /// -netdev, -blockdev and -audiodev, and that libvirt uses since 7.x
    /// (`-device {"driver":"vfio-pci","host":"0000:06:02.0"}`); nested objects become
    /// dotted keys (`addr.host`), as qemu's keyval syntax writes them.
    public static func parse(_ text: String, impliedKey: String? = nil) -> QemuOptionList {
        if text.first == "{", let root = try? JSONDocument.parse(text), root.entries != nil {
            var list = QemuOptionList()
            flatten(root, prefix: "", into: &list)
            return list
        }
        var list = QemuOptionList()
        var elements: [String] = []
        var current = ""
        var characters = text.makeIterator()
        var pending = characters.next()
        while let character = pending {
            pending = characters.next()
            if character == "," {
                if pending == "," {
                    current.append(",")
                    pending = characters.next()
                    continue
                }
                elements.append(current)
                current = ""
                if elements.count >= maximumElements { break }
                continue
            }
            current.append(character)
        }
        if elements.count < maximumElements { elements.append(current) }

        for (index, element) in elements.enumerated() {
            if let equals = element.firstIndex(of: "=") {
                let key = String(element[..<equals])
                let value = String(element[element.index(after: equals)...])
                list.options.append(QemuOption(key: key, value: value))
            } else if index == 0, let impliedKey {
                list.options.append(QemuOption(key: impliedKey, value: element))
            } else if element.isEmpty {
                continue
            } else {
                list.options.append(QemuOption(key: element, value: "on"))
            }
        }
        return list
    }

    static func flatten(_ node: DocNode, prefix: String, into list: inout QemuOptionList) {
        guard list.options.count < maximumElements else { return }
        switch node.value {
        case .mapping(let entries):
            for entry in entries { flatten(entry.value, prefix: prefix.isEmpty ? entry.key : "\(prefix).\(entry.key)", into: &list) }
        case .sequence(let elements):
            for (index, element) in elements.enumerated() { flatten(element, prefix: "\(prefix).\(index)", into: &list) }
        case .scalar(let text, _):
            // JSON booleans are qemu's on/off.
            let value = text == "true" ? "on" : text == "false" ? "off" : text
            list.options.append(QemuOption(key: prefix, value: value))
        }
    }

    /// The value of `key`, the last one when it repeats (as qemu reads it).
    public subscript(key: String) -> String? {
        options.last(where: { $0.key == key })?.value
    }

    /// Every value given for `key`, in order (`hostfwd=` may repeat).
    public func all(_ key: String) -> [String] {
        options.filter { $0.key == key }.map(\.value)
    }

    public func contains(_ key: String) -> Bool {
        options.contains { $0.key == key }
    }

    /// A boolean option as qemu reads it: `on`/`yes`/`true`/`y` or `off`/`no`/`false`/`n`;
    /// the old `nokey` spelling means off. nil when absent or not a boolean.
    public func flag(_ key: String) -> Bool? {
        if let value = self[key] {
            return QemuOptionList.boolean(value)
        }
        if contains("no" + key) { return false }
        return nil
    }

    public static func boolean(_ value: String) -> Bool? {
        switch value.lowercased() {
        case "on", "yes", "true", "y": true
        case "off", "no", "false", "n": false
        default: nil
        }
    }
}
