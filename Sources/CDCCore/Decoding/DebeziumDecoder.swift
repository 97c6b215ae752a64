#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns Kafka records written by Debezium's JsonConverter (schemas on or off) into Certyo records whose
/// `recordPayload` is the canonical row of canonical-row.md, or into a skip or a dead-letter with its reason.
///
/// Pure and synchronous: no I/O, no logging. Per-topic schemas and per-table layouts are parsed once and cached;
/// a changed schema (a new column) is noticed by comparing the schema bytes and re-parsed. Schemaless messages
/// are typed by the ``ColumnCatalog``: a table or column it does not know yields ``DecodeOutcome/needsCatalog(table:)``.
public struct DebeziumDecoder: Sendable {
    public var configuration: Configuration
    /// The column types used for schemaless messages.
    public private(set) var catalog: ColumnCatalog

    private var schemaPlans: [String: SchemaPlanEntry] = [:]
    private var catalogPlans: [TableName: RowPlan] = [:]
    private var refreshedTables: Set<TableName> = []
    private var warned: Set<String> = []
    /// Plans whose lossy settings were already noted, kept alive so that an identity is never reused.
    private var notedPlans: [ObjectIdentifier: RowPlan] = [:]
    private var pendingWarnings: [DecoderWarning] = []
    private var slots: [Int] = []
    /// Reused to build the idempotency key and the timestamp text (one allocation each: their `String`).
    private var scratch: [UInt8] = []
    /// Node memory of the envelope and key tapes, and the converters' working memory, reused by every message
    /// (see `JSONTape.init(parsing:range:skipping:reusing:)`).
    private var envelopeNodes: [JSONTape.Node] = []
    private var keyNodes: [JSONTape.Node] = []
    private var canonicalScratch = Canonicalizer.Scratch()
    /// The table of the previous message, recognised by the raw bytes of `source.schema` and `source.table`: a
    /// topic carries one table, so the common case builds no name strings and hashes nothing.
    private var lastTable: LastTable? = nil
    /// Where rows are written before being copied into their record (see `ByteWriter`).
    private var rowWriter: ByteWriter? = ByteWriter()
    /// The schema entry of the previous schema-carrying message's topic (`schemaPlans[topic]`), found by comparing
    /// the topic instead of hashing it.
    private var lastSchema: (topic: String, entry: SchemaPlanEntry)? = nil
    /// The schema half of the previous key that was `{"schema":…,"payload":…}`: a key with the same schema bytes
    /// has only its payload parsed.
    private var keySchemaBytes: [UInt8]? = nil

    /// Immutable and a class: reading it per message costs one retain, not one per field.
    private final class LastTable: Sendable {
        let schema: [UInt8]
        let table: [UInt8]
        let name: TableName
        let collection: String
        /// The catalog plan of `name` (schemaless messages), as `catalogPlans[name]` holds it.
        let catalogPlan: RowPlan?

        init(schema: [UInt8], table: [UInt8], name: TableName, collection: String, catalogPlan: RowPlan?) {
            self.schema = schema
            self.table = table
            self.name = name
            self.collection = collection
            self.catalogPlan = catalogPlan
        }

        func with(catalogPlan: RowPlan) -> LastTable {
            LastTable(schema: schema, table: table, name: name, collection: collection, catalogPlan: catalogPlan)
        }
    }
    /// How many times a message schema was parsed (tests check that an unchanged schema is parsed once).
    private(set) var schemaParseCount = 0

    private final class SchemaPlanEntry: Sendable {
        let schemaBytes: [UInt8]
        let plan: Result<RowPlan, DeadLetterReason>

        init(schemaBytes: [UInt8], plan: Result<RowPlan, DeadLetterReason>) {
            self.schemaBytes = schemaBytes
            self.plan = plan
        }
    }

    /// - Parameters:
    ///   - configuration: How messages are encoded and what to leave out.
    ///   - catalog: Column types for schemaless messages. Default: empty (every schemaless table asks for it).
    public init(configuration: Configuration = Configuration(), catalog: ColumnCatalog = ColumnCatalog()) {
        self.configuration = configuration
        self.catalog = catalog
    }

