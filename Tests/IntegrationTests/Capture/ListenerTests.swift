import CDCCore
import CertyoCDC
import CertyoClient
import CertyoEmulator
import Foundation
import PostgresBridge
import Testing

/// `certyo-cdc listen` against the test PostgreSQL and the emulator.
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: PostgresTestEnvironment.isConfigured,
                                                      "set CDC_POSTGRES_* (scripts/test-postgres.sh start)"))
struct ListenerTests {
    static let accounts = "id bigint PRIMARY KEY, balance integer NOT NULL, note text, certyo_seen boolean"

    @Test func concurrentWritersEveryChangeStoredOnceInCommitOrderPerRow() async throws {
        try await CaptureHarness.with { harness in
            let table = try await harness.createTable("accounts", Self.accounts)
            try await harness.setUpListen([table])
            let sink = RecordingSink(CertyoBatchSink(client: harness.client))
            let listener = OutboxListener(configuration: try harness.listenerConfiguration(), sink: sink,
                                          logger: harness.logger)
            let running = harness.start(listener)

            // 4 writers, each on its own connection: 25 rows inserted, then each updated 4 times (balance 1...4).
            let writers = 4, rows = 25, updates = 4
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        let connection = try await PostgresTestEnvironment.connect()
                        for row in 0..<rows {
                            let id = writer * 1000 + row
                            try await connection.execute(
                                "INSERT INTO \(table.schema).accounts VALUES ($1::int8, 0, 'w')", [String(id)]
                            )
                        }
                        for balance in 1...updates {
                            for row in 0..<rows {
                                try await connection.execute(
                                    "UPDATE \(table.schema).accounts SET balance = $2::int4 WHERE id = $1::int8",
                                    [String(writer * 1000 + row), String(balance)]
                                )
                            }
                        }
                        await connection.close()
                    }
                }
                try await group.waitForAll()
            }
            let expected = writers * rows * (1 + updates)
            try await waitUntil(deadline: .seconds(60)) {
                try await harness.outboxCount() == 0 && listener.statistics.snapshot.ingested >= expected
            }
            try await running.stop()

            let keys = await harness.storedKeys()
            #expect(keys.count == expected, "every change stored")
            #expect(keys.values.allSatisfy { $0 == 1 }, "each once")
            // Per row, the balances reached Certyo in the order they were committed: 0, 1, 2, 3, 4.
            var balances: [String: [Int]] = [:]
            for record in sink.records {
                let json = try JSONSerialization.jsonObject(with: Data(record.recordPayload))
                let object = try #require(json as? [String: Any])
                balances[record.recordId, default: []].append(try #require(object["balance"] as? Int))
            }
            #expect(balances.count == writers * rows)
            #expect(balances.values.allSatisfy { $0 == Array(0...updates) })
        }
    }

    @Test func aListenerKilledMidStreamAndRestartedStoresEveryChangeOnce() async throws {
        try await CaptureHarness.with { harness in
            let table = try await harness.createTable("accounts", Self.accounts)
            try await harness.setUpListen([table])
            // Written while no listener runs: the outbox holds them (a NOTIFY would have been lost).
            try await harness.connection.execute(
                "INSERT INTO \(table.schema).accounts SELECT g, g % 7, 'before' FROM generate_series(1, 600) g"
            )
            #expect(try await harness.outboxCount() == 600)
            await harness.emulator.setFaults(FaultConfiguration(latency: .milliseconds(100)))

            var configuration = try harness.listenerConfiguration()
            configuration.batching.maxRecords = 50
            let first = OutboxListener(configuration: configuration, sink: CertyoBatchSink(client: harness.client),
                                       logger: harness.logger)
            let running = harness.start(first)
            try await waitUntil(deadline: .seconds(30)) { first.statistics.snapshot.ingested >= 150 }
            await running.kill()
            #expect(first.statistics.snapshot.ingested < 600)

            // More changes while it is down, then a new listener catches up.
            try await harness.connection.execute(
                "UPDATE \(table.schema).accounts SET balance = balance + 100 WHERE id <= 100"
            )
            await harness.emulator.setFaults(FaultConfiguration())
            let second = OutboxListener(configuration: configuration, sink: CertyoBatchSink(client: harness.client),
                                        logger: harness.logger)
            let restarted = harness.start(second)
            try await waitUntil(deadline: .seconds(60)) { try await harness.outboxCount() == 0 }
            try await restarted.stop()

            let keys = await harness.storedKeys()
            #expect(keys.count == 700, "600 inserts and 100 updates, no gap")
            #expect(keys.values.allSatisfy { $0 == 1 }, "replays after the kill were answered from the keys")
            #expect(keys.keys.allSatisfy { $0.hasPrefix("ntf1:") })
        }
    }

    @Test func changesToCertyoColumnsAloneRecordNothing() async throws {
        try await CaptureHarness.with { harness in
            let table = try await harness.createTable("accounts", Self.accounts)
            try await harness.setUpListen([table])
            try await harness.connection.execute("INSERT INTO \(table.schema).accounts VALUES (1, 5, 'x', false)")
            try await harness.connection.execute("UPDATE \(table.schema).accounts SET certyo_seen = true")
            try await harness.connection.execute("UPDATE \(table.schema).accounts SET note = note")
            #expect(try await harness.outboxCount() == 1, "only the insert")
            try await harness.connection.execute("UPDATE \(table.schema).accounts SET note = 'y', certyo_seen = false")
            try await harness.connection.execute("DELETE FROM \(table.schema).accounts")
            #expect(try await harness.outboxCount() == 3)

            let sink = RecordingSink(CertyoBatchSink(client: harness.client))
            let listener = OutboxListener(configuration: try harness.listenerConfiguration(), sink: sink,
                                          logger: harness.logger)
            let running = harness.start(listener)
            try await waitUntil(deadline: .seconds(30)) { try await harness.outboxCount() == 0 }
            try await running.stop()
            #expect(sink.records.map(\.operationType) == [.insert, .update, .delete])
            #expect(sink.records.map { String(decoding: $0.recordPayload, as: UTF8.self) } == [
                #"{"balance":5,"id":1,"note":"x"}"#, #"{"balance":5,"id":1,"note":"y"}"#, #"{"id":1}"#,
            ])
        }
    }

    @Test func aPrimaryKeyChangeIsADeleteAndAnInsert() async throws {
        try await CaptureHarness.with { harness in
            let table = try await harness.createTable("accounts", Self.accounts)
            try await harness.setUpListen([table])
            try await harness.connection.execute("INSERT INTO \(table.schema).accounts VALUES (1, 5, 'x')")
            try await harness.connection.execute("UPDATE \(table.schema).accounts SET id = 2")
            let sink = RecordingSink(CertyoBatchSink(client: harness.client))
            let listener = OutboxListener(configuration: try harness.listenerConfiguration(), sink: sink,
                                          logger: harness.logger)
            let running = harness.start(listener)
            try await waitUntil(deadline: .seconds(30)) { try await harness.outboxCount() == 0 }
            try await running.stop()
            #expect(sink.records.map(\.operationType) == [.insert, .delete, .insert])
            #expect(sink.records.map(\.recordId) == ["1", "1", "2"])
        }
    }

    @Test func aRecordCertyoRefusesGoesToTheDeadLetterTableAndLeavesTheOutbox() async throws {
        try await CaptureHarness.with(emulator: { $0.maxBodyBytes = 24 * 1024 }) { harness in
            let table = try await harness.createTable("accounts", Self.accounts)
            try await harness.setUpListen([table])
            try await harness.connection.execute(
                "INSERT INTO \(table.schema).accounts SELECT g, 1, 'small' FROM generate_series(1, 40) g"
            )
            try await harness.connection.execute(
                "INSERT INTO \(table.schema).accounts VALUES (999, 1, repeat('x', 40000))"
            )
            let listener = OutboxListener(configuration: try harness.listenerConfiguration(),
                                          sink: CertyoBatchSink(client: harness.client), logger: harness.logger)
            let running = harness.start(listener)
            try await waitUntil(deadline: .seconds(30)) { try await harness.outboxCount() == 0 }
            try await running.stop()

            #expect(await harness.storedKeys().count == 40)
            let letters = try await harness.deadLetters()
            #expect(letters.count == 1)
            let letter = try #require(letters.first)
            #expect(letter[column: "source_mode"] == "listen")
            #expect(letter[column: "source_table"] == "\(table)")
            #expect(letter[column: "reason"] == "too_large")
            #expect(letter[column: "http_status"] == "413")
            #expect(letter[column: "record_id"] == "999")
            #expect(letter[column: "value"]?.hasPrefix("(999,1,xxxx") == true)
            #expect(letter[column: "source_position"].flatMap { Int64($0) } != nil)
        }
    }

    @Test func aWrongDSNPasswordIsRetriedAndNeverLogged() async throws {
        try await CaptureHarness.with { harness in
            let secret = "wrong-SECRET-pw-4711"
            let (logger, lines) = RecordingLogHandler.logger()
            var listenerConfiguration = try harness.listenerConfiguration()
            listenerConfiguration.postgres = try PostgresTestEnvironment.configuration(password: secret)
            var pollerConfiguration = try harness.pollerConfiguration(harness.table("items"))
            pollerConfiguration.postgres = listenerConfiguration.postgres
            let listener = harness.start(OutboxListener(configuration: listenerConfiguration,
                                                        sink: CertyoBatchSink(client: harness.client), logger: logger))
            let poller = harness.start(TablePoller(configuration: pollerConfiguration,
                                                   sink: CertyoBatchSink(client: harness.client), logger: logger))
            try await waitUntil(deadline: .seconds(30)) {
                lines.all.contains { $0.contains("listener lost PostgreSQL") }
                    && lines.all.contains { $0.contains("poller lost PostgreSQL") }
            }
            await listener.kill()
            await poller.kill()
            #expect(lines.all.contains { $0.contains("28P01") }, "the server's reason (authentication failed) is named")
            #expect(!lines.all.contains { $0.contains(secret) })
        }
    }

    @Test func aSecondListenerWaitsForTheFirstAndTakesOverWhenItStops() async throws {
        try await CaptureHarness.with { harness in
            let table = try await harness.createTable("accounts", Self.accounts)
            try await harness.setUpListen([table])
            let configuration = try harness.listenerConfiguration()
            let first = OutboxListener(configuration: configuration, sink: CertyoBatchSink(client: harness.client),
                                       logger: harness.logger)
            let second = OutboxListener(configuration: configuration, sink: CertyoBatchSink(client: harness.client),
                                        logger: harness.logger)
            let runningFirst = harness.start(first)
            try await waitUntil(deadline: .seconds(20)) {
                // The first listener holds its outbox's drain lock (low 32 bits of the key in objid).
                try await harness.connection.query(
                    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                        + "AND objid = ((hashtext($1)::int8) & 4294967295)::oid",
                    ["certyo-cdc outbox \(harness.schema)"]
                ).count == 1
            }
            let runningSecond = harness.start(second)
            try await harness.connection.execute(
                "INSERT INTO \(table.schema).accounts SELECT g, 1, 'a' FROM generate_series(1, 300) g"
            )
            try await waitUntil(deadline: .seconds(30)) { try await harness.outboxCount() == 0 }
            #expect(first.statistics.snapshot.ingested == 300)
            #expect(second.statistics.snapshot.ingested == 0, "it waited for the drain lock")

            try await runningFirst.stop()
            try await harness.connection.execute(
                "UPDATE \(table.schema).accounts SET balance = 2 WHERE id <= 50"
            )
            try await waitUntil(deadline: .seconds(30)) { second.statistics.snapshot.ingested == 50 }
            try await runningSecond.stop()
            let keys = await harness.storedKeys()
            #expect(keys.count == 350)
            #expect(keys.values.allSatisfy { $0 == 1 })
        }
    }
}
