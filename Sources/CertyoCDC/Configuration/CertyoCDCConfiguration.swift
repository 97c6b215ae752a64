import CDCCore
import CertyoClient
import Foundation
import KafkaBridge
import Logging

/// Everything `certyo-cdc run` needs, resolved from flags, environment variables and defaults.
public struct CertyoCDCConfiguration: Sendable {
    /// The Certyo API: base URL, key, tenant and timeouts.
    public var certyo: CertyoClient.Configuration
    /// Kafka, batching and shutdown bounds.
    public var pipeline = PipelineConfiguration()
    /// Where records that will not be sent go, with their reason. Default: `certyo-cdc.dlq`.
    public var deadLetterTopic = "certyo-cdc.dlq"
    /// libpq connection string for the column catalog (schemaless envelopes). Default: none.
    public var postgresDSN: String?
    /// Whether the Kafka → Certyo pipeline runs. Default: `true`.
    public var pipelineEnabled = true
    /// Default: `info`.
    public var logLevel: Logger.Level = .info
    /// `CERTYO_API_KEY_FILE`, re-read while Certyo refuses the key. Default: none.
    public var apiKeyFile: String?
    /// The replication-slot sidecar's slot, interval and thresholds.
    public var slot = SlotMonitor.Configuration()
    /// Whether the slot sidecar runs when ``postgresDSN`` is set. Default: `true`.
    public var slotMonitorEnabled = true
    /// The operations endpoint (`/metrics`, `/health`, `/ready`); `nil` turns it off. Default: `0.0.0.0:9464`.
    public var operationsServer: OperationsServer.Configuration? = OperationsServer.Configuration()
    /// How often Certyo is probed while it is not known to accept the key. Default: 30 s.
    public var certyoProbeInterval: Duration = .seconds(30)
    /// The verification worker (status write-back). Default: off.
    public var verification = VerificationConfiguration()

    public init(certyo: CertyoClient.Configuration) {
        self.certyo = certyo
    }

    /// Resolves every setting: flags win over environment variables, which win over defaults.
    /// - Parameters:
    ///   - raw: The flags and the environment.
    ///   - readFile: Reads a file named by a setting (the API key file).
    /// - Throws: A ``ConfigError`` naming the first setting that is missing or wrong, and the fix.
    public static func load(
        _ raw: RawSettings,
        readFile: (String) throws -> String = { try String(contentsOfFile: $0, encoding: .utf8) }
    ) throws -> CertyoCDCConfiguration {
        // Certyo.
        let baseURL = raw.value(.certyoBaseURL) ?? CertyoClient.Configuration.defaultBaseURL
        guard let url = URL(string: baseURL), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            url.host != nil
        else {
            throw ConfigError(code: .invalid, setting: Setting.certyoBaseURL.name,
                              message: "'\(SettingParser.withoutCredentials(baseURL))' is not an http or https URL",
                              fix: "give Certyo's base URL, e.g. https://www.certyos.com")
        }
        let key = try apiKey(raw, readFile: readFile)
        guard let tenant = raw.value(.certyoTenantID), !tenant.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigError(code: .missing, setting: Setting.certyoTenantID.name, message: "no tenant id is set",
                              fix: "set CERTYO_TENANT_ID to your Certyo tenant, e.g. acme-corp")
        }
        var configuration = CertyoCDCConfiguration(
            certyo: CertyoClient.Configuration(baseURL: baseURL, apiKey: CertyoAPIKey(key), tenantId: tenant)
        )
        configuration.apiKeyFile = raw.value(.certyoAPIKeyFile)
        if let timeout = raw.value(.requestTimeout) {
            configuration.certyo.requestTimeout = try SettingParser.duration(timeout, .requestTimeout)
        }