    /// Replaces the catalog entry of one table (after ``DecodeOutcome/needsCatalog(table:)``).
    public mutating func updateCatalog(_ columns: TableColumns, for table: TableName) {
        catalog[table] = columns
        catalogPlans[table] = nil
        lastTable = nil
        refreshedTables.insert(table)
    }

    /// Replaces the whole catalog.
    public mutating func setCatalog(_ catalog: ColumnCatalog) {
        self.catalog = catalog
        catalogPlans = [:]
        lastTable = nil
        refreshedTables = Set(catalog.tables.keys)
    }

    /// The warnings (lossy settings, once per table and setting) gathered since the last call.
    public mutating func drainWarnings() -> [DecoderWarning] {
        defer { pendingWarnings = [] }
        return pendingWarnings
    }

    /// Decodes one Kafka record. Never traps on bad input: problems become ``DecodeOutcome/deadLetter(_:)``.
    public mutating func decode(_ message: SourceMessage) -> DecodeOutcome {
        guard let value = message.value else {
            return .skip(SkipReason(code: "tombstone", message: "tombstone (NULL value) on \(message.topic)"))
        }
        // Split a schema-carrying message into schema and payload without parsing the schema: JsonConverter
        // writes `{"schema":<schema>,"payload":<payload>}`, so an unchanged schema is one byte comparison away.
        var payloadRange = 0..<value.count
        var schemaRange: Range<Int>? = nil
        var cachedPlan: Result<RowPlan, DeadLetterReason>? = nil
        if Self.hasPrefix(value, Self.schemaPrefix) {
            if let entry = schemaEntry(topic: message.topic),
                let payload = Self.payloadAfterCachedSchema(value, entry.schemaBytes)
            {
                payloadRange = payload
                cachedPlan = entry.plan
            } else if let members = JSONTape.topLevelMembers(value), members.count == 2 {
                for member in members {
                    if value[member.name].elementsEqual("schema".utf8) {
                        schemaRange = member.value
                    } else if value[member.name].elementsEqual("payload".utf8) {
                        payloadRange = member.value
                    }
                }
                if payloadRange == 0..<value.count { schemaRange = nil }
            }
        }
        let tape: JSONTape
        do {
            // `after` is parsed in this pass (r/c/u use it); `before` is only a span, parsed on its own for a
            // delete, so an update under REPLICA IDENTITY FULL does not build nodes for a row it does not use.
            tape = try JSONTape(parsing: value, range: payloadRange, skipping: Self.envelopeSkips,
                                reusing: &envelopeNodes)
        } catch {
            return .deadLetter(DeadLetterReason(
                code: "malformed_json", message: "the value on \(message.topic) is not JSON: \(error)",
                fix: "the value converter must be org.apache.kafka.connect.json.JsonConverter"))
        }
        defer { envelopeNodes = tape.releaseNodes() }
        let envelope = tape[0].kind == .object ? EnvelopeMembers(tape) : EnvelopeMembers()
        guard let opIndex = envelope.op else {
            return .deadLetter(DeadLetterReason(
                code: "not_a_change_event",
                message: "the value on \(message.topic) is not a Debezium change event (no \"op\" field)",
                fix: "consume only Debezium table topics, with value.converter=JsonConverter"))
        }
        // Debezium writes `op` as a one-letter string; a number or an object there is a damaged envelope, not an
        // operation a newer certyo-cdc would know.
        guard tape[opIndex].kind == .string, let op = tape.string(opIndex) else {
            return .deadLetter(DeadLetterReason(
                code: "not_a_change_event",
                message: "the value on \(message.topic) is not a Debezium change event (\"op\" is not a string)",
                fix: "consume only Debezium table topics, with value.converter=JsonConverter"))
        }
        let source = envelope.source
        let sourceMembers = source.map { SourceMembers(tape, $0) } ?? SourceMembers()
        if op == "m" {
            return .skip(SkipReason(code: "logical_message", message: "logical decoding message on \(message.topic)"))
        }
        let table = tableName(tape, source: sourceMembers, topic: message.topic)
        switch op {
        case "t":
            return .skip(SkipReason(
                code: "truncate",
                message: "TRUNCATE of \(table) is not a record of any row and is not anchored"))
        case "r", "c", "u", "d":
            break
        default:
            return .deadLetter(DeadLetterReason(
                code: "unknown_operation", message: "operation \"\(op)\" on \(table) is not known",
                fix: "upgrade certyo-cdc, or exclude these events in the connector (skipped.operations)"))
        }

        // The layout of the row.
        let rowField: StaticString = op == "d" ? "before" : "after"
        // Only the row this event uses is parsed (an update under REPLICA IDENTITY FULL carries two).
        var rowTape = tape
        var row: Int? = nil
        if let rowIndex = op == "d" ? envelope.before : envelope.after, tape[rowIndex].kind == .object {
            let node = tape[rowIndex]
            if !node.flag {
                row = rowIndex  // parsed with the envelope
            } else {
                do {
                    rowTape = try JSONTape(parsing: value, range: Int(node.start)..<Int(node.end))
                    row = 0
                } catch {
                    return .deadLetter(DeadLetterReason(
                        code: "malformed_json", message: "payload.\(rowField) of \(table) is not JSON: \(error)",
                        fix: "the value converter must be org.apache.kafka.connect.json.JsonConverter"))
                }
            }
        }
        let plan: RowPlan
        /// The row's member names were just compared with the plan's, in order (the cached catalog plan).
        var keysMatch = false
        if let cachedPlan {
            switch cachedPlan {
            case .success(let found): plan = found
            case .failure(let reason): return .deadLetter(reason)
            }
        } else if let schemaRange {
            switch schemaPlan(topic: message.topic, value: value, schemaRange: schemaRange, table: table) {
            case .success(let found): plan = found
            case .failure(let reason): return .deadLetter(reason)
            }
        } else {
            let lastPlan = lastTable.flatMap { $0.name == table ? $0.catalogPlan : nil }
            if let row, let cached = lastPlan ?? catalogPlans[table], cached.matches(rowTape, row: row) {
                if lastPlan == nil, let last = lastTable, last.name == table {
                    lastTable = last.with(catalogPlan: cached)
                }
                plan = cached
                keysMatch = true
            } else if let row {
                guard let columns = catalog[table] else { return missingCatalog(table, column: nil) }
                switch RowPlan.fromCatalog(rowTape, row: row, table: table, columns: columns,
                                           configuration: configuration) {
                case .plan(let built):
                    catalogPlans[table] = built
                    if let last = lastTable, last.name == table { lastTable = last.with(catalogPlan: built) }
                    plan = built
                case .missingColumn(let column):
                    return missingCatalog(table, column: column)
                case .repeatedMember(let column):
                    return .deadLetter(DeadLetterReason(
                        code: "malformed_json",
                        message: "the row of \(table) names the column \"\(column)\" twice: not a Debezium envelope",
                        fix: "check what produces this topic: Debezium writes each column once"))
                }
            } else {
                // A delete without `before`: only the key is needed, typed by the catalog.
                guard let columns = catalog[table] else { return missingCatalog(table, column: nil) }
                var lossy: Set<RowPlan.LossySetting> = []
                let names = columns.columns.map(\.name)
                plan = RowPlan(
                    table: table, fieldKeys: names.map { Array($0.utf8) }, fieldNames: names,
                    converters: columns.columns.map {
                        RowPlan.converter(type: $0.type, configuration: configuration, lossy: &lossy)
                    }, configuration: configuration, lossy: [])
            }
        }
        if !refreshedTables.isEmpty { refreshedTables.remove(table) }
        noteLossy(plan)

        // Identity: the Kafka key's columns, in primary-key order.
        let key: KeyValues
        switch keyValues(message, plan: plan, table: table, withColumns: op == "d") {
        case .success(let values): key = values
        case .failure(let reason): return .deadLetter(reason)
        }

        // Payload.
        var payload: [UInt8] = []
        if op == "d" {
            payload.reserveCapacity(64)
            payload.append(UInt8(ascii: "{"))
            for (offset, position) in key.emitOrder.enumerated() {
                if offset > 0 { payload.append(UInt8(ascii: ",")) }
                JCS.appendString(key.names[position], to: &payload)
                payload.append(UInt8(ascii: ":"))
                payload.append(contentsOf: key.values[position])
            }
            payload.append(UInt8(ascii: "}"))
        } else {
            guard let row else {
                return .deadLetter(DeadLetterReason(
                    code: "missing_row",
                    message: "the \(op) event for \(table) has no \"after\" row (payload.after is null)",
                    fix: "check the connector's converter settings; Debezium always sends after for r/c/u"))
            }
            // The row is written through the decoder's `ByteWriter` (taken out of `self` while it is written),
            // then copied into the record's own array.
            var writer = rowWriter ?? ByteWriter()
            rowWriter = nil
            writer.makeUnique()
            let failure = appendRow(rowTape, row: row, plan: plan, keysMatch: keysMatch, rowField: rowField,
                                    to: &writer)
            payload = writer.bytes
            rowWriter = writer
            if let failure { return .deadLetter(failure) }
        }

        // Position and time.
        guard source != nil, let lsnIndex = sourceMembers.lsn, let lsn = tape.int64(lsnIndex) else {
            return .deadLetter(DeadLetterReason(
                code: "no_source_position",
                message: "the event for \(table) has no source.lsn, so no deterministic idempotency key",
                fix: "use Debezium's PostgreSQL connector, whose source block carries lsn"))
        }
        let database = configuration.database
            ?? sourceMembers.db.flatMap { tape.string($0) } ?? ""
        var sourceTimestamp: String? = nil
        if let microsIndex = sourceMembers.tsUs, let micros = tape.int64(microsIndex) {
            sourceTimestamp = Self.isoTimestamp(micros: micros, scratch: &scratch)
        } else if let millisIndex = sourceMembers.tsMs, let millis = tape.int64(millisIndex) {
            sourceTimestamp = Self.isoTimestamp(micros: millis * 1000, scratch: &scratch)
        }
        let operation: OperationType
        switch op {
        case "c": operation = .insert
        case "u": operation = .update
        case "d": operation = .delete
        default: operation = .upsert
        }
        return .record(CertyoRecord(
            database: database,
            collection: lastTable.flatMap { $0.name == table ? $0.collection : nil } ?? table.description,
            recordId: key.recordId,
            recordPayload: payload,
            operationType: operation,
            sourceTimestamp: sourceTimestamp,
            idempotencyKey: IdempotencyKey.make(database: database, table: table, lsn: lsn, op: op,
                                                recordId: key.recordId, scratch: &scratch)))
    }
}

