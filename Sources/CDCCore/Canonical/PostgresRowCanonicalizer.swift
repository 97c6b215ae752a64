/// Canonical rows from PostgreSQL's text output, read in a session with pinned settings (`TimeZone=UTC`,
/// `DateStyle=ISO`, `IntervalStyle=iso_8601`, `extra_float_digits=3`, `bytea_output=hex`; see PostgresBridge's
/// `SessionSetting.canonicalTextOutput`).
///
/// The LISTEN/NOTIFY listener, the poller and `prove` read rows as text; this turns them into the same bytes the
/// Debezium decoder produces for the same row state (canonical-row.md): one row state, one hash, whichever path
/// captured it. `money` columns must be selected as `col::numeric` (their text output depends on `lc_monetary`).
public struct PostgresRowCanonicalizer: Sendable {
    public let table: TableName
    public let columns: TableColumns
    /// The payload's columns (catalog order minus `certyo_*` and excluded ones), in JCS member order.
    private let payloadColumns: [TableColumns.Column]
    /// The primary-key columns, in key order.
    private let keyColumns: [TableColumns.Column]
    private let knownNames: Set<String>

    /// - Parameter excludedColumns: columns left out of every payload, as `column` or `schema.table.column`
    ///   (the decoder's `excludedColumns`). `certyo_*` columns are always left out.
    public init(table: TableName, columns: TableColumns, excludedColumns: Set<String> = []) {
        self.table = table
        self.columns = columns
        let included = columns.columns.filter { column in
            !column.name.hasPrefix("certyo_") && !excludedColumns.contains(column.name)
                && !excludedColumns.contains("\(table).\(column.name)")
        }
        let utf16 = included.map { Array($0.name.utf16) }
        self.payloadColumns = included.indices.sorted { JCS.lessUTF16(utf16[$0], utf16[$1]) }.map { included[$0] }
        self.keyColumns = columns.primaryKey.compactMap { name in columns.columns.first { $0.name == name } }
        self.knownNames = Set(columns.columns.map(\.name))
    }

    /// JCS bytes of the whole row object. `cells` maps column names to their text output (nil = SQL NULL).
    /// Every included column must be present; a cell naming a column the catalog does not know is an error (the
    /// catalog is stale: refresh it).
    public func payload(_ cells: [String: String?]) throws(CanonicalRowError) -> [UInt8] {
        try checkKnown(cells)
        return try object(payloadColumns, cells)
    }

    /// JCS bytes of the key columns only: a delete's payload, whatever the replica identity.
    public func keyPayload(_ cells: [String: String?]) throws(CanonicalRowError) -> [UInt8] {
        try requireKey()
        let utf16 = keyColumns.map { Array($0.name.utf16) }
        let ordered = keyColumns.indices.sorted { JCS.lessUTF16(utf16[$0], utf16[$1]) }.map { keyColumns[$0] }
        return try object(ordered, cells)
    }

    /// The `recordId`: a one-column key's canonical value as a string (`"42"`); for a composite key the JCS text
    /// of the array of key values in key order (`"[1001,1]"`).
    public func recordId(_ cells: [String: String?]) throws(CanonicalRowError) -> String {
        try requireKey()
        var values: [[UInt8]] = []
        for column in keyColumns {
            guard let cell = cells[column.name] else { throw missing(column) }
            guard let text = cell else {
                throw CanonicalRowError(table: table, column: column.name, type: column.formatType,
                                        detail: "a primary-key column is NULL")
            }
            var value: [UInt8] = []
            try Self.appendValue(text, type: column.type, to: &value, table: table, column: column)
            values.append(value)
        }
        if values.count == 1 {
            let value = values[0]
            if value.first == UInt8(ascii: "\""), let tape = try? JSONTape(parsing: value), let text = tape.string(0) {
                return text
            }
            return String(decoding: value, as: UTF8.self)
        }
        var text: [UInt8] = [UInt8(ascii: "[")]
        for (offset, value) in values.enumerated() {
            if offset > 0 { text.append(UInt8(ascii: ",")) }
            text.append(contentsOf: value)
        }
        text.append(UInt8(ascii: "]"))
        return String(decoding: text, as: UTF8.self)
    }

    /// Appends the canonical JSON of one value, given its text output and its column type.
    public static func appendValue(_ text: String, type: PostgresType, to out: inout [UInt8])
        throws(CanonicalRowError)
    {
        if let detail = PostgresText.append(Array(text.utf8), type: type, to: &out) {
            throw CanonicalRowError(table: nil, column: nil, type: "\(type)", detail: detail)
        }
    }

