import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import CertyoEmulator

/// Every injected fault, the admin path over HTTP, and determinism under a seed.
@Suite("Faults and the admin path", .timeLimit(.minutes(3)))
struct FaultTests {
    @Test("rate limit: 429 with Retry-After once the tenant's bucket is empty")
    func rateLimit() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            // Two tokens, refilled at one every 100 s: the third request finds none, however slow the machine.
            await emulator.setFaults(FaultConfiguration(rateLimit: RateLimit(requestsPerSecond: 0.01, burst: 2)))
            var statuses: [Int] = []
            var retryAfter: Int?
            for index in 0..<3 {
                let response = try await send(emulator, .POST, "/api/v1/records", json: recordJSON(id: "\(index)", payload: #"{"a":1}"#))
                statuses.append(response.status)
                if response.status == 429 {
                    retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0) }
                    #expect(response.errorCode == "rate_limited")
                    #expect(response.errorMessage?.contains("acme-corp") == true)
                }
            }
            #expect(statuses == [202, 202, 429])
            #expect((90...100).contains(retryAfter ?? 0))
            // Another tenant has its own bucket.
            let other = try await send(
                emulator, .POST, "/api/v1/records", key: TestKeys.globex,
                json: recordJSON(tenant: "globex", id: "1", payload: #"{"a":1}"#)
            )
            #expect(other.status == 202)
            let log = await emulator.requestLog()
            #expect(log.map(\.status) == [202, 202, 429, 202])
            #expect(log[2].retryAfterSeconds == retryAfter)
            #expect(log[2].tenantId == "acme-corp")
            let counters = await emulator.counters()
            #expect(counters.rateLimited == 1)
            #expect(counters.recordsStored == 3)
        }
    }

    @Test("waiting as long as Retry-After says gets the next request through")
    func retryAfterIsEnough() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            await emulator.setFaults(FaultConfiguration(rateLimit: RateLimit(requestsPerSecond: 0.2, burst: 1)))
            // Four requests at once: one takes the token, the others are refused.
            let responses = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for index in 0..<4 {
                    group.addTask {
                        try await send(emulator, .POST, "/api/v1/records", json: recordJSON(id: "\(index)", payload: #"{"a":1}"#))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let refused = responses.filter { $0.status == 429 }
            #expect(refused.count >= 1)
            let wait = refused.compactMap { $0.headers.first(name: "Retry-After").flatMap { Int($0) } }.max() ?? 0
            #expect((1...5).contains(wait))
            try await Task.sleep(for: .seconds(wait))
            let after = try await send(emulator, .POST, "/api/v1/records", json: recordJSON(id: "late", payload: #"{"a":1}"#))
            #expect(after.status == 202)
            let log = await emulator.requestLog()
            let lastRefusal = try #require(log.last { $0.status == 429 })
            #expect(log.last!.elapsed - lastRefusal.elapsed >= .seconds(lastRefusal.retryAfterSeconds ?? 0))
        }
    }

    @Test("a share of 500/502/503, with Retry-After when configured, stores nothing")
    func serverErrors() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            await emulator.setFaults(FaultConfiguration(serverErrors: .init(share: 1, statuses: [503], retryAfterSeconds: 2)))
            let response = try await send(emulator, .POST, "/api/v1/records", json: recordJSON(id: "1", payload: #"{"a":1}"#, key: "k1"))
            #expect(response.status == 503)
            #expect(response.errorCode == "service_unavailable")
            #expect(response.headers.first(name: "Retry-After") == "2")
            await emulator.setFaults(FaultConfiguration(serverErrors: .init(share: 1, statuses: [500, 502])))
            var seen = Set<Int>()
            for _ in 0..<20 {
                let failed = try await send(emulator, .POST, "/api/v1/records", json: recordJSON(id: "1", payload: #"{"a":1}"#, key: "k1"))
                seen.insert(failed.status)
                #expect(failed.headers.first(name: "Retry-After") == nil)
                #expect(["internal_error", "bad_gateway"].contains(failed.errorCode ?? ""))
            }
            #expect(seen == [500, 502])
            await emulator.setFaults(FaultConfiguration())
            let ok = try await send(emulator, .POST, "/api/v1/records", json: recordJSON(id: "1", payload: #"{"a":1}"#, key: "k1"))
            #expect(ok.status == 202)
            #expect(ok.json["idempotencyReplayed"] as? Bool == false)
            let counters = await emulator.counters()
            #expect(counters.injectedServerErrors == 21)
            #expect(counters.recordsStored == 1)
            #expect(await emulator.requestLog().filter { $0.fault == "server_error" }.count == 21)
        }
    }

    @Test func addedLatency() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            await emulator.setFaults(FaultConfiguration(latency: .milliseconds(300)))
            let clock = ContinuousClock()
            let started = clock.now
            let response = try await send(emulator, .POST, "/api/v1/records", json: recordJSON(id: "1", payload: #"{"a":1}"#))
            #expect(response.status == 202)
            #expect(clock.now - started >= .milliseconds(300))
        }
    }

    @Test("connection closed before the response: the client gets no answer", arguments: [false, true])
    func disconnects(afterProcessing: Bool) async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            await emulator.setFaults(FaultConfiguration(disconnects: .init(share: 1, afterProcessing: afterProcessing)))
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let body = recordJSON(id: "d", payload: #"{"a":1}"#, key: "kd")
            await #expect(throws: (any Error).self) {
                _ = try await send(emulator, .POST, "/api/v1/records", json: body, client: client)
            }
            try await client.shutdown()
            let log = await emulator.requestLog()
            #expect(log.count == 1)
            #expect(log.first?.status == nil)
            #expect(log.first?.fault == "disconnect")
            #expect(await emulator.counters().droppedConnections == 1)
            // After processing, the record was stored: the retry is a replay. Before processing, it was not.
            await emulator.setFaults(FaultConfiguration())
            let retry = try await send(emulator, .POST, "/api/v1/records", json: body)
            #expect(retry.status == 202)
            #expect(retry.json["idempotencyReplayed"] as? Bool == afterProcessing)
            #expect(await emulator.counters().recordsStored == 1)
        }
    }

    @Test("a response after the client's timeout: stored, and the retry replays")
    func slowResponses() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            await emulator.setFaults(FaultConfiguration(slowResponses: .init(share: 1, delay: .milliseconds(1500))))
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let body = recordJSON(id: "slow", payload: #"{"a":1}"#, key: "ks")
            await #expect(throws: (any Error).self) {
                _ = try await send(emulator, .POST, "/api/v1/records", json: body, client: client, timeout: .milliseconds(300))
            }
            try await client.shutdown()
            await emulator.setFaults(FaultConfiguration())
            // The slow request is stored before its delay starts (on a loaded machine, maybe after the timeout).
            let deadline = ContinuousClock.now + .seconds(30)
            while await emulator.counters().recordsStored == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            let retry = try await send(emulator, .POST, "/api/v1/records", json: body)
            #expect(retry.json["idempotencyReplayed"] as? Bool == true)
            // The slow request's own log entry completes when its late response is written.
            while await emulator.counters().slowResponses == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(await emulator.counters().slowResponses == 1)
            #expect(await emulator.requestLog().first?.fault == "slow_response")
        }
    }

    @Test("forged proofs do not verify; real ones do")
    func forgedProofs() async throws {
        let configuration = EmulatorConfiguration.forTests(accumulateInterval: .milliseconds(100))
        try await withCertyoEmulator(configuration: configuration, logger: testLogger) { emulator in
            let records = (0..<3).map { recordJSON(id: "f\($0)", payload: #"{"n":\#($0)}"#) }
            let ingest = try await send(emulator, .POST, "/api/v1/records/bulk", json: bulkJSON(records: records))
            let hashes = (ingest.json["results"] as? [[String: Any]] ?? []).compactMap { $0["recordHash"] as? String }
            let honest = try await pollVerify(emulator, id: "f0") { $0.json["merkleRoot"] != nil }
            let honestProof = honest.json["merkleProof"] as? [[String: Any]] ?? []
            #expect(rootFromProof(recordHash: hashes[0], proof: honestProof) == honest.json["merkleRoot"] as? String)

            await emulator.setFaults(FaultConfiguration(forgedProofShare: 1))
            let forged = try await pollVerify(emulator, id: "f0") { _ in true }
            let forgedProof = forged.json["merkleProof"] as? [[String: Any]] ?? []
            #expect(forgedProof.count == honestProof.count)
            #expect(rootFromProof(recordHash: hashes[0], proof: forgedProof) != forged.json["merkleRoot"] as? String)
            #expect(await emulator.counters().forgedProofs == 1)
            #expect(await emulator.requestLog().last?.fault == "forged_proof")
        }
    }

    @Test("the same seed and the same order of requests inject the same faults")
    func determinism() async throws {
        func pattern(seed: UInt64) async throws -> [Int] {
            try await withCertyoEmulator(configuration: .forTests(seed: seed), logger: testLogger) { emulator in
                await emulator.setFaults(FaultConfiguration(serverErrors: .init(share: 0.4)))
                var statuses: [Int] = []
                for index in 0..<24 {
                    let response = try await send(emulator, .POST, "/api/v1/records", json: recordJSON(id: "\(index)", payload: #"{"a":1}"#))
                    statuses.append(response.status)
                }
                return statuses
            }
        }
        let first = try await pattern(seed: 7)
        let second = try await pattern(seed: 7)
        let other = try await pattern(seed: 8)
        #expect(first == second)
        #expect(first != other)
        #expect(first.contains(202) && first.contains { $0 >= 500 })
    }

    @Test("admin path over HTTP: faults, counters, request log, reset")
    func adminOverHTTP() async throws {
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            let set = try await send(
                emulator, .POST, "/__admin/faults", key: nil,
                json: #"{"serverErrors":{"share":1,"statuses":[502],"retryAfterSeconds":3},"latencySeconds":0.01,"rateLimit":{"requestsPerSecond":100,"burst":50},"forgedProofShare":0.5}"#
            )
            #expect(set.status == 200, "\(set.text)")
            let faults = await emulator.faults()
            #expect(faults.serverErrors == .init(share: 1, statuses: [502], retryAfterSeconds: 3))
            #expect(faults.latency == .milliseconds(10))
            #expect(faults.rateLimit == RateLimit(requestsPerSecond: 100, burst: 50))
            #expect(faults.forgedProofShare == 0.5)
            let read = try await send(emulator, .GET, "/__admin/faults", key: nil)
            #expect((read.json["serverErrors"] as? [String: Any])?["statuses"] as? [Int] == [502])

            let failed = try await send(emulator, .POST, "/api/v1/records", json: recordJSON(id: "1", payload: #"{"a":1}"#, key: "admin-key"))
            #expect(failed.status == 502)
            #expect(failed.headers.first(name: "Retry-After") == "3")

            let counters = try await send(emulator, .GET, "/__admin/counters", key: nil)
            #expect(counters.json["requests"] as? Int == 1)
            #expect((counters.json["responsesByStatus"] as? [String: Any])?["502"] as? Int == 1)
            #expect(counters.json["injectedServerErrors"] as? Int == 1)
            let log = try await send(emulator, .GET, "/__admin/requests", key: nil)
            let entries = log.json["requests"] as? [[String: Any]] ?? []
            #expect(entries.count == 1)
            #expect(entries.first?["path"] as? String == "/api/v1/records")
            #expect(entries.first?["status"] as? Int == 502)
            #expect(entries.first?["idempotencyKeys"] as? [String] == [])
            // Refused before processing, yet the log names the call's first idempotency key (to pair retries).
            #expect(entries.first?["batchFingerprint"] as? String == "admin-key")
            let arrived = try #require(entries.first?["elapsedSeconds"] as? Double)
            #expect((entries.first?["answeredElapsedSeconds"] as? Double).map { $0 >= arrived } == true)
            #expect(entries.first?["fault"] as? String == "server_error")
            #expect(entries.first?["arrivedAt"] as? String != nil)

            let bad = try await send(emulator, .POST, "/__admin/faults", key: nil, json: #"{"serverErrors":{"share":2}}"#)
            #expect(bad.status == 400)
            #expect(bad.errorCode == "invalid_request")

            let reset = try await send(emulator, .POST, "/__admin/reset", key: nil, json: "{}")
            #expect(reset.status == 200)
            #expect(await emulator.faults() == FaultConfiguration())
            #expect(await emulator.counters() == EmulatorCounters())
            #expect(await emulator.requestLog().isEmpty)
            let ok = try await send(emulator, .POST, "/api/v1/records", json: recordJSON(id: "1", payload: #"{"a":1}"#, key: "admin-key"))
            #expect(ok.status == 202)
            let logged = await emulator.requestLog()
            #expect(logged.first?.idempotencyKeys == ["admin-key"])
            #expect(logged.first?.sequence == 1)

            let unknown = try await send(emulator, .GET, "/__admin/nothing", key: nil)
            #expect(unknown.status == 404)
            let wrongMethod = try await send(emulator, .DELETE, "/__admin/counters", key: nil)
            #expect(wrongMethod.status == 405)
        }
    }
}
