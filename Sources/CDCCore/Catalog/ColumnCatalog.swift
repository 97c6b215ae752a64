/// The column types of captured tables, as the PostgreSQL catalog reports them.
///
/// Schemaless Debezium messages (`schemas.enable=false`) cannot say whether `63930123` is milliseconds or
/// microseconds, or whether `"1234"` is base64: the decoder reads the column types from here. The libpq side
/// returns raw catalog facts (name, `format_type(atttypid, atttypmod)`, `typcategory`, ordinal, primary-key
/// position); the wiring maps them onto this value. Each type string is parsed once, when the table is added.
public struct ColumnCatalog: Sendable {
    public var tables: [TableName: TableColumns]

    public init(tables: [TableName: TableColumns] = [:]) {
        self.tables = tables
    }

    public subscript(table: TableName) -> TableColumns? {
        get { tables[table] }
        set { tables[table] = newValue }
    }
}

/// The columns of one table, in ordinal order, and its primary key.
public struct TableColumns: Sendable, Hashable {
    public struct Column: Sendable, Hashable {
        /// The column name.
        public var name: String
        /// The type as printed by `format_type(atttypid, atttypmod)`, e.g. `numeric(12,2)`, `text[]`.
        public var formatType: String
        /// `pg_type.typcategory`: `A` array, `B` boolean, `D` datetime, `E` enum, `N` numeric, `S` string, `U` user…
        public var category: Character
        /// The parsed type.
        public let type: PostgresType

        public init(name: String, formatType: String, category: Character) {
            self.name = name
            self.formatType = formatType
            self.category = category
            self.type = PostgresType(formatType: formatType, category: category)
        }
    }

    public var columns: [Column]
    /// Primary-key column names in key order (empty when the table has none).
    public var primaryKey: [String]

    public init(columns: [Column], primaryKey: [String]) {
        self.columns = columns
        self.primaryKey = primaryKey
    }

    func column(named name: String) -> Column? {
        columns.first { $0.name == name }
    }
}