    // MARK: - Private

    private func object(_ selected: [TableColumns.Column], _ cells: [String: String?]) throws(CanonicalRowError)
        -> [UInt8]
    {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(64 * selected.count)
        for (offset, column) in selected.enumerated() {
            guard let cell = cells[column.name] else { throw missing(column) }
            if offset > 0 { out.append(UInt8(ascii: ",")) }
            JCS.appendString(column.name, to: &out)
            out.append(UInt8(ascii: ":"))
            if let text = cell {
                try Self.appendValue(text, type: column.type, to: &out, table: table, column: column)
            } else {
                out.append(contentsOf: "null".utf8)
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    private static func appendValue(
        _ text: String, type: PostgresType, to out: inout [UInt8], table: TableName, column: TableColumns.Column
    ) throws(CanonicalRowError) {
        if let detail = PostgresText.append(Array(text.utf8), type: type, to: &out) {
            throw CanonicalRowError(table: table, column: column.name, type: column.formatType, detail: detail)
        }
    }

    private func checkKnown(_ cells: [String: String?]) throws(CanonicalRowError) {
        for name in cells.keys where !knownNames.contains(name) {
            throw CanonicalRowError(table: table, column: name, type: nil,
                                    detail: "the row has a column the catalog does not list (refresh the catalog)")
        }
    }

    private func requireKey() throws(CanonicalRowError) {
        guard !keyColumns.isEmpty, keyColumns.count == columns.primaryKey.count else {
            throw CanonicalRowError(table: table, column: nil, type: nil,
                                    detail: "the table has no primary key; a record needs one (add a primary key)")
        }
    }

    private func missing(_ column: TableColumns.Column) -> CanonicalRowError {
        CanonicalRowError(table: table, column: column.name, type: column.formatType,
                          detail: "the row read has no value for this column")
    }
}

/// A value that has no canonical form, or a row that does not fit its catalog entry.
public struct CanonicalRowError: Error, Sendable, Hashable, CustomStringConvertible {
    public var table: TableName?
    public var column: String?
    /// The column's type as `format_type` prints it.
    public var type: String?
    public var detail: String

    public init(table: TableName?, column: String?, type: String?, detail: String) {
        self.table = table
        self.column = column
        self.type = type
        self.detail = detail
    }

    public var description: String {
        var place = table.map { "\($0)" } ?? ""
        if let column { place += place.isEmpty ? column : ".\(column)" }
        if let type { place += " (\(type))" }
        return place.isEmpty ? detail : "\(place): \(detail)"
    }
}

/// PostgreSQL's record text output (`row::text`, `NEW::text`): `(1,"a b",,"x""y")`.
public enum PostgresRecordText {
    /// Splits a record literal into its cells (nil = NULL: an empty unquoted field). Returns nil when `text` is not
    /// a record literal.
    public static func parse(_ text: String) -> [String?]? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes.first == UInt8(ascii: "("), bytes.last == UInt8(ascii: ")") else { return nil }
        var cells: [String?] = []
        var index = 1
        let end = bytes.count - 1
        while true {
            var field: [UInt8] = []
            var quotedAny = false
            while index < end, bytes[index] != UInt8(ascii: ",") {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    quotedAny = true
                    index += 1
                    while true {
                        guard index < end else { return nil }
                        let inner = bytes[index]
                        if inner == UInt8(ascii: "\"") {
                            if index + 1 < end, bytes[index + 1] == UInt8(ascii: "\"") {
                                field.append(inner)
                                index += 2
                                continue
                            }
                            index += 1
                            break
                        }
                        if inner == UInt8(ascii: "\\") {
                            guard index + 1 < end else { return nil }
                            field.append(bytes[index + 1])
                            index += 2
                            continue
                        }
                        field.append(inner)
                        index += 1
                    }
                } else if byte == UInt8(ascii: "\\") {
                    guard index + 1 < end else { return nil }
                    field.append(bytes[index + 1])
                    index += 2
                } else {
                    field.append(byte)
                    index += 1
                }
            }
            cells.append(field.isEmpty && !quotedAny ? nil : String(decoding: field, as: UTF8.self))
            if index >= end { break }
            index += 1  // the comma
        }
        return cells
    }
}

/// Text output of one value → canonical JSON. Returns a reason when the text is not a value of the type.
enum PostgresText {
    static func append(_ text: [UInt8], type: PostgresType, to out: inout [UInt8]) -> String? {
        switch type {
        case .boolean:
            switch String(decoding: text, as: UTF8.self) {
            case "t", "true": out.append(contentsOf: "true".utf8)
            case "f", "false": out.append(contentsOf: "false".utf8)
            default: return invalid(text, "a boolean")
            }

        case .smallint, .integer:
            guard let value = Int64(String(decoding: text, as: UTF8.self)) else { return invalid(text, "an integer") }
            out.append(contentsOf: String(value).utf8)

        case .bigint:
            guard let value = Int64(String(decoding: text, as: UTF8.self)) else { return invalid(text, "an integer") }
            if value.magnitude <= UInt64(Canonicalizer.maxSafeInteger) {
                out.append(contentsOf: String(value).utf8)
            } else {
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: String(value).utf8)
                out.append(UInt8(ascii: "\""))
            }

        case .real, .doublePrecision:
            let string = String(decoding: text, as: UTF8.self)
            switch string {
            case "NaN", "Infinity", "-Infinity":
                JCS.appendString(string, to: &out)
            default:
                guard let value = Double(string), value.isFinite else { return invalid(text, "a number") }
                JCS.appendNumber(value, to: &out)
            }

        case .numeric(let scale):
            return appendDecimal(text, scale: scale, to: &out)

        case .money:
            // Selected as `col::numeric` this is plain decimal text. A locale-formatted `$1,234.56` is taken apart
            // best effort (digits, sign, point): canonical-row.md asks for no currency symbol.
            var plainOut: [UInt8] = []
            if appendDecimal(text, scale: 2, to: &plainOut) == nil {
                out += plainOut
                return nil
            }
            let negative = text.contains(UInt8(ascii: "-")) || text.first == UInt8(ascii: "(")
            var plain: [UInt8] = negative ? [UInt8(ascii: "-")] : []
            plain += text.filter { ($0 &- 48) < 10 || $0 == UInt8(ascii: ".") }
            return appendDecimal(plain, scale: 2, to: &out)

        case .text, .other, .timetz:
            JCS.appendString(text, to: &out)

        case .uuid:
            guard text.count == 36 else { return invalid(text, "a UUID") }
            out.append(UInt8(ascii: "\""))
            for byte in text { out.append((65...90).contains(byte) ? byte | 0x20 : byte) }
            out.append(UInt8(ascii: "\""))

        case .date:
            guard let days = parseDate(text) else { return specialOrInvalid(text, "a date (DateStyle=ISO)", &out) }
            out.append(UInt8(ascii: "\""))
            Temporal.appendDate(days: days, to: &out)
            out.append(UInt8(ascii: "\""))

        case .time:
            guard let micros = parseTime(text[...]), micros <= Temporal.microsPerDay else {
                return invalid(text, "a time of day")
            }
            out.append(UInt8(ascii: "\""))
            Temporal.appendTime(micros: micros, to: &out)
            out.append(UInt8(ascii: "\""))

        case .timestamp:
            guard let micros = parseTimestamp(text, zoned: false) else {
                return specialOrInvalid(text, "a timestamp (DateStyle=ISO)", &out)
            }
            out.append(UInt8(ascii: "\""))
            Temporal.appendTimestamp(micros: micros, to: &out)
            out.append(UInt8(ascii: "\""))

        case .timestamptz:
            guard let micros = parseTimestamp(text, zoned: true) else {
                return specialOrInvalid(text, "a timestamp with time zone (DateStyle=ISO)", &out)
            }
            out.append(UInt8(ascii: "\""))
            Temporal.appendTimestamp(micros: micros, to: &out)
            out.append(UInt8(ascii: "Z"))
            out.append(UInt8(ascii: "\""))

        case .interval:
            guard let interval = Temporal.parseISODuration(text) else {
                return invalid(text, "an interval printed with IntervalStyle=iso_8601")
            }
            out.append(UInt8(ascii: "\""))
            Temporal.appendISO8601(interval, to: &out)
            out.append(UInt8(ascii: "\""))

        case .json:
            guard let tape = try? JSONTape(parsing: text) else { return "the value is not JSON" }
            guard JCS.appendCanonical(tape, 0, to: &out) else {
                return "the JSON is not I-JSON (duplicate names, lone surrogates or huge numbers)"
            }

        case .bytea:
            guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x"),
                let bytes = Base64.decodeHex(text[2...])
            else { return "the value is not bytea hex output (set bytea_output=hex)" }
            out.append(UInt8(ascii: "\""))
            Base64.encode(bytes, to: &out)
            out.append(UInt8(ascii: "\""))

        case .array(let element):
            var parser = ArrayLiteral(text: text)
            guard let elements = parser.parse() else { return invalid(text, "an array literal") }
            return appendArray(elements, element: element, to: &out)
        }
        return nil
    }

