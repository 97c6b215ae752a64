import ArgumentParser
import CertyoCDC
import Foundation
import Logging

/// `certyo-cdc run`: every setting is a flag or an environment variable (flags win). See the README's
/// "Configuration reference".
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Consume Debezium change events from Kafka and anchor them in Certyo."
    )

    @Option(name: .customLong("certyo-url"), help: "Certyo base URL (CERTYO_BASE_URL). Default: https://www.certyos.com")
    var certyoURL: String?
    @Option(name: .customLong("certyo-api-key-file"), help: "File holding the API key (CERTYO_API_KEY_FILE). The key itself is read only from CERTYO_API_KEY, never from a flag.")
    var apiKeyFile: String?
    @Option(name: .customLong("tenant-id"), help: "Certyo tenant (CERTYO_TENANT_ID).")
    var tenantID: String?
    @Option(name: .customLong("request-timeout"), help: "Per-call timeout, seconds or 250ms/10s/2m (CERTYO_REQUEST_TIMEOUT). Default: 30s")
    var requestTimeout: String?
    @Option(name: .customLong("bootstrap-servers"), help: "Kafka bootstrap servers (KAFKA_BOOTSTRAP_SERVERS). Default: 127.0.0.1:9092")
    var bootstrapServers: String?
    @Option(name: .customLong("group-id"), help: "Kafka consumer group (CERTYO_GROUP_ID). Default: certyo-cdc")
    var groupID: String?
    @Option(name: .customLong("topic-pattern"), help: #"Topic regex (CERTYO_TOPIC_PATTERN). Default: ^certyo\.public\..*"#)
    var topicPattern: String?
    @Option(name: .customLong("kafka-property"), help: "librdkafka property key=value, repeatable (KAFKA_PROPERTIES, comma-separated).")
    var kafkaProperties: [String] = []
    @Option(name: .customLong("batch-max-records"), help: "Records per bulk call, 1-1000 (CERTYO_BATCH_MAX_RECORDS). Default: 1000")
    var batchMaxRecords: String?
    @Option(name: .customLong("batch-max-bytes"), help: "Encoded bytes per bulk call (CERTYO_BATCH_MAX_BYTES). Default: 8388608")
    var batchMaxBytes: String?
    @Option(name: .customLong("batch-linger"), help: "How long a partial batch waits (CERTYO_BATCH_LINGER). Default: 200ms")
    var batchLinger: String?
    @Option(name: .customLong("max-in-flight"), help: "Bulk calls in flight, each carrying records of one or more partitions (CERTYO_MAX_IN_FLIGHT). Default: 8")
    var maxInFlight: String?
    @Option(name: .customLong("max-buffered-bytes"), help: "Encoded bytes buffered across partitions before fetching pauses (CERTYO_MAX_BUFFERED_BYTES). Default: 16777216")
    var maxBufferedBytes: String?
    @Option(name: .customLong("dlq-topic"), help: "Dead-letter topic (CERTYO_DLQ_TOPIC). Default: certyo-cdc.dlq")
    var dlqTopic: String?
    @Option(name: .customLong("pipeline"), help: "Run the Kafka pipeline, true/false (CERTYO_PIPELINE_ENABLED). Default: true")
    var pipeline: String?
    @OptionGroup var slot: SlotOptions
    @Option(name: .customLong("verify"), help: "Run the verification worker (status write-back), true/false (CERTYO_VERIFY_ENABLED). Default: false")
    var verify: String?
    @Option(name: .customLong("verify-interval"), help: "Pause between verification passes (CERTYO_VERIFY_INTERVAL). Default: 30s")
    var verifyInterval: String?
    @Option(name: .customLong("verify-batch-size"), help: "Rows per verification query, 1-1000 (CERTYO_VERIFY_BATCH_SIZE). Default: 100")
    var verifyBatchSize: String?
    @Option(name: .customLong("verify-concurrency"), help: "Verify calls in flight, 1-64 (CERTYO_VERIFY_CONCURRENCY). Default: 4")
    var verifyConcurrency: String?
    @Option(name: .customLong("verify-grace-period"), help: "How long a hash may be unknown to Certyo before 'failed' (CERTYO_VERIFY_GRACE_PERIOD). Default: 15m")
    var verifyGracePeriod: String?
    @Option(name: .customLong("verify-tables"), help: "Tables to verify, schema.table,... (CERTYO_VERIFY_TABLES). Default: the publication's tables")
    var verifyTables: String?
    @Option(name: .customLong("verify-publication"), help: "Publication whose tables are verified (CERTYO_VERIFY_PUBLICATION). Default: certyo_publication")
    var verifyPublication: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical (CERTYO_LOG_LEVEL). Default: info")
    var logLevel: String?
    @Option(name: .customLong("http-port"), help: "Port of /metrics, /health and /ready; 0 or off disables it (CERTYO_HTTP_PORT). Default: 9464")
    var httpPort: String?
    @Option(name: .customLong("http-host"), help: "Address the operations endpoint binds (CERTYO_HTTP_HOST). Default: 0.0.0.0")
    var httpHost: String?

    func run() async throws {
        var flags: [Setting: String] = [:]
        let given: [(Setting, String?)] = [
            (.certyoBaseURL, certyoURL), (.certyoAPIKeyFile, apiKeyFile), (.certyoTenantID, tenantID),
            (.requestTimeout, requestTimeout), (.bootstrapServers, bootstrapServers), (.groupID, groupID),
            (.topicPattern, topicPattern), (.batchMaxRecords, batchMaxRecords), (.batchMaxBytes, batchMaxBytes),
            (.batchLinger, batchLinger), (.maxInFlight, maxInFlight),
            (.maxBufferedBytes, maxBufferedBytes), (.deadLetterTopic, dlqTopic),
            (.pipelineEnabled, pipeline), (.logLevel, logLevel), (.httpPort, httpPort), (.httpHost, httpHost),
            (.verifyEnabled, verify), (.verifyInterval, verifyInterval), (.verifyBatchSize, verifyBatchSize),
            (.verifyConcurrency, verifyConcurrency), (.verifyGracePeriod, verifyGracePeriod),
            (.verifyTables, verifyTables), (.verifyPublication, verifyPublication),
        ]
        for case (let setting, let value?) in given { flags[setting] = value }
        flags.merge(slot.flags) { $1 }
        let raw = RawSettings(flags: flags, repeatedFlags: [.kafkaProperties: kafkaProperties],
                              environment: ProcessInfo.processInfo.environment)
        let configuration: CertyoCDCConfiguration
        do {
            configuration = try CertyoCDCConfiguration.load(raw)
        } catch let error as ConfigError {
            FileHandle.standardError.write(Data("certyo-cdc: \(error)\n".utf8))
            throw ExitCode(2)
        }
        bootstrapLogging(level: configuration.logLevel)
        let registry = PipelineMetrics.bootstrapPrometheus()
        try await CertyoCDCApplication(configuration: configuration, logger: Logger(label: "certyo-cdc"),
                                       metricsRegistry: registry).run()
    }
}

/// Logs go to stderr as one line each; only the executable bootstraps the logging system.
func bootstrapLogging(level: Logger.Level) {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
