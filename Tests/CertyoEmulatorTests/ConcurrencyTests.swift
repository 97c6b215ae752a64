import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import CertyoEmulator

/// Many clients in parallel: nothing is lost and every idempotency key is stored once.
///
/// The normal run is 8 clients × 50 bulk calls × 1000 records. Clients `c` and `c + 4` send the same calls at the
/// same time, so half of all records race their twin for the same idempotency key. Set
/// `CERTYO_EMULATOR_STRESS=CLIENTSxCALLS` (e.g. `16x100`) for a larger run.
@Suite("Concurrency", .timeLimit(.minutes(5)))
struct ConcurrencyTests {
    static var shape: (clients: Int, calls: Int) {
        if let text = ProcessInfo.processInfo.environment["CERTYO_EMULATOR_STRESS"] {
            let parts = text.split(separator: "x").compactMap { Int($0) }
            if parts.count == 2, parts[0] >= 2, parts[0] % 2 == 0, parts[1] >= 1 { return (parts[0], parts[1]) }
        }
        return (8, 50)
    }

    @Test("8 clients × 50 bulk calls of 1000 records lose nothing and store each key once")
    func parallelBulkIngest() async throws {
        let (clients, calls) = Self.shape
        let recordsPerCall = 1000
        let twins = clients / 2
        try await withCertyoEmulator(configuration: .forTests(), logger: testLogger) { emulator in
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            // One body per (twin, call), built once and shared by both twins.
            let results = try await withThrowingTaskGroup(of: (replays: Int, accepted: Int).self) { group in
                for clientIndex in 0..<clients {
                    group.addTask {
                        let twin = clientIndex % twins
                        var replays = 0
                        var accepted = 0
                        for call in 0..<calls {
                            var body = #"{"tenantId":"acme-corp","records":["#
                            body.reserveCapacity(recordsPerCall * 190)
                            for record in 0..<recordsPerCall {
                                if record > 0 { body += "," }
                                let id = (twin * calls + call) * recordsPerCall + record
                                body += #"{"tenantId":"acme-corp","database":"db","collection":"public.t","recordId":"\#(id)","#
                                body += #""recordPayload":{"id":\#(id),"v":"row-\#(id)"},"idempotencyKey":"pos-\#(id)"}"#
                            }
                            body += "]}"
                            let response = try await send(emulator, .POST, "/api/v1/records/bulk", json: body, client: client, timeout: .seconds(120))
                            guard response.status == 202 else {
                                Issue.record("call \(call) of client \(clientIndex): \(response.status) \(response.text.prefix(300))")
                                continue
                            }
                            accepted += response.json["accepted"] as? Int ?? 0
                            let items = response.json["results"] as? [[String: Any]] ?? []
                            replays += items.filter { $0["idempotencyReplayed"] as? Bool == true }.count
                        }
                        return (replays, accepted)
                    }
                }
                var all: [(replays: Int, accepted: Int)] = []
                for try await result in group { all.append(result) }
                return all
            }
            try await client.shutdown()

            let unique = twins * calls * recordsPerCall
            #expect(results.map(\.accepted).reduce(0, +) == clients * calls * recordsPerCall)
            #expect(results.map(\.replays).reduce(0, +) == unique)
            let counters = await emulator.counters()
            #expect(counters.recordsStored == unique)
            #expect(counters.idempotencyReplays == unique)
            #expect(counters.responsesByStatus == [202: clients * calls])
            let keys = await emulator.storedIdempotencyKeys(tenant: "acme-corp")
            #expect(keys.count == unique)
            #expect(keys.values.allSatisfy { $0 == 1 })
            // Every stored version entered an accumulator: full batches of 1000 were flushed.
            #expect(counters.batchesFlushed == unique / 1000)
            // Spot-check that the first and last records are there.
            for id in [0, unique - 1] {
                let query = try await send(emulator, .GET, "/api/v1/records?tenantId=acme-corp&database=db&collection=public.t&recordId=\(id)")
                #expect((query.json["records"] as? [Any])?.count == 1)
            }
        }
    }
}