// MARK: - Envelope members

extension DebeziumDecoder {
    /// The envelope members the decoder reads, each the first of its name, found in one walk over the members
    /// (rather than one walk per name).
    struct EnvelopeMembers {
        var op: Int? = nil
        var source: Int? = nil
        var before: Int? = nil
        var after: Int? = nil

        init() {}

        init(_ tape: JSONTape) {
            tape.forEachMember(0) { key, value in
                let node = tape[key]
                switch node.end - node.start {
                case 2: if op == nil, tape.equals(node, "op") { op = value }
                case 5: if after == nil, tape.equals(node, "after") { after = value }
                case 6:
                    if before == nil, tape.equals(node, "before") {
                        before = value
                    } else if source == nil, tape.equals(node, "source") {
                        source = value
                    }
                default: break
                }
            }
        }
    }

    /// The `source` members the decoder reads (see ``EnvelopeMembers``).
    struct SourceMembers {
        var schema: Int? = nil
        var table: Int? = nil
        var db: Int? = nil
        var lsn: Int? = nil
        var tsUs: Int? = nil
        var tsMs: Int? = nil

        init() {}

        init(_ tape: JSONTape, _ source: Int) {
            guard tape[source].kind == .object else { return }
            tape.forEachMember(source) { key, value in
                let node = tape[key]
                switch node.end - node.start {
                case 2: if db == nil, tape.equals(node, "db") { db = value }
                case 3: if lsn == nil, tape.equals(node, "lsn") { lsn = value }
                case 5:
                    if tsUs == nil, tape.equals(node, "ts_us") {
                        tsUs = value
                    } else if tsMs == nil, tape.equals(node, "ts_ms") {
                        tsMs = value
                    } else if table == nil, tape.equals(node, "table") {
                        table = value
                    }
                case 6: if schema == nil, tape.equals(node, "schema") { schema = value }
                default: break
                }
            }
        }
    }
}

