import CloisterModel
import CloisterSystem
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The versions of the host's container and virtualisation software, read from the package
/// database's own files under the host root. No binary is run: `runc --version` would execute
/// whatever sits at that path with the scanner's privileges, and a scanner must not run what it
/// inspects. An rpm database (SQLite or Berkeley DB) is not parsed; its components are listed
/// as unknown, so the advisories about them stay undecided.
public enum PackageInventory {
    /// Which packages carry each component, per package manager, most specific first. Names
    /// are the distributions' and the upstream repositories' own (Debian/Ubuntu, Docker's
    /// `docker-ce`/`containerd.io`, NVIDIA's, Alpine's).
    public static let packages: [(component: String, names: [String])] = [
        ("runc", ["runc"]),
        ("crun", ["crun"]),
        ("containerd", ["containerd", "containerd.io"]),
        ("dockerd", ["docker.io", "docker-ce", "moby-engine", "docker-engine"]),
        ("podman", ["podman"]),
        ("conmon", ["conmon"]),
        ("qemu", ["qemu-system-x86", "qemu-system-x86_64", "qemu-system-arm", "qemu-system-aarch64", "qemu-system-misc", "qemu-kvm"]),
        ("libvirt", ["libvirt-daemon", "libvirt-daemon-system", "libvirt0", "libvirt-libs"]),
        ("nvidia-container-toolkit", ["nvidia-container-toolkit", "nvidia-container-toolkit-base"]),
    ]

    static let dpkgStatus = "/var/lib/dpkg/status"
    static let apkInstalled = "/lib/apk/db/installed"
    static let rpmDatabases = ["/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite", "/var/lib/rpm/Packages"]

    /// Reads what is installed under `root`. `kernelRelease` is the running kernel's release
    /// (uname -r), whose image package is looked up by name.
    static func read(root: HostRoot, kernelRelease: String?) -> SoftwareInventory {
        var inventory = SoftwareInventory()
        if let text = root.readTextIfPresent("/etc/os-release") ?? root.readTextIfPresent("/usr/lib/os-release") {
            let release = OSRelease.parse(text)
            inventory.distribution = release["ID"]
            inventory.distributionVersion = release["VERSION_ID"]
        }
        var installed: [String: String] = [:]
        if let bytes = try? Files.read(root.path(dpkgStatus), limit: 64 << 20) {
            inventory.packageManager = "dpkg"
            installed = root.parsed(bytes, path: dpkgStatus) { bytes in
                var installed: [String: String] = [:]
                for package in DpkgStatus.parse(bytes: bytes) where package.installed { installed[package.name] = package.version }
                return installed
            }
        } else if let text = root.readTextIfPresent(apkInstalled, limit: 64 << 20) {
            inventory.packageManager = "apk"
            for package in ApkInstalled.parse(text) { installed[package.name] = package.version }
        } else if let rpm = rpmDatabases.first(where: { Files.exists(root.path($0)) }) {
            inventory.packageManager = "rpm"
            inventory.unknown["packages"] =
                "the rpm database \(rpm) is SQLite or Berkeley DB, which cloister does not read (it links no such library and runs no rpm binary): versions are unknown"
        } else {
            inventory.unknown["packages"] = "no package database found (\(dpkgStatus), \(apkInstalled), \(rpmDatabases.joined(separator: ", ")))"
        }
        let source = inventory.packageManager ?? "none"
        if inventory.packageManager == "dpkg" || inventory.packageManager == "apk" {
            for (component, names) in packages {
                for name in names {
                    guard let version = installed[name] else { continue }
                    inventory.components.append(InstalledComponent(component: component, package: name, version: version, source: source))
                }
            }
            // Docker's containerd.io ships its own runc binary, whose version no package records.
            if installed["containerd.io"] != nil, installed["runc"] == nil {
                inventory.unknown["runc"] = "containerd.io installs its own runc binary; the package database does not record that runc's version"
            }
        }
        if let release = kernelRelease, !release.isEmpty {
            inventory.components.append(InstalledComponent(component: "kernel", version: release, source: "kernel"))
            for name in ["linux-image-\(release)", "linux-image-\(release)-unsigned"] {
                if let version = installed[name] {
                    inventory.components.append(InstalledComponent(component: "kernel", package: name, version: version, source: source))
                }
            }
        }
        return inventory
    }
}

