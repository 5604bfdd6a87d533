import CloisterAdmission
import CloisterModel
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
import UnixSignals

/// A setup problem (a TLS file that cannot be loaded): the command exits 2 with this sentence.
public struct ServeSetupError: Error, LocalizedError, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public var errorDescription: String? { message }
}

/// `cloister serve`: Hummingbird over `ServeHandler`, a rescan loop, bounds on every request,
/// and a graceful stop on SIGTERM or SIGINT (swift-service-lifecycle): the listener closes,
/// requests in flight finish, the process exits 0.
public enum CloisterServer {
    public static func run(_ configuration: ServeConfiguration, logger: Logger) async throws {
        let tls = try loadTLS(configuration)
        if !ServeConfiguration.isLoopback(configuration.host) {
            logger.warning(
                "relaxation: listening on a non-loopback address; anyone who can reach it reads this host's scan and can use the webhook",
                metadata: ["address": "\(configuration.host):\(configuration.port)"])
        }
        if tls == nil, !ServeConfiguration.isLoopback(configuration.host) {
            logger.warning("relaxation: serving plain HTTP off loopback; give --tls-cert and --tls-key")
        }
        let state = ServeState()
        if configuration.scanning { Parallel.runSeriallyFromNowOn() }
        let rescanThread: RescanThread? = configuration.scanning ? RescanThread(nice: configuration.rescanNice) : nil
        let inFlight = InFlightCount()
        let handler = ServeHandler(
            judge: configuration.judge, mutate: configuration.mutate, state: state, scanning: configuration.scanning,
            requestsInFlight: { inFlight.count.withLock { $0 } })
        let responder = BoundedResponder(handler: handler, limits: configuration.limits, inFlight: inFlight)
        let http1 = HTTPServerBuilder.http1(
            configuration: .init(idleTimeout: .nanoseconds(Int64(configuration.limits.idleTimeout.seconds * 1e9))))
        let server = try tls.map { try HTTPServerBuilder.tls(http1, tlsConfiguration: $0) } ?? http1
        let scheme = tls == nil ? "http" : "https"
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in try await responder.respond(request) },
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            services: rescanThread.map { [Rescanner(configuration: configuration, state: state, logger: logger, thread: $0)] } ?? [],
            onServerRunning: { channel in
                // One line on standard error, read by people and by the tests (which listen on port 0).
                let port = channel.localAddress?.port ?? configuration.port
                let line = "cloister serve: listening on \(scheme)://\(configuration.host):\(port)\n"
                FileHandle.standardError.write(Data(line.utf8))
            },
            logger: logger)
        // A scan still running on the rescan thread is not waited for (see RescanThread).
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        logger.info("stopped")
    }

    static func loadTLS(_ configuration: ServeConfiguration) throws -> TLSConfiguration? {
        guard let certificatePath = configuration.tlsCertificate, let keyPath = configuration.tlsKey else { return nil }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw ServeSetupError(message: "cannot load the TLS certificate \(certificatePath): \(reason(error, path: certificatePath)); give a PEM certificate chain")
        }
        guard !chain.isEmpty else {
            throw ServeSetupError(message: "cannot load the TLS certificate \(certificatePath): it holds no PEM certificate")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw ServeSetupError(message: "cannot load the TLS key \(keyPath): \(reason(error, path: keyPath)); give a PEM private key")
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        return tls
    }

    static func reason(_ error: any Error, path: String) -> String {
        if !FileManager.default.fileExists(atPath: path) { return "no such file" }
        if !FileManager.default.isReadableFile(atPath: path) { return "not readable" }
        return "not valid PEM (\(error))"
    }
}

/// The requests being answered: bounded by `--max-concurrent-requests`, shown on `/metrics`.
final class InFlightCount: Sendable {
    let count = Mutex(0)
}

/// Applies the bounds, then hands the request to the pure handler.
final class BoundedResponder: Sendable {
    let handler: ServeHandler
    let limits: ServeLimits
    let inFlight: InFlightCount

