import CDCCore
import CertyoCDC
import CertyoClient
import CertyoEmulator
import Foundation
import KafkaBridge
import Logging
import PostgresBridge
import ServiceLifecycle
import Synchronization
import Testing

/// Rows of a real PostgreSQL table, ingested through the pipeline (mock Kafka, Debezium envelopes as the connector
/// writes them with `connector.json`'s settings), anchored by the emulator, verified and written back by the worker,
/// then tampered with and changed through capture, and proved with `prove`.
@Suite(
    .serialized,
    .enabled(
        if: PostgresTestEnvironment.isConfigured,
        "CDC_POSTGRES_HOST/PASSWORD unset: start PostgreSQL 15 with scripts/test-postgres.sh start, export its output"
    ),
    .timeLimit(.minutes(3))
)
struct VerificationLiveTests {
    /// One row of the test table and the Debezium envelope the connector writes for it.
    struct Product: Sendable {
        var id: Int
        var name: String
        var price: String
        var updatedAt: String

        var sqlValues: String { "(\(id), '\(name)', \(price), '\(updatedAt)', 'internal note')" }

        var json: String {
            #"{"id":\#(id),"name":"\#(name)","price":"\#(price)","updated_at":"\#(updatedAt)","certyo_note":"internal note"}"#
        }
    }

