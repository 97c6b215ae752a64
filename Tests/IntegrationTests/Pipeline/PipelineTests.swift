import CDCCore
import CertyoCDC
import CertyoEmulator
import Foundation
import KafkaBridge
import Testing

@Suite(.serialized, .timeLimit(.minutes(3)))
struct PipelineTests {
    @Test func deliversEveryEnvelopeOnceAndCommitsToTheEndOffsets() async throws {
        try await PipelineHarness.with(partitions: 4) { harness in
            let end = try await harness.produceInserts(0..<1200)
            let group = "g-\(UUID().uuidString)"
            let counts = try await harness.runPipeline(group: group) { $0.committed == end }

            #expect(counts.consumed == 1200)
            #expect(counts.ingested == 1200)
            let keys = await harness.emulator.storedIdempotencyKeys(tenant: PipelineHarness.tenant)
            #expect(keys.count == 1200)
            #expect(keys.values.allSatisfy { $0 == 1 })
            let committed = try await harness.committed(group: group, partitions: Array(end.keys))
            #expect(committed == end.mapValues { Optional($0) })
        }
    }

    @Test func aFailingCertyoHoldsEveryOffsetUntilItRecovers() async throws {
        try await PipelineHarness.with(partitions: 3) { harness in
            let end = try await harness.produceInserts(0..<300)
            await harness.emulator.setFaults(FaultConfiguration(serverErrors: .init(share: 1.0, statuses: [503])))

            let group = "g-\(UUID().uuidString)"
            // First run: Certyo answers 503 to everything; stop once several calls were retried.
            let failing = try await harness.runPipeline(group: group) { $0.retries >= 6 }
            #expect(failing.ingested == 0)
            #expect(failing.committed.isEmpty)
            let committedWhileFailing = try await harness.committed(group: group, partitions: Array(end.keys))
            #expect(committedWhileFailing.values.allSatisfy { $0 == nil })

            // Certyo recovers: the same group delivers everything, nothing is skipped.
            await harness.emulator.setFaults(FaultConfiguration())
            let recovered = try await harness.runPipeline(group: group) { $0.committed == end }
            #expect(recovered.ingested == 300)
            let keys = await harness.emulator.storedIdempotencyKeys(tenant: PipelineHarness.tenant)
            #expect(keys.count == 300)
            #expect(keys.values.allSatisfy { $0 == 1 })
        }
    }

    @Test func aRestartMidRunReplaysButLeavesNoGap() async throws {
        try await PipelineHarness.with(partitions: 4) { harness in
            let end = try await harness.produceInserts(0..<1000)
            await harness.emulator.setFaults(FaultConfiguration(latency: .milliseconds(150)))
            let group = "g-\(UUID().uuidString)"

            // A crash (cancellation, no graceful drain) once some batches are in.
            let first = try await harness.runPipeline(
                group: group, configure: { $0.batching.maxRecords = 50 }, graceful: false
            ) { $0.ingested >= 200 }
            #expect(first.ingested < 1000)

            await harness.emulator.setFaults(FaultConfiguration())
            let second = try await harness.runPipeline(group: group) { $0.committed == end }

            let keys = await harness.emulator.storedIdempotencyKeys(tenant: PipelineHarness.tenant)
            #expect(keys.count == 1000, "every change reached Certyo: no gap")
            #expect(keys.values.allSatisfy { $0 == 1 }, "replays were answered from the idempotency keys")
            #expect(first.ingested + second.ingested >= 1000)
            #expect(second.replayed >= first.ingested + second.ingested - 1000)
        }
    }
}

@Suite(.serialized, .timeLimit(.minutes(3)))
struct ConsumerGroupTests {
    @Test func aSecondInstanceTakesPartitionsOverWithoutLosingAnything() async throws {
        try await PipelineHarness.with(partitions: 6) { harness in
            let group = "g-\(UUID().uuidString)"
            let slow = FaultConfiguration(latency: .milliseconds(100))
            await harness.emulator.setFaults(slow)
            let firstHalf = try await harness.produceInserts(0..<1500)
            let a = harness.startPipeline(group: group) { $0.batching.maxRecords = 50 }
            try await waitUntil(deadline: .seconds(20)) { a.statistics.snapshot.ingested >= 200 }

            // A second member joins: the group rebalances and both share the partitions.
            let b = harness.startPipeline(group: group) { $0.batching.maxRecords = 50 }
            var end = try await harness.produceInserts(1500..<3000)
            end.merge(firstHalf) { max($0, $1) }
            try await waitUntil(deadline: .seconds(60)) {
                let committed = try await harness.committed(group: group, partitions: Array(end.keys))
                return committed == end.mapValues { Optional($0) }
            }
            try await a.stop()
            try await b.stop()

            #expect(b.statistics.snapshot.consumed > 0, "the second member received partitions")
            let keys = await harness.emulator.storedIdempotencyKeys(tenant: PipelineHarness.tenant)
            #expect(keys.count == 3000)
            #expect(keys.values.allSatisfy { $0 == 1 })
        }
    }
}
