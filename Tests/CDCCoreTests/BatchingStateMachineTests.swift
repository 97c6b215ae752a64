import CDCCore
import Testing

@Suite struct OffsetWatermarkTests {
    @Test func movesOnlyOverContiguousDoneOffsets() {
        var watermark = OffsetWatermark()
        for offset in [10, 11, 12, 15] as [Int64] { watermark.track(offset) }
        #expect(watermark.committable == nil)
        let moved11x = watermark.markDone(11)
        #expect(!moved11x)
        #expect(watermark.committable == nil)
        let moved10x = watermark.markDone(10)
        #expect(moved10x)
        #expect(watermark.committable == 12)
        let moved15x = watermark.markDone(15)
        #expect(!moved15x)
        #expect(watermark.committable == 12)
        let moved12x = watermark.markDone(12)
        #expect(moved12x)
        // 13 and 14 were never read (compacted away or transaction markers): the watermark jumps past them.
        #expect(watermark.committable == 16)
        #expect(watermark.pendingCount == 0)
    }

    @Test func markingTwiceOrUnknownOffsetsChangesNothing() {
        var watermark = OffsetWatermark()
        watermark.track(1)
        let moved1x = watermark.markDone(1)
        #expect(moved1x)
        let movedAgain = watermark.markDone(1)
        #expect(!movedAgain)
        let moved99x = watermark.markDone(99)
        #expect(!moved99x)
        #expect(watermark.committable == 2)
    }

    @Test func compactsLongRuns() {
        var watermark = OffsetWatermark()
        for offset in 0..<10_000 as Range<Int64> {
            watermark.track(offset)
            watermark.markDone(offset)
        }
        #expect(watermark.committable == 10_000)
        watermark.track(10_005)
        #expect(watermark.pendingCount == 1)
    }
}

@Suite struct BatchingStateMachineTests {
    typealias Machine = BatchingStateMachine<Int, CertyoRecord, ContinuousClock.Instant>
    let start = ContinuousClock.now

    func record(_ id: Int) -> CertyoRecord {
        CertyoRecord(database: "db", collection: "public.t", recordId: "\(id)", recordPayload: Array("{}".utf8),
                     operationType: .insert, sourceTimestamp: nil, idempotencyKey: "k\(id)")
    }

    func configuration(maxRecords: Int = 3, maxInFlight: Int = 2) -> BatchingConfiguration {
        var configuration = BatchingConfiguration()
        configuration.maxRecords = maxRecords
        configuration.maxBytes = 100
        configuration.linger = .milliseconds(200)
        configuration.maxInFlight = maxInFlight
        configuration.maxBufferedPerPartition = 8
        return configuration
    }

    func batches(_ actions: [Machine.Action]) -> [Machine.Batch] {
        actions.compactMap { if case .send(let batch) = $0 { batch } else { nil } }
    }

    @Test func sendsAFullBatchAtOnceAndAPartialOneAfterLinger() {
        var machine = Machine(configuration: configuration())
        #expect(machine.received(record(1), offset: 0, bytes: 10, partition: 0, now: start).isEmpty)
        #expect(machine.received(record(2), offset: 1, bytes: 10, partition: 0, now: start).isEmpty)
        let full = batches(machine.received(record(3), offset: 2, bytes: 10, partition: 0, now: start))
        #expect(full.map(\.offsets) == [[0, 1, 2]])

        #expect(machine.received(record(4), offset: 3, bytes: 10, partition: 1, now: start).isEmpty)
        #expect(machine.nextDeadline == start.advanced(by: .milliseconds(200)))
        #expect(batches(machine.tick(now: start.advanced(by: .milliseconds(199)))).isEmpty)
        #expect(batches(machine.tick(now: start.advanced(by: .milliseconds(200)))).map(\.offsets) == [[3]])
    }

    @Test func splitsByBytes() {
        var machine = Machine(configuration: configuration(maxRecords: 10))
        _ = machine.received(record(1), offset: 0, bytes: 60, partition: 0, now: start)
        let sent = batches(machine.received(record(2), offset: 1, bytes: 60, partition: 0, now: start))
        #expect(sent.map(\.offsets) == [[0]])
    }

