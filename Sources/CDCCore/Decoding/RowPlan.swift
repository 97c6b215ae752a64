/// Everything needed to canonicalise the rows of one table layout, computed once per layout: the field names as
/// they appear in messages, one converter per field, and the JCS member order (UTF-16 sorted, excluded columns
/// dropped) with each member's `"name":` bytes ready to copy. A class, so that handing it around costs one retain.
final class RowPlan: Sendable {
    let table: TableName
    /// Field names as they appear (raw, escaped) in message JSON, in message order.
    let fieldKeys: [[UInt8]]
    /// Decoded field names, in message order.
    let fieldNames: [String]
    let converters: [ValueConverter]
    /// Indices into the fields in JCS member order, without excluded columns.
    let emitOrder: [Int]
    /// For each field, its JCS member prefix `"name":`.
    let memberPrefixes: [[UInt8]]
    /// Every field's `,"name":` in one buffer, and each one's range in it: the row writer copies a member's
    /// separator and name in one append, from one buffer (no retain of a per-field array).
    let memberText: [UInt8]
    let memberTextRanges: [Range<Int>]
    /// `fieldKeys` in one buffer, and each key's range in it (``matches(_:row:)`` compares a message's member
    /// names with them for every schemaless message).
    let fieldKeyText: [UInt8]
    let fieldKeyRanges: [Range<Int>]
    /// Lossy connector settings this layout depends on: (setting, message).
    let lossy: [LossySetting]

    struct LossySetting: Sendable, Hashable {
        var setting: String
        var message: String
    }

    init(table: TableName, fieldKeys: [[UInt8]], fieldNames: [String], converters: [ValueConverter],
         configuration: DebeziumDecoder.Configuration, lossy: [LossySetting]) {
        self.table = table
        self.fieldKeys = fieldKeys
        self.fieldNames = fieldNames
        self.converters = converters
        self.lossy = lossy
        var prefixes: [[UInt8]] = []
        for name in fieldNames {
            var prefix: [UInt8] = []
            JCS.appendString(name, to: &prefix)
            prefix.append(UInt8(ascii: ":"))
            prefixes.append(prefix)
        }
        self.memberPrefixes = prefixes
        var text: [UInt8] = []
        var ranges: [Range<Int>] = []
        for prefix in prefixes {
            let start = text.count
            text.append(UInt8(ascii: ","))
            text.append(contentsOf: prefix)
            ranges.append(start..<text.count)
        }
        self.memberText = text
        self.memberTextRanges = ranges
        var keyText: [UInt8] = []
        var keyRanges: [Range<Int>] = []
        for key in fieldKeys {
            let start = keyText.count
            keyText.append(contentsOf: key)
            keyRanges.append(start..<keyText.count)
        }
        self.fieldKeyText = keyText
        self.fieldKeyRanges = keyRanges
        let keys = fieldNames.map { Array($0.utf16) }
        self.emitOrder = fieldNames.indices
            .filter { !configuration.isExcluded(fieldNames[$0], in: table) }
            .sorted { JCS.lessUTF16(keys[$0], keys[$1]) }
    }

    func fieldIndex(named name: String) -> Int? {
        fieldNames.firstIndex(of: name)
    }

    /// Whether the members of object `row` have exactly this plan's field names, in order.
    func matches(_ tape: JSONTape, row: Int) -> Bool {
        guard Int(tape[row].count) == fieldKeyRanges.count else { return false }
        return fieldKeyText.withUnsafeBufferPointer { keys in
            tape.bytes.withUnsafeBufferPointer { bytes in
                var position = 0
                var same = true
                tape.forEachMember(row) { key, _ in
                    guard same else { return }
                    let node = tape[key]
                    let range = fieldKeyRanges[position]
                    let length = Int(node.end - node.start)
                    if length != range.count {
                        same = false
                    } else {
                        let start = Int(node.start)
                        for offset in 0..<length where bytes[start + offset] != keys[range.lowerBound + offset] {
                            same = false
                            break
                        }
                    }
                    position += 1
                }
                return same
            }
        }
    }
}

// MARK: - Converters from Kafka Connect schemas

