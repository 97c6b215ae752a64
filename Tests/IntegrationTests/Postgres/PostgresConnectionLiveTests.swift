import Logging
import PostgresBridge
import Testing

// Skipped without CDC_POSTGRES_* (no server to talk to); CI always sets them.
@Suite(
    .enabled(
        if: PostgresTestEnvironment.isConfigured,
        "CDC_POSTGRES_HOST/PASSWORD unset: start PostgreSQL 15 with scripts/test-postgres.sh start, export its output"
    ),
    .timeLimit(.minutes(1))
)
struct PostgresConnectionLiveTests {
    @Test func queryWithParametersReturnsTextCellsNamesAndTypes() async throws {
        let (logger, logs) = RecordingLogHandler.logger()
        let connection = try await PostgresConnection.connect(
            configuration: PostgresTestEnvironment.configuration(), logger: logger)
        let rows = try await connection.query(
            "SELECT $1::int4 + 1 AS next, $2::text AS greeting, $3::text IS NULL AS was_null, NULL::uuid AS nothing",
            ["41", "héllo ☕", nil]
        )
        #expect(rows.count == 1)
        #expect(rows.columns.map(\.name) == ["next", "greeting", "was_null", "nothing"])
        #expect(rows.columns.map(\.typeOID) == [.int4, .text, .bool, .uuid])
        #expect(rows[0].cells == ["42", "héllo ☕", "t", nil])
        #expect(rows[0][column: "greeting"] == "héllo ☕")
        #expect(rows.commandTag == "SELECT 1")
        #expect(rows.affectedRows == 1)

        let series = try await connection.query("SELECT g FROM generate_series(1, $1::int) AS g", ["5"])
        #expect(series.map { $0[0] } == ["1", "2", "3", "4", "5"])
        await connection.close()
        let lines = logs.all
        #expect(lines.contains { $0.contains("connected to PostgreSQL") && $0.contains(connection.target) })
        #expect(lines.contains { $0.contains("closed PostgreSQL connection") })
        #expect(!lines.contains { $0.contains(PostgresTestEnvironment.password) })
    }

    @Test func executeRunsStatementsAndCountsRows() async throws {
        try await PostgresConnection.withConnection(
            configuration: PostgresTestEnvironment.configuration(),
            logger: PostgresTestEnvironment.logger
        ) { connection in
            try await PostgresTestEnvironment.withTable("exec", columns: "id int PRIMARY KEY, note text",
                                                        on: connection) { table in
                let inserted = try await connection.execute(
                    "INSERT INTO public.\(table.table) SELECT g, 'n' || g FROM generate_series(1, 3) g")
                #expect(inserted == 3)
                let updated = try await connection.execute(
                    "UPDATE public.\(table.table) SET note = $1 WHERE id >= $2::int", [nil, "2"])
                #expect(updated == 2)
                let rows = try await connection.query("SELECT note FROM public.\(table.table) ORDER BY id")
                #expect(rows.map { $0[0] } == ["n1", nil, nil])
            }
        }
    }