    init(handler: ServeHandler, limits: ServeLimits, inFlight: InFlightCount = InFlightCount()) {
        self.handler = handler
        self.limits = limits
        self.inFlight = inFlight
    }

    func respond(_ request: Request) async throws -> Response {
        let admitted = inFlight.count.withLock { count in
            guard count < limits.maxConcurrentRequests else { return false }
            count += 1
            return true
        }
        guard admitted else {
            return Self.response(.text(503, "busy: \(limits.maxConcurrentRequests) requests in flight (--max-concurrent-requests); retry", headers: [("Retry-After", "1")]))
        }
        defer { inFlight.count.withLock { $0 -= 1 } }
        // A task group, so the handler is cancelled and has returned before the answer goes
        // out: the body is one stream per connection, which Hummingbird drains after the
        // response, and a handler left reading it would be a second reader. A body read
        // stalled by a slow client ends at cancellation.
        let answer = await withTaskGroup(of: ServeResponse?.self) { group in
            group.addTask { await self.handle(request) }
            group.addTask {
                try? await Task.sleep(for: self.limits.requestTimeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        let method = request.method.rawValue
        var response = Self.response(
            answer ?? .text(503, "the request was not answered within \(limits.requestTimeout) (--request-timeout)"))
        if method == "HEAD" { response.body = ResponseBody() }
        return response
    }

    func handle(_ request: Request) async -> ServeResponse {
        let method = request.method == .head ? "GET" : request.method.rawValue
        let path = request.uri.path
        var body: [UInt8] = []
        if ServeHandler.takesBody(method: method, path: path) {
            if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limits.maxBodyBytes {
                return tooLarge
            }
            do {
                var buffer = try await request.body.collect(upTo: limits.maxBodyBytes)
                body = buffer.readBytes(length: buffer.readableBytes) ?? []
            } catch is NIOTooManyBytesError {
                return tooLarge
            } catch {
                return .text(400, "the request body could not be read: \(error)")
            }
        }
        return handler.respond(method: method, path: path, body: body)
    }

    var tooLarge: ServeResponse {
        .text(413, "the body is larger than \(limits.maxBodyBytes) bytes (--max-body-bytes)")
    }

    static func response(_ answer: ServeResponse) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = answer.contentType
        for (name, value) in answer.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return Response(
            status: HTTPResponse.Status(code: answer.status), headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}

/// Scans at start, then every interval after the previous scan ends, until shutdown.
struct Rescanner: Service {
    var configuration: ServeConfiguration
    var state: ServeState
    var logger: Logger
    /// Rescans, and the rendering of what /metrics and /scan serve, run one step after another
    /// on this thread (`Parallel` is serial in this process), at `--rescan-nice`.
    var thread: RescanThread

    func run() async throws {
        var said = false
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let scan = configuration.scan
            let started = ContinuousClock.now
            do {
                let state = state
                let workloads = try await cancelWhenGracefulShutdown {
                    try await thread.run {
                        let report = try scan()
                        let elapsed = ContinuousClock.now - started
                        state.record(report, duration: elapsed.seconds, finishedAt: Date().timeIntervalSince1970)
                        return report.workloads.count
                    }
                }
                let elapsed = ContinuousClock.now - started
                logger.debug("scanned", metadata: ["workloads": "\(workloads)", "seconds": "\(elapsed.seconds)"])
            } catch is CancellationError {
                return
            } catch {
                state.recordFailure("\(error)")
                logger.error("scan failed", metadata: ["error": "\(error)"])
            }
            if !said {
                switch thread.priority.withLock({ $0 }) {
                case .pending:
                    break
                case .lowered:
                    said = true
                    logger.debug("rescans run on one thread at nice \(thread.nice)")
                case .unchanged(let why):
                    said = true
                    logger.warning("rescans run at normal priority: cannot lower their thread", metadata: ["error": "\(why)"])
                }
            }
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(for: configuration.interval)
            }
        }
    }
}

extension Duration {
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
