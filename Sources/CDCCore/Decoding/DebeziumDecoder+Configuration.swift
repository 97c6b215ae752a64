extension DebeziumDecoder {
    /// How the decoder reads messages. The connector-mode settings must match the Debezium connector's own
    /// settings: schemaless messages do not say how a value was encoded.
    public struct Configuration: Sendable {
        /// The `database` of every record. Default: `nil` (use the message's `source.db`).
        public var database: String?
        /// Columns left out of every payload, as `column` (any table) or `schema.table.column`. `certyo_*` columns
        /// are always left out. Default: empty.
        public var excludedColumns: Set<String>
        /// The connector's `decimal.handling.mode`. Default: `.string`.
        public var decimalHandlingMode: DecimalHandlingMode
        /// The connector's `time.precision.mode`. Default: `.adaptiveTimeMicroseconds`.
        public var timePrecisionMode: TimePrecisionMode
        /// The connector's `interval.handling.mode`. Default: `.string`.
        public var intervalHandlingMode: IntervalHandlingMode
        /// The connector's `binary.handling.mode`. Default: `.base64`.
        public var binaryHandlingMode: BinaryHandlingMode

        public init() {
            database = nil
            excludedColumns = []
            decimalHandlingMode = .string
            timePrecisionMode = .adaptiveTimeMicroseconds
            intervalHandlingMode = .string
            binaryHandlingMode = .base64
        }

        /// Takes the four connector-mode settings from Debezium connector properties (a `connector.json`
        /// `config` object); absent keys get Debezium's own defaults (`precise`, `adaptive`, `numeric`, `bytes`).
        /// - Throws: A ``DeadLetterReason`` (code `invalid_setting`) naming the property with an unknown value.
        public mutating func applyConnectorProperties(_ properties: [String: String]) throws(DeadLetterReason) {
            func unknown(_ key: String, _ value: String, _ allowed: String) -> DeadLetterReason {
                DeadLetterReason(code: "invalid_setting", message: "\(key)=\(value) is not a known value",
                                 fix: "use one of \(allowed)")
            }
            let decimal = properties["decimal.handling.mode"] ?? "precise"
            guard let decimalMode = DecimalHandlingMode(rawValue: decimal) else {
                throw unknown("decimal.handling.mode", decimal, "precise, string, double")
            }
            let time = properties["time.precision.mode"] ?? "adaptive"
            guard let timeMode = TimePrecisionMode(rawValue: time) else {
                throw unknown("time.precision.mode", time, "adaptive, adaptive_time_microseconds, connect")
            }
            let interval = properties["interval.handling.mode"] ?? "numeric"
            guard let intervalMode = IntervalHandlingMode(rawValue: interval) else {
                throw unknown("interval.handling.mode", interval, "numeric, string")
            }
            let binary = properties["binary.handling.mode"] ?? "bytes"
            guard let binaryMode = BinaryHandlingMode(rawValue: binary) else {
                throw unknown("binary.handling.mode", binary, "bytes, base64, base64-url-safe, hex")
            }
            decimalHandlingMode = decimalMode
            timePrecisionMode = timeMode
            intervalHandlingMode = intervalMode
            binaryHandlingMode = binaryMode
        }

        func isExcluded(_ column: String, in table: TableName) -> Bool {
            if column.hasPrefix("certyo_") { return true }
            if excludedColumns.isEmpty { return false }
            return excludedColumns.contains(column) || excludedColumns.contains("\(table).\(column)")
        }
    }
}

/// Debezium's `decimal.handling.mode`.
public struct DecimalHandlingMode: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    private init(_ rawValue: String) { self.rawValue = rawValue }
    public init?(rawValue: String) {
        guard let mode = [DecimalHandlingMode.precise, .string, .double].first(where: { $0.rawValue == rawValue })
        else { return nil }
        self = mode
    }

    /// Base64 two's-complement unscaled integers (`Decimal`, `VariableScaleDecimal`). Lossless.
    public static let precise = DecimalHandlingMode("precise")
    /// Decimal text. Lossless.
    public static let string = DecimalHandlingMode("string")
    /// JSON doubles. Lossy beyond 15–17 significant digits.
    public static let double = DecimalHandlingMode("double")

    public var description: String { rawValue }
}

/// Debezium's `time.precision.mode`.
public struct TimePrecisionMode: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    private init(_ rawValue: String) { self.rawValue = rawValue }
    public init?(rawValue: String) {
        guard let mode = [TimePrecisionMode.adaptive, .adaptiveTimeMicroseconds, .connect]
            .first(where: { $0.rawValue == rawValue })
        else { return nil }
        self = mode
    }

    /// Milliseconds for precision ≤ 3, microseconds above. Lossless.
    public static let adaptive = TimePrecisionMode("adaptive")
    /// Like `adaptive`, but `time` always in microseconds. Lossless.
    public static let adaptiveTimeMicroseconds = TimePrecisionMode("adaptive_time_microseconds")
    /// Kafka Connect's types, milliseconds everywhere. Lossy (microseconds are cut).
    public static let connect = TimePrecisionMode("connect")

    public var description: String { rawValue }
}

/// Debezium's `interval.handling.mode`.
public struct IntervalHandlingMode: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    private init(_ rawValue: String) { self.rawValue = rawValue }
    public init?(rawValue: String) {
        guard let mode = [IntervalHandlingMode.numeric, .string].first(where: { $0.rawValue == rawValue }) else {
            return nil
        }
        self = mode
    }

    /// Microseconds with a month counted as 30.4375 days (`MicroDuration`). Lossy.
    public static let numeric = IntervalHandlingMode("numeric")
    /// ISO 8601 text (`P1Y2M3DT4H5M6.78S`). Lossless.
    public static let string = IntervalHandlingMode("string")

    public var description: String { rawValue }
}

/// Debezium's `binary.handling.mode`.
public struct BinaryHandlingMode: Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    private init(_ rawValue: String) { self.rawValue = rawValue }
    public init?(rawValue: String) {
        guard let mode = [BinaryHandlingMode.bytes, .base64, .base64URLSafe, .hex]
            .first(where: { $0.rawValue == rawValue })
        else { return nil }
        self = mode
    }

    /// Connect `bytes` (the JSON converter writes them as base64).
    public static let bytes = BinaryHandlingMode("bytes")
    /// A base64 string.
    public static let base64 = BinaryHandlingMode("base64")
    /// A URL-safe base64 string.
    public static let base64URLSafe = BinaryHandlingMode("base64-url-safe")
    /// A hexadecimal string.
    public static let hex = BinaryHandlingMode("hex")

    public var description: String { rawValue }
}

/// Something the caller should log once: a lossy connector setting seen for a table.
public struct DecoderWarning: Sendable, Hashable, CustomStringConvertible {
    public var table: TableName
    /// The connector setting at fault, e.g. `interval.handling.mode=numeric`.
    public var setting: String
    public var message: String

    public var description: String { "\(table): \(message)" }
}
