import CDCCore
import CertyoClient
import CertyoEmulator
import Logging
import Testing

/// Verify and record queries against the emulator over a real socket.
@Suite(.timeLimit(.minutes(1))) struct VerifyAndQueryTests {
    @Test func verifyBeforeAndAfterAnchoringWithACheckedMerkleProof() async throws {
        let emulator = EmulatorConfiguration.clientTests(
            accumulateInterval: .seconds(3), anchorDelay: .milliseconds(500)
        )
        try await withHarness(emulator: emulator) { harness in
            let records = (1...5).map { record("m\($0)") }
            let ingested = try await harness.client.ingestBulk(records)

            let early = try await harness.client.verify(
                database: "productdb", collection: "public.products", recordId: "m3"
            )
            #expect(early.verified)
            #expect(!early.anchoredOnChain)
            #expect(early.anchor == nil)
            #expect(early.recordHash == ingested.results[2].recordHash)

            let anchored = try await eventually {
                let answer = try await harness.client.verify(
                    database: "productdb", collection: "public.products", recordId: "m3"
                )
                return answer.anchoredOnChain ? answer : nil
            }
            #expect(anchored.verified)
            #expect(anchored.recordHash == sha256Tagged(records[2].recordPayload))
            let root = try #require(anchored.merkleRoot)
            // Five leaves: three levels above the leaf, so three siblings.
            #expect(anchored.merkleProof.count == 3)
            #expect(rootReached(by: anchored) == root, "the proof does not lead to the root")
            let anchor = try #require(anchored.anchor)
            #expect(anchor.chain == "polygon")
            #expect(anchor.txHash.hasPrefix("0x"))
            #expect(anchor.blockNumber > 0)
            #expect(!anchor.anchoredAt.isEmpty)

            // Every record of the batch proves to the same root.
            for id in ["m1", "m5"] {
                let other = try await harness.client.verify(
                    database: "productdb", collection: "public.products", recordId: id
                )
                #expect(other.merkleRoot == root)
                #expect(rootReached(by: other) == root)
            }

            // Naming the hash: the version that has it answers; another hash is not found.
            let named = try await harness.client.verify(
                database: "productdb", collection: "public.products", recordId: "m3",
                recordHash: ingested.results[2].recordHash
            )
            #expect(named.merkleRoot == root)
            let wrong = try await #require(throws: CertyoError.self) {
                try await harness.client.verify(
                    database: "productdb", collection: "public.products", recordId: "m3",
                    recordHash: ingested.results[0].recordHash
                )
            }
            #expect(wrong.code == .notFound)
        }
    }

    @Test func aForgedProofDoesNotReachTheRoot() async throws {
        let emulator = EmulatorConfiguration.clientTests(
            accumulateInterval: .milliseconds(100), anchorDelay: .milliseconds(100)
        )
        try await withHarness(emulator: emulator) { harness in
            _ = try await harness.client.ingestBulk((1...4).map { record("f\($0)") })
            let honest = try await eventually {
                let answer = try await harness.client.verify(
                    database: "productdb", collection: "public.products", recordId: "f2"
                )
                return answer.anchoredOnChain ? answer : nil
            }
            #expect(rootReached(by: honest) == honest.merkleRoot)
            await harness.emulator.setFaults(.init(forgedProofShare: 1))
            let forged = try await harness.client.verify(
                database: "productdb", collection: "public.products", recordId: "f2"
            )
            #expect(rootReached(by: forged) != forged.merkleRoot)
        }
    }

    @Test func anUnknownRecordIsNotFound() async throws {
        try await withHarness { harness in
            let error = try await #require(throws: CertyoError.self) {
                try await harness.client.verify(database: "productdb", collection: "public.products", recordId: "nope")
            }
            #expect(error.code == .notFound)
            #expect(error.status == 404)
            #expect(!error.isRetriable && !error.isFatal)
            #expect(error.description.contains("/api/v1/verify/record"))
            expectNoKey(in: error)
        }
    }

    @Test func recordsArePagedNewestFirst() async throws {
        try await withHarness { harness in
            // Five versions of one row, then one other row that must not show up.
            var hashes: [String] = []
            for version in 1...5 {
                let response = try await harness.client.ingest(
                    record("row+1/é", payload: #"{"id":"row","v":\#(version)}"#)
                )
                hashes.append(response.recordHash)
            }
            _ = try await harness.client.ingest(record("row+2"))

            var pages: [RecordsPage] = []
            var cursor: String?
            repeat {
                let page = try await harness.client.records(
                    database: "productdb", collection: "public.products", recordId: "row+1/é", limit: 2, cursor: cursor
                )
                pages.append(page)
                cursor = page.nextCursor
            } while cursor != nil && pages.count < 10
            #expect(pages.map(\.records.count) == [2, 2, 1])
            let all = pages.flatMap(\.records)
            #expect(all.map(\.recordHash) == hashes.reversed())
            #expect(all.map { $0.recordPayload["v"] } == [5, 4, 3, 2, 1].map { CertyoJSON.number(Double($0)) })
            #expect(all.allSatisfy { $0.recordId == "row+1/é" && $0.tenantId == Keys.acmeTenant })
            #expect(all.allSatisfy { $0.database == "productdb" && $0.collection == "public.products" })
            #expect(all.allSatisfy { !$0.anchoredOnChain && !$0.acceptedAt.isEmpty })
            #expect(all.allSatisfy { $0.operationType == "upsert" && $0.idempotencyKey != nil })

            let single = try await harness.client.records(
                database: "productdb", collection: "public.products", recordId: "row+1/é"
            )
            #expect(single.records.count == 5)
            #expect(single.nextCursor == nil)

            let none = try await harness.client.records(
                database: "productdb", collection: "public.products", recordId: "never"
            )
            #expect(none.records.isEmpty && none.nextCursor == nil)

            let outOfRange = try await #require(throws: CertyoError.self) {
                try await harness.client.records(
                    database: "productdb", collection: "public.products", recordId: "row+1/é", limit: 0
                )
            }
            #expect(outOfRange.code == .invalidRequest)
        }
    }

    @Test func anotherTenantSeesNothing() async throws {
        try await withCertyoEmulator(configuration: .clientTests(), logger: quietLogger) { emulator in
            let recorder = LogRecorder()
            let logger = Logger(label: "tenancy") { _ in RecordingLogHandler(recorder: recorder) }
            let acme = CertyoClient.Configuration(
                baseURL: emulator.baseURL, apiKey: CertyoAPIKey(Keys.acme), tenantId: Keys.acmeTenant
            )
            let globex = CertyoClient.Configuration(
                baseURL: emulator.baseURL, apiKey: CertyoAPIKey(Keys.globex), tenantId: Keys.globexTenant
            )
            try await withCertyoClient(configuration: acme, logger: logger) { client in
                _ = try await client.ingest(record("t1"))
            }
            try await withCertyoClient(configuration: globex, logger: logger) { client in
                let error = try await #require(throws: CertyoError.self) {
                    try await client.verify(database: "productdb", collection: "public.products", recordId: "t1")
                }
                #expect(error.code == .notFound)
                let page = try await client.records(
                    database: "productdb", collection: "public.products", recordId: "t1"
                )
                #expect(page.records.isEmpty)
            }
            recorder.expectNoKeyLogged()
        }
    }
}
