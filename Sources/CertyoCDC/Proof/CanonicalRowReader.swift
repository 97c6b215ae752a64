import CDCCore
import Foundation
import PostgresBridge

/// Reads rows of one table as PostgreSQL prints them in a session with the pinned settings of the canonical row
/// (`SessionSetting.canonicalTextOutput`), and turns them into the canonical payload, record id and hash the pipeline
/// anchors for the same row state.
///
/// - Important: The connection must have been opened with ``CanonicalRowReader/sessionConfiguration(dsn:dsnName:)``
///   (or with `PostgresConfiguration.SessionSetting.canonicalTextOutput` as its session settings): under other
///   `TimeZone`, `DateStyle` or `extra_float_digits` settings the text differs and every hash with it.
public struct CanonicalRowReader: Sendable {
    /// One row as read: its text cells by column name, and what the canonical row makes of them.
    public struct Row: Sendable, Hashable {
        /// Column name -> text output (`nil` = SQL `NULL`).
        public var cells: [String: String?]
        /// The primary-key values' text, in key order (for keyset pagination).
        public var key: [String?]
        public var recordId: String
        /// `sha256:<hex>` of the canonical payload.
        public var recordHash: String
    }

    public let table: TableName
    public let catalog: CatalogTable
    public let canonicalizer: PostgresRowCanonicalizer
    private let columns: [CatalogColumn]
    private let keyColumns: [CatalogColumn]
    private let selectList: String
    private let relation: String

    /// A configuration for `dsn` with the canonical session settings.
    ///
    /// - Throws: A `PostgresError` when libpq cannot parse the DSN (never containing the password).
    public static func sessionConfiguration(dsn: String, dsnName: String = "PG_DSN") throws -> PostgresConfiguration {
        var configuration = try PostgresConfiguration(dsn: dsn)
        configuration.dsnName = dsnName
        configuration.sessionSettings = PostgresConfiguration.SessionSetting.canonicalTextOutput
        return configuration
    }

    /// Reads the table's catalog and prepares the statements.
    ///
    /// - Parameters:
    ///   - table: The table.
    ///   - excludedColumns: Columns left out of the payload, as the pipeline was configured (`certyo_*` always are).
    ///   - connection: A connection in the canonical session settings.
    /// - Throws: A `PostgresError` (`tableNotFound` for a missing table), or a ``ConfigError`` when the table has no
    ///   primary key (its rows have no record id).
    public init(table: TableName, excludedColumns: Set<String> = [], connection: PostgresConnection) async throws {
        let catalog = try await connection.catalogTable(QualifiedTableName(schema: table.schema, table: table.table))
        try self.init(table: table, catalog: catalog, excludedColumns: excludedColumns)
    }

    /// Prepares the statements for a table whose catalog was already read.
    ///
    /// - Throws: A ``ConfigError`` when the table has no primary key.
    public init(table: TableName, catalog: CatalogTable, excludedColumns: Set<String> = []) throws {
        self.table = table
        self.catalog = catalog
        self.columns = catalog.columns.sorted { $0.ordinal < $1.ordinal }
        self.canonicalizer = PostgresRowCanonicalizer(
            table: table, columns: TableColumns(catalog), excludedColumns: excludedColumns
        )
        let key = catalog.primaryKey.compactMap { catalog.column(named: $0) }
        guard !key.isEmpty else {
            throw ConfigError(
                code: .invalid, setting: "--table",
                message: "\(table) has no primary key, so its rows have no record id",
                fix: "add a primary key (Debezium needs one as well), or prove another table"
            )
        }
        self.keyColumns = key
        self.relation = Self.quote(table.schema) + "." + Self.quote(table.table)
        self.selectList = columns.map { column in
            // money's text output depends on lc_monetary; its numeric form does not.
            column.typeName == "money"
                ? "\(Self.quote(column.name))::numeric AS \(Self.quote(column.name))"
                : Self.quote(column.name)
        }.joined(separator: ", ")
    }

