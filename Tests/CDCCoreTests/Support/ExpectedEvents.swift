@testable import CDCCore

/// What each of the 26 sample events must become, written from schema.sql and workload.sql (not from the
/// decoder's output). Payloads are RFC 8785 text: members sorted, canonical values of canonical-row.md.
enum ExpectedEvents {
    enum Outcome {
        case record(op: OperationType, recordId: String, payload: String)
        /// SKU-005: `created_at` and `external_id` come from `now()` and `gen_random_uuid()`, different each run;
        /// `{created_at}` and `{external_id}` in the payload are replaced by the values in the message.
        case recordWithRunValues(op: OperationType, recordId: String, payload: String)
        case skip(code: String)
        case deadLetter(code: String, mentions: [String])
    }

    static let p1Snapshot = """
        {"attributes":{"codes":[1,2,3],"color":"red","eco":true,"size":{"h":2.5,"w":10}},\
        "created_at":"2024-03-15T09:30:00.123456Z","description":"\(Fixtures.bigText("p1"))",\
        "external_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","id":1,"in_stock":true,\
        "name":"Café Crème ☕ – 日本","opens_at":"08:30:00.000000","pickup_time":"17:45:30.123000",\
        "price":"19.99","rating":4.5,"release_date":"2024-04-01","sku":"SKU-001","stock_qty":12,\
        "synced_at":"2024-03-15T10:30:00.123000","tags":["eco","sale"],"thumbnail":"3q2+7w==",\
        "updated_at":"2024-03-15T10:30:00.500000","warranty":"P2Y3M4DT5H6M7.5S","weight_kg":"1.5"}
        """

