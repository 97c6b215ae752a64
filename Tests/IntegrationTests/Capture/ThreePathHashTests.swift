import CDCCore
import CertyoCDC
import CertyoClient
import Foundation
import PostgresBridge
import Testing

/// One row state, one hash: the Debezium decoder (on the real snapshot envelopes of the samples' `products` rows),
/// the listener and the poller (on the same rows re-created in PostgreSQL) produce the same canonical payload.
@Suite(.serialized, .timeLimit(.minutes(2)), .enabled(if: PostgresTestEnvironment.isConfigured,
                                                      "set CDC_POSTGRES_* (scripts/test-postgres.sh start)"))
struct ThreePathHashTests {
    /// Debezium's default `interval.handling.mode=numeric` is lossy, so the samples' interval column is left out on
    /// every path (as `CanonicalRowLiveTests` does).
    static let lossyColumn = "warranty"

    static func fixture(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(name)
    }

    /// The decoder's records for the snapshot reads of `products`, by record id, per sample variant.
    static func debeziumPayloads(columns: TableColumns) throws -> [String: [String: String]] {
        let text = try String(contentsOf: fixture("products-snapshot.jsonl"), encoding: .utf8)
        var payloads: [String: [String: String]] = [:]
        for line in text.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            var configuration = DebeziumDecoder.Configuration()
            try configuration.applyConnectorProperties([
                "decimal.handling.mode": "string", "time.precision.mode": "adaptive_time_microseconds",
            ])
            configuration.excludedColumns = [lossyColumn]
            var catalog = ColumnCatalog()
            catalog[TableName(schema: "public", table: "products")] = columns
            var decoder = DebeziumDecoder(configuration: configuration, catalog: catalog)
            let message = SourceMessage(topic: try #require(object["topic"] as? String),
                                        key: (object["key"] as? String).map { Array($0.utf8) },
                                        value: (object["value"] as? String).map { Array($0.utf8) })
            guard case .record(let record) = decoder.decode(message) else {
                Issue.record("a snapshot envelope did not decode to a record")
                continue
            }
            payloads[try #require(object["variant"] as? String), default: [:]][record.recordId] =
                String(decoding: record.recordPayload, as: UTF8.self)
        }
        return payloads
    }

    @Test func theDebeziumDecoderTheListenerAndThePollerHashTheRowsAlike() async throws {
        try await CaptureHarness.with { harness in
            // The samples' table and seed rows, then the trigger; re-inserting the rows records their exact states.
            try await harness.connection.execute("SET search_path TO \(harness.schema)")
            try await harness.connection.execute(
                try String(contentsOf: Self.fixture("products-seed.sql"), encoding: .utf8)
            )
            try await harness.connection.execute("RESET search_path")
            let table = harness.table("products")
            try await harness.setUpListen([table])
            try await harness.setUpPoll([table])
            try await harness.connection.execute("""
                CREATE TEMP TABLE seed AS SELECT * FROM \(harness.schema).products;
                DELETE FROM \(harness.schema).products;
                INSERT INTO \(harness.schema).products SELECT * FROM seed;
                DROP TABLE seed;
                """)

            let listened = RecordingSink(CertyoBatchSink(client: harness.client))
            var listenerConfiguration = try harness.listenerConfiguration()
            listenerConfiguration.excludedColumns = [Self.lossyColumn]
            let listener = OutboxListener(configuration: listenerConfiguration, sink: listened, logger: harness.logger)
            let runningListener = harness.start(listener)
            try await waitUntil(deadline: .seconds(30)) { listened.records.count == 6 }
            try await runningListener.stop()

            let polled = RecordingSink(CertyoBatchSink(client: harness.client))
            var pollerConfiguration = try harness.pollerConfiguration(table)
            pollerConfiguration.excludedColumns = [Self.lossyColumn]
            let poller = TablePoller(configuration: pollerConfiguration, sink: polled, logger: harness.logger)
            let runningPoller = harness.start(poller)
            // Row 3 has a NULL updated_at: polling never reads it (README).
            try await waitUntil(deadline: .seconds(30)) { polled.records.count == 2 }
            try await runningPoller.stop()

            let catalog = try await harness.connection.catalogTable(table)
            let debezium = try Self.debeziumPayloads(columns: TableColumns(catalog))
            #expect(debezium.keys.sorted() == ["json-noschemas-decstring-timemicros", "json-schemas-decstring-timemicros"])
            let inserted = listened.records.filter { $0.operationType == .insert }
            #expect(inserted.map(\.recordId).sorted() == ["1", "2", "3"])
            #expect(polled.records.map(\.recordId) == ["2", "1"], "in updated_at order: 1969, then 2024")
            for (variant, payloads) in debezium {
                #expect(payloads.count == 3)
                for record in inserted + polled.records {
                    #expect(String(decoding: record.recordPayload, as: UTF8.self) == payloads[record.recordId],
                            "\(variant): row \(record.recordId) via \(record.idempotencyKey.prefix(5))")
                }
            }
            // The hash is SHA-256 of those bytes: the same on every path.
            let hashes = Dictionary(grouping: inserted + polled.records, by: \.recordId).mapValues { Set($0.map(\.recordHash)) }
            #expect(hashes.values.allSatisfy { $0.count == 1 })
            #expect(inserted.allSatisfy { $0.idempotencyKey.hasPrefix("ntf1:") })
            #expect(polled.records.allSatisfy { $0.idempotencyKey.hasPrefix("poll1:") })
        }
    }
}
