import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1
import Testing

@testable import CertyoEmulator

/// Every status code and error body, and which error wins when several apply.
@Suite("Errors and their precedence", .timeLimit(.minutes(3)))
struct ErrorTests {
    @Test func unauthorized() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            let body = recordJSON(id: "1", payload: #"{"a":1}"#)
            let missing = try await send(emulator, .POST, "/api/v1/records", key: nil, json: body)
            #expect(missing.status == 401)
            #expect(missing.errorCode == "unauthorized")
            #expect(missing.errorMessage?.contains("X-API-Key") == true)
            let secret = "cty_notavalidkey0000000"
            let unknown = try await send(emulator, .POST, "/api/v1/records", key: secret, json: body)
            #expect(unknown.status == 401)
            #expect(unknown.errorCode == "unauthorized")
            #expect(!unknown.text.contains(secret))
            #expect(await emulator.counters().recordsStored == 0)
        }
    }

    @Test func forbiddenForAnotherTenant() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            let single = try await send(
                emulator, .POST, "/api/v1/records", key: TestKeys.globex, json: recordJSON(id: "1", payload: #"{"a":1}"#)
            )
            #expect(single.status == 403)
            #expect(single.errorCode == "forbidden")
            #expect(!single.text.contains(TestKeys.globex))
            let bulk = try await send(
                emulator, .POST, "/api/v1/records/bulk", key: TestKeys.globex,
                json: bulkJSON(records: [recordJSON(id: "1", payload: #"{"a":1}"#)])
            )
            #expect(bulk.status == 403)
            let verify = try await send(
                emulator, .POST, "/api/v1/verify/record", key: TestKeys.globex,
                json: #"{"tenantId":"acme-corp","database":"d","collection":"c","recordId":"1"}"#
            )
            #expect(verify.status == 403)
            let query = try await send(emulator, .GET, "/api/v1/records?tenantId=acme-corp", key: TestKeys.globex)
            #expect(query.status == 403)
            #expect(query.errorCode == "forbidden")
        }
    }

    @Test func notFoundAndMethodNotAllowed() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            let unknown = try await send(emulator, .GET, "/api/v2/nothing")
            #expect(unknown.status == 404)
            #expect(unknown.errorCode == "not_found")
            let wrongMethod = try await send(emulator, .DELETE, "/api/v1/records")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.errorCode == "method_not_allowed")
            let getBulk = try await send(emulator, .GET, "/api/v1/records/bulk")
            #expect(getBulk.status == 405)
            let verifyGet = try await send(emulator, .GET, "/api/v1/verify/record")
            #expect(verifyGet.status == 405)
            let record = try await send(
                emulator, .POST, "/api/v1/verify/record",
                json: #"{"tenantId":"acme-corp","database":"d","collection":"c","recordId":"nope"}"#
            )
            #expect(record.status == 404)
            #expect(record.errorCode == "not_found")
        }
    }

    @Test func payloadTooLarge() async throws {
        var configuration = EmulatorConfiguration.forTests()
        configuration.maxBodyBytes = 2000
        try await withCertyoEmulator(configuration: configuration, logger: testLogger) { emulator in
            let big = recordJSON(id: "1", payload: #"{"a":""# + String(repeating: "x", count: 3000) + #""}"#)
            let response = try await send(emulator, .POST, "/api/v1/records", json: big)
            #expect(response.status == 413)
            #expect(response.errorCode == "payload_too_large")
            #expect(response.errorMessage?.contains("2000") == true)
            // 413 by Content-Length wins over a body that is not even JSON, and over the wrong tenant.
            let junk = try await send(emulator, .POST, "/api/v1/records/bulk", key: TestKeys.globex, body: Array(repeating: 0x41, count: 2500))
            #expect(junk.status == 413)
            #expect(junk.errorCode == "payload_too_large")
            // The connection stays usable.
            let small = try await send(emulator, .POST, "/api/v1/records", json: recordJSON(id: "1", payload: #"{"a":1}"#))
            #expect(small.status == 202)
        }
    }

    @Test func batchTooLarge() async throws {
        var configuration = EmulatorConfiguration.forTests()
        configuration.maxBatch = 3
        try await withCertyoEmulator(configuration: configuration, logger: testLogger) { emulator in
            let records = (0..<4).map { recordJSON(id: "\($0)", payload: #"{"a":1}"#) }
            let response = try await send(emulator, .POST, "/api/v1/records/bulk", json: bulkJSON(records: records))
            #expect(response.status == 413)
            #expect(response.errorCode == "batch_too_large")
            #expect(response.errorMessage?.contains("3") == true)
            // 413 batch_too_large comes after 403, before invalid records.
            let wrongTenant = try await send(emulator, .POST, "/api/v1/records/bulk", key: TestKeys.globex, json: bulkJSON(records: records))
            #expect(wrongTenant.status == 403)
            let invalid = (0..<4).map { _ in "{}" }
            let tooManyInvalid = try await send(emulator, .POST, "/api/v1/records/bulk", json: bulkJSON(records: invalid))
            #expect(tooManyInvalid.status == 413)
            let three = try await send(emulator, .POST, "/api/v1/records/bulk", json: bulkJSON(records: Array(records.prefix(3))))
            #expect(three.status == 202)
            #expect(three.json["accepted"] as? Int == 3)
        }
    }

    @Test func bodyNotJSON() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            for body in ["not json", "{\"tenantId\":", "[1,2]", "\"text\"", "{\"a\":1,\"a\":2}"] {
                let response = try await send(emulator, .POST, "/api/v1/records/bulk", json: body)
                #expect(response.status == 400, "\(body)")
                #expect(response.errorCode == "invalid_request", "\(body)")
            }
            // Not JSON comes before the tenant check: a wrong key's tenant cannot be judged from a broken body.
            let response = try await send(emulator, .POST, "/api/v1/records", key: TestKeys.globex, json: "{")
            #expect(response.status == 400)
        }
    }

    @Test func tenantIdMissingComesBeforeForbidden() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            let missing = try await send(emulator, .POST, "/api/v1/records/bulk", key: TestKeys.globex, json: #"{"records":[]}"#)
            #expect(missing.status == 400)
            #expect(missing.errorCode == "invalid_record")
            #expect(missing.errorDetails.first?["field"] as? String == "tenantId")
            #expect(missing.errorDetails.first?["reason"] as? String == "missing")
            #expect(missing.errorDetails.first?["index"] == nil)
            let wrongType = try await send(emulator, .POST, "/api/v1/records", json: #"{"tenantId":7}"#)
            #expect(wrongType.status == 400)
            #expect(wrongType.errorDetails.first?["reason"] as? String == "wrong_type")
            let verify = try await send(emulator, .POST, "/api/v1/verify/record", key: TestKeys.globex, json: #"{"recordId":"1"}"#)
            #expect(verify.status == 400)
            #expect(verify.errorCode == "invalid_request")
            let query = try await send(emulator, .GET, "/api/v1/records?database=x")
            #expect(query.status == 400)
            #expect(query.errorCode == "invalid_request")
        }
    }

    @Test("a bulk call with invalid records stores nothing and names each problem by index")
    func bulkAllOrNothing() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            var records = (0..<20).map { recordJSON(id: "\($0)", payload: #"{"a":\#($0)}"#) }
            records[3] = #"{"tenantId":"acme-corp","database":"d","collection":"c","recordPayload":{"a":1}}"#
            records[5] = #"{"tenantId":"acme-corp","database":"","collection":"c","recordId":"5","recordPayload":[1]}"#
            records[8] = #"{"tenantId":"globex","database":"d","collection":"c","recordId":"8","recordPayload":{"a":1}}"#
            records[11] = recordJSON(id: "11", payload: #"{"a":1}"#, extra: #","operationType":"merge""#)
                .replacingOccurrences(of: #""operationType":"upsert","#, with: "")
            records[13] = #"{"tenantId":"acme-corp","database":"d","collection":5,"recordId":"13","recordPayload":{"a":1},"sourceTimestamp":"yesterday"}"#
            records[15] = "42"
            records[17] = #"{"tenantId":"acme-corp","database":"d","collection":"c","recordId":"17","recordPayload":{}}"#
            records[19] = #"{"tenantId":"acme-corp","database":"d","collection":"c","recordId":"19","recordPayload":{"a":1},"idempotencyKey":"","clientId":3}"#
            let response = try await send(emulator, .POST, "/api/v1/records/bulk", json: bulkJSON(records: records))
            #expect(response.status == 400)
            #expect(response.errorCode == "invalid_record")
            let found = Set(response.errorDetails.map { detail in
                "\(detail["index"] as? Int ?? -1):\(detail["field"] as? String ?? "-"):\(detail["reason"] as? String ?? "?")"
            })
            let expected: Set<String> = [
                "3:recordId:missing",
                "5:database:empty", "5:recordPayload:not_object",
                "8:tenantId:tenant_mismatch",
                "11:operationType:unknown_value",
                "13:collection:wrong_type", "13:sourceTimestamp:wrong_type",
                "15:-:not_object",
                "17:recordPayload:empty",
                "19:idempotencyKey:empty", "19:clientId:wrong_type",
            ]
            #expect(found == expected)
            #expect(response.errorDetails.count == expected.count)
            #expect(response.errorMessage?.contains("records[3].recordId") == true)
            #expect(await emulator.counters().recordsStored == 0)

            let empty = try await send(emulator, .POST, "/api/v1/records/bulk", json: #"{"tenantId":"acme-corp","records":[]}"#)
            #expect(empty.status == 400)
            #expect(empty.errorDetails.first?["field"] as? String == "records")
            #expect(empty.errorDetails.first?["reason"] as? String == "empty")
            let notArray = try await send(emulator, .POST, "/api/v1/records/bulk", json: #"{"tenantId":"acme-corp","records":{}}"#)
            #expect(notArray.errorDetails.first?["reason"] as? String == "wrong_type")
            let absent = try await send(emulator, .POST, "/api/v1/records/bulk", json: #"{"tenantId":"acme-corp"}"#)
            #expect(absent.errorDetails.first?["reason"] as? String == "missing")
        }
    }

    @Test("single-record details have no index")
    func singleRecordDetails() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            let response = try await send(
                emulator, .POST, "/api/v1/records",
                json: #"{"tenantId":"acme-corp","database":"d","collection":"c","recordId":null,"recordPayload":"x","operationType":"upsert","sourceTimestamp":"2024-03-15T09:30:00.123456Z"}"#
            )
            #expect(response.status == 400)
            let details = response.errorDetails
            #expect(details.count == 2)
            #expect(details.allSatisfy { $0["index"] == nil })
            #expect(Set(details.compactMap { $0["field"] as? String }) == ["recordId", "recordPayload"])
        }
    }

    @Test("401 beats 429, 413 and 400; 429 beats 413")
    func precedence() async throws {
        var configuration = EmulatorConfiguration.forTests()
        configuration.maxBodyBytes = 100
        configuration.rateLimit = RateLimit(requestsPerSecond: 0.001, burst: 1)
        try await withCertyoEmulator(configuration: configuration, logger: testLogger) { emulator in
            let big = Array(repeating: UInt8(ascii: "x"), count: 500)
            let noKey = try await send(emulator, .POST, "/api/v1/records", key: nil, body: big)
            #expect(noKey.status == 401)
            // The first request with a key takes the only token.
            let first = try await send(emulator, .POST, "/api/v1/records", body: big)
            #expect(first.status == 413)
            let limited = try await send(emulator, .POST, "/api/v1/records", body: big)
            #expect(limited.status == 429)
            #expect(limited.errorCode == "rate_limited")
            #expect(Int(limited.headers.first(name: "Retry-After") ?? "") ?? 0 >= 1)
            // Another tenant has its own bucket.
            let other = try await send(emulator, .POST, "/api/v1/records", key: TestKeys.globex, json: "{")
            #expect(other.status == 400)
        }
    }

    @Test func invalidVerifyAndQueryRequests() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            for body in [
                #"{"tenantId":"acme-corp","collection":"c","recordId":"1"}"#,
                #"{"tenantId":"acme-corp","database":"d","collection":"c","recordId":""}"#,
                #"{"tenantId":"acme-corp","database":"d","collection":"c","recordId":1}"#,
                #"{"tenantId":"acme-corp","database":"d","collection":"c","recordId":"1","recordHash":"md5:00"}"#,
            ] {
                let response = try await send(emulator, .POST, "/api/v1/verify/record", json: body)
                #expect(response.status == 400, "\(body)")
                #expect(response.errorCode == "invalid_request", "\(body)")
            }
            for query in ["recordId=1", "database=d&recordId=1", "limit=0", "limit=1001", "limit=x", "cursor=zz", "database="] {
                let response = try await send(emulator, .GET, "/api/v1/records?tenantId=acme-corp&\(query)")
                #expect(response.status == 400, "\(query)")
                #expect(response.errorCode == "invalid_request", "\(query)")
            }
        }
    }
}

/// API keys never reach logs, error bodies or the request log.
@Suite("Secrets", .timeLimit(.minutes(3)))
struct SecretTests {
    /// Keeps every log line, with its metadata, as text.
    final class RecordingLogHandler: LogHandler, @unchecked Sendable {
        // @unchecked: `lines` is only touched under `lock`.
        private let lock = NSLock()
        private var lines: [String] = []
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let text = "\(event.level) \(event.message) \(event.metadata ?? [:]) \(metadata) \(event.source)"
            lock.lock()
            lines.append(text)
            lock.unlock()
        }

        var recorded: [String] {
            lock.lock()
            defer { lock.unlock() }
            return lines
        }
    }

    @Test func keysNeverAppear() async throws {
        let handler = RecordingLogHandler()
        let logger = Logger(label: "secrets") { _ in handler }
        let wrongKey = "cty_wrongwrongwrongwrong"
        var bodies: [String] = []
        try await withCertyoEmulator(configuration: .forTests(), logger: logger) { emulator in
            await emulator.setFaults(FaultConfiguration(rateLimit: RateLimit(requestsPerSecond: 0.001, burst: 2)))
            for key in [TestKeys.acme, wrongKey, TestKeys.globex, TestKeys.acme, TestKeys.acme] {
                let response = try await send(emulator, .POST, "/api/v1/records", key: key, json: recordJSON(id: "1", payload: #"{"a":1}"#))
                bodies.append(response.text)
            }
            let log = await emulator.requestLog()
            bodies.append("\(log)")
            bodies.append(try await send(emulator, .GET, "/__admin/requests", key: nil).text)
            bodies.append(try await send(emulator, .GET, "/__admin/faults", key: nil).text)
        }
        #expect(bodies.contains { $0.contains("rate_limited") })
        #expect(!handler.recorded.isEmpty)
        for key in [TestKeys.acme, TestKeys.globex, wrongKey] {
            #expect(!handler.recorded.contains { $0.contains(key) })
            #expect(!bodies.contains { $0.contains(key) })
        }
    }
}