/// dpkg's status file (`/var/lib/dpkg/status`, deb-control(5) syntax): one paragraph per
/// package, fields `Name: value`, continuation lines starting with a space or tab.
public enum DpkgStatus {
    public struct Package: Sendable, Equatable {
        public var name: String
        public var version: String
        /// `Status: install ok installed`: the third word is the package's state.
        public var installed: Bool
    }

    public static func parse(_ text: String) -> [Package] { parse(bytes: Array(text.utf8)) }

    /// Works on the bytes: a status file is hundreds of KiB, and only three single-line fields
    /// of each paragraph are wanted, so lines are found by their first bytes without decoding
    /// the rest (a scan reads it every time).
    public static func parse(bytes: [UInt8]) -> [Package] {
        var result: [Package] = []
        var name: String?
        var version: String?
        var status: String?
        func flush() {
            if let name, let version, !name.isEmpty, !version.isEmpty {
                let state = (status ?? "").split(separator: " ").last.map(String.init)
                result.append(Package(name: name, version: version, installed: state == "installed"))
            }
            name = nil
            version = nil
            status = nil
        }
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let count = buffer.count
            var start = 0
            while start < count {
                // memchr: the next line's end without touching each byte in Swift.
                let found = memchr(base + start, Int32(UInt8(ascii: "\n")), count - start)
                let end = found.map { UnsafePointer<UInt8>($0.assumingMemoryBound(to: UInt8.self)) - base } ?? count
                var lineEnd = end
                if lineEnd > start, base[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
                let first = lineEnd > start ? base[start] : 0
                switch first {
                case 0: flush()
                case UInt8(ascii: "P"): if let value = fieldValue(base, start, lineEnd, "Package:") { name = value }
                case UInt8(ascii: "V"): if let value = fieldValue(base, start, lineEnd, "Version:") { version = value }
                case UInt8(ascii: "S"): if let value = fieldValue(base, start, lineEnd, "Status:") { status = value }
                case 32, 9:
                    // A continuation line, or a line of blanks that ends the paragraph.
                    var index = start
                    while index < lineEnd, base[index] == 32 || base[index] == 9 { index += 1 }
                    if index == lineEnd { flush() }
                default: break
                }
                start = end + 1
            }
        }
        flush()
        return result
    }

    /// The value of `Key: value` when the line starts with `key` (dpkg writes field names in
    /// this case), trimmed of blanks.
    static func fieldValue(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ key: StaticString) -> String? {
        let count = key.utf8CodeUnitCount
        guard end - start >= count, memcmp(base + start, key.utf8Start, count) == 0 else { return nil }
        var from = start + count
        var to = end
        while from < to, base[from] == 32 || base[from] == 9 { from += 1 }
        while to > from, base[to - 1] == 32 || base[to - 1] == 9 { to -= 1 }
        return String(decoding: UnsafeBufferPointer(start: base + from, count: to - from), as: UTF8.self)
    }
}

/// apk's installed database (`/lib/apk/db/installed`): one record per package, separated by
/// blank lines, each line a one-letter key, `:`, and the value (`P:` name, `V:` version).
public enum ApkInstalled {
    public static func parse(_ text: String) -> [(name: String, version: String)] {
        var result: [(name: String, version: String)] = []
        var name: String?
        var version: String?
        func flush() {
            if let name, let version, !name.isEmpty, !version.isEmpty { result.append((name, version)) }
            name = nil
            version = nil
        }
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            if line.isEmpty {
                flush()
                continue
            }
            if line.hasPrefix("P:") { name = String(line.dropFirst(2)) }
            if line.hasPrefix("V:") { version = String(line.dropFirst(2)) }
        }
        flush()
        return result
    }
}

/// os-release(5): `KEY=value` lines, values optionally in double or single quotes.
public enum OSRelease {
    public static func parse(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmedOf(" \t\r")
            guard !trimmed.hasPrefix("#"), let equals = trimmed.firstIndex(of: "=") else { continue }
            var value = Substring(trimmed[trimmed.index(after: equals)...])
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = value.dropFirst().dropLast()
            }
            result[String(trimmed[..<equals])] = String(value)
        }
        return result
    }
}

extension StringProtocol {
    /// The text without the given characters at either end (no Foundation in this layer's parsers).
    func trimmedOf(_ characters: String) -> String {
        let set = Set(characters)
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
