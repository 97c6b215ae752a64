import CDCCore
import CertyoClient
import CertyoEmulator
import Testing

/// Ingest calls against the emulator over a real socket.
@Suite(.timeLimit(.minutes(1))) struct IngestTests {
    @Test func bulkIngestAnswersEachRecordInOrderWithTheHashOfItsPayload() async throws {
        try await withHarness { harness in
            let records = (1...5).map { record("\($0)") }
            let response = try await harness.client.ingestBulk(records)
            #expect(response.tenantId == Keys.acmeTenant)
            #expect(response.accepted == 5)
            #expect(response.results.map(\.recordId) == ["1", "2", "3", "4", "5"])
            #expect(response.results.map(\.recordHash) == records.map { sha256Tagged($0.recordPayload) })
            #expect(response.results.allSatisfy { !$0.idempotencyReplayed })

            let counters = await harness.emulator.counters()
            #expect(counters.recordsStored == 5)
            let log = await harness.emulator.requestLog()
            #expect(log.map(\.path) == ["/api/v1/records/bulk"])
            #expect(log.first?.status == 202)
            #expect(log.first?.idempotencyKeys == records.map(\.idempotencyKey))
        }
    }

    @Test func aRetriedBulkCallIsReplayedNotStoredTwice() async throws {
        try await withHarness { harness in
            let records = (1...3).map { record("r\($0)") }
            let first = try await harness.client.ingestBulk(records)
            let again = try await harness.client.ingestBulk(records)
            #expect(again.results.allSatisfy { $0.idempotencyReplayed })
            #expect(again.results.map(\.recordHash) == first.results.map(\.recordHash))
            #expect(again.accepted == 3)
            let counters = await harness.emulator.counters()
            #expect(counters.recordsStored == 3)
            #expect(counters.idempotencyReplays == 3)
        }
    }

    @Test func singleIngestAndItsReplay() async throws {
        try await withHarness { harness in
            let one = record("single", payload: #"{"a":[1,true,null],"b":"x"}"#)
            let accepted = try await harness.client.ingest(one)
            #expect(accepted.recordId == "single")
            #expect(accepted.tenantId == Keys.acmeTenant)
            #expect(accepted.recordHash == sha256Tagged(one.recordPayload))
            #expect(!accepted.idempotencyReplayed)
            #expect(!accepted.acceptedAt.isEmpty)

            let replayed = try await harness.client.ingest(one)
            #expect(replayed.idempotencyReplayed)
            #expect(replayed.recordHash == accepted.recordHash)
            #expect(replayed.acceptedAt == accepted.acceptedAt)
            #expect(await harness.emulator.counters().recordsStored == 1)
        }
    }

    @Test func anIdempotencyConflictNamesTheRecordAndStoresNothing() async throws {
        try await withHarness { harness in
            _ = try await harness.client.ingestBulk([record("c1", payload: #"{"v":1}"#, key: "key-c1")])
            let batch = [record("c2"), record("c1", payload: #"{"v":2}"#, key: "key-c1"), record("c3")]
            let error = try await #require(throws: CertyoError.self) { try await harness.client.ingestBulk(batch) }
            #expect(error.code == .idempotencyConflict)
            #expect(error.status == 409)
            #expect(error.serverCode == "idempotency_conflict")
            #expect(!error.isRetriable)
            #expect(error.details == [.init(index: 1, field: "idempotencyKey", reason: "conflict")])
            #expect(error.description.contains("record 1 idempotencyKey conflict"))
            expectNoKey(in: error)
            #expect(await harness.emulator.counters().recordsStored == 1, "a failed bulk call stores nothing")
        }
    }

    @Test func invalidRecordsAreNamedByIndexFieldAndReason() async throws {
        try await withHarness { harness in
            let batch = [
                record("ok-1"),
                record(""),
                record("ok-2"),
                record("bad-payload", payload: "[1,2]"),
            ]
            let error = try await #require(throws: CertyoError.self) { try await harness.client.ingestBulk(batch) }
            #expect(error.code == .invalidRecord)
            #expect(error.status == 400)
            #expect(!error.isRetriable && !error.isFatal)
            let byIndex = Dictionary(grouping: error.details, by: { $0.index })
            #expect(Set(byIndex.keys) == [1, 3])
            #expect(byIndex[1]?.first?.field == "recordId")
            #expect(byIndex[1]?.first?.reason == "empty")
            #expect(byIndex[3]?.first?.field == "recordPayload")
            #expect(byIndex[3]?.first?.reason == "not_object")
            #expect(error.description.contains("dead-letter the records named in the details"))
            expectNoKey(in: error)
            #expect(await harness.emulator.counters().recordsStored == 0)
        }
    }

    @Test func theServersBatchLimitIsBatchTooLarge() async throws {
        var emulator = EmulatorConfiguration.clientTests()
        emulator.maxBatch = 3
        try await withHarness(emulator: emulator) { harness in
            let error = try await #require(throws: CertyoError.self) {
                try await harness.client.ingestBulk((1...4).map { record("b\($0)") })
            }
            #expect(error.code == .batchTooLarge)
            #expect(error.status == 413)
            #expect(error.serverCode == "batch_too_large")
            #expect(error.fix?.contains("split the batch") == true)
            #expect(!error.isRetriable)
            #expect(await harness.emulator.counters().recordsStored == 0)
        }
    }

    @Test func theClientsBatchLimitRefusesBeforeSending() async throws {
        try await withHarness(maximumBulkRecords: 2) { harness in
            let error = try await #require(throws: CertyoError.self) {
                try await harness.client.ingestBulk((1...3).map { record("l\($0)") })
            }
            #expect(error.code == .batchTooLarge)
            #expect(error.status == nil)
            #expect(error.description.contains("3 records in one bulk call, the limit is 2"))
            let empty = try await #require(throws: CertyoError.self) {
                try await harness.client.ingestBulk([CertyoRecord]())
            }
            #expect(empty.code == .invalidRequest)
            #expect(await harness.emulator.counters().requests == 0)
            _ = try await harness.client.ingestBulk([record("fits")])
        }
    }

    @Test func aBodyOverTheServersLimitIsPayloadTooLarge() async throws {
        var emulator = EmulatorConfiguration.clientTests()
        emulator.maxBodyBytes = 2048
        try await withHarness(emulator: emulator) { harness in
            let big = #"{"blob":""# + String(repeating: "x", count: 4096) + #""}"#
            let error = try await #require(throws: CertyoError.self) {
                try await harness.client.ingestBulk([record("big", payload: big)])
            }
            #expect(error.code == .payloadTooLarge)
            #expect(error.status == 413)
            #expect(!error.isRetriable)
        }
    }
}