    @Test func wrongPasswordIsInvalidPasswordAndNeverShown() async throws {
        let wrong = "Wr0ng-pa55-\(UInt32.random(in: 0...UInt32.max))"
        let (logger, logs) = RecordingLogHandler.logger()
        let error = await #expect(throws: PostgresError.self) {
            try await PostgresConnection.connect(
                configuration: PostgresTestEnvironment.configuration(password: wrong),
                logger: logger
            )
        }
        let failure = try #require(error)
        // What a caller would log: the error as it prints and as it reflects.
        logger.error("cannot start", metadata: ["error": "\(failure)", "debug": "\(String(reflecting: failure))"])
        #expect(logs.all.count == 1)
        #expect(!logs.all.contains { $0.contains(wrong) })
        #expect(failure.code == .connectionFailed)
        #expect(failure.sqlState == .invalidPassword)
        #expect(!failure.isRetriable)
        #expect(failure.description.contains(": password authentication failed for user"))
        #expect(failure.description.contains("\(PostgresTestEnvironment.host):\(PostgresTestEnvironment.port)/"))
        #expect(failure.description.contains("check the password in the DSN"))
        for text in [failure.description, failure.debugDescription, String(reflecting: failure), "\(failure)"] {
            #expect(!text.contains(wrong))
            #expect(!text.contains(PostgresTestEnvironment.password))
        }
    }

    @Test func unreachablePortIsAClearConnectionError() async throws {
        // Port 1 on loopback: nothing listens, so the kernel refuses at once.
        var configuration = try PostgresTestEnvironment.configuration(port: "1")
        configuration.dsnName = "PG_DSN"
        let error = await #expect(throws: PostgresError.self) {
            try await PostgresConnection.connect(configuration: configuration, logger: PostgresTestEnvironment.logger)
        }
        let failure = try #require(error)
        #expect(failure.code == .connectionFailed)
        #expect(failure.sqlState == nil)
        #expect(failure.isRetriable)
        #expect(failure.description.hasPrefix("cannot connect to \(PostgresTestEnvironment.host):1/"))
        #expect(
            failure.description
                == "cannot connect to \(PostgresTestEnvironment.host):1/\(PostgresTestEnvironment.database): "
                + "Connection refused — is PostgreSQL running and is PG_DSN's host/port right?"
        )
        #expect(!failure.description.contains(PostgresTestEnvironment.password))
    }

    @Test func missingDatabaseIsInvalidCatalogName() async throws {
        let error = await #expect(throws: PostgresError.self) {
            try await PostgresConnection.connect(
                configuration: PostgresTestEnvironment.configuration(database: "no_such_db_for_certyo"),
                logger: PostgresTestEnvironment.logger
            )
        }
        #expect(error?.sqlState == .invalidCatalogName)
        #expect(error?.description.contains("create the database") == true)
    }

    @Test func syntaxErrorIs42601AndTheConnectionStaysUsable() async throws {
        let connection = try await PostgresTestEnvironment.connect()
        let error = await #expect(throws: PostgresError.self) {
            try await connection.query("SELEC 1")
        }
        #expect(error?.code == .queryFailed)
        #expect(error?.sqlState == .syntaxError)
        #expect(error?.description.contains("syntax error at or near \"SELEC\"") == true)
        #expect(error?.description.contains("[SQLSTATE 42601]") == true)

        let undefined = await #expect(throws: PostgresError.self) {
            try await connection.query("SELECT * FROM no_such_table_for_certyo")
        }
        #expect(undefined?.sqlState == .undefinedTable)

        let rows = try await connection.query("SELECT 1 AS one")
        #expect(rows[0][column: "one"] == "1")
        await connection.close()
    }

    @Test func sessionSettingsArePinnedAtConnect() async throws {
        var configuration = try PostgresTestEnvironment.configuration()
        configuration.sessionSettings = PostgresConfiguration.SessionSetting.canonicalTextOutput
        let connection = try await PostgresConnection.connect(
            configuration: configuration, logger: PostgresTestEnvironment.logger)
        let rows = try await connection.query(
            """
            SELECT current_setting('TimeZone'), '2024-03-15 10:30:00.5+01'::timestamptz::text,
                   '2 years 3 months 4 days 05:06:07.5'::interval::text, (0.1::float8 + 0.2::float8)::text,
                   '\\xdeadbeef'::bytea::text,
                   current_setting('application_name')
            """
        )
        #expect(
            rows[0].cells == [
                "UTC", "2024-03-15 09:30:00.5+00", "P2Y3M4DT5H6M7.5S", "0.30000000000000004", "\\xdeadbeef",
                "certyo-cdc",
            ]
        )
        await connection.close()
    }

    @Test func rejectedSessionSettingIsAConfigurationError() async throws {
        var configuration = try PostgresTestEnvironment.configuration()
        configuration.sessionSettings = [.init(name: "DateStyle", value: "Klingon")]
        let error = await #expect(throws: PostgresError.self) {
            try await PostgresConnection.connect(configuration: configuration, logger: PostgresTestEnvironment.logger)
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.description.contains("DateStyle=Klingon") == true)
        #expect(error?.sqlState != nil)
    }

    @Test func closedConnectionThrowsConnectionClosed() async throws {
        let connection = try await PostgresTestEnvironment.connect()
        await connection.close()
        await connection.close()
        let error = await #expect(throws: PostgresError.self) { try await connection.query("SELECT 1") }
        #expect(error?.code == .connectionClosed)
    }

    @Test func concurrentQueriesFromManyTasksAreSerialised() async throws {
        let connection = try await PostgresTestEnvironment.connect()
        let answers = try await withThrowingTaskGroup(of: (Int, String?, String?).self) { group in
            for value in 0..<64 {
                group.addTask {
                    let rows = try await connection.query(
                        "SELECT ($1::int * 2)::text, pg_backend_pid()::text", [String(value)])
                    return (value, rows[0][0], rows[0][1])
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.count == 64)
        for (value, doubled, _) in answers {
            #expect(doubled == String(value * 2))
        }
        #expect(Set(answers.map(\.2)).count == 1)  // one session served them all
        await connection.close()
    }

    @Test func cancellingTheTaskCancelsTheRunningStatement() async throws {
        let connection = try await PostgresTestEnvironment.connect()
        let observer = try await PostgresTestEnvironment.connect()
        let pid = try #require(try await connection.query("SELECT pg_backend_pid()")[0][0])
        let sleeper = Task { try await connection.query("SELECT pg_sleep(50)") }
        // Wait until the server runs it (a condition, checked over the second session).
        while try await observer.query(
            "SELECT state FROM pg_stat_activity WHERE pid = $1::int AND query LIKE '%pg_sleep(50)%'", [pid]
        ).first?[0] != "active" {
            await Task.yield()
        }
        sleeper.cancel()
        let error = await #expect(throws: PostgresError.self) { try await sleeper.value }
        #expect(error?.code == .cancelled)
        #expect(error?.sqlState == .queryCanceled)
        // The session survives its statement's cancellation.
        #expect(try await connection.query("SELECT 7")[0][0] == "7")
        await observer.close()
        await connection.close()
    }

    @Test func serverNoticesGoToTheLogger() async throws {
        let (logger, logs) = RecordingLogHandler.logger()
        let connection = try await PostgresConnection.connect(
            configuration: PostgresTestEnvironment.configuration(), logger: logger)
        try await connection.execute(
            "DO $$ BEGIN RAISE NOTICE 'hello %', 42; RAISE WARNING 'careful: %', 'x'; END $$")
        await connection.close()
        #expect(logs.all.contains { $0.hasPrefix("debug PostgreSQL NOTICE: hello 42") })
        #expect(logs.all.contains { $0.hasPrefix("warning PostgreSQL WARNING: careful: x") && $0.contains("01000") })
    }
}