extension RowPlan {
    /// A plan from the Connect schema of a row struct (`schema.fields[after].fields`).
    static func fromSchema(
        _ tape: JSONTape, rowStruct: Int, table: TableName, configuration: DebeziumDecoder.Configuration
    ) -> Result<RowPlan, DeadLetterReason> {
        guard let fields = tape.member(rowStruct, "fields"), tape[fields].kind == .array else {
            return .failure(DeadLetterReason(code: "malformed_schema",
                                             message: "the row schema of \(table) has no fields array"))
        }
        var keys: [[UInt8]] = []
        var names: [String] = []
        var converters: [ValueConverter] = []
        var lossy: Set<LossySetting> = []
        var failure: DeadLetterReason? = nil
        var seen: Set<String> = []
        tape.forEachElement(fields) { field in
            guard failure == nil else { return }
            guard let nameIndex = tape.member(field, "field"), let name = tape.string(nameIndex) else {
                failure = DeadLetterReason(code: "malformed_schema",
                                           message: "a field schema of \(table) has no \"field\" name")
                return
            }
            guard seen.insert(name).inserted else {
                failure = DeadLetterReason(code: "malformed_schema",
                                           message: "the row schema of \(table) names the field \"\(name)\" twice")
                return
            }
            keys.append(Array(tape.rawBytes(tape[nameIndex])))
            names.append(name)
            converters.append(converter(schema: tape, field, lossy: &lossy))
        }
        if let failure { return .failure(failure) }
        if configuration.decimalHandlingMode == .double {
            lossy.insert(LossySetting(
                setting: "decimal.handling.mode=double",
                message: "decimal.handling.mode=double: numeric values arrive as doubles and cannot be told from "
                    + "double precision columns in the schema; set decimal.handling.mode=string in the connector"))
        }
        return .success(RowPlan(table: table, fieldKeys: keys, fieldNames: names, converters: converters,
                                configuration: configuration, lossy: lossy.sorted { $0.setting < $1.setting }))
    }

    static func converter(schema tape: JSONTape, _ field: Int, lossy: inout Set<LossySetting>) -> ValueConverter {
        let type = tape.member(field, "type").flatMap { tape.string($0) } ?? ""
        let name = tape.member(field, "name").flatMap { tape.string($0) }
        switch name {
        case "org.apache.kafka.connect.data.Decimal":
            let scale = tape.member(field, "parameters").flatMap { tape.member($0, "scale") }
                .flatMap { tape.string($0) }.flatMap { Int($0) }
            return scale.map { .decimalBytes(scale: $0) } ?? .unsupported("a Decimal schema without a scale")
        case "io.debezium.data.VariableScaleDecimal": return .variableScaleDecimal
        case "io.debezium.time.Timestamp": return .timestamp(.millis)
        case "io.debezium.time.MicroTimestamp": return .timestamp(.micros)
        case "io.debezium.time.NanoTimestamp": return .timestamp(.nanos)
        case "org.apache.kafka.connect.data.Timestamp":
            lossy.insert(connectLossy)
            return .timestamp(.millis)
        case "io.debezium.time.ZonedTimestamp": return .timestamptz
        case "io.debezium.time.Date", "org.apache.kafka.connect.data.Date": return .date
        case "io.debezium.time.Time": return .time(.millis)
        case "io.debezium.time.MicroTime": return .time(.micros)
        case "io.debezium.time.NanoTime": return .time(.nanos)
        case "org.apache.kafka.connect.data.Time":
            lossy.insert(connectLossy)
            return .time(.millis)
        case "io.debezium.time.MicroDuration":
            lossy.insert(intervalLossy)
            return .intervalMicros
        case "io.debezium.time.Interval": return .intervalString
        case "io.debezium.data.Json": return .json
        case "io.debezium.data.Uuid": return .uuid
        case "io.debezium.data.Bits":
            return .unsupported("bit strings (io.debezium.data.Bits) arrive as bytes, not as PostgreSQL prints them")
        default:
            break
        }
        switch type {
        case "boolean": return .boolean
        case "int8", "int16", "int32": return .integer
        case "int64": return .int64
        case "float", "double", "float32", "float64": return .float
        case "string": return .text
        case "bytes": return .binary(.base64)
        case "array":
            guard let items = tape.member(field, "items") else { return .unsupported("an array schema without items") }
            return .array(converter(schema: tape, items, lossy: &lossy))
        default:
            return .unsupported("a \(name ?? type) value (no canonical form from this encoding)")
        }
    }

