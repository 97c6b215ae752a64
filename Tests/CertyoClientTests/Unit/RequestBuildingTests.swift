import CDCCore
import Foundation
import Testing

@testable import CertyoClient

@Suite struct RequestBuildingTests {
    static func record(
        _ id: String,
        payload: String = #"{"id":1,"name":"a"}"#,
        timestamp: String? = "2026-04-14T10:30:00Z"
    ) -> CertyoRecord {
        CertyoRecord(
            database: "productdb", collection: "public.products", recordId: id,
            recordPayload: Array(payload.utf8), operationType: .update, sourceTimestamp: timestamp,
            idempotencyKey: "certyo.public.products-0-\(id)"
        )
    }

    @Test func bulkBodyCarriesEveryFieldAndTheTenantOnEachRecord() throws {
        let body = BulkBody.bulk(tenantId: "acme-corp", records: [Self.record("1"), Self.record("2", timestamp: nil)])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(object["tenantId"] as? String == "acme-corp")
        let records = try #require(object["records"] as? [[String: Any]])
        #expect(records.count == 2)
        let first = records[0]
        #expect(first["tenantId"] as? String == "acme-corp")
        #expect(first["database"] as? String == "productdb")
        #expect(first["collection"] as? String == "public.products")
        #expect(first["recordId"] as? String == "1")
        #expect(first["operationType"] as? String == "update")
        #expect(first["sourceTimestamp"] as? String == "2026-04-14T10:30:00Z")
        #expect(first["idempotencyKey"] as? String == "certyo.public.products-0-1")
        #expect((first["recordPayload"] as? [String: Any])?["name"] as? String == "a")
        #expect(records[1]["sourceTimestamp"] == nil, "an unknown timestamp is left out, not sent as null")
        #expect(
            Set(first.keys) == [
                "tenantId", "database", "collection", "recordId", "recordPayload", "operationType", "sourceTimestamp",
                "idempotencyKey",
            ])
    }

    @Test func payloadBytesAreSplicedVerbatim() {
        // Key order and number spelling must survive: these are the bytes Certyo hashes.
        let payload = #"{"b":1e+21,"a":"é\n"}"#
        let body = BulkBody.single(tenantId: "t", record: Self.record("7", payload: payload))
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.contains(#""recordPayload":{"b":1e+21,"a":"é\n"},"#))
        #expect(text.hasPrefix(#"{"tenantId":"t","database":"productdb""#))
    }

    @Test func stringsAreEscaped() throws {
        var buffer: [UInt8] = []
        JSONText.appendString("q\"b\\s/\u{08}\u{0C}\n\r\t\u{01}\u{1F}é😀", to: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == #""q\"b\\s/\b\f\n\r\t\u0001\u001fé😀""#)
        let decoded = try JSONSerialization.jsonObject(with: Data(buffer), options: .fragmentsAllowed) as? String
        #expect(decoded == "q\"b\\s/\u{08}\u{0C}\n\r\t\u{01}\u{1F}é😀")
    }

    @Test func queryValuesArePercentEncoded() throws {
        let base = try BaseURL(
            validating: .init(baseURL: "http://127.0.0.1:8080/", apiKey: .init("cty_k"), tenantId: "t"))
        let url = base.url("/api/v1/records", query: [("recordId", "a+b&c=d/é"), ("limit", "5")])
        #expect(url == "http://127.0.0.1:8080/api/v1/records?recordId=a%2Bb%26c%3Dd%2F%C3%A9&limit=5")
        #expect(base.endpoint("GET", "/api/v1/records") == "GET http://127.0.0.1:8080/api/v1/records")
    }

    @Test func baseURLKeepsAPathPrefix() throws {
        let base = try BaseURL(
            validating: .init(baseURL: "https://gw.example.com/certyo//", apiKey: .init("cty_k"), tenantId: "t")
        )
        #expect(base.url("/api/v1/records/bulk") == "https://gw.example.com/certyo/api/v1/records/bulk")
    }

    @Test(arguments: [
        ("ftp://host", "cty_k", "t", "http:// or https://"),
        ("not a url", "cty_k", "t", "http:// or https://"),
        ("https://user:hunter2@host", "cty_k", "t", "credentials"),
        ("https://host?x=1", "cty_k", "t", "query"),
        ("https://host", "  \n", "t", "API key is empty"),
        ("https://host", "cty_a b", "t", "cannot go in an HTTP header"),
        ("https://host", "cty_k", "", "tenant id is empty"),
    ])
    func unusableConfigurationsAreRefusedWithTheFix(
        baseURL: String, key: String, tenant: String, expected: String
    ) throws {
        let configuration = CertyoClient.Configuration(baseURL: baseURL, apiKey: .init(key), tenantId: tenant)
        let error = try #require(throws: CertyoError.self) { try BaseURL(validating: configuration) }
        #expect(error.code == .invalidConfiguration)
        #expect(error.isFatal && !error.isRetriable)
        #expect(error.description.contains(expected), "\(error)")
        #expect(error.fix != nil)
        expectNoKey(in: error.description, keys: ["hunter2", "cty_a b"])
    }

    @Test func defaultsAreTheDocumentedOnes() {
        let configuration = CertyoClient.Configuration(apiKey: .init("cty_k"), tenantId: "t")
        #expect(configuration.baseURL == "https://www.certyos.com")
        #expect(configuration.connectTimeout == .seconds(10))
        #expect(configuration.requestTimeout == .seconds(30))
        #expect(configuration.maximumBulkRecords == 1000)
        #expect(configuration.idleConnectionTimeout == .seconds(60))
    }
}
