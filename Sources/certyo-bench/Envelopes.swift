import CDCCore

/// The two envelope shapes the benchmark produces, built from the captured Debezium 3.6 samples
/// (`Tests/CDCCoreTests/Fixtures/json-*-decstring-timemicros.jsonl`, the `products` row of seq 0, with the
/// 6.4 kB `description` shortened, and `warranty` as `interval.handling.mode=string` writes it, as the shipped
/// `connector.json` sets): JsonConverter with `schemas.enable=false` (~1 kB) and `true` (~6 kB).
///
/// Every envelope is a distinct change (its own id and LSN), so idempotency keys never repeat.
enum EnvelopeShape: String, CaseIterable, Sendable {
    case schemaless
    case withSchemas

    var label: String { self == .schemaless ? "schemas off" : "schemas on" }

    /// The topic name Debezium gives the `public.products` table with `topic.prefix=certyo`.
    static let topic = "certyo.public.products"

    func key(id: Int) -> [UInt8] {
        switch self {
        case .schemaless:
            return Array(#"{"id":\#(id)}"#.utf8)
        case .withSchemas:
            return Array(
                #"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"default":0,"field":"id"}],"optional":false,"name":"certyo.public.products.Key"},"payload":{"id":\#(id)}}"#
                    .utf8)
        }
    }

    func value(id: Int) -> [UInt8] {
        let lsn = 26_847_912 + id * 64
        let tsMicros = 1_795_554_348_546_026 + id * 37
        let payload =
            #"{"before":null,"after":{"id":\#(id),"sku":"SKU-\#(id)","name":"Café Crème ☕ – 日本","price":"19.99","weight_kg":"1.5","in_stock":true,"stock_qty":12,"rating":4.5,"created_at":"2024-03-15T09:30:00.123456Z","updated_at":1710498600500000,"release_date":19814,"opens_at":30600000000,"pickup_time":63930123000,"synced_at":1710498600123,"warranty":"P2Y3M10DT4H5M6.5S","attributes":"{\"eco\": true, \"size\": {\"h\": 2.5, \"w\": 10}, \"codes\": [1, 2, 3], \"color\": \"red\"}","external_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","tags":["eco","sale"],"thumbnail":"3q2+7w==","description":"Single-origin beans, roasted weekly"},"source":{"version":"3.6.3.Final","connector":"postgresql","name":"certyo","ts_ms":\#(tsMicros / 1000),"snapshot":"false","db":"productdb","sequence":"[\"\#(lsn - 64)\",\"\#(lsn)\"]","ts_us":\#(tsMicros),"ts_ns":\#(tsMicros * 1000),"schema":"public","table":"products","txId":\#(818 + id),"lsn":\#(lsn),"xmin":null,"origin":null,"origin_lsn":null},"transaction":null,"op":"c","ts_ms":\#(tsMicros / 1000 + 115),"ts_us":\#(tsMicros + 115_344),"ts_ns":\#(tsMicros * 1000 + 115_344_846)}"#
        switch self {
        case .schemaless:
            return Array(payload.utf8)
        case .withSchemas:
            return Array((Self.valueSchemaPrefix + payload + "}").utf8)
        }
    }

    /// The headers Debezium adds to every record.
    static let headers: [(String, String)] = [
        ("__debezium.context.connectorLogicalName", "certyo"),
        ("__debezium.context.taskId", "0"),
        ("__debezium.context.connectorName", "postgresql"),
        ("__debezium.context.runId", "01a20f61-0d81-7424-aea8-4b4a8b72eea0"),
    ]

    /// `public.products` as PostgreSQL's catalog describes it (`format_type`, `typcategory`): what certyo-cdc reads
    /// through `PG_DSN` for schemaless envelopes.
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

    /// The DDL of that table, for the throwaway PostgreSQL that `scripts/bench.sh` starts.
    static let productsDDL = """
        CREATE TABLE IF NOT EXISTS public.products (
            id bigint PRIMARY KEY, sku text NOT NULL, name text NOT NULL, price numeric(12,2) NOT NULL,
            weight_kg numeric, in_stock boolean NOT NULL DEFAULT true, stock_qty integer NOT NULL DEFAULT 0,
            rating double precision, created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamp,
            release_date date, opens_at time, pickup_time time(3), synced_at timestamp(3), warranty interval,
            attributes jsonb, external_id uuid NOT NULL, tags text[], thumbnail bytea, description text);
        ALTER TABLE public.products REPLICA IDENTITY FULL;
        """

    private static let valueSchemaPrefix =
        #"{"schema":{"type":"struct","fields":[{"type":"struct","fields":[{"type":"int64","optional":false,"default":0,"field":"id"},{"type":"string","optional":false,"field":"sku"},{"type":"string","optional":false,"field":"name"},{"type":"string","optional":false,"field":"price"},{"type":"string","optional":true,"field":"weight_kg"},{"type":"boolean","optional":false,"default":true,"field":"in_stock"},{"type":"int32","optional":false,"default":0,"field":"stock_qty"},{"type":"double","optional":true,"field":"rating"},{"type":"string","optional":false,"name":"io.debezium.time.ZonedTimestamp","version":1,"default":"1970-01-01T00:00:00.000000Z","field":"created_at"},{"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"updated_at"},{"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,"field":"release_date"},{"type":"int64","optional":true,"name":"io.debezium.time.MicroTime","version":1,"field":"opens_at"},{"type":"int64","optional":true,"name":"io.debezium.time.MicroTime","version":1,"field":"pickup_time"},{"type":"int64","optional":true,"name":"io.debezium.time.Timestamp","version":1,"field":"synced_at"},{"type":"string","optional":true,"name":"io.debezium.time.Interval","version":1,"field":"warranty"},{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1,"field":"attributes"},{"type":"string","optional":false,"name":"io.debezium.data.Uuid","version":1,"default":"00000000-0000-0000-0000-000000000000","field":"external_id"},{"type":"array","items":{"type":"string","optional":true},"optional":true,"field":"tags"},{"type":"bytes","optional":true,"field":"thumbnail"},{"type":"string","optional":true,"field":"description"}],"optional":true,"name":"certyo.public.products.Value","field":"before"},{"type":"struct","fields":[{"type":"int64","optional":false,"default":0,"field":"id"},{"type":"string","optional":false,"field":"sku"},{"type":"string","optional":false,"field":"name"},{"type":"string","optional":false,"field":"price"},{"type":"string","optional":true,"field":"weight_kg"},{"type":"boolean","optional":false,"default":true,"field":"in_stock"},{"type":"int32","optional":false,"default":0,"field":"stock_qty"},{"type":"double","optional":true,"field":"rating"},{"type":"string","optional":false,"name":"io.debezium.time.ZonedTimestamp","version":1,"default":"1970-01-01T00:00:00.000000Z","field":"created_at"},{"type":"int64","optional":true,"name":"io.debezium.time.MicroTimestamp","version":1,"field":"updated_at"},{"type":"int32","optional":true,"name":"io.debezium.time.Date","version":1,"field":"release_date"},{"type":"int64","optional":true,"name":"io.debezium.time.MicroTime","version":1,"field":"opens_at"},{"type":"int64","optional":true,"name":"io.debezium.time.MicroTime","version":1,"field":"pickup_time"},{"type":"int64","optional":true,"name":"io.debezium.time.Timestamp","version":1,"field":"synced_at"},{"type":"string","optional":true,"name":"io.debezium.time.Interval","version":1,"field":"warranty"},{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1,"field":"attributes"},{"type":"string","optional":false,"name":"io.debezium.data.Uuid","version":1,"default":"00000000-0000-0000-0000-000000000000","field":"external_id"},{"type":"array","items":{"type":"string","optional":true},"optional":true,"field":"tags"},{"type":"bytes","optional":true,"field":"thumbnail"},{"type":"string","optional":true,"field":"description"}],"optional":true,"name":"certyo.public.products.Value","field":"after"},{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},{"type":"string","optional":false,"field":"schema"},{"type":"string","optional":false,"field":"table"},{"type":"int64","optional":true,"field":"txId"},{"type":"int64","optional":true,"field":"lsn"},{"type":"int64","optional":true,"field":"xmin"},{"type":"string","optional":true,"field":"origin"},{"type":"int64","optional":true,"field":"origin_lsn"}],"optional":false,"name":"io.debezium.connector.postgresql.Source","version":1,"field":"source"},{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"},{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"}],"optional":false,"name":"certyo.public.products.Envelope","version":2},"payload":"#
}