// MARK: - Helpers

extension DebeziumDecoder {
    private mutating func tableName(_ tape: JSONTape, source: SourceMembers, topic: String) -> TableName {
        if let schemaIndex = source.schema, let tableIndex = source.table {
            let schemaNode = tape[schemaIndex]
            let tableNode = tape[tableIndex]
            let plain = schemaNode.kind == .string && !schemaNode.flag && tableNode.kind == .string && !tableNode.flag
            if plain, let last = lastTable, tape.rawEquals(schemaNode, last.schema),
                tape.rawEquals(tableNode, last.table)
            {
                return last.name
            }
            if let schema = tape.string(schemaIndex), let table = tape.string(tableIndex) {
                let name = TableName(schema: schema, table: table)
                if plain {
                    lastTable = LastTable(
                        schema: Array(tape.rawBytes(schemaNode)), table: Array(tape.rawBytes(tableNode)), name: name,
                        collection: name.description, catalogPlan: nil)
                }
                return name
            }
        }
        // `<prefix>.<schema>.<table>`
        let parts = topic.split(separator: ".")
        if parts.count >= 3 {
            return TableName(schema: String(parts[parts.count - 2]), table: String(parts[parts.count - 1]))
        }
        return TableName(schema: "", table: topic)
    }

    private mutating func missingCatalog(_ table: TableName, column: String?) -> DecodeOutcome {
        if refreshedTables.contains(table) {
            refreshedTables.remove(table)
            let what = column.map { "column \"\($0)\" of \(table)" } ?? "table \(table)"
            return .deadLetter(DeadLetterReason(
                code: "unknown_column",
                message: "\(what) is not in the column catalog even after refreshing it",
                fix: "check that certyo-cdc reads the catalog of the captured database, or use schemas.enable=true"))
        }
        return .needsCatalog(table: table)
    }

