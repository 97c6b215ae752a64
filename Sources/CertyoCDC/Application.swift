import CDCCore
import CertyoClient
import KafkaBridge
import Logging
import PostgresBridge
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

    public init(configuration: CertyoCDCConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let configuration = configuration
        let logger = logger
        try await withCertyoClient(configuration: configuration.certyo, logger: logger) { client in
            var services: [any Service] = []
            var producer: KafkaProducer?
            var postgres: PostgresConnection?
            if let dsn = configuration.postgresDSN {
                postgres = try await PostgresConnection.connect(
                    configuration: try PostgresConfiguration(dsn: dsn), logger: logger
                )
            }
            if configuration.verification.enabled, let dsn = configuration.postgresDSN {
                var postgresConfiguration = try PostgresConfiguration(dsn: dsn)
                postgresConfiguration.dsnName = "PG_DSN"
                services.append(VerificationWorker(
                    configuration: configuration.verification, postgres: postgresConfiguration, client: client,
                    clock: ContinuousClock(), logger: logger
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
                    configuration: configuration.pipeline, decoder: decoder, sink: CertyoBatchSink(client: client, apiKeyFile: configuration.apiKeyFile, logger: logger),
                    deadLetters: KafkaDeadLetterSink(topic: configuration.deadLetterTopic, producer: dlqProducer),
                    logger: logger
                ))
            }
            guard !services.isEmpty else {
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
