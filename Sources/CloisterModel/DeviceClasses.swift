// Device lists said by what matters: a privileged container sees ninety nodes under /dev, and
// an auditor needs "every host device; block devices: /dev/vda, /dev/loop0–7", not the ninety.

public enum DeviceClasses {
    /// A class of device nodes, in the order a summary names them (most dangerous first).
    public enum Class: String, CaseIterable, Sendable {
        /// /dev/mem, /dev/kmem, /dev/port: the host's physical memory and I/O ports.
        case memory = "memory devices"
        /// Disks and partitions: the host's filesystems, raw.
        case block = "block devices"
        /// /dev/kvm and vhost: the host's hypervisor.
        case hypervisor = "hypervisor devices"
        /// GPUs (DRM, NVIDIA).
        case gpu = "GPUs"
        /// Terminals and serial lines.
        case terminal = "terminals"
        case other = "other devices"
    }

    /// The class of a device node, from its type and path.
    public static func classify(path: String, type: String?) -> Class {
        if ["/dev/mem", "/dev/kmem", "/dev/port"].contains(path) { return .memory }
        if type == "block" { return .block }
        if path == "/dev/kvm" || path.hasPrefix("/dev/vhost-") { return .hypervisor }
        if path.hasPrefix("/dev/dri/") || path.hasPrefix("/dev/nvidia") { return .gpu }
        if path.hasPrefix("/dev/tty") || path.hasPrefix("/dev/ttyS") || path.hasPrefix("/dev/vcs") { return .terminal }
        return .other
    }

    /// `every host device (cgroup allows all); block devices: /dev/vda, /dev/loop0–7; …`: the
    /// devices (path, type) grouped by class, numbered runs written as ranges, each class cut
    /// after `limit` entries with how many more. `allowAll` is the devices cgroup's verdict.
    public static func summary(_ devices: [(path: String, type: String?)], allowAll: Bool, limit: Int = 6) -> String {
        var parts: [String] = []
        if allowAll { parts.append("every host device (cgroup allows all)") }
        var byClass: [Class: [String]] = [:]
        for device in devices { byClass[classify(path: device.path, type: device.type), default: []].append(device.path) }
        for deviceClass in Class.allCases {
            guard let paths = byClass[deviceClass] else { continue }
            parts.append("\(deviceClass.rawValue): " + CapabilityNames.list(ranges(paths), limit: limit))
        }
        return parts.isEmpty ? "none" : parts.joined(separator: "; ")
    }

    /// Paths that differ only in a trailing number, written once as a range: /dev/loop0 …
    /// /dev/loop7 as `/dev/loop0–7`. Order of first appearance is kept; gaps split ranges.
    public static func ranges(_ paths: [String]) -> [String] {
        var numbers: [String: [Int]] = [:]
        var output: [(stem: String, text: String?)] = []
        for path in paths {
            let digits = path.reversed().prefix { $0.isASCII && $0.isNumber }
            let stem = String(path.dropLast(digits.count))
            // Numbers too long to be an index (or no number, or a bare stem) stay as they are.
            guard !digits.isEmpty, digits.count <= 6, !stem.isEmpty, let number = Int(String(digits.reversed())) else {
                output.append((path, path))
                continue
            }
            if numbers[stem] == nil {
                output.append((stem, nil))
            }
            numbers[stem, default: []].append(number)
        }
        return output.flatMap { entry -> [String] in
            if let text = entry.text { return [text] }
            let sorted = Array(Set(numbers[entry.stem] ?? [])).sorted()
            var runs: [String] = []
            var start = 0
            while start < sorted.count {
                var end = start
                while end + 1 < sorted.count, sorted[end + 1] == sorted[end] + 1 { end += 1 }
                runs.append(end == start ? "\(entry.stem)\(sorted[start])" : "\(entry.stem)\(sorted[start])–\(sorted[end])")
                start = end + 1
            }
            return runs
        }
    }
}
