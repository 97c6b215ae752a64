import CDCCore
import CertyoCDC
import CertyoClient
import CertyoEmulator
import Foundation
import PostgresBridge
import Testing

/// `certyo-cdc poll` against the test PostgreSQL and the emulator.
@Suite(.serialized, .timeLimit(.minutes(3)), .enabled(if: PostgresTestEnvironment.isConfigured,
                                                      "set CDC_POSTGRES_* (scripts/test-postgres.sh start)"))
struct PollerTests {
    static let items = """
        id bigint PRIMARY KEY, name text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz
        """

    @Test func aLongTransactionCommittingLateWithAnOlderVersionIsStillStored() async throws {
        try await CaptureHarness.with { harness in
            let table = try await harness.createTable("items", Self.items)
            try await harness.setUpPoll([table])
            try await harness.connection.execute("INSERT INTO \(table.schema).items (id, name) VALUES (1, 'early')")

            let poller = TablePoller(configuration: try harness.pollerConfiguration(table),
                                     sink: CertyoBatchSink(client: harness.client), logger: harness.logger)
            let running = harness.start(poller)
            try await waitUntil(deadline: .seconds(30)) { poller.statistics.snapshot.ingested == 1 }

            // A long transaction writes a row (its updated_at = its start) and stays open...
            let long = try await PostgresTestEnvironment.connect()
            try await long.execute("BEGIN")
            try await long.execute("INSERT INTO \(table.schema).items (id, name) VALUES (2, 'late')")
            // ...while newer rows commit and the poller keeps polling.
            try await harness.connection.execute(
                "INSERT INTO \(table.schema).items (id, name) SELECT g, 'newer' FROM generate_series(10, 19) g"
            )
            let rounds = poller.rounds
            try await waitUntil(deadline: .seconds(30)) { poller.rounds >= rounds + 5 }
            try await long.execute("COMMIT")
            await long.close()

            try await waitUntil(deadline: .seconds(30)) { poller.statistics.snapshot.ingested >= 12 }
            try await running.stop()
            let keys = await harness.storedKeys()
            #expect(keys.count == 12, "early, late and the 10 newer rows")
            #expect(keys.values.allSatisfy { $0 == 1 })
            #expect(keys.keys.contains { $0.hasPrefix("poll1:") && $0.hasSuffix(":u:2") }, "the late row")
            #expect(poller.statistics.snapshot.ingested == 12, "nothing sent twice")
        }
    }

    @Test func theCursorSurvivesARestartAndSoftDeletesAreSentAsDeletes() async throws {
        try await CaptureHarness.with { harness in
            let table = try await harness.createTable("items", Self.items)
            try await harness.setUpPoll([table])
            try await harness.connection.execute(
                "INSERT INTO \(table.schema).items (id, name, updated_at) "
                    + "SELECT g, 'n' || g, now() - interval '1 hour' + g * interval '1 ms' "
                    + "FROM generate_series(1, 250) g"
            )
            var configuration = try harness.pollerConfiguration(table)
            configuration.deletedColumn = "deleted_at"
            let sink = RecordingSink(CertyoBatchSink(client: harness.client))
            let first = TablePoller(configuration: configuration, sink: sink, logger: harness.logger)
            let running = harness.start(first)
            try await waitUntil(deadline: .seconds(30)) { first.statistics.snapshot.ingested == 250 }
            try await running.stop()
            let cursor = try await harness.connection.query("SELECT last_version, last_key FROM \(harness.schema)._certyo_sync_cursors")
            #expect(cursor.first?[column: "last_key"] == "{250}")

            // Soft delete one row and update another, then a new poller resumes from the cursor.
            try await harness.connection.execute(
                "UPDATE \(table.schema).items SET deleted_at = now(), updated_at = now() WHERE id = 7"
            )
            try await harness.connection.execute(
                "UPDATE \(table.schema).items SET name = 'renamed', updated_at = now() WHERE id = 8"
            )
            let second = TablePoller(configuration: configuration, sink: sink, logger: harness.logger)
            let resumed = harness.start(second)
            try await waitUntil(deadline: .seconds(30)) { second.statistics.snapshot.ingested == 2 }
            try await resumed.stop()

            #expect(second.statistics.snapshot.consumed == 2, "the cursor kept the 250 rows from being read again")
            let last = Array(sink.records.suffix(2))
            #expect(last.map(\.operationType) == [.delete, .upsert])
            #expect(last.map(\.recordId) == ["7", "8"])
            #expect(String(decoding: last[0].recordPayload, as: UTF8.self) == #"{"id":7}"#)
            #expect(await harness.storedKeys().count == 252)
        }
    }
}
