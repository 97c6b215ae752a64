import PostgresBridge
import Testing

/// One expected catalog row: name, `format_type`, `typcategory`, not-null, primary-key position.
private struct ExpectedColumn: Equatable, CustomStringConvertible {
    var name: String
    var typeName: String
    var category: String
    var notNull: Bool
    var pk: Int?

    init(_ name: String, _ typeName: String, _ category: String, notNull: Bool = false, pk: Int? = nil) {
        self.name = name
        self.typeName = typeName
        self.category = category
        self.notNull = notNull
        self.pk = pk
    }

    init(_ column: CatalogColumn) {
        self.init(column.name, column.typeName, column.typeCategory, notNull: column.isNotNull,
                  pk: column.primaryKeyPosition)
    }

    var description: String { "\(name) \(typeName) \(category) notNull=\(notNull) pk=\(pk.map(String.init) ?? "-")" }
}

private func capture<Value>(_ body: () async throws -> Value) async -> Result<Value, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

// Skipped without CDC_POSTGRES_* (no server to talk to); CI always sets them.
@Suite(
    .enabled(
        if: PostgresTestEnvironment.isConfigured,
        "CDC_POSTGRES_HOST/PASSWORD unset: start PostgreSQL 15 with scripts/test-postgres.sh start, export its output"
    ),
    .timeLimit(.minutes(1))
)
struct PostgresCatalogLiveTests {
    /// Every column type of the captured `products` table (tools/dbz/schema.sql).
    @Test func catalogOfEveryCapturedType() async throws {
        let connection = try await PostgresTestEnvironment.connect()
        let columns = """
            id           bigserial PRIMARY KEY,
            sku          text           NOT NULL UNIQUE,
            name         text           NOT NULL,
            price        numeric(12,2)  NOT NULL,
            weight_kg    numeric,
            in_stock     boolean        NOT NULL DEFAULT true,
            stock_qty    integer        NOT NULL DEFAULT 0,
            rating       double precision,
            created_at   timestamptz    NOT NULL DEFAULT now(),
            updated_at   timestamp,
            release_date date,
            opens_at     time,
            pickup_time  time(3),
            synced_at    timestamp(3),
            warranty     interval,
            attributes   jsonb,
            external_id  uuid           NOT NULL DEFAULT gen_random_uuid(),
            tags         text[],
            thumbnail    bytea,
            description  text
            """
        let table = try await PostgresTestEnvironment.withTable("products", columns: columns, on: connection) {
            try await connection.catalogTable($0)
        }
        #expect(table.replicaIdentity == .default)
        #expect(table.primaryKey == ["id"])
        #expect(table.columns.map(\.ordinal) == Array(1...20))
        #expect(
            table.columns.map(ExpectedColumn.init) == [
                ExpectedColumn("id", "bigint", "N", notNull: true, pk: 1),
                ExpectedColumn("sku", "text", "S", notNull: true),
                ExpectedColumn("name", "text", "S", notNull: true),
                ExpectedColumn("price", "numeric(12,2)", "N", notNull: true),
                ExpectedColumn("weight_kg", "numeric", "N"),
                ExpectedColumn("in_stock", "boolean", "B", notNull: true),
                ExpectedColumn("stock_qty", "integer", "N", notNull: true),
                ExpectedColumn("rating", "double precision", "N"),
                ExpectedColumn("created_at", "timestamp with time zone", "D", notNull: true),
                ExpectedColumn("updated_at", "timestamp without time zone", "D"),
                ExpectedColumn("release_date", "date", "D"),
                ExpectedColumn("opens_at", "time without time zone", "D"),
                ExpectedColumn("pickup_time", "time(3) without time zone", "D"),
                ExpectedColumn("synced_at", "timestamp(3) without time zone", "D"),
                ExpectedColumn("warranty", "interval", "T"),
                ExpectedColumn("attributes", "jsonb", "U"),
                ExpectedColumn("external_id", "uuid", "U", notNull: true),
                ExpectedColumn("tags", "text[]", "A"),
                ExpectedColumn("thumbnail", "bytea", "U"),
                ExpectedColumn("description", "text", "S"),
            ]
        )
        #expect(table.column(named: "id")?.typeOID == .int8)
        #expect(table.column(named: "attributes")?.typeOID == .jsonb)
        await connection.close()
    }

    @Test func compositePrimaryKeyKeepsKeyOrder() async throws {
        let connection = try await PostgresTestEnvironment.connect()
        let columns = """
            order_id bigint NOT NULL, note text, line_no integer NOT NULL, PRIMARY KEY (line_no, order_id)
            """
        let table = try await PostgresTestEnvironment.withTable("order_lines", columns: columns, on: connection) {
            try await connection.execute("ALTER TABLE public.\($0.table) REPLICA IDENTITY FULL")
            return try await connection.catalogTable($0)
        }
        #expect(table.primaryKey == ["line_no", "order_id"])
        #expect(table.columns.map(\.primaryKeyPosition) == [2, nil, 1])
        #expect(table.replicaIdentity == .full)
        await connection.close()
    }

    @Test func droppedColumnsAreSkipped() async throws {
        let connection = try await PostgresTestEnvironment.connect()
        let table = try await PostgresTestEnvironment.withTable("dropped", columns: "a int, b text, c date",
                                                                on: connection) {
            try await connection.execute("ALTER TABLE public.\($0.table) DROP COLUMN b")
            return try await connection.catalogTable($0)
        }
        #expect(table.columns.map(\.name) == ["a", "c"])
        #expect(table.columns.map(\.ordinal) == [1, 3])
        #expect(table.primaryKey.isEmpty)
        await connection.close()
    }

    @Test func namesAreMatchedExactlyWithoutQuotingRules() async throws {
        let connection = try await PostgresTestEnvironment.connect()
        let mixed = PostgresTestEnvironment.uniqueTableName("Mixed Case")
        try await connection.execute("CREATE TABLE public.\"\(mixed)\" (\"Id\" int PRIMARY KEY)")
        let exact = await capture {
            try await connection.catalogTable(QualifiedTableName(schema: "public", table: mixed))
        }
        let folded = await capture {
            try await connection.catalogTable(QualifiedTableName(schema: "public", table: mixed.lowercased()))
        }
        try await connection.execute("DROP TABLE public.\"\(mixed)\"")
        #expect(try exact.get().columns.map(\.name) == ["Id"])
        #expect(throws: PostgresError.self) { try folded.get() }
        await connection.close()
    }

    @Test func missingTableIsAPreciseError() async throws {
        let connection = try await PostgresTestEnvironment.connect()
        let name = QualifiedTableName(schema: "public", table: PostgresTestEnvironment.uniqueTableName("missing"))
        let error = await #expect(throws: PostgresError.self) { try await connection.catalogTable(name) }
        #expect(error?.code == .tableNotFound)
        #expect(error?.sqlState == .undefinedTable)
        #expect(error?.description.contains("table \(name) does not exist") == true)
        #expect(error?.description.contains(connection.target) == true)
        await connection.close()
    }

    @Test func cacheSeesAColumnAddedByAlterTable() async throws {
        let connection = try await PostgresTestEnvironment.connect()
        try await PostgresTestEnvironment.withTable("altered", columns: "id int PRIMARY KEY", on: connection) {
            name in
            let cache = CatalogCache(connection: connection)
            let before = try await cache.table(name)
            #expect(before.columns.map(\.name) == ["id"])

            try await connection.execute(
                "ALTER TABLE public.\(name.table) ADD COLUMN added numeric(5,1) NOT NULL DEFAULT 0")
            // Cached until a message names the new column.
            #expect(try await cache.table(name).columns.map(\.name) == ["id"])
            let after = try await cache.table(name, containing: ["id", "added"])
            #expect(after.column(named: "added")?.typeName == "numeric(5,1)")
            #expect(after.column(named: "added")?.isNotNull == true)
            #expect(try await cache.table(name) == after)
            #expect(await cache.loadCount == 2)
        }
        await connection.close()
    }

    @Test func cacheWithItsOwnConnectionSurvivesALostConnection() async throws {
        let admin = try await PostgresTestEnvironment.connect()
        var configuration = try PostgresTestEnvironment.configuration()
        configuration.applicationName = PostgresTestEnvironment.uniqueTableName("catalog-cache")
        let cache = CatalogCache(configuration: configuration, logger: PostgresTestEnvironment.logger)
        try await PostgresTestEnvironment.withTable("lost", columns: "id int PRIMARY KEY", on: admin) { name in
            #expect(try await cache.table(name).columns.map(\.name) == ["id"])
            let terminated = try await admin.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                [configuration.applicationName]
            )
            #expect(terminated.map { $0[0] } == ["t"])
            try await admin.execute("ALTER TABLE public.\(name.table) ADD COLUMN note text")
            let refreshed = try await cache.refresh(name)
            #expect(refreshed.columns.map(\.name) == ["id", "note"])
        }
        await cache.close()
        // The server ends the closed session asynchronously: wait until it is gone (bounded by the time limit).
        while try await admin.query(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", [configuration.applicationName]
        )[0][0] != "0" {
            await Task.yield()
        }
        await admin.close()
    }
}
