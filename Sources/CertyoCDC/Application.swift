import CDCCore
import CertyoClient
import KafkaBridge
import Logging
import PostgresBridge
import Prometheus
import ServiceLifecycle
import UnixSignals
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Builds and runs every service the configuration enables in one `ServiceGroup`, stopping gracefully on SIGTERM
/// and SIGINT.
public struct CertyoCDCApplication: Sendable {
    public var configuration: CertyoCDCConfiguration
    public var logger: Logger
    /// What `/ready` reports; the pipeline, the Certyo probe and the slot sidecar set their parts.
    public var readiness: Readiness
    /// What `/metrics` renders; the executable passes the registry it bootstrapped swift-metrics with.
    public var metricsRegistry: PrometheusCollectorRegistry

    public init(
        configuration: CertyoCDCConfiguration, logger: Logger, readiness: Readiness = Readiness(),
        metricsRegistry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) {
        self.configuration = configuration
        self.logger = logger
        self.readiness = readiness
        self.metricsRegistry = metricsRegistry
    }

    public func run() async throws {
        let configuration = configuration
        let logger = logger
        let readiness = readiness
        let registry = metricsRegistry
        try await withCertyoClient(configuration: configuration.certyo, logger: logger) { client in
            var services: [any Service] = []
            // Shared by /ready, the pipeline, the Certyo probe and the slot sidecar.
            readiness.update { $0.pipelineEnabled = configuration.pipelineEnabled }
            let metrics = PipelineMetrics(factory: PipelineMetrics.makePrometheusFactory(registry: registry))
            let sink = CertyoBatchSink(client: client, apiKeyFile: configuration.apiKeyFile, logger: logger,
                                       metrics: metrics, readiness: readiness)
            if let server = configuration.operationsServer {
                // Registered first: it stops last, so /health answers while the pipeline drains.
                services.append(OperationsServer(configuration: server, registry: registry, readiness: readiness,
                                                 metrics: metrics, logger: logger))
            }
            services.append(CertyoProbe(
                client: client, readiness: readiness, interval: configuration.certyoProbeInterval,
                reloadCredentials: { await sink.reloadCredentials() }, logger: logger
            ))
            var producer: KafkaProducer?
            var postgres: PostgresConnection?
            // The column catalog serves only the pipeline: a sidecar-only instance must start with PostgreSQL down.
            if let dsn = configuration.postgresDSN, configuration.pipelineEnabled {
                postgres = try await PostgresConnection.connect(
                    configuration: try PostgresConfiguration(dsn: dsn), logger: logger
                )
            }
            if let dsn = configuration.postgresDSN, configuration.slotMonitorEnabled {
                services.append(SlotMonitor(
                    configuration: configuration.slot, postgres: try PostgresConfiguration(dsn: dsn),
                    readiness: readiness, logger: logger
                ))
            }
            if configuration.verification.enabled, let dsn = configuration.postgresDSN {
                var postgresConfiguration = try PostgresConfiguration(dsn: dsn)
                postgresConfiguration.dsnName = "PG_DSN"
                services.append(VerificationWorker(
                    configuration: configuration.verification, postgres: postgresConfiguration, client: client,
                    clock: ContinuousClock(), statistics: VerificationStatistics(metrics: metrics), logger: logger
                ))
            }
            if configuration.pipelineEnabled {
                var producerConfiguration = KafkaProducerConfiguration()
                producerConfiguration.bootstrapServers = configuration.pipeline.consumer.bootstrapServers
                producerConfiguration.additionalProperties = configuration.pipeline.consumer.additionalProperties
                    .filter { KafkaProducerConfiguration.sharedPropertyPrefixes.contains(where: $0.key.hasPrefix) }
                let dlqProducer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
                producer = dlqProducer
                let decoder = DebeziumChangeDecoder(
                    decoder: DebeziumDecoder(), catalog: postgres.map { CatalogCache(connection: $0) }
                )
                // Registered last: it stops first, so nothing is fetched while the others wind down.
                services.append(PipelineService(
                    configuration: configuration.pipeline, decoder: decoder, sink: sink,
                    deadLetters: KafkaDeadLetterSink(topic: configuration.deadLetterTopic, producer: dlqProducer),
                    statistics: PipelineStatistics(metrics: metrics, readiness: readiness), logger: logger
                ))
            }
            guard services.contains(where: { !($0 is OperationsServer) && !($0 is CertyoProbe) }) else {
                logger.error("no service is enabled: set CERTYO_PIPELINE_ENABLED=true or CERTYO_VERIFY_ENABLED=true")
                return
            }
            var groupConfiguration = ServiceGroupConfiguration(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
            // The pipeline bounds its own drain; this bounds everything else.
            groupConfiguration.maximumGracefulShutdownDuration = configuration.pipeline.shutdownTimeout + .seconds(15)
            let group = ServiceGroup(configuration: groupConfiguration)
            // A second SIGTERM/SIGINT exits at once: whatever was not committed is replayed on the next start.
            let escalation = Task {
                var signals = 0
                for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                    signals += 1
                    guard signals >= 2 else { continue }
                    logger.warning("second \(signal): exiting at once; uncommitted records will be replayed")
                    exit(130)
                }
            }
            defer { escalation.cancel() }
            try await group.run()
            try await producer?.close()
            await postgres?.close()
        }
    }
}