    private mutating func schemaEntry(topic: String) -> SchemaPlanEntry? {
        if let last = lastSchema, last.topic == topic { return last.entry }
        guard let entry = schemaPlans[topic] else { return nil }
        lastSchema = (topic, entry)
        return entry
    }

    private mutating func schemaPlan(
        topic: String, value: [UInt8], schemaRange: Range<Int>, table: TableName
    ) -> Result<RowPlan, DeadLetterReason> {
        if let entry = schemaEntry(topic: topic), Self.bytesEqual(value, schemaRange, entry.schemaBytes) {
            return entry.plan
        }
        let plan: Result<RowPlan, DeadLetterReason>
        schemaParseCount += 1
        do {
            let tape = try JSONTape(parsing: value, range: schemaRange)
            if let fields = tape.member(0, "fields"), tape[fields].kind == .array {
                var rowStruct: Int? = nil
                tape.forEachElement(fields) { field in
                    guard rowStruct == nil, let name = tape.member(field, "field") else { return }
                    if tape.equals(tape[name], "after") || tape.equals(tape[name], "before") { rowStruct = field }
                }
                if let rowStruct {
                    plan = RowPlan.fromSchema(tape, rowStruct: rowStruct, table: table, configuration: configuration)
                } else {
                    plan = .failure(DeadLetterReason(
                        code: "malformed_schema", message: "the envelope schema of \(topic) has no after/before field",
                        fix: "consume only Debezium table topics"))
                }
            } else {
                plan = .failure(DeadLetterReason(
                    code: "malformed_schema", message: "the schema of \(topic) is not a struct with fields",
                    fix: "consume only Debezium table topics"))
            }
        } catch {
            plan = .failure(DeadLetterReason(code: "malformed_json",
                                             message: "the schema on \(topic) is not JSON: \(error)"))
        }
        let entry = SchemaPlanEntry(schemaBytes: Array(value[schemaRange]), plan: plan)
        schemaPlans[topic] = entry
        lastSchema = (topic, entry)
        return plan
    }