    static let p2Snapshot = #"""
        {"attributes":[],"created_at":"1969-12-31T23:59:59.999999Z","description":"short description",\#
        "external_id":"00000000-0000-0000-0000-000000000000","id":2,"in_stock":false,\#
        "name":"Line1\nLine2 \"quoted\" \\ back","opens_at":"23:59:59.999999","pickup_time":"00:00:00.000000",\#
        "price":"0.00","rating":null,"release_date":"1969-12-31","sku":"SKU-002","stock_qty":0,\#
        "synced_at":"1969-12-31T23:59:59.999000","tags":["with space","comma,inside","quote\"d",null],\#
        "thumbnail":"","updated_at":"1969-12-31T23:59:59.000000","warranty":"P-1D","weight_kg":"0.000123"}
        """#

    static let p3Snapshot = """
        {"attributes":null,"created_at":"2038-01-19T03:14:08.000000Z","description":null,\
        "external_id":"b1ffcd00-0d1c-4ef8-bb6d-6bb9bd380a22","id":3,"in_stock":true,"name":"Nulls everywhere",\
        "opens_at":null,"pickup_time":null,"price":"9999999999.99","rating":null,"release_date":null,\
        "sku":"SKU-003","stock_qty":2147483647,"synced_at":null,"tags":null,"thumbnail":null,"updated_at":null,\
        "warranty":null,"weight_kg":null}
        """

    static func p4(description: String) -> String {
        """
        {"attributes":{"nested":{"k":[1,"two",null,3.5]},"ünï":"çødé"},\
        "created_at":"2025-01-02T08:04:05.678901Z","description":"\(description)",\
        "external_id":"c2ffcd00-0d1c-4ef8-bb6d-6bb9bd380a33","id":4,"in_stock":true,"name":"Widget Pro",\
        "opens_at":"12:00:00.000001","pickup_time":"12:00:00.001000","price":"1234.56","rating":3.14159,\
        "release_date":"2025-01-02","sku":"SKU-004","stock_qty":42,"synced_at":"2025-01-02T03:04:05.678000",\
        "tags":["new"],"thumbnail":"AP8=","updated_at":"2025-01-02T03:04:05.678901","warranty":"P1M",\
        "weight_kg":"12345678901234567890.123456789"}
        """
    }

    static let p5Insert = """
        {"attributes":null,"created_at":"{created_at}","description":null,"external_id":"{external_id}","id":5,\
        "in_stock":true,"name":"Minimal","opens_at":null,"pickup_time":null,"price":"5.00","rating":null,\
        "release_date":null,"sku":"SKU-005","stock_qty":0,"synced_at":null,"tags":null,"thumbnail":null,\
        "updated_at":null,"warranty":null,"weight_kg":null}
        """

    static let p1AfterStep8 = """
        {"attributes":{"codes":[1,2,3],"color":"blue","eco":true,"size":{"h":2.5,"w":10}},\
        "created_at":"2024-03-15T09:30:00.123456Z","description":"\(Fixtures.bigText("p1"))",\
        "external_id":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","id":1,"in_stock":false,\
        "name":"Café Crème ☕ – 日本","opens_at":"08:30:00.000000","pickup_time":"17:45:30.123000",\
        "price":"18.00","rating":4.5,"release_date":"2024-04-01","sku":"SKU-001","stock_qty":11,\
        "synced_at":"2024-03-15T10:30:00.123000","tags":["eco","sale","clearance"],"thumbnail":"3q2+7w==",\
        "updated_at":"2024-03-15T10:30:00.500000","warranty":"P2Y3M4DT5H6M7.5S","weight_kg":"1.5"}
        """

    static func orderLine(_ order: Int, _ line: Int, product: Int, quantity: Int, price: String, note: String?)
        -> String
    {
        let noteJSON = note.map { "\"\($0)\"" } ?? "null"
        return """
            {"line_no":\(line),"note":\(noteJSON),"order_id":\(order),"product_id":\(product),\
            "quantity":\(quantity),"unit_price":"\(price)"}
            """
    }

    /// The outcome of each sequence number, 0 to 25 (the table in tools/dbz/README.md).
    static let outcomes: [Outcome] = [
        .record(op: .upsert, recordId: "1", payload: p1Snapshot),
        .record(op: .upsert, recordId: "2", payload: p2Snapshot),
        .record(op: .upsert, recordId: "3", payload: p3Snapshot),
        .record(op: .upsert, recordId: "[1000,1]",
                payload: orderLine(1000, 1, product: 1, quantity: 2, price: "19.99", note: "first line")),
        .record(op: .upsert, recordId: "[1000,2]",
                payload: orderLine(1000, 2, product: 2, quantity: 1, price: "0.00", note: nil)),
        .record(op: .upsert, recordId: "[1000,3]",
                payload: orderLine(1000, 3, product: 3, quantity: 5, price: "-12.50", note: "refund line")),
        .record(op: .insert, recordId: "4", payload: p4(description: Fixtures.bigText("p4"))),
        .recordWithRunValues(op: .insert, recordId: "5", payload: p5Insert),
        .record(op: .insert, recordId: "[1001,1]",
                payload: orderLine(1001, 1, product: 4, quantity: 3, price: "1234.56", note: "tx line 1")),
        .record(op: .insert, recordId: "[1001,2]",
                payload: orderLine(1001, 2, product: 5, quantity: 1, price: "5.00", note: "tx line 2")),
        // 10: DEFAULT identity update leaving the TOASTed description: placeholder, never anchored.
        .deadLetter(code: "toast_placeholder",
                    mentions: ["public.products", "description", "REPLICA IDENTITY FULL"]),
        .record(op: .update, recordId: "[1001,1]",
                payload: orderLine(1001, 1, product: 4, quantity: 4, price: "1234.56", note: "qty changed")),
        // 12-14: primary-key change line_no 2 → 3.
        .record(op: .delete, recordId: "[1001,2]", payload: #"{"line_no":2,"order_id":1001}"#),
        .skip(code: "tombstone"),
        .record(op: .insert, recordId: "[1001,3]",
                payload: orderLine(1001, 3, product: 5, quantity: 1, price: "5.00", note: "tx line 2")),
        // 15-16: DEFAULT identity delete: the key only, never the placeholders of `before`.
        .record(op: .delete, recordId: "5", payload: #"{"id":5}"#),
        .skip(code: "tombstone"),
        .record(op: .update, recordId: "1", payload: p1AfterStep8),
        .record(op: .update, recordId: "4", payload: p4(description: Fixtures.bigText("p4-v2"))),
        .record(op: .update, recordId: "[1001,1]",
                payload: orderLine(1001, 1, product: 4, quantity: 4, price: "1200.00", note: "qty changed")),
        .record(op: .delete, recordId: "2", payload: #"{"id":2}"#),
        .skip(code: "tombstone"),
        .record(op: .delete, recordId: "[1000,3]", payload: #"{"line_no":3,"order_id":1000}"#),
        .skip(code: "tombstone"),
        .skip(code: "truncate"),
        .record(op: .insert, recordId: "[9999,1]",
                payload: orderLine(9999, 1, product: 1, quantity: 1, price: "0.01", note: "end-of-workload")),
    ]
}
