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
    public static func parse(_ text: String, impliedKey: String? = nil) -> QemuOptionList {
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
