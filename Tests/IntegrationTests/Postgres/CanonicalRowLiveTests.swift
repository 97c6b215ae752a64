import CDCCore
import CertyoCDC
import Foundation
import PostgresBridge
import Testing

/// One row state, one hash: the rows of the Debezium samples' `products` table, re-created in a real PostgreSQL
/// and read back with a plain `SELECT` under the pinned settings, give byte for byte the payloads the decoder
/// builds from the real snapshot envelopes Debezium emitted for those rows (with and without schemas).
@Suite(
    .enabled(
        if: PostgresTestEnvironment.isConfigured,
        "CDC_POSTGRES_HOST/PASSWORD unset: start PostgreSQL 15 with scripts/test-postgres.sh start, export its output"
    ),
    .timeLimit(.minutes(1))
)
struct CanonicalRowLiveTests {
    /// The samples were captured with Debezium's default `interval.handling.mode=numeric`, which is lossy
    /// (a month becomes 30.4375 days): that column is compared separately, against PostgreSQL's own output.
    private static let lossyColumn = "warranty"

    @Test func selectedRowsHashLikeTheDebeziumSnapshotOfTheSameRows() async throws {
        var configuration = try PostgresTestEnvironment.configuration()
        configuration.sessionSettings = PostgresConfiguration.SessionSetting.canonicalTextOutput
        let connection = try await PostgresConnection.connect(configuration: configuration,
                                                              logger: PostgresTestEnvironment.logger)
        let schema = PostgresTestEnvironment.uniqueTableName("canon")
        try await connection.execute("CREATE SCHEMA \(schema)")
        do {
            try await compare(connection, schema: schema)
        } catch {
            _ = try? await connection.execute("DROP SCHEMA \(schema) CASCADE")
            await connection.close()
            throw error
        }
        try await connection.execute("DROP SCHEMA \(schema) CASCADE")
        await connection.close()
    }

    private func compare(_ connection: PostgresConnection, schema: String) async throws {
        let seed = try String(contentsOf: fixture("products-seed.sql"), encoding: .utf8)
        try await connection.execute("SET search_path TO \(schema)")
        try await connection.execute(seed)

        let catalog = try await connection.catalogTable(QualifiedTableName(schema: schema, table: "products"))
        let columns = TableColumns(catalog)
        let canonicalizer = PostgresRowCanonicalizer(
            table: TableName(schema: "public", table: "products"), columns: columns,
            excludedColumns: [Self.lossyColumn]
        )
        let rows = try await connection.query("SELECT * FROM \(schema).products ORDER BY id")
        var selected: [String: (payload: [UInt8], warranty: String?)] = [:]
        for row in rows {
            var cells: [String: String?] = [:]
            for (column, cell) in zip(rows.columns, row.cells) { cells[column.name] = cell }
            var warranty: String?
            if let text = row[column: Self.lossyColumn] {
                var out: [UInt8] = []
                try PostgresRowCanonicalizer.appendValue(text, type: .interval, to: &out)
                warranty = String(decoding: out, as: UTF8.self)
            }
            selected[try canonicalizer.recordId(cells)] = (try canonicalizer.payload(cells), warranty)
        }
        #expect(selected.count == 3)
        #expect(selected["1"]?.warranty == "\"P2Y3M4DT5H6M7.5S\"")
        #expect(selected["2"]?.warranty == "\"P-1D\"")
        #expect(selected["3"]?.warranty == nil)

        var compared: [String: Int] = [:]
        for line in try snapshotLines() {
            var decoderConfiguration = DebeziumDecoder.Configuration()
            try decoderConfiguration.applyConnectorProperties([
                "decimal.handling.mode": "string", "time.precision.mode": "adaptive_time_microseconds",
            ])
            decoderConfiguration.excludedColumns = [Self.lossyColumn]
            var catalogForDecoder = ColumnCatalog()
            catalogForDecoder[TableName(schema: "public", table: "products")] = columns
            var decoder = DebeziumDecoder(configuration: decoderConfiguration, catalog: catalogForDecoder)
            guard case .record(let record) = decoder.decode(line.message) else {
                Issue.record("\(line.variant): the snapshot envelope did not decode to a record")
                continue
            }
            let row = try #require(selected[record.recordId], "no row \(record.recordId) read back")
            #expect(String(decoding: row.payload, as: UTF8.self)
                    == String(decoding: record.recordPayload, as: UTF8.self), "\(line.variant) id \(record.recordId)")
            var fromSelect = record
            fromSelect.recordPayload = row.payload
            #expect(fromSelect.recordHash == record.recordHash)
            compared[line.variant, default: 0] += 1
        }
        #expect(compared == ["json-schemas-decstring-timemicros": 3, "json-noschemas-decstring-timemicros": 3])
    }

    private struct Line {
        var variant: String
        var message: SourceMessage
    }

    private func fixture(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(name)
    }

    /// The `r` events of `products` from two real sample variants (lossless decimals and times).
    private func snapshotLines() throws -> [Line] {
        let text = try String(contentsOf: fixture("products-snapshot.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return Line(
                variant: object["variant"] as! String,
                message: SourceMessage(
                    topic: object["topic"] as! String,
                    key: (object["key"] as? String).map { Array($0.utf8) },
                    value: (object["value"] as? String).map { Array($0.utf8) },
                    headers: []
                )
            )
        }
    }
}
