import CloisterSystem

/// Where the host's kernel interfaces and runtime state live. Defaults to `/`; tests point it
/// at a fixture tree captured from a real host (`--root`).
public struct HostRoot: Sendable {
    public var prefix: String
    /// Set by a scan with a `ScanMemory`: host files whose bytes did not change are not parsed again.
    var parsedFiles: ParsedFiles?

    public init(prefix: String = "") {
        var cleaned = prefix
        while cleaned.hasSuffix("/") { cleaned.removeLast() }
        self.prefix = cleaned
    }

    /// True when reading the live host: only then may the C libraries (which read the real
    /// /proc) and live probes (/dev/kvm) be used.
    public var isLive: Bool { prefix.isEmpty }

    public func path(_ absolute: String) -> String { prefix + absolute }
    public var proc: String { prefix + "/proc" }
    public var sys: String { prefix + "/sys" }
    public func pid(_ pid: Int) -> String { "\(prefix)/proc/\(pid)" }

    func readText(_ absolute: String, limit: Int = 1 << 20) throws -> String {
        try Files.readText(path(absolute), limit: limit)
    }

    func readTextIfPresent(_ absolute: String, limit: Int = 1 << 20) -> String? {
        try? Files.readText(path(absolute), limit: limit)
    }
}