        // Kafka.
        var consumer = configuration.pipeline.consumer
        if let servers = raw.value(.bootstrapServers) { consumer.bootstrapServers = servers }
        if let group = raw.value(.groupID) { consumer.groupID = group }
        if let pattern = raw.value(.topicPattern) {
            guard (try? NSRegularExpression(pattern: pattern)) != nil else {
                throw ConfigError(code: .invalid, setting: Setting.topicPattern.name,
                                  message: "'\(pattern)' is not a regular expression",
                                  fix: #"give a pattern such as ^certyo\.public\..*"#)
            }
            consumer.topicPattern = pattern.hasPrefix("^") ? pattern : "^" + pattern
        }
        var entries = raw.environment[Setting.kafkaProperties.environment].map {
            $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        } ?? []
        entries += raw.repeatedFlags[.kafkaProperties] ?? []
        consumer.additionalProperties = try SettingParser.properties(entries, .kafkaProperties)
        do {
            try consumer.validate()
        } catch let error as KafkaError {
            throw ConfigError(code: .invalid, setting: Setting.kafkaProperties.name, message: error.message,
                              fix: "correct or remove that property (see librdkafka's CONFIGURATION.md for the names)")
        }
        configuration.pipeline.consumer = consumer

        // Batching.
        var batching = configuration.pipeline.batching
        if let value = raw.value(.batchMaxRecords) {
            batching.maxRecords = try SettingParser.integer(value, .batchMaxRecords, range: 1...1000)
        }
        if let value = raw.value(.batchMaxBytes) {
            batching.maxBytes = try SettingParser.integer(value, .batchMaxBytes, range: 1024...10 * 1024 * 1024)
        }
        if let value = raw.value(.batchLinger) { batching.linger = try SettingParser.duration(value, .batchLinger) }
        if let value = raw.value(.maxInFlight) {
            batching.maxInFlight = try SettingParser.integer(value, .maxInFlight, range: 1...256)
        }
        if let value = raw.value(.maxBufferedBytes) {
            batching.maxBufferedBytes = try SettingParser.integer(value, .maxBufferedBytes,
                                                                  range: 1024 * 1024...4 * 1024 * 1024 * 1024)
        }
        configuration.pipeline.batching = batching

        if let topic = raw.value(.deadLetterTopic) {
            guard topic.range(of: #"^[A-Za-z0-9._-]{1,249}$"#, options: .regularExpression) != nil else {
                throw ConfigError(code: .invalid, setting: Setting.deadLetterTopic.name,
                                  message: "'\(topic)' is not a valid Kafka topic name",
                                  fix: "use letters, digits, '.', '_' and '-' only")
            }
            configuration.deadLetterTopic = topic
        }
        configuration.postgresDSN = raw.value(.postgresDSN)
        if let enabled = raw.value(.pipelineEnabled) {
            configuration.pipelineEnabled = try SettingParser.boolean(enabled, .pipelineEnabled)
        }
        configuration.slot = try SlotMonitor.Configuration.load(raw)
        if let enabled = raw.value(.slotMonitorEnabled) {
            configuration.slotMonitorEnabled = try SettingParser.boolean(enabled, .slotMonitorEnabled)
        }
        configuration.operationsServer = try operationsServer(raw)
        if let level = raw.value(.logLevel) {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
                throw ConfigError(code: .invalid, setting: Setting.logLevel.name, message: "'\(level)' is not a log level",
                                  fix: "give trace, debug, info, notice, warning, error or critical")
            }
            configuration.logLevel = parsed
        }
        try configuration.loadVerification(raw)
        return configuration
    }

    private static func operationsServer(_ raw: RawSettings) throws -> OperationsServer.Configuration? {
        var server = OperationsServer.Configuration()
        if let port = raw.value(.httpPort) {
            if port.lowercased() == "off" { return nil }
            server.port = try SettingParser.integer(port, .httpPort, range: 0...65535)
            if server.port == 0 { return nil }
        }
        if let host = raw.value(.httpHost) {
            let trimmed = host.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.contains(where: { $0.isWhitespace || "/@?#".contains($0) }) else {
                throw ConfigError(code: .invalid, setting: Setting.httpHost.name,
                                  message: "'\(host)' is not a host name or IP address",
                                  fix: "give an address to bind, e.g. 0.0.0.0 (all interfaces) or 127.0.0.1")
            }
            server.host = trimmed
        }
        return server
    }

    private static func apiKey(_ raw: RawSettings, readFile: (String) throws -> String) throws -> String {
        let direct = raw.value(.certyoAPIKey)
        let file = raw.value(.certyoAPIKeyFile)
        if direct != nil, file != nil {
            throw ConfigError(code: .conflict, setting: "\(Setting.certyoAPIKey.name) and \(Setting.certyoAPIKeyFile.name)",
                              message: "both are set", fix: "set only one of CERTYO_API_KEY and CERTYO_API_KEY_FILE")
        }
        if let direct { return try validated(direct, from: .certyoAPIKey) }
        if let file {
            let contents: String
            do {
                contents = try readFile(file)
            } catch {
                throw ConfigError(code: .unreadableFile, setting: Setting.certyoAPIKeyFile.name,
                                  message: "cannot read '\(file)'",
                                  fix: "point CERTYO_API_KEY_FILE at a readable file holding only the key")
            }
            return try validated(contents.trimmingCharacters(in: .whitespacesAndNewlines), from: .certyoAPIKeyFile)
        }
        throw ConfigError(code: .missing, setting: "\(Setting.certyoAPIKey.name) or \(Setting.certyoAPIKeyFile.name)",
                          message: "no Certyo API key is set",
                          fix: "set CERTYO_API_KEY, or CERTYO_API_KEY_FILE to a file holding the key")
    }

    private static func validated(_ key: String, from setting: Setting) throws -> String {
        guard !key.isEmpty, !key.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw ConfigError(code: .invalid, setting: setting.name,
                              message: "the API key is empty or contains whitespace",
                              fix: "give the key exactly as Certyo issued it (it looks like cty_...)")
        }
        return key
    }
}
