import CDCCore
import KafkaBridge

/// One setting of `certyo-cdc run`: its flag, its environment variable and how it is documented.
public struct Setting: Sendable, Hashable {
    public var flag: String
    public var environment: String
    public var isSecret: Bool

    public init(_ flag: String, _ environment: String, secret: Bool = false) {
        self.flag = flag
        self.environment = environment
        self.isSecret = secret
    }

    public var name: String { "--\(flag) / \(environment)" }

    public static let certyoBaseURL = Setting("certyo-url", "CERTYO_BASE_URL")
    public static let certyoAPIKey = Setting("certyo-api-key", "CERTYO_API_KEY", secret: true)
    public static let certyoAPIKeyFile = Setting("certyo-api-key-file", "CERTYO_API_KEY_FILE")
    public static let certyoTenantID = Setting("tenant-id", "CERTYO_TENANT_ID")
    public static let requestTimeout = Setting("request-timeout", "CERTYO_REQUEST_TIMEOUT")
    public static let bootstrapServers = Setting("bootstrap-servers", "KAFKA_BOOTSTRAP_SERVERS")
    public static let groupID = Setting("group-id", "CERTYO_GROUP_ID")
    public static let topicPattern = Setting("topic-pattern", "CERTYO_TOPIC_PATTERN")
    public static let kafkaProperties = Setting("kafka-property", "KAFKA_PROPERTIES")
    public static let batchMaxRecords = Setting("batch-max-records", "CERTYO_BATCH_MAX_RECORDS")
    public static let batchMaxBytes = Setting("batch-max-bytes", "CERTYO_BATCH_MAX_BYTES")
    public static let batchLinger = Setting("batch-linger", "CERTYO_BATCH_LINGER")
    public static let maxInFlight = Setting("max-in-flight", "CERTYO_MAX_IN_FLIGHT")
    public static let maxBufferedBytes = Setting("max-buffered-bytes", "CERTYO_MAX_BUFFERED_BYTES")
    public static let deadLetterTopic = Setting("dlq-topic", "CERTYO_DLQ_TOPIC")
    public static let postgresDSN = Setting("pg-dsn", "PG_DSN", secret: true)
    public static let pipelineEnabled = Setting("pipeline", "CERTYO_PIPELINE_ENABLED")
    public static let logLevel = Setting("log-level", "CERTYO_LOG_LEVEL")
    public static let httpPort = Setting("http-port", "CERTYO_HTTP_PORT")
    public static let httpHost = Setting("http-host", "CERTYO_HTTP_HOST")

    // Without Kafka: `listen`, `poll`, `setup`.
    /// The schema of the `_certyo_*` tables and the trigger function.
    public static let captureSchema = Setting("capture-schema", "CERTYO_CAPTURE_SCHEMA")
    /// How long the listener waits for a NOTIFY before reading the outbox anyway.
    public static let listenWakeInterval = Setting("wake-interval", "CERTYO_LISTEN_WAKE_INTERVAL")
    /// The polled table (`schema.table`, or `table` in `public`).
    public static let pollTable = Setting("table", "CERTYO_POLL_TABLE")
    /// The polled table's version column.
    public static let pollColumn = Setting("column", "CERTYO_POLL_COLUMN")
    /// The polled table's soft-delete column.
    public static let pollDeletedColumn = Setting("deleted-column", "CERTYO_POLL_DELETED_COLUMN")
    /// The pause after a page that was not full.
    public static let pollInterval = Setting("poll-interval", "CERTYO_POLL_INTERVAL")
    /// The margin below the oldest open transaction's start.
    public static let pollOverlap = Setting("poll-overlap", "CERTYO_POLL_OVERLAP")
}

/// Raw setting values as given: flags win over environment variables, which win over defaults.
public struct RawSettings: Sendable {
    public var flags: [Setting: String]
    /// Repeatable flags (`--kafka-property k=v`).
    public var repeatedFlags: [Setting: [String]]
    public var environment: [String: String]

    public init(flags: [Setting: String] = [:], repeatedFlags: [Setting: [String]] = [:],
                environment: [String: String] = [:]) {
        self.flags = flags
        self.repeatedFlags = repeatedFlags
        self.environment = environment
    }

    /// The value of `setting`, if given; an empty environment variable counts as absent.
    public func value(_ setting: Setting) -> String? {
        if let flag = flags[setting] { return flag }
        if let env = environment[setting.environment], !env.isEmpty { return env }
        return nil
    }
}

/// Parsers shared by every setting: each failure names the setting and the fix.
public enum SettingParser {
    /// A duration as every setting writes it: plain seconds ("0.5", "30") or with a unit ("250ms", "10s", "2m");
    /// `nil` when `raw` is none of these (negative, not finite, or not a number).
    public static func duration(_ raw: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60)]
        var number = Substring(raw)
        var scale = 1.0
        for (suffix, factor) in units where raw.hasSuffix(suffix) {
            number = raw.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let value = Double(number), value >= 0, value.isFinite else { return nil }
        return .milliseconds(Int64((value * scale * 1000).rounded()))
    }

    static func duration(_ raw: String, _ setting: Setting) throws -> Duration {
        guard let duration = duration(raw) else {
            throw ConfigError(code: .invalid, setting: setting.name, message: "'\(raw)' is not a duration",
                              fix: "give seconds such as 0.5 or 30, or a value with ms, s or m")
        }
        return duration
    }

    static func integer(_ raw: String, _ setting: Setting, range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(raw), range.contains(value) else {
            throw ConfigError(code: .invalid, setting: setting.name, message: "'\(raw)' is not a whole number in \(range)",
                              fix: "give a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    static func boolean(_ raw: String, _ setting: Setting) throws -> Bool {
        switch raw.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default:
            throw ConfigError(code: .invalid, setting: setting.name, message: "'\(raw)' is not true or false",
                              fix: "give true or false")
        }
    }

    /// What a message may quote of a malformed `key=value` entry: the name up to a `:` or a space (a typo for `=`),
    /// never what follows it, which may be a password (`sasl.password:...`).
    static func propertyName(_ entry: String) -> String {
        let name = entry.prefix { $0 != ":" && !$0.isWhitespace }
        return name.count == entry.count ? entry : name + "…"
    }

    /// `url` with any `user:password@` part replaced by `***@`, so a message can quote it.
    static func withoutCredentials(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@") else { return url }
        let scheme = url.firstIndex(of: ":").flatMap { colon in
            url[colon...].hasPrefix("://") ? url.index(colon, offsetBy: 3) : nil
        }
        let start = scheme ?? url.startIndex
        guard start <= at else { return url }
        return String(url[..<start]) + "***" + String(url[at...])
    }

    /// `key=value` pairs, from repeated flags and from a comma-separated environment variable.
    static func properties(_ entries: [String], _ setting: Setting) throws -> [String: String] {
        var result: [String: String] = [:]
        for entry in entries {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw ConfigError(code: .invalid, setting: setting.name,
                                  message: "'\(propertyName(entry))' is not of the form key=value",
                                  fix: "give librdkafka properties as key=value, e.g. session.timeout.ms=10000")
            }
            result[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        return result
    }
}