    @Test func oneBatchInFlightPerPartitionAndCommitsOnlyAfterCompletion() {
        var machine = Machine(configuration: configuration())
        var sent: [Machine.Batch] = []
        for index in 0..<6 {
            sent += batches(machine.received(record(index), offset: Int64(index), bytes: 1, partition: 0, now: start))
        }
        #expect(sent.count == 1)
        #expect(machine.takeCommittable().isEmpty)
        let next = batches(machine.batchCompleted(sent[0], now: start))
        #expect(next.map(\.offsets) == [[3, 4, 5]])
        #expect(machine.takeCommittable() == [0: 3])
        #expect(machine.takeCommittable().isEmpty)
        _ = machine.batchCompleted(next[0], now: start)
        #expect(machine.takeCommittable() == [0: 6])
    }

    @Test func skippedAndDeadLetteredRecordsHoldTheirPlace() {
        var machine = Machine(configuration: configuration())
        _ = machine.received(record(1), offset: 0, bytes: 1, partition: 0, now: start)
        machine.receivedDone(offset: 1, partition: 0)  // a tombstone
        machine.receivedPending(offset: 2, partition: 0)  // a dead-letter write under way
        let batch = batches(machine.flush([0], now: start))
        #expect(batch.map(\.offsets) == [[0]])
        _ = machine.batchCompleted(batch[0], now: start)
        #expect(machine.takeCommittable() == [0: 2])
        machine.markDone(offset: 2, partition: 0)
        #expect(machine.takeCommittable() == [0: 3])
    }

    @Test func respectsTheGlobalInFlightLimit() {
        var machine = Machine(configuration: configuration(maxRecords: 1, maxInFlight: 2))
        var sent: [Machine.Batch] = []
        for partition in 0..<3 {
            sent += batches(machine.received(record(partition), offset: 0, bytes: 1, partition: partition, now: start))
        }
        #expect(sent.count == 2)
        #expect(machine.inFlight == 2)
        let third = batches(machine.batchCompleted(sent[0], now: start))
        #expect(third.map(\.partition) == [2])
    }

    @Test func pausesAFullBufferAndResumesWhenDrained() {
        var machine = Machine(configuration: configuration(maxRecords: 3, maxInFlight: 1))
        var actions: [Machine.Action] = []
        // 3 records go out at once; the next 8 fill the buffer while that batch is in flight.
        for index in 0..<11 {
            actions += machine.received(record(index), offset: Int64(index), bytes: 1, partition: 0, now: start)
        }
        #expect(actions.contains { if case .pause(0) = $0 { true } else { false } })
        #expect(machine.pausedPartitions == [0])
        var batch = batches(actions)[0]
        var resumed = false
        while true {
            let next = machine.batchCompleted(batch, now: start.advanced(by: .seconds(1)))
            resumed = resumed || next.contains { if case .resume(0) = $0 { true } else { false } }
            guard let following = batches(next).first else { break }
            batch = following
        }
        #expect(resumed)
        // The last 2 records are a partial batch: they wait for the linger.
        #expect(machine.takeCommittable() == [0: 9])
        let last = batches(machine.tick(now: start.advanced(by: .seconds(2))))
        #expect(last.map(\.offsets) == [[9, 10]])
        _ = machine.batchCompleted(last[0], now: start.advanced(by: .seconds(2)))
        #expect(machine.takeCommittable() == [0: 11])
    }

    @Test func revokeDropsBufferedRecordsAndReportsWhatIsDone() {
        var machine = Machine(configuration: configuration())
        let sent = batches((0..<4).flatMap {
            machine.received(record($0), offset: Int64($0), bytes: 1, partition: 0, now: start)
        })
        _ = machine.batchCompleted(sent[0], now: start)
        #expect(machine.remove([0]) == [0: 3])
        #expect(machine.buffered == 0)
    }
}