    static let schemaPrefix = Array(#"{"schema":"#.utf8)
    /// Envelope members left as spans in the first pass (one array for every message, not a literal per call).
    static let envelopeSkips: [StaticString] = ["before", "transaction"]
    static let payloadInfix = Array(#","payload":"#.utf8)

    private static func hasPrefix(_ value: [UInt8], _ prefix: [UInt8]) -> Bool {
        value.count >= prefix.count && bytesEqual(value, 0..<prefix.count, prefix)
    }

    /// The payload range of `{"schema":<cached>,"payload":<payload>}` when the schema bytes are `cached`.
    private static func payloadAfterCachedSchema(_ value: [UInt8], _ cached: [UInt8]) -> Range<Int>? {
        let schemaEnd = schemaPrefix.count + cached.count
        let payloadStart = schemaEnd + payloadInfix.count
        guard value.count > payloadStart, bytesEqual(value, schemaPrefix.count..<schemaEnd, cached),
            bytesEqual(value, schemaEnd..<payloadStart, payloadInfix)
        else { return nil }
        var end = value.count
        while end > payloadStart, value[end - 1] == 0x20 || value[end - 1] == 0x0A || value[end - 1] == 0x0D
            || value[end - 1] == 0x09
        {
            end -= 1
        }
        guard end > payloadStart, value[end - 1] == UInt8(ascii: "}") else { return nil }
        return payloadStart..<(end - 1)
    }

    static func bytesEqual(_ value: [UInt8], _ range: Range<Int>, _ other: [UInt8]) -> Bool {
        guard range.count == other.count else { return false }
        guard range.lowerBound >= 0, range.upperBound <= value.count else { return false }
        if range.isEmpty { return true }
        // A cached schema is ~5 kB and compared for every schema-carrying message: the C library's memcmp
        // (vectorised) is several times faster than a Swift word loop here (`SIMD16 !=` compiled to a per-lane
        // loop and cost ~5 µs a message, 37% of a decode).
        return value.withUnsafeBytes { lhs in
            other.withUnsafeBytes { rhs in
                memcmp(lhs.baseAddress! + range.lowerBound, rhs.baseAddress!, range.count) == 0
            }
        }
    }

    private mutating func noteLossy(_ plan: RowPlan) {
        guard !plan.lossy.isEmpty, notedPlans[ObjectIdentifier(plan)] == nil else { return }
        notedPlans[ObjectIdentifier(plan)] = plan
        for lossy in plan.lossy {
            let marker = "\(plan.table)|\(lossy.setting)"
            if warned.insert(marker).inserted {
                pendingWarnings.append(DecoderWarning(table: plan.table, setting: lossy.setting, message: lossy.message))
            }
        }
    }

    /// Writes the canonical row: members in the plan's JCS order, excluded columns left out.
    private mutating func appendRow(
        _ tape: JSONTape, row: Int, plan: RowPlan, keysMatch: Bool, rowField: StaticString, to out: inout ByteWriter
    ) -> DeadLetterReason? {
        slots.removeAll(keepingCapacity: true)
        slots.append(contentsOf: repeatElement(-1, count: plan.fieldKeys.count))
        var position = 0
        var unknown: String? = nil
        if keysMatch {
            // Member i is field i (checked by `RowPlan.matches`): no name to compare again.
            tape.forEachMember(row) { _, value in
                slots[position] = value
                position += 1
            }
        } else {
            tape.forEachMember(row) { key, value in
                if position < plan.fieldKeys.count, tape.rawEquals(tape[key], plan.fieldKeys[position]) {
                    slots[position] = value
                } else if let name = tape.string(key), let index = plan.fieldIndex(named: name) {
                    slots[index] = value
                } else if unknown == nil {
                    unknown = tape.string(key) ?? "?"
                }
                position += 1
            }
        }
        if let unknown {
            return DeadLetterReason(
                code: "unknown_column",
                message: "payload.\(rowField).\(unknown) of \(plan.table) is not in the message schema",
                fix: "check the connector's converter (JsonConverter with schemas.enable)")
        }
        out.reserveCapacity(out.count + Int(tape[row].end - tape[row].start) + 16)
        out.append(UInt8(ascii: "{"))
        var scratch = Canonicalizer.Scratch()
        swap(&scratch, &canonicalScratch)
        defer { swap(&scratch, &canonicalScratch) }
        let filled = slots
        let failed: (field: Int, failure: ConversionFailure)? = plan.memberText.withUnsafeBufferPointer { text in
            var first = true
            for field in plan.emitOrder {
                let value = filled[field]
                guard value >= 0 else { continue }  // column absent from this message
                let range = plan.memberTextRanges[field]
                // `,"name":`, without the comma for the first member.
                let start = first ? range.lowerBound + 1 : range.lowerBound
                out.append(contentsOf: UnsafeBufferPointer(rebasing: text[start..<range.upperBound]))
                first = false
                if let failure = Canonicalizer.append(tape, value, plan.converters[field], to: &out,
                                                      scratch: &scratch) {
                    return (field, failure)
                }
            }
            return nil
        }
        if let (field, failure) = failed {
            return reason(failure, table: plan.table, column: plan.fieldNames[field], rowField: "\(rowField)",
                          converter: plan.converters[field])
        }
        out.append(UInt8(ascii: "}"))
        return nil
    }

    private func reason(
        _ failure: ConversionFailure, table: TableName, column: String, rowField: String, converter: ValueConverter
    ) -> DeadLetterReason {
        switch failure.kind {
        case .toastPlaceholder:
            return DeadLetterReason(
                code: "toast_placeholder",
                message: "column \(column) of \(table) holds Debezium's __debezium_unavailable_value placeholder "
                    + "(a TOASTed value left unchanged by an update under REPLICA IDENTITY DEFAULT); it is never anchored",
                fix: "ALTER TABLE \(table) REPLICA IDENTITY FULL")
        case .wrongType, .invalidValue:
            let setting = Self.setting(for: converter)
            let fix: String?
            if case .unsupported = converter {
                fix = "exclude the column from capture (column.exclude.list) or from payloads (excluded columns)"
            } else if let setting {
                fix = "make certyo-cdc's \(setting) match the connector's, and check the column types are current"
            } else {
                fix = nil
            }
            return DeadLetterReason(
                code: failure.kind == .wrongType ? "unexpected_value" : "invalid_value",
                message: "column \(column) of \(table) (payload.\(rowField).\(column)): \(failure.detail)", fix: fix)
        }
    }

    private static func setting(for converter: ValueConverter) -> String? {
        switch converter {
        case .decimalBytes, .variableScaleDecimal, .decimalString, .decimalDouble: return "decimal.handling.mode"
        case .timestamp, .time: return "time.precision.mode"
        case .intervalMicros, .intervalString: return "interval.handling.mode"
        case .binary: return "binary.handling.mode"
        case .array(let element): return setting(for: element)
        default: return nil
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, built in `out` (a buffer the caller reuses).
    static func isoTimestamp(micros: Int64, scratch out: inout [UInt8]) -> String {
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(27)
        Temporal.appendTimestamp(micros: micros, to: &out)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }
}

// MARK: - Keys

extension DebeziumDecoder {
    struct KeyValues {
        /// Key column names in primary-key order.
        var names: [String]
        /// Their canonical JSON values.
        var values: [[UInt8]]
        /// Indices of `names` in JCS member order.
        var emitOrder: [Int]
        var recordId: String
    }

    /// The key columns of the Kafka key and the record id. `withColumns` false (every operation but a delete,
    /// whose payload is the key columns) asks for the record id only.
    private mutating func keyValues(
        _ message: SourceMessage, plan: RowPlan, table: TableName, withColumns: Bool
    ) -> Result<KeyValues, DeadLetterReason> {
        guard let keyBytes = message.key else {
            return .failure(DeadLetterReason(
                code: "no_primary_key",
                message: "the event for \(table) has a NULL Kafka key: the table has no primary key to identify the row",
                fix: "add a primary key to \(table), or set message.key.columns for it in the connector"))
        }
        var tape: JSONTape
        var object = 0
        if let cached = keySchemaBytes, Self.hasPrefix(keyBytes, Self.schemaPrefix),
            let payload = Self.payloadAfterCachedSchema(keyBytes, cached),
            let parsed = try? JSONTape(parsing: keyBytes, range: payload, reusing: &keyNodes)
        {
            // `{"schema":<the cached key schema>,"payload":<payload>}`: the payload is the key object (anything
            // else takes the full parse below, which gives the reason).
            tape = parsed
        } else {
            do {
                tape = try JSONTape(parsing: keyBytes, reusing: &keyNodes)
            } catch {
                return .failure(DeadLetterReason(code: "malformed_json",
                                                 message: "the key of the event for \(table) is not JSON: \(error)",
                                                 fix: "the key converter must be org.apache.kafka.connect.json.JsonConverter"))
            }
            if tape[0].kind == .object, tape[0].count == 2, let payload = tape.member(0, "payload"),
                let schema = tape.member(0, "schema")
            {
                object = payload
                let schemaNode = tape[schema]
                if schemaNode.kind == .object, Int(schemaNode.start) == Self.schemaPrefix.count,
                    Self.hasPrefix(keyBytes, Self.schemaPrefix)
                {
                    keySchemaBytes = Array(keyBytes[Int(schemaNode.start)..<Int(schemaNode.end)])
                }
            }
        }
        defer { keyNodes = tape.releaseNodes() }
        guard tape[object].kind == .object, tape[object].count > 0 else {
            return .failure(DeadLetterReason(code: "malformed_key",
                                             message: "the key of the event for \(table) is not an object of key columns",
                                             fix: "the key converter must be org.apache.kafka.connect.json.JsonConverter"))
        }
        // One key column, record id only (the common case): no arrays, the canonical value built in `scratch`.
        if !withColumns, tape[object].count == 1, !tape[object + 1].flag,
            let index = plan.fieldKeys.firstIndex(where: { tape.rawEquals(tape[object + 1], $0) })
        {
            scratch.removeAll(keepingCapacity: true)
            if let problem = Canonicalizer.append(tape, object + 2, plan.converters[index], to: &scratch) {
                return .failure(reason(problem, table: table, column: plan.fieldNames[index], rowField: "key",
                                       converter: plan.converters[index]))
            }
            return .success(KeyValues(names: [], values: [], emitOrder: [], recordId: Self.recordId(single: scratch)))
        }
        var names: [String] = []
        var values: [[UInt8]] = []
        var failure: DeadLetterReason? = nil
        tape.forEachMember(object) { key, value in
            guard failure == nil else { return }
            let name = tape.string(key) ?? ""
            let converter: ValueConverter
            if let index = plan.fieldIndex(named: name) {
                converter = plan.converters[index]
            } else if let column = catalog[table]?.column(named: name) {
                var lossy: Set<RowPlan.LossySetting> = []
                converter = RowPlan.converter(type: column.type, configuration: configuration, lossy: &lossy)
            } else {
                failure = DeadLetterReason(code: "unknown_column",
                                           message: "key column \(name) of \(table) is not a column of the row",
                                           fix: "check message.key.columns in the connector")
                return
            }
            var canonical: [UInt8] = []
            if let problem = Canonicalizer.append(tape, value, converter, to: &canonical) {
                failure = reason(problem, table: table, column: name, rowField: "key", converter: converter)
                return
            }
            names.append(name)
            values.append(canonical)
        }
        if let failure { return .failure(failure) }
        let recordId: String
        if values.count == 1 {
            recordId = Self.recordId(single: values[0])
        } else {
            var text: [UInt8] = [UInt8(ascii: "[")]
            for (offset, value) in values.enumerated() {
                if offset > 0 { text.append(UInt8(ascii: ",")) }
                text.append(contentsOf: value)
            }
            text.append(UInt8(ascii: "]"))
            recordId = String(decoding: text, as: UTF8.self)
        }
        let order: [Int]
        if names.count == 1 {
            order = [0]
        } else {
            let keys = names.map { Array($0.utf16) }
            order = names.indices.sorted { JCS.lessUTF16(keys[$0], keys[$1]) }
        }
        return .success(KeyValues(names: names, values: values, emitOrder: order, recordId: recordId))
    }

    /// The record id of a one-column key: its canonical value as text (a string without its quotes).
    private static func recordId(single canonical: [UInt8]) -> String {
        if canonical.first == UInt8(ascii: "\""), let inner = try? JSONTape(parsing: canonical),
            let text = inner.string(0)
        {
            return text
        }
        return String(decoding: canonical, as: UTF8.self)
    }
}