    static let connectLossy = LossySetting(
        setting: "time.precision.mode=connect",
        message: "time.precision.mode=connect cuts microseconds to milliseconds, so anchored values may not match "
            + "the row read back; set time.precision.mode=adaptive_time_microseconds in the connector")
    static let intervalLossy = LossySetting(
        setting: "interval.handling.mode=numeric",
        message: "interval.handling.mode=numeric counts a month as 30.4375 days, so intervals are rebuilt best "
            + "effort and may not match the row read back; set interval.handling.mode=string in the connector")
    static let decimalLossy = LossySetting(
        setting: "decimal.handling.mode=double",
        message: "decimal.handling.mode=double loses numeric digits beyond a double's precision; set "
            + "decimal.handling.mode=string in the connector")
}

// MARK: - Converters from the catalog

extension RowPlan {
    enum CatalogResult {
        case plan(RowPlan)
        case missingColumn(String)
        /// The row names a member twice (damaged input: a canonical row has each column once).
        case repeatedMember(String)
    }

    /// A plan for a schemaless row whose fields are `row`'s members, typed by the catalog.
    static func fromCatalog(
        _ tape: JSONTape, row: Int, table: TableName, columns: TableColumns,
        configuration: DebeziumDecoder.Configuration
    ) -> CatalogResult {
        var keys: [[UInt8]] = []
        var names: [String] = []
        var converters: [ValueConverter] = []
        var lossy: Set<LossySetting> = []
        var missing: String? = nil
        var repeated: String? = nil
        var seen: Set<String> = []
        tape.forEachMember(row) { key, _ in
            guard missing == nil, repeated == nil else { return }
            let name = tape.string(key) ?? ""
            guard let column = columns.column(named: name) else {
                missing = name
                return
            }
            guard seen.insert(name).inserted else {
                repeated = name
                return
            }
            keys.append(Array(tape.rawBytes(tape[key])))
            names.append(name)
            converters.append(converter(type: column.type, configuration: configuration, lossy: &lossy))
        }
        if let missing { return .missingColumn(missing) }
        if let repeated { return .repeatedMember(repeated) }
        return .plan(RowPlan(table: table, fieldKeys: keys, fieldNames: names, converters: converters,
                             configuration: configuration, lossy: lossy.sorted { $0.setting < $1.setting }))
    }

    static func decimalConverter(
        scale: Int?, configuration: DebeziumDecoder.Configuration, lossy: inout Set<LossySetting>
    ) -> ValueConverter {
        switch configuration.decimalHandlingMode {
        case .precise:
            return scale.map { .decimalBytes(scale: $0) } ?? .variableScaleDecimal
        case .double:
            lossy.insert(decimalLossy)
            return .decimalDouble(scale: scale)
        default:
            return .decimalString(scale: scale)
        }
    }

    static func converter(
        type: PostgresType, configuration: DebeziumDecoder.Configuration, lossy: inout Set<LossySetting>
    ) -> ValueConverter {
        switch type {
        case .boolean: return .boolean
        case .smallint, .integer: return .integer
        case .bigint: return .int64
        case .real, .doublePrecision: return .float
        case .numeric(let scale):
            return decimalConverter(scale: scale, configuration: configuration, lossy: &lossy)
        case .money:
            return decimalConverter(scale: 2, configuration: configuration, lossy: &lossy)
        case .text, .other, .timetz: return .text
        case .uuid: return .uuid
        case .date: return .date
        case .time(let precision):
            switch configuration.timePrecisionMode {
            case .connect:
                if (precision ?? 6) > 3 { lossy.insert(connectLossy) }
                return .time(.millis)
            case .adaptive:
                return (precision ?? 6) <= 3 ? .time(.millis) : .time(.micros)
            default:
                return .time(.micros)
            }
        case .timestamp(let precision):
            if configuration.timePrecisionMode == .connect {
                if (precision ?? 6) > 3 { lossy.insert(connectLossy) }
                return .timestamp(.millis)
            }
            return (precision ?? 6) <= 3 ? .timestamp(.millis) : .timestamp(.micros)
        case .timestamptz: return .timestamptz
        case .interval:
            if configuration.intervalHandlingMode == .numeric {
                lossy.insert(intervalLossy)
                return .intervalMicros
            }
            return .intervalString
        case .json: return .json
        case .bytea:
            switch configuration.binaryHandlingMode {
            case .hex: return .binary(.hex)
            case .base64URLSafe: return .binary(.base64URLSafe)
            default: return .binary(.base64)
            }
        case .array(let element):
            return .array(converter(type: element, configuration: configuration, lossy: &lossy))
        }
    }
}
