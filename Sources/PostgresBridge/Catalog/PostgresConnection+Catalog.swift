extension PostgresConnection {
    /// One statement (one snapshot): the table's replica identity and its live columns. A table without columns
    /// still yields one row, with `NULL` column fields; a missing table yields none.
    static let catalogSQL = """
        SELECT c.relreplident::text AS replica_identity,
               a.attname::text AS name,
               a.attnum AS ordinal,
               pg_catalog.format_type(a.atttypid, a.atttypmod) AS type_name,
               a.atttypid AS type_oid,
               t.typcategory::text AS type_category,
               a.attnotnull AS not_null,
               pk.position AS pk_position
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_catalog.pg_attribute a
               ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
        LEFT JOIN LATERAL (
            SELECT k.position
            FROM pg_catalog.pg_index i
            CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
            WHERE i.indrelid = c.oid AND i.indisprimary AND k.attnum = a.attnum
        ) pk ON true
        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
        ORDER BY a.attnum
        """

    /// Reads a table's columns and replica identity from the catalog.
    ///
    /// Schema and table are matched exactly (they are parameters, not SQL identifiers): pass the names as stored,
    /// e.g. as Debezium's `source.schema`/`source.table` carry them. Dropped and system columns are skipped.
    ///
    /// - Parameter table: The schema and table.
    /// - Returns: The table's columns in `attnum` order, with type, category, `NOT NULL` and primary-key position.
    /// - Throws: A ``PostgresError`` with code ``PostgresError/Code/tableNotFound`` and SQLSTATE `42P01` when there
    ///   is no such ordinary or partitioned table, or any error ``query(_:_:)`` throws.
    public func catalogTable(_ table: QualifiedTableName) async throws -> CatalogTable {
        let rows: PostgresRows
        do {
            rows = try await query(Self.catalogSQL, [table.schema, table.table])
        } catch var error as PostgresError {
            error.operation = "cannot read the catalog of \(table) on"
            throw error
        }
        guard let first = rows.first else {
            throw PostgresError(
                code: .tableNotFound,
                sqlState: .undefinedTable,
                operation: "cannot read the catalog of \(table) on",
                message: "table \(table) does not exist",
                hint: "create it, or check the schema and table names (they are case-sensitive and unquoted)",
                target: target
            )
        }
        var columns: [CatalogColumn] = []
        for row in rows {
            guard let name = row[column: "name"] else { continue }  // a table without columns
            columns.append(
                CatalogColumn(
                    name: name,
                    ordinal: Int(row[column: "ordinal"] ?? "") ?? 0,
                    typeName: row[column: "type_name"] ?? "",
                    typeOID: PostgresTypeOID(rawValue: UInt32(row[column: "type_oid"] ?? "") ?? 0),
                    typeCategory: row[column: "type_category"] ?? "",
                    isNotNull: row[column: "not_null"] == "t",
                    primaryKeyPosition: row[column: "pk_position"].flatMap { Int($0) }
                )
            )
        }
        return CatalogTable(
            name: table,
            replicaIdentity: ReplicaIdentity(rawValue: first[column: "replica_identity"] ?? "d"),
            columns: columns
        )
    }
}