/// A PostgreSQL column type, reduced to what decides its canonical value.
public indirect enum PostgresType: Sendable, Hashable {
    case boolean
    case smallint, integer, bigint
    case real, doublePrecision
    /// `numeric(p,s)` has a scale; plain `numeric` has none.
    case numeric(scale: Int?)
    case money
    /// text, varchar, char, name, citext, enums: a string as stored.
    case text
    case uuid
    case date
    case time(precision: Int?)
    case timetz
    case timestamp(precision: Int?)
    case timestamptz
    case interval
    case json
    case bytea
    case array(PostgresType)
    /// Anything else (inet, ranges, geometric, user types): PostgreSQL's text output, as a string.
    case other(String)

    /// Parses `format_type` output. `category` (typcategory) marks enums (`E`) and arrays (`A`).
    public init(formatType: String, category: Character = " ") {
        let text = formatType.trimmingSpaces
        if text.hasSuffix("[]") {
            let element = String(text.dropLast(2))
            // The element category is not known here; enums in arrays fall back to text via `other`.
            self = .array(PostgresType(formatType: element, category: category == "A" ? " " : category))
            return
        }
        if category == "E" {
            self = .text
            return
        }
        let (base, modifiers) = PostgresType.split(text)
        switch base {
        case "boolean", "bool": self = .boolean
        case "smallint", "int2", "smallserial": self = .smallint
        case "integer", "int", "int4", "serial": self = .integer
        case "bigint", "int8", "bigserial": self = .bigint
        case "real", "float4": self = .real
        case "double precision", "float8": self = .doublePrecision
        case "numeric", "decimal":
            self = .numeric(scale: modifiers.count == 2 ? modifiers[1] : (modifiers.count == 1 ? 0 : nil))
        case "money": self = .money
        case "text", "character varying", "varchar", "character", "char", "bpchar", "name", "citext",
            "\"char\"":
            self = .text
        case "uuid": self = .uuid
        case "date": self = .date
        case "time without time zone", "time": self = .time(precision: modifiers.first)
        case "time with time zone", "timetz": self = .timetz
        case "timestamp without time zone", "timestamp": self = .timestamp(precision: modifiers.first)
        case "timestamp with time zone", "timestamptz": self = .timestamptz
        case "interval": self = .interval
        case "json", "jsonb": self = .json
        case "bytea": self = .bytea
        default: self = .other(text)
        }
    }

    /// Splits `timestamp(3) without time zone` into (`timestamp without time zone`, [3]).
    private static func split(_ text: String) -> (String, [Int]) {
        guard let open = text.firstIndex(of: "("), let close = text[open...].firstIndex(of: ")") else {
            return (text, [])
        }
        let inside = text[text.index(after: open)..<close]
        let modifiers = inside.split(separator: ",").compactMap { Int($0.trimmingSpaces) }
        let base = (text[..<open].trimmingSpaces + " " + text[text.index(after: close)...].trimmingSpaces)
            .trimmingSpaces
        return (base, modifiers)
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

// MARK: - ColumnCatalog + JSON file

extension ColumnCatalog {
    /// Reads a catalog file (the `--column-types` file of `certyo-cdc decode`):
    ///
    /// ```json
    /// {"public.products": {"primaryKey": ["id"],
    ///                      "columns": [{"name": "id", "type": "bigint", "category": "N"}, ...]}}
    /// ```
    /// `category` is optional (`E` marks an enum, `A` an array).
    /// - Throws: A ``DeadLetterReason`` with code `invalid_catalog` naming the table or field that is wrong.
    public init(jsonBytes: [UInt8]) throws(DeadLetterReason) {
        func invalid(_ message: String) -> DeadLetterReason {
            DeadLetterReason(code: "invalid_catalog", message: message,
                             fix: #"write {"schema.table": {"primaryKey": [...], "columns": [{"name","type","category"}]}}"#)
        }
        let tape: JSONTape
        do { tape = try JSONTape(parsing: jsonBytes) } catch { throw invalid("the column-types file is not JSON: \(error)") }
        guard tape[0].kind == .object else { throw invalid("the column-types file must be a JSON object") }
        var tables: [TableName: TableColumns] = [:]
        var failure: DeadLetterReason? = nil
        tape.forEachMember(0) { key, value in
            guard failure == nil else { return }
            let qualified = tape.string(key) ?? ""
            let parts = qualified.split(separator: ".", maxSplits: 1)
            guard parts.count == 2 else {
                failure = invalid("table \"\(qualified)\" must be written schema.table")
                return
            }
            let name = TableName(schema: String(parts[0]), table: String(parts[1]))
            guard let columnsIndex = tape.member(value, "columns"), tape[columnsIndex].kind == .array else {
                failure = invalid("table \(qualified) has no \"columns\" array")
                return
            }
            var columns: [TableColumns.Column] = []
            tape.forEachElement(columnsIndex) { element in
                guard failure == nil else { return }
                guard let nameIndex = tape.member(element, "name"), let columnName = tape.string(nameIndex),
                    let typeIndex = tape.member(element, "type"), let type = tape.string(typeIndex)
                else {
                    failure = invalid("a column of \(qualified) lacks \"name\" or \"type\"")
                    return
                }
                let category = tape.member(element, "category").flatMap { tape.string($0) }?.first ?? " "
                columns.append(TableColumns.Column(name: columnName, formatType: type, category: category))
            }
            var primaryKey: [String] = []
            if let keyIndex = tape.member(value, "primaryKey"), tape[keyIndex].kind == .array {
                tape.forEachElement(keyIndex) { element in
                    if let column = tape.string(element) { primaryKey.append(column) }
                }
            }
            tables[name] = TableColumns(columns: columns, primaryKey: primaryKey)
        }
        if let failure { throw failure }
        self.init(tables: tables)
    }
}