    // MARK: Numbers

    private static func appendDecimal(_ text: [UInt8], scale: Int?, to out: inout [UInt8]) -> String? {
        switch String(decoding: text, as: UTF8.self) {
        case "NaN", "Infinity", "-Infinity":
            JCS.appendString(String(decoding: text, as: UTF8.self), to: &out)
            return nil
        default:
            break
        }
        out.append(UInt8(ascii: "\""))
        guard DecimalText.appendNormalised(text, scale: scale, to: &out) else {
            return invalid(text, "decimal text" + (scale.map { " with at most \($0) fraction digits" } ?? ""))
        }
        out.append(UInt8(ascii: "\""))
        return nil
    }

    // MARK: Dates and times

    /// `infinity` / `-infinity`: kept as PostgreSQL prints them.
    private static func specialOrInvalid(_ text: [UInt8], _ expected: String, _ out: inout [UInt8]) -> String? {
        let string = String(decoding: text, as: UTF8.self)
        if string == "infinity" || string == "-infinity" {
            JCS.appendString(string, to: &out)
            return nil
        }
        return invalid(text, expected)
    }

    /// `YYYY-MM-DD` with an optional ` BC` suffix → days since 1970-01-01 (proleptic Gregorian).
    static func parseDate(_ text: [UInt8]) -> Int64? {
        var body = text[...]
        var bc = false
        if body.count > 3, body.suffix(3).elementsEqual(" BC".utf8) {
            bc = true
            body = body.dropLast(3)
        }
        return parseDatePart(body, bc: bc)
    }

