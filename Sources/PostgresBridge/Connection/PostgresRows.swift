/// A PostgreSQL type OID (`pg_type.oid`), as libpq reports a result column's type.
public struct PostgresTypeOID: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    public static let bool = PostgresTypeOID(rawValue: 16)
    public static let bytea = PostgresTypeOID(rawValue: 17)
    public static let name = PostgresTypeOID(rawValue: 19)
    public static let int8 = PostgresTypeOID(rawValue: 20)
    public static let int2 = PostgresTypeOID(rawValue: 21)
    public static let int4 = PostgresTypeOID(rawValue: 23)
    public static let text = PostgresTypeOID(rawValue: 25)
    public static let oid = PostgresTypeOID(rawValue: 26)
    public static let float8 = PostgresTypeOID(rawValue: 701)
    public static let varchar = PostgresTypeOID(rawValue: 1043)
    public static let timestamptz = PostgresTypeOID(rawValue: 1184)
    public static let numeric = PostgresTypeOID(rawValue: 1700)
    public static let uuid = PostgresTypeOID(rawValue: 2950)
    public static let jsonb = PostgresTypeOID(rawValue: 3802)

    public var description: String { String(rawValue) }
}

/// A result column: its name and type.
public struct PostgresColumn: Hashable, Sendable {
    /// The column's name as the server labels it (`AS` alias or column name).
    public var name: String
    /// The column's type.
    public var typeOID: PostgresTypeOID

    public init(name: String, typeOID: PostgresTypeOID) {
        self.name = name
        self.typeOID = typeOID
    }
}

/// The rows of one statement's result, every value in PostgreSQL's text format (`nil` for SQL `NULL`).
///
/// The text form of a value depends on session settings (`DateStyle`, `TimeZone`, `extra_float_digits`, ...);
/// see ``PostgresConfiguration/SessionSetting/canonicalTextOutput``.
public struct PostgresRows: Sendable, RandomAccessCollection {
    /// The result's columns, in order.
    public let columns: [PostgresColumn]
    /// The command tag, e.g. `"SELECT 3"`, `"INSERT 0 1"`, `"CREATE TABLE"`.
    public let commandTag: String
    /// Rows affected by `INSERT`/`UPDATE`/`DELETE`/`SELECT`/..., or `nil` for commands that do not count rows.
    public let affectedRows: Int?

    private let cells: [[String?]]
    private let columnIndex: [String: Int]

    init(columns: [PostgresColumn], cells: [[String?]], commandTag: String, affectedRows: Int?) {
        self.columns = columns
        self.cells = cells
        self.commandTag = commandTag
        self.affectedRows = affectedRows
        var index: [String: Int] = [:]
        for (position, column) in columns.enumerated() where index[column.name] == nil {
            index[column.name] = position
        }
        self.columnIndex = index
    }

    public var startIndex: Int { cells.startIndex }
    public var endIndex: Int { cells.endIndex }

    public subscript(position: Int) -> PostgresRow {
        PostgresRow(cells: cells[position], columnIndex: columnIndex)
    }
}

/// One row: its values in text format, by position or by column name.
public struct PostgresRow: Sendable {
    /// The values in column order; `nil` is SQL `NULL`.
    public let cells: [String?]
    private let columnIndex: [String: Int]

    init(cells: [String?], columnIndex: [String: Int]) {
        self.cells = cells
        self.columnIndex = columnIndex
    }

    /// The value at a column position.
    public subscript(position: Int) -> String? {
        cells[position]
    }

    /// The value of the first column with this name; `nil` if it is SQL `NULL` or there is no such column
    /// (use ``hasColumn(_:)`` to tell them apart).
    public subscript(column name: String) -> String? {
        columnIndex[name].flatMap { cells[$0] }
    }

    /// Whether the result has a column of this name.
    public func hasColumn(_ name: String) -> Bool {
        columnIndex[name] != nil
    }
}
