import Foundation
import NIOHTTP1
import Testing

@testable import CertyoEmulator

/// Idempotency replay and conflict, tenancy, versions, and `GET /api/v1/records`.
@Suite("Idempotency, tenancy and queries", .timeLimit(.minutes(3)))
struct IdempotencyTests {
    @Test func singleReplayAndConflict() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            let body = recordJSON(id: "42", payload: #"{"id":42,"price":"19.99"}"#, key: "pg-0/1234")
            let first = try await send(emulator, .POST, "/api/v1/records", json: body)
            #expect(first.status == 202)
            #expect(first.json["idempotencyReplayed"] as? Bool == false)
            #expect(first.json["tenantId"] as? String == "acme-corp")
            #expect(first.json["recordId"] as? String == "42")
            let acceptedAt = try #require(first.json["acceptedAt"] as? String)
            #expect(acceptedAt.hasSuffix("Z") && acceptedAt.count == 20)

            // Same key, same record (operationType may differ): replay with the first hash and acceptedAt.
            let again = try await send(emulator, .POST, "/api/v1/records", json: body.replacingOccurrences(of: "upsert", with: "update"))
            #expect(again.status == 202)
            #expect(again.json["idempotencyReplayed"] as? Bool == true)
            #expect(again.json["recordHash"] as? String == first.json["recordHash"] as? String)
            #expect(again.json["acceptedAt"] as? String == acceptedAt)

            // Same key, other payload / recordId / collection / database: 409.
            for conflicting in [
                recordJSON(id: "42", payload: #"{"id":42,"price":"20.00"}"#, key: "pg-0/1234"),
                recordJSON(id: "43", payload: #"{"id":42,"price":"19.99"}"#, key: "pg-0/1234"),
                recordJSON(collection: "public.other", id: "42", payload: #"{"id":42,"price":"19.99"}"#, key: "pg-0/1234"),
                recordJSON(database: "otherdb", id: "42", payload: #"{"id":42,"price":"19.99"}"#, key: "pg-0/1234"),
            ] {
                let conflict = try await send(emulator, .POST, "/api/v1/records", json: conflicting)
                #expect(conflict.status == 409)
                #expect(conflict.errorCode == "idempotency_conflict")
                #expect(conflict.errorDetails.count == 1)
                #expect(conflict.errorDetails.first?["field"] as? String == "idempotencyKey")
                #expect(conflict.errorDetails.first?["reason"] as? String == "conflict")
                #expect(conflict.errorDetails.first?["index"] == nil)
            }
            let counters = await emulator.counters()
            #expect(counters.recordsStored == 1)
            #expect(counters.idempotencyReplays == 1)
            #expect(counters.idempotencyConflicts == 4)
            #expect(counters.responsesByStatus[409] == 4)
            #expect(await emulator.storedIdempotencyKeys(tenant: "acme-corp") == ["pg-0/1234": 1])
        }
    }

    @Test func bulkReplayConflictAndRepeatsWithinACall() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            let a = recordJSON(id: "a", payload: #"{"v":1}"#, key: "k-a")
            let b = recordJSON(id: "b", payload: #"{"v":2}"#, key: "k-b")
            let noKey = recordJSON(id: "n", payload: #"{"v":3}"#)
            // A key repeated within one call replays its first use.
            let first = try await send(emulator, .POST, "/api/v1/records/bulk", json: bulkJSON(records: [a, b, a, noKey]))
            #expect(first.status == 202)
            #expect(first.json["accepted"] as? Int == 4)
            let results = first.json["results"] as? [[String: Any]] ?? []
            #expect(results.map { $0["idempotencyReplayed"] as? Bool } == [false, false, true, false])
            #expect(results.map { $0["recordId"] as? String } == ["a", "b", "a", "n"])
            #expect(results[2]["recordHash"] as? String == results[0]["recordHash"] as? String)

            // Replays count in `accepted`; records without a key store a new version each time.
            let second = try await send(emulator, .POST, "/api/v1/records/bulk", json: bulkJSON(records: [noKey, b, a]))
            #expect(second.json["accepted"] as? Int == 3)
            let replayed = (second.json["results"] as? [[String: Any]] ?? []).map { $0["idempotencyReplayed"] as? Bool }
            #expect(replayed == [false, true, true])

            // One conflict fails the whole call, nothing stored.
            let c = recordJSON(id: "c", payload: #"{"v":4}"#, key: "k-c")
            let changedB = recordJSON(id: "b", payload: #"{"v":99}"#, key: "k-b")
            let repeatConflict = recordJSON(id: "c", payload: #"{"v":5}"#, key: "k-c")
            let failed = try await send(emulator, .POST, "/api/v1/records/bulk", json: bulkJSON(records: [c, changedB, noKey, repeatConflict]))
            #expect(failed.status == 409)
            #expect(failed.errorCode == "idempotency_conflict")
            let indexes = failed.errorDetails.compactMap { $0["index"] as? Int }
            #expect(indexes == [1, 3])
            #expect(failed.errorDetails.allSatisfy { $0["reason"] as? String == "conflict" && $0["field"] as? String == "idempotencyKey" })

            let counters = await emulator.counters()
            #expect(counters.recordsStored == 4)  // a, b, n, n
            #expect(await emulator.storedIdempotencyKeys(tenant: "acme-corp") == ["k-a": 1, "k-b": 1])
        }
    }

    @Test("another tenant never sees, verifies or replays a tenant's records")
    func tenancy() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            let acme = try await send(emulator, .POST, "/api/v1/records", json: recordJSON(id: "1", payload: #"{"a":1}"#, key: "shared-key"))
            #expect(acme.status == 202)
            // The same key in another tenant stores a new record (even with another payload: no conflict).
            let globex = try await send(
                emulator, .POST, "/api/v1/records", key: TestKeys.globex,
                json: recordJSON(tenant: "globex", id: "1", payload: #"{"a":2}"#, key: "shared-key")
            )
            #expect(globex.status == 202)
            #expect(globex.json["idempotencyReplayed"] as? Bool == false)
            let verify = try await send(
                emulator, .POST, "/api/v1/verify/record", key: TestKeys.globex,
                json: #"{"tenantId":"globex","database":"productdb","collection":"public.products","recordId":"1","recordHash":"\#(acme.json["recordHash"] as? String ?? "")"}"#
            )
            #expect(verify.status == 404)
            let query = try await send(emulator, .GET, "/api/v1/records?tenantId=globex", key: TestKeys.globex)
            let records = query.json["records"] as? [[String: Any]] ?? []
            #expect(records.count == 1)
            #expect((records.first?["recordPayload"] as? [String: Any])?["a"] as? Int == 2)
            #expect(await emulator.storedIdempotencyKeys(tenant: "globex") == ["shared-key": 1])
            #expect(await emulator.storedIdempotencyKeys(tenant: "acme-corp") == ["shared-key": 1])
        }
    }

    @Test("verify answers the latest version unless recordHash names one")
    func versions() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            var hashes: [String] = []
            for version in 1...3 {
                let response = try await send(emulator, .POST, "/api/v1/records", json: recordJSON(id: "v", payload: #"{"version":\#(version)}"#))
                hashes.append(response.json["recordHash"] as? String ?? "")
            }
            let base = #""tenantId":"acme-corp","database":"productdb","collection":"public.products","recordId":"v""#
            let latest = try await send(emulator, .POST, "/api/v1/verify/record", json: "{\(base)}")
            #expect(latest.json["recordHash"] as? String == hashes[2])
            let named = try await send(emulator, .POST, "/api/v1/verify/record", json: "{\(base),\"recordHash\":\"\(hashes[0])\"}")
            #expect(named.status == 200)
            #expect(named.json["recordHash"] as? String == hashes[0])
            let unknown = expectedHash(ofCanonical: "nothing")
            let missing = try await send(emulator, .POST, "/api/v1/verify/record", json: "{\(base),\"recordHash\":\"\(unknown)\"}")
            #expect(missing.status == 404)
            #expect(missing.errorCode == "not_found")
        }
    }

    @Test("GET /api/v1/records pages newest first through every index")
    func queryPaging() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            // 7 versions of record r in public.a, 2 records in public.b, 1 in another database.
            var records = (0..<7).map {
                recordJSON(collection: "public.a", id: "r", payload: #"{"n":\#($0)}"#, extra: #","clientId":"c\#($0)","recordVersion":"\#($0)""#)
            }
            records += [recordJSON(collection: "public.b", id: "x", payload: #"{"n":1}"#), recordJSON(collection: "public.b", id: "y", payload: #"{"n":2}"#)]
            records.append(recordJSON(database: "otherdb", collection: "public.a", id: "r", payload: #"{"n":0}"#))
            let ingest = try await send(emulator, .POST, "/api/v1/records/bulk", json: bulkJSON(records: records))
            #expect(ingest.status == 202)

            var seen: [Int] = []
            var cursor: String?
            var pages = 0
            repeat {
                var path = "/api/v1/records?tenantId=acme-corp&database=productdb&collection=public.a&recordId=r&limit=3"
                if let cursor { path += "&cursor=\(cursor)" }
                let page = try await send(emulator, .GET, path)
                #expect(page.status == 200)
                let items = page.json["records"] as? [[String: Any]] ?? []
                #expect(items.count <= 3)
                for item in items {
                    seen.append((item["recordPayload"] as? [String: Any])?["n"] as? Int ?? -1)
                    #expect(item["recordHash"] as? String != nil)
                    #expect(item["acceptedAt"] as? String != nil)
                    #expect(item["anchoredOnChain"] as? Bool == false)
                    #expect(item["operationType"] as? String == "upsert")
                    #expect(item["clientId"] as? String == "c\((item["recordPayload"] as? [String: Any])?["n"] as? Int ?? -1)")
                }
                cursor = page.json["nextCursor"] as? String
                if cursor == nil { #expect(page.json["nextCursor"] is NSNull) }
                pages += 1
            } while cursor != nil && pages < 10
            #expect(seen == [6, 5, 4, 3, 2, 1, 0])
            #expect(pages == 3)

            let collection = try await send(emulator, .GET, "/api/v1/records?tenantId=acme-corp&database=productdb&collection=public.b")
            #expect((collection.json["records"] as? [[String: Any]])?.compactMap { $0["recordId"] as? String } == ["y", "x"])
            let database = try await send(emulator, .GET, "/api/v1/records?tenantId=acme-corp&database=productdb")
            #expect((database.json["records"] as? [Any])?.count == 9)
            let tenant = try await send(emulator, .GET, "/api/v1/records?tenantId=acme-corp")
            #expect((tenant.json["records"] as? [Any])?.count == 10)
            let defaultLimit = try await send(emulator, .GET, "/api/v1/records?tenantId=acme-corp&limit=1000")
            #expect((defaultLimit.json["records"] as? [Any])?.count == 10)
            let none = try await send(emulator, .GET, "/api/v1/records?tenantId=acme-corp&database=productdb&collection=public.a&recordId=zzz")
            #expect(none.status == 200)
            #expect((none.json["records"] as? [Any])?.isEmpty == true)
            #expect(none.json["nextCursor"] is NSNull)
        }
    }
}
