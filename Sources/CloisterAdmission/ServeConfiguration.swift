import CloisterModel

/// Everything `cloister serve` runs with, built and validated by the commands module and run by
/// CloisterServe. It lives here, in a module without the HTTP stack, so that the `cloister`
/// executable can build it without linking Hummingbird (see `cloister-serve`).
public struct ServeConfiguration: Sendable {
    public static let defaultHost = "127.0.0.1"
    public static let defaultPort = 9464

    public var host: String
    public var port: Int
    /// PEM files; both or neither.
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Time between the end of one scan and the start of the next.
    public var interval: Duration
    public var limits: ServeLimits
    /// `/mutate` answers only when this is set.
    public var mutate: Bool
    public var judge: AdmissionJudge
    /// One full scan, the same as `cloister scan` makes. Blocking: run off the event loops.
    public var scan: @Sendable () throws -> ScanReport
    /// False with `--no-scan`: admission only, no rescans, no `/metrics` or `/scan`.
    public var scanning: Bool
    /// The rescan thread's nice value (0 to 19): admission requests first, rescans after.
    public var rescanNice: Int32
    public static let defaultRescanNice: Int32 = 10

    public init(
        host: String = ServeConfiguration.defaultHost, port: Int = ServeConfiguration.defaultPort,
        tlsCertificate: String? = nil, tlsKey: String? = nil, interval: Duration = .seconds(30),
        limits: ServeLimits = ServeLimits(), mutate: Bool = false, judge: AdmissionJudge, scanning: Bool = true,
        rescanNice: Int32 = ServeConfiguration.defaultRescanNice, scan: @escaping @Sendable () throws -> ScanReport
    ) {
        self.scanning = scanning
        self.rescanNice = rescanNice
        self.host = host
        self.port = port
        self.tlsCertificate = tlsCertificate
        self.tlsKey = tlsKey
        self.interval = interval
        self.limits = limits
        self.mutate = mutate
        self.judge = judge
        self.scan = scan
    }

    /// 127.0.0.0/8, ::1 and "localhost": anything else opens cloister to the network.
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// `HOST:PORT`, `[IPV6]:PORT` or `:PORT` (loopback); port 0 picks a free port (the listening
    /// line says which). Nil when it is none of them.
    public static func parseListen(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = defaultHost }
        guard !host.contains(where: { $0 == " " || $0 == "/" || $0.asciiValue.map { $0 < 0x20 } ?? false }) else { return nil }
        return (host, port)
    }
}

/// The bounds every request is held to; each is a flag of `cloister serve`.
public struct ServeLimits: Sendable, Equatable {
    /// Larger bodies get 413 without being read further.
    public var maxBodyBytes: Int
    /// A request not answered in this time (body read included) gets 503.
    public var requestTimeout: Duration
    /// Requests being handled at once; more get 503 at once.
    public var maxConcurrentRequests: Int
    /// Connections idle this long are closed.
    public var idleTimeout: Duration

    public init(
        maxBodyBytes: Int = 1 << 20, requestTimeout: Duration = .seconds(10), maxConcurrentRequests: Int = 64,
        idleTimeout: Duration = .seconds(60)
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.requestTimeout = requestTimeout
        self.maxConcurrentRequests = maxConcurrentRequests
        self.idleTimeout = idleTimeout
    }
}