    private static func parseDatePart(_ body: ArraySlice<UInt8>, bc: Bool) -> Int64? {
        let parts = body.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count >= 4, parts[1].count == 2, parts[2].count == 2,
            var year = digits(parts[0]), let month = digits(parts[1]), let day = digits(parts[2]),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        if bc { year = 1 - year }
        return Temporal.days(year: year, month: month, day: day)
    }

    /// `HH:MM:SS[.ffffff]` → microseconds of the day.
    static func parseTime(_ text: ArraySlice<UInt8>) -> Int64? {
        let parts = text.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 2, parts[1].count == 2,
            let hour = digits(parts[0]), let minute = digits(parts[1]), hour <= 24, minute < 60
        else { return nil }
        let secondsPart = parts[2]
        let pointIndex = secondsPart.firstIndex(of: UInt8(ascii: "."))
        let whole = pointIndex.map { secondsPart[..<$0] } ?? secondsPart
        guard whole.count == 2, let second = digits(whole), second < 61 else { return nil }
        var fraction: Int64 = 0
        if let pointIndex {
            let fractionDigits = secondsPart[secondsPart.index(after: pointIndex)...]
            guard !fractionDigits.isEmpty, fractionDigits.count <= 6, let value = digits(fractionDigits) else {
                return nil
            }
            fraction = value
            for _ in fractionDigits.count..<6 { fraction *= 10 }
        }
        return (hour * 3600 + minute * 60 + second) * 1_000_000 + fraction
    }

