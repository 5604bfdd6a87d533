import CloisterAdmission
import CloisterCodec
import CloisterModel
import CloisterReport
import Synchronization

/// A response before it is an HTTP response: what the pure handler returns.
public struct ServeResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    public var headers: [(name: String, value: String)]

    public init(status: Int, contentType: String, body: [UInt8], headers: [(name: String, value: String)] = []) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// Plain-text answers (errors among them): a line a person reads, control characters escaped.
    public static func text(_ status: Int, _ message: String, headers: [(name: String, value: String)] = []) -> ServeResponse {
        ServeResponse(
            status: status, contentType: "text/plain; charset=utf-8", body: Array((SafeText.forTerminal(message) + "\n").utf8),
            headers: headers)
    }
}

/// What the last scan left for `/metrics` and `/scan`: rendered once per scan, so a scrape
/// costs a copy, not a render.
public final class ServeState: Sendable {
    struct Snapshot {
        var statistics = PrometheusRenderer.ScanStatistics()
        var metrics: [UInt8] = Array(PrometheusRenderer.render(nil, statistics: .init()).utf8)
        var scanJSON: [UInt8]?
        var report: ScanReport?
        var lastError: String?
    }

    let snapshot = Mutex(Snapshot())
    /// The last scan's workloads as rendered, for the next: unchanged ones are not rendered again.
    let rendered = RenderMemory()

    public init() {}

    /// Stores a completed scan.
    /// Renders outside the lock: a scrape during the render is served the previous scan
    /// instead of waiting for this one. One rescanner calls this and `recordFailure`, so the
    /// statistics read first are still current when the rendered scan is stored.
    public func record(_ report: ScanReport, duration: Double, finishedAt: Double) {
        var statistics = snapshot.withLock { $0.statistics }
        statistics.scans += 1
        statistics.lastDuration = duration
        statistics.lastCompletion = finishedAt
        let json = try? ScanJSON.render(report, memory: rendered)
        let metrics = Array(PrometheusRenderer.render(report, statistics: statistics).utf8)
        snapshot.withLock { state in
            state.statistics = statistics
            state.metrics = metrics
            if let json { state.scanJSON = json }
            state.report = report
            state.lastError = nil
        }
    }

    /// Counts a failed scan; the previous report keeps being served (and says when it was made).
    public func recordFailure(_ message: String) {
        snapshot.withLock { state in
            state.statistics.errors += 1
            state.lastError = message
            // Re-render only the counters' part: the workloads stay those of the last good scan.
            state.metrics = Array(PrometheusRenderer.render(state.report, statistics: state.statistics).utf8)
        }
    }

    public var statistics: PrometheusRenderer.ScanStatistics { snapshot.withLock { $0.statistics } }
    var metrics: [UInt8] { snapshot.withLock { $0.metrics } }
    var scanJSON: [UInt8]? { snapshot.withLock { $0.scanJSON } }
    var lastError: String? { snapshot.withLock { $0.lastError } }
}

/// Request → response for every endpoint, with no HTTP library in sight: the server adapts
/// it, and tests call it directly.
public struct ServeHandler: Sendable {
    public var judge: AdmissionJudge
    public var mutate: Bool
    public var state: ServeState

    /// False with `--no-scan`: `/metrics` and `/scan` answer 404 saying so.
    public var scanning: Bool

    /// The requests being answered, for `/metrics`'s live gauge (none without a server).
    public var requestsInFlight: (@Sendable () -> Int)?

    public init(
        judge: AdmissionJudge, mutate: Bool, state: ServeState, scanning: Bool = true,
        requestsInFlight: (@Sendable () -> Int)? = nil
    ) {
        self.judge = judge
        self.mutate = mutate
        self.state = state
        self.scanning = scanning
        self.requestsInFlight = requestsInFlight
    }

    /// The paths served and the one method each answers.
    static let routes: [String: String] = [
        "/healthz": "GET", "/metrics": "GET", "/scan": "GET",
        "/admission": "POST", "/validate": "POST", "/mutate": "POST",
    ]

    /// Whether a request to this path reads a body (the server reads only those).
    public static func takesBody(method: String, path: String) -> Bool {
        method == "POST" && routes[stripQuery(path)] == "POST"
    }

    static func stripQuery(_ path: String) -> String {
        String(path.prefix { $0 != "?" })
    }

    public func respond(method: String, path rawPath: String, body: [UInt8]) -> ServeResponse {
        let path = Self.stripQuery(rawPath)
        guard let allowed = Self.routes[path] else {
            return .text(404, "no such endpoint; cloister serve answers GET /metrics, /scan, /healthz and POST /admission (/validate), /mutate")
        }
        // HEAD is GET without the body (the server drops it).
        guard method == allowed || (method == "HEAD" && allowed == "GET") else {
            return .text(405, "\(path) takes \(allowed)", headers: [("Allow", allowed)])
        }
        switch path {
        // (A `where` binds to one pattern only, so each carries its own.)
        case "/metrics" where !scanning, "/scan" where !scanning:
            return .text(404, "\(path) is off: this server was started with --no-scan and answers admission requests only")
        case "/healthz" where !scanning:
            return .text(200, "ok: admission only (--no-scan)")
        case "/healthz":
            let statistics = state.statistics
            return .text(200, "ok: \(statistics.scans) scans, \(statistics.errors) failed")
        case "/metrics":
            var body = state.metrics
            if let requestsInFlight { body += PrometheusRenderer.requestsInFlight(requestsInFlight()).utf8 }
            return ServeResponse(status: 200, contentType: PrometheusRenderer.contentType, body: body)
        case "/scan":
            guard let json = state.scanJSON else {
                let reason = state.lastError.map { "the last scan failed: \($0)" } ?? "the first scan has not finished"
                return .text(503, "no scan yet: \(reason)", headers: [("Retry-After", "5")])
            }
            return ServeResponse(status: 200, contentType: "application/json", body: json)
        case "/mutate" where !mutate:
            return .text(404, "/mutate is off: start cloister serve with --mutate to have it set runtimeClassName")
        default:
            return admission(body: body, mutate: path == "/mutate")
        }
    }

    /// `POST /admission`, `/validate` and `/mutate`.
    public func admission(body: [UInt8], mutate: Bool) -> ServeResponse {
        let request: AdmissionRequest
        do {
            request = try AdmissionReview.parse(body)
        } catch {
            return .text(400, "bad AdmissionReview: \(error.message)")
        }
        let decision = judge.review(request, mutate: mutate)
        return ServeResponse(status: 200, contentType: "application/json", body: decision.responseJSON())
    }
}
