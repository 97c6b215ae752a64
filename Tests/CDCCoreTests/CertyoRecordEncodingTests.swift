import Foundation
import Testing

@testable import CDCCore

@Suite struct CertyoRecordEncodingTests {
    static let record = CertyoRecord(
        database: "productdb", collection: "public.products", recordId: "42",
        recordPayload: Array(#"{"id":42,"name":"Caf\u00e9 \"x\""}"#.utf8), operationType: .insert,
        sourceTimestamp: "2024-03-15T09:30:00.123456Z", idempotencyKey: "dbz1:productdb:public.products:1:c:42")

    @Test func recordHashIsSHA256OfThePayloadBytes() {
        var empty = Self.record
        empty.recordPayload = Array("{}".utf8)
        // SHA-256("{}"), a published test value.
        #expect(empty.recordHash == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
    }

    @Test func bulkJSONSplicesThePayloadAndCarriesEveryField() throws {
        var buffer: [UInt8] = Array("[".utf8)
        Self.record.appendJSON(to: &buffer, tenantId: "acme \"corp\"")
        buffer.append(contentsOf: "]".utf8)
        let text = String(decoding: buffer, as: UTF8.self)
        #expect(text.contains(#""recordPayload":{"id":42,"name":"Caf\u00e9 \"x\""}"#))
        let array = try #require(try JSONSerialization.jsonObject(with: Data(buffer)) as? [[String: Any]])
        let object = try #require(array.first)
        #expect(object["tenantId"] as? String == "acme \"corp\"")
        #expect(object["database"] as? String == "productdb")
        #expect(object["collection"] as? String == "public.products")
        #expect(object["recordId"] as? String == "42")
        #expect(object["operationType"] as? String == "insert")
        #expect(object["sourceTimestamp"] as? String == "2024-03-15T09:30:00.123456Z")
        #expect(object["idempotencyKey"] as? String == "dbz1:productdb:public.products:1:c:42")
        #expect((object["recordPayload"] as? [String: Any])?["name"] as? String == "Café \"x\"")
    }
}
