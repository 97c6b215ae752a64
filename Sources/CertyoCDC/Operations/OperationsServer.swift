import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import Synchronization

/// The operations HTTP endpoint: `GET /metrics` (Prometheus text), `GET /health` (200 while the process runs) and
/// `GET /ready` (200, or 503 with one reason a line).
///
/// Registered first in the service group, it stops last, so `/health` answers while the pipeline drains.
public struct OperationsServer: Service {
    /// Where the endpoint listens.
    public struct Configuration: Sendable, Hashable {
        /// The address to bind. Default: `0.0.0.0` (all interfaces, so a container's port can be published and
        /// scraped; use `127.0.0.1` to keep it local).
        public var host = "0.0.0.0"
        /// The port. Default: `9464` (Prometheus exporters' conventional range). `0` picks a free port (tests).
        public var port = 9464

        public init() {}

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    private let configuration: Configuration
    private let registry: PrometheusCollectorRegistry
    private let readiness: Readiness
    private let metrics: PipelineMetrics?
    private let logger: Logger
    private let onListening: @Sendable (Int) async -> Void

    /// - Parameters:
    ///   - configuration: Host and port.
    ///   - registry: What `/metrics` renders.
    ///   - readiness: What `/ready` reports.
    ///   - metrics: Given the readiness snapshot before each scrape (`certyo_cdc_ready`,
    ///     `certyo_cdc_certyo_key_accepted`). Default: none.
    ///   - logger: Receives the listening line.
    ///   - onListening: Called once with the bound port (the real one when the configuration says `0`).
    public init(
        configuration: Configuration,
        registry: PrometheusCollectorRegistry,
        readiness: Readiness,
        metrics: PipelineMetrics? = nil,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.registry = registry
        self.readiness = readiness
        self.metrics = metrics
        self.logger = logger
        self.onListening = onListening
    }

    /// Serves until graceful shutdown.
    /// - Throws: When the address cannot be bound.
    public func run() async throws {
        let router = Router()
        router.get("/metrics") { [registry, readiness, metrics] _, _ -> Response in
            metrics?.publish(readiness.snapshot)
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return Self.text(.ok, bytes, contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("/health") { _, _ -> Response in
            Self.text(.ok, Array("ok\n".utf8))
        }
        router.get("/ready") { [readiness] _, _ -> Response in
            let reasons = readiness.snapshot.reasons
            guard reasons.isEmpty else {
                return Self.text(.serviceUnavailable, Array((reasons.joined(separator: "\n") + "\n").utf8))
            }
            return Self.text(.ok, Array("ready\n".utf8))
        }
        let configuration = configuration
        let onListening = onListening
        let logger = logger
        // Set once the socket is bound: a failure before that is a configuration mistake.
        let listening = BoundFlag()
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                listening.value.withLock { $0 = true }
                logger.info(
                    "operations endpoint listening on \(configuration.host):\(port) (/metrics, /health, /ready)"
                )
                await onListening(port)
            },
            logger: logger
        )
        do {
            try await application.run()
        } catch {
            guard !listening.value.withLock({ $0 }) else { throw error }
            // One line naming the setting and the fix, instead of a bare "Address already in use".
            throw ConfigError(
                code: .invalid, setting: Setting.httpPort.name,
                message: "the operations endpoint cannot listen on \(configuration.host):\(configuration.port): \(error)",
                fix: "choose a free port (or another --http-host / CERTYO_HTTP_HOST), "
                    + "or 0 to turn the endpoint off"
            )
        }
    }

    private static func text(
        _ status: HTTPResponse.Status, _ bytes: [UInt8], contentType: String = "text/plain; charset=utf-8"
    ) -> Response {
        Response(
            status: status,
            headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}

private final class BoundFlag: Sendable {
    let value = Mutex(false)
}