    /// `YYYY-MM-DD HH:MM:SS[.ffffff][±HH[:MM[:SS]]][ BC]` → microseconds since the epoch (UTC when zoned).
    static func parseTimestamp(_ text: [UInt8], zoned: Bool) -> Int64? {
        var body = text[...]
        var bc = false
        if body.count > 3, body.suffix(3).elementsEqual(" BC".utf8) {
            bc = true
            body = body.dropLast(3)
        }
        guard let separator = body.firstIndex(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "T") }),
            let days = parseDatePart(body[..<separator], bc: bc)
        else { return nil }
        var time = body[body.index(after: separator)...]
        var offsetSeconds: Int64 = 0
        if zoned {
            guard let signIndex = time.lastIndex(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }),
                signIndex > time.startIndex
            else {
                if time.last == UInt8(ascii: "Z") {
                    time = time.dropLast()
                    return parseTime(time).map { days * Temporal.microsPerDay + $0 }
                }
                return nil
            }
            let sign: Int64 = time[signIndex] == UInt8(ascii: "-") ? -1 : 1
            let zone = time[time.index(after: signIndex)...].split(separator: UInt8(ascii: ":"),
                                                                   omittingEmptySubsequences: false)
            guard (1...3).contains(zone.count), zone.allSatisfy({ $0.count == 2 }) else { return nil }
            var seconds: Int64 = 0
            for (position, part) in zone.enumerated() {
                guard let value = digits(part) else { return nil }
                seconds += value * [3600, 60, 1][position]
            }
            offsetSeconds = sign * seconds
            time = time[..<signIndex]
        }
        guard let ofDay = parseTime(time) else { return nil }
        return days * Temporal.microsPerDay + ofDay - offsetSeconds * 1_000_000
    }

    private static func digits(_ text: ArraySlice<UInt8>) -> Int64? {
        guard !text.isEmpty, text.count <= 18 else { return nil }
        var value: Int64 = 0
        for byte in text {
            guard byte &- 48 < 10 else { return nil }
            value = value * 10 + Int64(byte - 48)
        }
        return value
    }

    // MARK: Arrays

    private static func appendArray(_ elements: [ArrayLiteral.Element], element: PostgresType, to out: inout [UInt8])
        -> String?
    {
        out.append(UInt8(ascii: "["))
        for (offset, item) in elements.enumerated() {
            if offset > 0 { out.append(UInt8(ascii: ",")) }
            switch item {
            case .null:
                out.append(contentsOf: "null".utf8)
            case .value(let text):
                if let failure = append(text, type: element, to: &out) { return "an array element: \(failure)" }
            case .array(let inner):
                if let failure = appendArray(inner, element: element, to: &out) { return failure }
            }
        }
        out.append(UInt8(ascii: "]"))
        return nil
    }

    private static func invalid(_ text: [UInt8], _ expected: String) -> String {
        let shown = text.count > 40 ? String(decoding: text.prefix(40), as: UTF8.self) + "…" : String(decoding: text, as: UTF8.self)
        return "\"\(shown)\" is not \(expected)"
    }
}

/// PostgreSQL's array text output: `{1,2,NULL}`, `{"a b","x\"y"}`, `{{1,2},{3,4}}`, `[0:1]={1,2}`.
struct ArrayLiteral {
    enum Element: Equatable {
        case null
        case value([UInt8])
        case array([Element])
    }

    private let text: [UInt8]
    private var index = 0

    init(text: [UInt8]) { self.text = text }

    mutating func parse() -> [Element]? {
        if text.first == UInt8(ascii: "[") {  // explicit bounds: `[0:1]={...}`
            guard let equals = text.firstIndex(of: UInt8(ascii: "=")) else { return nil }
            index = equals + 1
        }
        guard let elements = parseArray(), index == text.count else { return nil }
        return elements
    }

    private mutating func parseArray() -> [Element]? {
        guard index < text.count, text[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        var elements: [Element] = []
        if index < text.count, text[index] == UInt8(ascii: "}") {
            index += 1
            return elements
        }
        while index < text.count {
            if text[index] == UInt8(ascii: "{") {
                guard let inner = parseArray() else { return nil }
                elements.append(.array(inner))
            } else if text[index] == UInt8(ascii: "\"") {
                index += 1
                var value: [UInt8] = []
                while true {
                    guard index < text.count else { return nil }
                    let byte = text[index]
                    index += 1
                    if byte == UInt8(ascii: "\"") { break }
                    if byte == UInt8(ascii: "\\") {
                        guard index < text.count else { return nil }
                        value.append(text[index])
                        index += 1
                    } else {
                        value.append(byte)
                    }
                }
                elements.append(.value(value))
            } else {
                var value: [UInt8] = []
                while index < text.count, text[index] != UInt8(ascii: ","), text[index] != UInt8(ascii: "}") {
                    if text[index] == UInt8(ascii: "\\"), index + 1 < text.count { index += 1 }
                    value.append(text[index])
                    index += 1
                }
                let isNull = value.count == 4 && String(decoding: value, as: UTF8.self).uppercased() == "NULL"
                elements.append(isNull ? .null : .value(value))
            }
            guard index < text.count else { return nil }
            if text[index] == UInt8(ascii: ",") {
                index += 1
            } else if text[index] == UInt8(ascii: "}") {
                index += 1
                return elements
            } else {
                return nil
            }
        }
        return nil
    }
}
