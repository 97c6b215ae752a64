import Crypto
import Foundation

@testable import CDCCore

/// The captured Debezium samples in `Fixtures/` (4 variants × 26 records) and the catalog of their tables.
enum Fixtures {
    struct Variant: Sendable, CustomStringConvertible {
        var name: String
        var hasSchemas: Bool
        var description: String { name }
    }

    static let variants: [Variant] = [
        Variant(name: "json-schemas", hasSchemas: true),
        Variant(name: "json-noschemas", hasSchemas: false),
        Variant(name: "json-schemas-decstring-timemicros", hasSchemas: true),
        Variant(name: "json-noschemas-decstring-timemicros", hasSchemas: false),
    ]

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    struct Line: Sendable {
        var seq: Int
        var message: SourceMessage
        /// The decoded value JSON (`payload` of a schema-carrying value), for reading what the test needs.
        var envelope: [String: Any]? { Fixtures.envelope(message) }
    }

    /// Reads a variant's lines with Foundation (independently of the decoder's own line reader).
    static func lines(_ variant: Variant) throws -> [Line] {
        let text = try String(contentsOf: directory.appendingPathComponent("\(variant.name).jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let headers = (object["headers"] as? [[String: Any]] ?? []).map {
                SourceMessage.Header(name: $0["key"] as! String, value: ($0["value"] as? String).map { Array($0.utf8) })
            }
            return Line(
                seq: object["seq"] as! Int,
                message: SourceMessage(
                    topic: object["topic"] as! String,
                    key: (object["key"] as? String).map { Array($0.utf8) },
                    value: (object["value"] as? String).map { Array($0.utf8) },
                    headers: headers))
        }
    }

    /// The connector properties the variant was captured with.
    static func connectorProperties(_ variant: Variant) throws -> [String: String] {
        let data = try Data(contentsOf: directory.appendingPathComponent("\(variant.name).config.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: String]
    }

    static func decoder(_ variant: Variant) throws -> DebeziumDecoder {
        var configuration = DebeziumDecoder.Configuration()
        try configuration.applyConnectorProperties(try connectorProperties(variant))
        return DebeziumDecoder(configuration: configuration, catalog: catalog)
    }

    static func envelope(_ message: SourceMessage) -> [String: Any]? {
        guard let value = message.value,
            let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any]
        else { return nil }
        if object["schema"] != nil, let payload = object["payload"] as? [String: Any] { return payload }
        return object
    }

    static let products = TableName(schema: "public", table: "products")
    static let orderLines = TableName(schema: "public", table: "order_lines")

    /// The catalog of schema.sql, written by hand as `format_type` and `typcategory` print it.
    static let productsColumns = TableColumns(
        columns: [
            .init(name: "id", formatType: "bigint", category: "N"),
            .init(name: "sku", formatType: "text", category: "S"),
            .init(name: "name", formatType: "text", category: "S"),
            .init(name: "price", formatType: "numeric(12,2)", category: "N"),
            .init(name: "weight_kg", formatType: "numeric", category: "N"),
            .init(name: "in_stock", formatType: "boolean", category: "B"),
            .init(name: "stock_qty", formatType: "integer", category: "N"),
            .init(name: "rating", formatType: "double precision", category: "N"),
            .init(name: "created_at", formatType: "timestamp with time zone", category: "D"),
            .init(name: "updated_at", formatType: "timestamp without time zone", category: "D"),
            .init(name: "release_date", formatType: "date", category: "D"),
            .init(name: "opens_at", formatType: "time without time zone", category: "D"),
            .init(name: "pickup_time", formatType: "time(3) without time zone", category: "D"),
            .init(name: "synced_at", formatType: "timestamp(3) without time zone", category: "D"),
            .init(name: "warranty", formatType: "interval", category: "T"),
            .init(name: "attributes", formatType: "jsonb", category: "U"),
            .init(name: "external_id", formatType: "uuid", category: "U"),
            .init(name: "tags", formatType: "text[]", category: "A"),
            .init(name: "thumbnail", formatType: "bytea", category: "U"),
            .init(name: "description", formatType: "text", category: "S"),
        ],
        primaryKey: ["id"])

    static let orderLinesColumns = TableColumns(
        columns: [
            .init(name: "order_id", formatType: "bigint", category: "N"),
            .init(name: "line_no", formatType: "integer", category: "N"),
            .init(name: "product_id", formatType: "bigint", category: "N"),
            .init(name: "quantity", formatType: "integer", category: "N"),
            .init(name: "unit_price", formatType: "numeric(12,2)", category: "N"),
            .init(name: "note", formatType: "text", category: "S"),
        ],
        primaryKey: ["order_id", "line_no"])

    static let catalog = ColumnCatalog(tables: [products: productsColumns, orderLines: orderLinesColumns])

    /// `public.big_text(seed)` of schema.sql: 200 MD5 hex digests of `seed || i`, concatenated.
    static func bigText(_ seed: String) -> String {
        (1...200).map { index in
            Insecure.MD5.hash(data: Array("\(seed)\(index)".utf8)).map { String(format: "%02x", $0) }.joined()
        }.joined()
    }
}

extension DecodeOutcome {
    var record: CertyoRecord? {
        if case .record(let record) = self { return record }
        return nil
    }

    var payloadText: String? { record.map { String(decoding: $0.recordPayload, as: UTF8.self) } }

    var skipCode: String? {
        if case .skip(let reason) = self { return reason.code }
        return nil
    }

    var deadLetter: DeadLetterReason? {
        if case .deadLetter(let reason) = self { return reason }
        return nil
    }
}

enum TestSHA256 {
    static func hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}