    static func envelope(topic: String, table: String, database: String, op: String, id: Int, before: Product?,
                         after: Product?, lsn: Int) -> OutgoingMessage {
        let source = #"{"version":"3.6.0.Final","connector":"postgresql","name":"certyo","ts_ms":1710495000000,"#
            + #""snapshot":"false","db":"\#(database)","sequence":null,"ts_us":1710495000000000,"schema":"public","#
            + #""table":"\#(table)","txId":\#(lsn),"lsn":\#(lsn),"xmin":null}"#
        let value = #"{"before":\#(before?.json ?? "null"),"after":\#(after?.json ?? "null"),"source":\#(source),"#
            + #""transaction":null,"op":"\#(op)","ts_ms":1710495000100,"ts_us":1710495000100000}"#
        return OutgoingMessage(topic: topic, key: Array(#"{"id":\#(id)}"#.utf8), value: Array(value.utf8))
    }

    /// Runs the pipeline (schemaless envelopes, column types from PostgreSQL) until `records` more were ingested.
    static func ingest(_ harness: PipelineHarness, group: String, records: Int, connection: PostgresConnection)
        async throws
    {
        let statistics = PipelineStatistics()
        let pipeline = PipelineService(
            configuration: harness.pipelineConfiguration(group: group),
            decoder: DebeziumChangeDecoder(decoder: DebeziumDecoder(), catalog: CatalogCache(connection: connection)),
            sink: CertyoBatchSink(client: harness.client),
            deadLetters: KafkaDeadLetterSink(topic: "certyo-cdc.dlq.\(group)", producer: harness.producer),
            statistics: statistics, logger: harness.logger
        )
        let serviceGroup = ServiceGroup(services: [pipeline], logger: harness.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await serviceGroup.run() }
            try await waitUntil(deadline: .seconds(60)) {
                let counts = statistics.snapshot
                #expect(counts.deadLettered == 0)
                return counts.ingested + counts.replayed >= records
            }
            await serviceGroup.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    static func statuses(_ connection: PostgresConnection, _ table: String) async throws
        -> [String: (hash: String, status: String)]
    {
        var result: [String: (hash: String, status: String)] = [:]
        for row in try await connection.query(
            "SELECT record_id, certyo_record_hash, certyo_anchor_status FROM certyo.record_status WHERE collection = $1",
            ["public.\(table)"]
        ) {
            result[row[0]!] = (row[1]!, row[2]!)
        }
        return result
    }

    /// The hash of a row as `prove` computes it.
    static func currentHash(_ connection: PostgresConnection, _ table: String, id: Int) async throws -> String {
        let reader = try await CanonicalRowReader(table: TableName(schema: "public", table: table),
                                                  connection: connection)
        let cells = try #require(try await reader.row(key: [String(id)], on: connection))
        return try reader.canonical(cells).recordHash
    }

    struct ProveRun {
        var code: Int32
        var lines: [String]
        var diagnostics: [String]

        var objects: [[String: Any]] {
            lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        func verdict(_ recordId: String) -> String? {
            objects.first { $0["recordId"] as? String == recordId }?["verdict"] as? String
        }
    }

    static func prove(_ harness: PipelineHarness, table: String, key: [String]? = nil, named: [String: String]? = nil,
                      json: Bool = true) async throws -> ProveRun {
        var configuration = Prove.Configuration(table: TableName(schema: "public", table: table))
        configuration.key = key
        configuration.namedKey = named
        configuration.json = json
        configuration.batchSize = 2  // several pages for three rows
        let prove = try Prove(configuration: configuration, dsn: PostgresTestEnvironment.dsn(),
                              certyo: harness.client.configuration, logger: harness.logger)
        let lines = Mutex<[String]>([])
        let diagnostics = Mutex<[String]>([])
        let code = await prove.run(output: { line in lines.withLock { $0.append(line) } },
                                   diagnostics: { line in diagnostics.withLock { $0.append(line) } })
        return ProveRun(code: code, lines: lines.withLock { $0 }, diagnostics: diagnostics.withLock { $0 })
    }

    @Test func ingestAnchorWriteBackTamperAndProve() async throws {
        let connection = try await PostgresTestEnvironment.connect()
        defer { Task { await connection.close() } }
        let database = PostgresTestEnvironment.database
        let (recordingLogger, logs) = RecordingLogHandler.logger()
        try await PipelineHarness.with(partitions: 2, emulator: {
            $0.accumulateInterval = .milliseconds(100)
            $0.anchorDelay = .milliseconds(200)
        }) { harness in
            try await PostgresTestEnvironment.withTable(
                "verify",
                columns: "id bigint PRIMARY KEY, name text NOT NULL, price numeric(12,2), updated_at timestamptz, "
                    + "certyo_note text",
                on: connection
            ) { name in
                let table = name.table
                let rows = [
                    Product(id: 1, name: "Widget", price: "19.99", updatedAt: "2024-03-15T09:30:00.123456Z"),
                    Product(id: 2, name: "Gadget", price: "5.00", updatedAt: "2024-03-16T10:00:00.000001Z"),
                    Product(id: 3, name: "Gizmo", price: "120.50", updatedAt: "2024-03-17T11:11:11Z"),
                ]
                try await connection.execute(
                    "INSERT INTO public.\(table) VALUES \(rows.map(\.sqlValues).joined(separator: ", "))")
                _ = try await harness.produce(rows.enumerated().map { index, row in
                    Self.envelope(topic: harness.topic, table: table, database: database, op: "c", id: row.id,
                                  before: nil, after: row, lsn: 1000 + index * 8)
                })
                try await Self.ingest(harness, group: "verify-\(table)", records: 3, connection: connection)
                #expect(await harness.emulator.counters().recordsStored == 3)

                // The worker writes back `anchored` for every row, under the hash prove computes.
                var configuration = VerificationConfiguration()
                configuration.enabled = true
                configuration.interval = .milliseconds(100)
                configuration.batchSize = 2
                configuration.gracePeriod = .seconds(2)
                configuration.tables = [TableName(schema: "public", table: table)]
                configuration.retryPolicy.initialDelay = .milliseconds(100)
                configuration.retryPolicy.maximumDelay = .milliseconds(500)
                let worker = VerificationWorker(
                    configuration: configuration, postgres: try PostgresTestEnvironment.configuration(),
                    client: harness.client, clock: ContinuousClock(), logger: recordingLogger
                )
                let group = ServiceGroup(services: [worker], logger: harness.logger)
                let newHash = try await withThrowingTaskGroup(of: Void.self, returning: String.self) { tasks in
                    tasks.addTask { try await group.run() }
                    var hashes: [Int: String] = [:]
                    for row in rows { hashes[row.id] = try await Self.currentHash(connection, table, id: row.id) }
                    try await waitUntil(deadline: .seconds(30)) {
                        let statuses = try await Self.statuses(connection, table)
                        return rows.allSatisfy { statuses["\($0.id)"]?.status == "anchored"
                            && statuses["\($0.id)"]?.hash == hashes[$0.id] }
                    }
                    // Idempotent: a later pass over settled rows asks Certyo nothing and writes nothing.
                    let settled = worker.statistics.snapshot.passes
                    try await waitUntil(deadline: .seconds(10)) { worker.statistics.snapshot.passes >= settled + 2 }
                    #expect(worker.statistics.snapshot.lastPass.verifyCalls == 0)
                    #expect(worker.statistics.snapshot.lastPass.written == 0)
                    #expect(worker.statistics.snapshot.lastPass.rows == 3)
                    #expect(await harness.emulator.counters().recordsStored == 3, "the write-back stored no version")

                    // Row 1 changed directly while capture is off; row 2 changed and row 3 deleted through capture.
                    try await connection.execute("UPDATE public.\(table) SET price = 0.01 WHERE id = 1")
                    var changed = rows[1]
                    changed.name = "Gadget v2"
                    try await connection.execute("UPDATE public.\(table) SET name = 'Gadget v2' WHERE id = 2")
                    try await connection.execute("DELETE FROM public.\(table) WHERE id = 3")
                    _ = try await harness.produce([
                        Self.envelope(topic: harness.topic, table: table, database: database, op: "u", id: 2,
                                      before: rows[1], after: changed, lsn: 2000),
                        Self.envelope(topic: harness.topic, table: table, database: database, op: "d", id: 3,
                                      before: rows[2], after: nil, lsn: 2008),
                    ])
                    try await Self.ingest(harness, group: "verify-\(table)", records: 2, connection: connection)
                    #expect(await harness.emulator.counters().recordsStored == 5)
                    let newHash = try await Self.currentHash(connection, table, id: 2)
                    let tamperedHash = try await Self.currentHash(connection, table, id: 1)
                    try await waitUntil(deadline: .seconds(30)) {
                        let statuses = try await Self.statuses(connection, table)
                        return statuses["2"]?.status == "anchored" && statuses["2"]?.hash == newHash
                            && statuses["1"]?.status == "failed" && statuses["1"]?.hash == tamperedHash
                    }
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                    return newHash
                }
                #expect(logs.all.contains { $0.contains("verification: public.\(table) record 1 failed") })

                // prove, whole table: exactly row 1 tampered, row 2 intact at its new version; exit code 1.
                let whole = try await Self.prove(harness, table: table)
                #expect(whole.code == Prove.ExitCode.tampered)
                #expect(whole.verdict("1") == "tampered")
                #expect(whole.verdict("2") == "intact")
                #expect(whole.objects.filter { $0["verdict"] != nil }.count == 2)
                let summary = try #require(whole.objects.last?["summary"] as? [String: Any])
                #expect(summary["rows"] as? Int == 2)
                #expect(summary["tampered"] as? Int == 1)
                #expect(summary["intact"] as? Int == 1)

                let two = try await Self.prove(harness, table: table, key: ["2"])
                #expect(two.code == Prove.ExitCode.ok)
                #expect(two.verdict("2") == "intact")
                #expect(two.objects.first?["rowHash"] as? String == newHash)
                #expect(two.objects.first?["latestOperation"] as? String == "update")
                #expect((two.objects.first?["anchor"] as? [String: Any])?["txHash"] as? String != nil)

                let one = try await Self.prove(harness, table: table, named: ["id": "1"], json: false)
                #expect(one.code == Prove.ExitCode.tampered)
                #expect(one.lines.first?.hasPrefix("public.\(table) 1: tampered") == true)

                let three = try await Self.prove(harness, table: table, key: ["3"])
                #expect(three.verdict("3") == "deleted")
                #expect(three.code == Prove.ExitCode.ok)

                let unknown = try await Self.prove(harness, table: table, key: ["99"])
                #expect(unknown.verdict("99") == "unknown_to_certyo")
                #expect(unknown.code == Prove.ExitCode.ok)

                let badKey = try await Self.prove(harness, table: table, key: ["not-a-number"])
                #expect(badKey.code == Prove.ExitCode.configuration)
                #expect(badKey.diagnostics.first?.contains("--id") == true)

                // A forged proof from the emulator is rejected, never reported intact.
                await harness.emulator.setFaults(FaultConfiguration(forgedProofShare: 1))
                let forged = try await Self.prove(harness, table: table, key: ["2"])
                #expect(forged.verdict("2") == "proof_rejected")
                #expect(forged.code == Prove.ExitCode.proofRejected)
                #expect(await harness.emulator.counters().forgedProofs > 0)
                await harness.emulator.setFaults(FaultConfiguration())

                // Nothing printed or logged carries the API key or the database password.
                let everything = logs.all + whole.lines + whole.diagnostics + one.lines + forged.lines
                #expect(!everything.contains { $0.contains(PipelineHarness.apiKey) })
                #expect(!everything.contains { $0.contains(PostgresTestEnvironment.password) })
            }
        }
    }

    @Test func outagesAreOneLineAndARetryNeverACrash() async throws {
        let (logger, logs) = RecordingLogHandler.logger()
        var configuration = VerificationConfiguration()
        configuration.interval = .milliseconds(50)
        configuration.retryPolicy.initialDelay = .milliseconds(50)
        configuration.retryPolicy.maximumDelay = .milliseconds(100)
        configuration.retryPolicy.minimumDelay = .milliseconds(10)
        // PostgreSQL down (nothing listens on port 1), Certyo down too.
        var unreachable = try PostgresTestEnvironment.configuration(port: "1")
        unreachable.connectTimeout = .seconds(2)
        var unreachableCertyo = CertyoClient.Configuration(
            baseURL: "http://127.0.0.1:1", apiKey: CertyoAPIKey(PipelineHarness.apiKey), tenantId: "t")
        unreachableCertyo.requestTimeout = .milliseconds(500)  // the HTTP client retries a refused connect until then
        try await withCertyoClient(configuration: unreachableCertyo, logger: logger) { client in
            let worker = VerificationWorker(configuration: configuration, postgres: unreachable, client: client,
                                            clock: ContinuousClock(), logger: logger)
            let group = ServiceGroup(services: [worker], logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                do {
                    try await waitUntil(deadline: .seconds(30)) { worker.statistics.snapshot.failures >= 2 }
                } catch {
                    Issue.record("PostgreSQL down: \(worker.statistics.snapshot); log: \(logs.all.suffix(5))")
                    throw error
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        let lines = logs.all.filter { $0.contains("verification: PostgreSQL failed, pass abandoned") }
        #expect(lines.count >= 2)
        #expect(!logs.all.contains { $0.contains(PostgresTestEnvironment.password) })

        // PostgreSQL up, Certyo unreachable: the pass waits and retries the verify calls, with a warning each time.
        guard PostgresTestEnvironment.isConfigured else { return }
        let connection = try await PostgresTestEnvironment.connect()
        defer { Task { await connection.close() } }
        try await PostgresTestEnvironment.withTable("verify_outage", columns: "id int PRIMARY KEY, v text",
                                                    on: connection) { name in
            try await connection.execute("INSERT INTO public.\(name.table) VALUES (1, 'a')")
            configuration.tables = [TableName(schema: "public", table: name.table)]
            let (logger, logs) = RecordingLogHandler.logger()
            try await withCertyoClient(configuration: unreachableCertyo, logger: logger) { client in
                let worker = VerificationWorker(configuration: configuration,
                                                postgres: try PostgresTestEnvironment.configuration(), client: client,
                                                clock: ContinuousClock(), logger: logger)
                let group = ServiceGroup(services: [worker], logger: logger)
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await group.run() }
                    do {
                        try await waitUntil(deadline: .seconds(30)) {
                            logs.all.filter { $0.contains("verification: Certyo verify call failed; retrying") }.count >= 3
                        }
                    } catch {
                        Issue.record("Certyo down: \(worker.statistics.snapshot); log: \(logs.all.suffix(5))")
                        throw error
                    }
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                }
            }
            #expect(!logs.all.contains { $0.contains(PipelineHarness.apiKey) })
        }
    }
}