    /// The primary-key column names, in key order.
    public var keyColumnNames: [String] { keyColumns.map(\.name) }

    /// Up to `limit` rows in primary-key order, after the row whose key is `after` (from the start when `nil`).
    ///
    /// - Throws: A `PostgresError`.
    public func page(after: [String?]?, limit: Int, on connection: PostgresConnection) async throws -> [[String: String?]] {
        let order = keyColumns.map { Self.quote($0.name) }.joined(separator: ", ")
        var sql = "SELECT \(selectList) FROM \(relation)"
        var parameters: [String?] = []
        if let after {
            let placeholders = keyColumns.enumerated().map { "$\($0.offset + 1)::\($0.element.typeName)" }
            sql += " WHERE (\(order)) > (\(placeholders.joined(separator: ", ")))"
            parameters = after
        }
        sql += " ORDER BY \(order) LIMIT \(max(1, limit))"
        return try await connection.query(sql, parameters).map(cells(of:))
    }

    /// The row whose primary key is `key` (text per key column, in key order), or `nil` when there is none.
    ///
    /// - Throws: A `PostgresError` (e.g. `22P02` when a value is not valid for its column's type).
    public func row(key: [String], on connection: PostgresConnection) async throws -> [String: String?]? {
        let conditions = keyColumns.enumerated().map {
            "\(Self.quote($0.element.name)) = $\($0.offset + 1)::\($0.element.typeName)"
        }
        let sql = "SELECT \(selectList) FROM \(relation) WHERE \(conditions.joined(separator: " AND "))"
        return try await connection.query(sql, key).first.map(cells(of:))
    }

    /// The key values as PostgreSQL prints them in the canonical session (`42`, a lower-case uuid, a UTC
    /// timestamp), by key column name: what a row that is gone would have held.
    ///
    /// - Throws: A `PostgresError` (e.g. `22P02` when a value is not valid for its column's type).
    public func canonicalKey(_ key: [String], on connection: PostgresConnection) async throws -> [String: String?] {
        let list = keyColumns.enumerated().map { "$\($0.offset + 1)::\($0.element.typeName) AS \(Self.quote($0.element.name))" }
        let rows = try await connection.query("SELECT \(list.joined(separator: ", "))", key)
        var cells: [String: String?] = [:]
        if let row = rows.first {
            for (index, column) in keyColumns.enumerated() { cells[column.name] = row[index] }
        }
        return cells
    }

    /// The record id, key and hash of a row read by ``page(after:limit:on:)`` or ``row(key:on:)``.
    ///
    /// - Throws: A `CanonicalRowError` naming the column whose text cannot be canonicalised.
    public func canonical(_ cells: [String: String?]) throws(CanonicalRowError) -> Row {
        let payload = try canonicalizer.payload(cells)
        return Row(
            cells: cells, key: keyColumns.map { cells[$0.name] ?? nil }, recordId: try canonicalizer.recordId(cells),
            recordHash: Self.hash(payload)
        )
    }

    /// The record id and the hash of the deletion's payload (the key columns only) for a row with these key cells.
    ///
    /// - Throws: A `CanonicalRowError`.
    public func deletion(_ keyCells: [String: String?]) throws(CanonicalRowError) -> (recordId: String, hash: String) {
        (try canonicalizer.recordId(keyCells), Self.hash(try canonicalizer.keyPayload(keyCells)))
    }

    /// `sha256:<hex>` of canonical payload bytes, exactly as Certyo computes `recordHash`.
    public static func hash(_ payload: [UInt8]) -> String {
        CertyoRecord(
            database: "", collection: "", recordId: "", recordPayload: payload, operationType: .upsert,
            sourceTimestamp: nil, idempotencyKey: ""
        ).recordHash
    }

    /// A SQL identifier, double-quoted.
    static func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private func cells(of row: PostgresRow) -> [String: String?] {
        var cells: [String: String?] = [:]
        cells.reserveCapacity(columns.count)
        for (index, column) in columns.enumerated() { cells[column.name] = row[index] }
        return cells
    }
}
