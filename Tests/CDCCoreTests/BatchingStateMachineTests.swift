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

    /// Each call's offsets, partition by partition.
    func offsets(_ calls: [Machine.Batch]) -> [[[Int64]]] {
        calls.map { $0.segments.map(\.offsets) }
    }

    func at(_ milliseconds: Int) -> ContinuousClock.Instant { start.advanced(by: .milliseconds(milliseconds)) }

    @Test func sendsAFullCallAtOnceAndAPartialOneAfterLinger() {
        var machine = Machine(configuration: configuration())
        #expect(machine.received(record(1), offset: 0, bytes: 10, partition: 0, now: start).isEmpty)
        #expect(machine.received(record(2), offset: 1, bytes: 10, partition: 0, now: start).isEmpty)
        let full = batches(machine.received(record(3), offset: 2, bytes: 10, partition: 0, now: start))
        #expect(offsets(full) == [[[0, 1, 2]]])

        #expect(machine.received(record(4), offset: 3, bytes: 10, partition: 1, now: start).isEmpty)
        #expect(batches(machine.tick(now: at(199))).isEmpty)
        #expect(offsets(batches(machine.tick(now: at(200)))) == [[[3]]])
    }

    @Test func oneCallCarriesSeveralPartitionsOnceTogetherTheyFillIt() {
        // 3 partitions with one record each fill a 3-record call before any linger expires.
        var machine = Machine(configuration: configuration(maxRecords: 3))
        #expect(machine.received(record(1), offset: 10, bytes: 10, partition: 0, now: at(0)).isEmpty)
        #expect(machine.received(record(2), offset: 20, bytes: 10, partition: 1, now: at(1)).isEmpty)
        let call = batches(machine.received(record(3), offset: 30, bytes: 10, partition: 2, now: at(2)))
        #expect(call.count == 1)
        #expect(call.first?.partitions == [0, 1, 2])  // oldest waiting first
        #expect(call.first?.items.map(\.recordId) == ["1", "2", "3"])
        #expect(call.first?.bytes == 30)
        #expect(machine.inFlight == 1)
        _ = machine.batchCompleted(call[0], now: at(3))
        #expect(machine.takeCommittable() == [0: 11, 1: 21, 2: 31])
    }

    @Test func aPartitionIsInOneCallAtATimeAndKeepsItsOrder() {
        var machine = Machine(configuration: configuration(maxRecords: 3, maxInFlight: 4))
        var calls: [Machine.Batch] = []
        for index in 0..<3 {
            calls += batches(machine.received(record(index), offset: Int64(index), bytes: 1, partition: 0, now: at(0)))
        }
        #expect(offsets(calls) == [[[0, 1, 2]]])
        // Partition 0 is in flight: its next records wait, even with free in-flight slots and another partition
        // filling a call with them.
        var next: [Machine.Batch] = []
        for index in 3..<5 {
            next += batches(machine.received(record(index), offset: Int64(index), bytes: 1, partition: 0, now: at(1)))
        }
        for index in 0..<3 {
            next += batches(machine.received(record(10 + index), offset: Int64(index), bytes: 1, partition: 1,
                                             now: at(2)))
        }
        #expect(offsets(next) == [[[0, 1, 2]]])
        #expect(next.first?.partitions == [1])
        // Once partition 0's call is done its waiting records go, in order.
        let after = batches(machine.batchCompleted(calls[0], now: at(300)))
        #expect(offsets(after) == [[[3, 4]]])
        #expect(after.first?.partitions == [0])
    }

    @Test func aCallTakesPartOfABigPartitionAndTheRestWaits() {
        var machine = Machine(configuration: configuration(maxRecords: 3, maxInFlight: 1))
        _ = machine.received(record(1), offset: 0, bytes: 1, partition: 1, now: at(0))
        var calls: [Machine.Batch] = []
        for index in 0..<4 {
            calls += batches(machine.received(record(index), offset: Int64(index), bytes: 1, partition: 0, now: at(1)))
        }
        // Oldest first: partition 1's record, then two of partition 0's; partition 0's last record waits.
        #expect(offsets(calls) == [[[0], [0, 1]]])
        #expect(machine.buffered == 2)
        let next = batches(machine.batchCompleted(calls[0], now: at(500)))
        #expect(offsets(next) == [[[2, 3]]])
    }

    @Test func splitsByBytes() {
        var machine = Machine(configuration: configuration(maxRecords: 10))
        _ = machine.received(record(1), offset: 0, bytes: 60, partition: 0, now: start)
        let sent = batches(machine.received(record(2), offset: 1, bytes: 60, partition: 1, now: start))
        #expect(offsets(sent) == [[[0]]])
        #expect(sent.first?.bytes == 60)
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
        #expect(offsets(next) == [[[3, 4, 5]]])
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
        #expect(offsets(batch) == [[[0]]])
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
        #expect(third.flatMap(\.partitions) == [2])
        #expect(machine.inFlight == 2)
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
            let next = machine.batchCompleted(batch, now: start)
            resumed = resumed || next.contains { if case .resume(0) = $0 { true } else { false } }
            guard let following = batches(next).first else { break }
            batch = following
        }
        #expect(resumed)
        #expect(machine.pausedPartitions.isEmpty)
        // The last 2 records are a partial batch: they wait for the linger.
        #expect(machine.takeCommittable() == [0: 9])
        let last = batches(machine.tick(now: at(2000)))
        #expect(offsets(last) == [[[9, 10]]])
        _ = machine.batchCompleted(last[0], now: at(2000))
        #expect(machine.takeCommittable() == [0: 11])
    }

    @Test func atTheByteBudgetTheOwnerStopsTakingAndPastTwiceItPartitionsPause() {
        var configuration = configuration(maxRecords: 1000, maxInFlight: 1)
        configuration.maxBytes = 10_000
        configuration.maxBufferedBytes = 1000
        configuration.maxBufferedPerPartition = 1000
        var machine = Machine(configuration: configuration)
        var actions: [Machine.Action] = []
        // 30 bytes a record over many partitions: no partition is near its own limit, together they pass the budget.
        for partition in 0..<34 {
            actions += machine.received(record(partition), offset: 0, bytes: 30, partition: partition, now: start)
        }
        #expect(machine.bufferedBytes == 1020)
        #expect(machine.isOverBudget)
        #expect(actions.isEmpty)  // over the budget, nothing pauses yet: the owner stops polling instead
        // An owner that kept taking records (calls not completing): past 2000 bytes every receiving partition pauses.
        for round in 0..<2 {
            for partition in 0..<50 where round == 1 || partition >= 34 {
                actions += machine.received(record(partition), offset: Int64(round), bytes: 30, partition: partition,
                                            now: start)
            }
        }
        let paused = Set(actions.compactMap { if case .pause(let p) = $0 { p } else { nil } })
        #expect(machine.bufferedBytes == 3000)
        // The 67th record passed 2000 bytes: it and the 33 after it paused their partitions.
        #expect(paused.count == 34)
        #expect(batches(actions).isEmpty)
        let call = batches(machine.tick(now: at(200)))
        #expect(call.count == 1)
        #expect(call.first?.count == 100)
        #expect(machine.bufferedBytes == 0)
        #expect(!machine.isOverBudget)
        let resumed = machine.batchCompleted(call[0], now: at(201))
        #expect(Set(resumed.compactMap { if case .resume(let p) = $0 { p } else { nil } }) == paused)
        #expect(machine.pausedPartitions.isEmpty)
    }

    @Test func theBudgetCountsWhatARecordRetainsNotItsEncodedSize() {
        var configuration = configuration(maxRecords: 1000, maxInFlight: 1)
        configuration.maxBytes = 10_000
        configuration.maxBufferedBytes = 1000
        var machine = Machine(configuration: configuration)
        // 10 bytes in a call each, but 300 held (the source message): the fourth record reaches the budget.
        for offset in 0..<3 as Range<Int64> {
            _ = machine.received(record(Int(offset)), offset: offset, bytes: 10, retained: 300, partition: 0, now: start)
        }
        #expect(!machine.isOverBudget)
        _ = machine.received(record(3), offset: 3, bytes: 10, retained: 300, partition: 0, now: start)
        #expect(machine.isOverBudget)
        #expect(machine.bufferedBytes == 1200)
        let call = batches(machine.tick(now: at(200)))
        #expect(call.first?.bytes == 40)
        #expect(machine.bufferedBytes == 0)
    }

    @Test func revokeDropsBufferedRecordsAndReportsWhatIsDone() {
        var machine = Machine(configuration: configuration())
        let sent = batches((0..<4).flatMap {
            machine.received(record($0), offset: Int64($0), bytes: 1, partition: 0, now: start)
        })
        _ = machine.batchCompleted(sent[0], now: start)
        #expect(machine.remove([0]) == [0: 3])
        #expect(machine.buffered == 0)
        #expect(machine.bufferedBytes == 0)
    }

    @Test func aCallOutlivingARevokedPartitionCompletesOnlyTheOthers() {
        var machine = Machine(configuration: configuration(maxRecords: 2))
        _ = machine.received(record(1), offset: 5, bytes: 1, partition: 0, now: start)
        let call = batches(machine.received(record(2), offset: 7, bytes: 1, partition: 1, now: start))
        #expect(call.first?.partitions == [0, 1])
        #expect(machine.remove([0]).isEmpty)
        // Partition 0 comes back (reassigned) and reads from its committed offset again.
        _ = machine.received(record(1), offset: 5, bytes: 1, partition: 0, now: start)
        _ = machine.batchCompleted(call[0], now: start)
        #expect(machine.takeCommittable() == [1: 8])
        #expect(machine.committable(0) == nil)
        #expect(machine.inFlight == 0)
        let again = batches(machine.flush([0], now: start))
        #expect(offsets(again) == [[[5]]])
    }

    @Test func anAbandonedCallFreesItsSlotAndCommitsNothing() {
        var machine = Machine(configuration: configuration(maxRecords: 2, maxInFlight: 1))
        _ = machine.received(record(1), offset: 0, bytes: 1, partition: 0, now: start)
        let call = batches(machine.received(record(2), offset: 0, bytes: 1, partition: 1, now: start))
        machine.batchAbandoned(call[0])
        #expect(machine.inFlight == 0)
        #expect(machine.takeCommittable().isEmpty)
        #expect(!machine.hasInFlight(0) && !machine.hasInFlight(1))
    }

    @Test func oneCompletionCanMakeSeveralCallsReady() {
        // The owner must start every call a completion returns: a dropped one would stay "in flight" forever.
        var machine = Machine(configuration: configuration(maxRecords: 2, maxInFlight: 2))
        let first = batches((0..<2).flatMap {
            machine.received(record($0), offset: Int64($0), bytes: 1, partition: 0, now: start)
        })
        #expect(first.count == 1)
        for offset in 2..<5 as Range<Int64> {
            #expect(machine.received(record(Int(offset)), offset: offset, bytes: 1, partition: 0, now: start).isEmpty)
        }
        #expect(machine.received(record(10), offset: 0, bytes: 1, partition: 1, now: start).isEmpty)
        // Partition 0's waiting records fill a call (its last one waits for it); partition 1's lingered record
        // goes in a second call.
        let ready = batches(machine.batchCompleted(first[0], now: at(1000)))
        #expect(offsets(ready) == [[[2, 3]], [[0]]])
        #expect(machine.inFlight == 2)
    }

    @Test func counterInvariantsHoldUnderRandomTraffic() {
        // Whatever the order of receives, completions, revokes and ticks, every record is sent exactly once
        // (unless its partition was removed) and a partition is never in two calls at once.
        var rng = SplitMix(seed: 42)
        var configuration = configuration(maxRecords: 7, maxInFlight: 3)
        configuration.maxBytes = 50
        configuration.maxBufferedBytes = 200
        configuration.maxBufferedPerPartition = 12
        var machine = Machine(configuration: configuration)
        var nextOffset = [Int64](repeating: 0, count: 6)
        var open: [Machine.Batch] = []
        var sent: [Int: [Int64]] = [:]
        var now = start
        for _ in 0..<5000 {
            now = now.advanced(by: .milliseconds(Int(rng.next() % 20)))
            var actions: [Machine.Action] = []
            switch rng.next() % 10 {
            case 0...5:
                let partition = Int(rng.next() % 6)
                actions = machine.received(record(partition), offset: nextOffset[partition],
                                           bytes: Int(rng.next() % 9) + 1, partition: partition, now: now)
                nextOffset[partition] += 1
            case 6...7 where !open.isEmpty:
                let call = open.remove(at: Int(rng.next() % UInt64(open.count)))
                actions = machine.batchCompleted(call, now: now)
            case 8:
                actions = machine.tick(now: now)
            default:
                actions = machine.flush(Set(0..<6), now: now)
            }
            for call in batches(actions) {
                #expect(Set(call.partitions).count == call.partitions.count)
                for partition in call.partitions {
                    #expect(!open.contains { $0.partitions.contains(partition) })
                }
                #expect(call.count <= 7)
                #expect(call.bytes <= 50 || call.count == 1)
                for segment in call.segments { sent[segment.partition, default: []] += segment.offsets }
                open.append(call)
            }
            #expect(machine.inFlight == open.count)
            #expect(machine.inFlight <= 3)
        }
        func opened(_ calls: [Machine.Batch]) {
            for call in calls {
                for segment in call.segments { sent[segment.partition, default: []] += segment.offsets }
            }
            open += calls
        }
        while !open.isEmpty || machine.buffered > 0 {
            if open.isEmpty { opened(batches(machine.flush(Set(0..<6), now: now))) }
            let call = open.removeFirst()
            opened(batches(machine.batchCompleted(call, now: now)))
        }
        for partition in 0..<6 {
            #expect(sent[partition, default: []] == Array(0..<nextOffset[partition]))
            #expect(machine.committable(partition) == (nextOffset[partition] > 0 ? nextOffset[partition] : nil))
        }
        #expect(machine.bufferedBytes == 0)
        #expect(machine.pausedPartitions.isEmpty)
    }
}
