/// Groups decoded records into bulk calls and decides when an offset may be committed.
///
/// `Payload` is what travels with each record (the pipeline keeps the record with its source message, so a record
/// that Certyo rejects can be dead-lettered with its original bytes).
///
/// A value-type state machine: each method returns the actions its owner runs outside the lock. Rules:
/// - a bulk call carries the buffered records of one or more partitions (oldest waiting first), up to
///   ``BatchingConfiguration/maxRecords`` and ``BatchingConfiguration/maxBytes``: an instance holding hundreds of
///   partitions still sends full calls;
/// - a partition is in at most one call at a time (so its records reach Certyo in order), and at most
///   ``BatchingConfiguration/maxInFlight`` calls run at once;
/// - a call is started when the records waiting in partitions not already in a call fill one, when the oldest of
///   them has waited ``BatchingConfiguration/linger``, or when the owner flushes (revoke, shutdown);
/// - the instance's buffer is bounded by ``BatchingConfiguration/maxBufferedBytes``: at the budget the owner stops
///   taking records (``isOverBudget``); past twice the budget (calls not completing, e.g. Certyo down) every
///   partition that receives is paused. A partition also pauses at ``BatchingConfiguration/maxBufferedPerPartition``
///   records; paused partitions resume once below half their own limit and below the budget;
/// - a partition's committable offset moves past a record only once it and every record before it is done.
public struct BatchingStateMachine<Partition: Hashable & Sendable, Payload: Sendable, Instant: InstantProtocol & Sendable>:
    Sendable
where Instant.Duration == Duration {
    /// An item waiting in a partition's buffer.
    public struct Item: Sendable {
        public var payload: Payload
        public var offset: Int64
        public var bytes: Int
        public var retained: Int
    }

    /// The records of one partition within a bulk call, in offset order.
    public struct Segment: Sendable {
        public var partition: Partition
        public var items: [Payload]
        public var offsets: [Int64]
    }

    /// A bulk call to make.
    public struct Batch: Sendable {
        public var id: Int
        /// One segment per partition; no partition appears twice.
        public var segments: [Segment]
        public var bytes: Int

        /// Every record of the call, partition by partition (each partition's records in offset order).
        public var items: [Payload] {
            var items: [Payload] = []
            items.reserveCapacity(count)
            for segment in segments { items += segment.items }
            return items
        }

        /// Records in the call.
        public var count: Int { segments.reduce(0) { $0 + $1.items.count } }

        /// The partitions whose records the call carries.
        public var partitions: [Partition] { segments.map(\.partition) }
    }

    public enum Action: Sendable {
        case send(Batch)
        case pause(Partition)
        case resume(Partition)
    }

    private struct PartitionState: Sendable {
        var buffer: [Item] = []
        var bufferHead = 0
        var bufferedBytes = 0
        var retainedBytes = 0
        /// When the oldest buffered record started waiting (reset when a call takes records and leaves some).
        var firstBufferedAt: Instant?
        /// Breaks ties between equal `firstBufferedAt`s: the partition that started waiting first goes first.
        var waitingSequence = 0
        /// The call carrying this partition's records, if any.
        var inFlight: Int?
        var paused = false
        var watermark = OffsetWatermark()

        var bufferedCount: Int { buffer.count - bufferHead }
        /// Whether its buffered records may join the next call.
        var sendable: Bool { inFlight == nil && bufferedCount > 0 }
    }

    private let configuration: BatchingConfiguration
    private var partitions: [Partition: PartitionState] = [:]
    private var callsInFlight: Set<Int> = []
    private var nextBatchID = 0
    private var nextWaitingSequence = 0
    /// Partitions whose watermark moved since the last ``takeCommittable()``.
    private var dirty: Set<Partition> = []
    private var paused: Set<Partition> = []
    /// Records and bytes buffered in partitions that have no call in flight (what the next call can take).
    private var sendableRecords = 0
    private var sendableBytes = 0
    /// Memory held by the records buffered in all partitions (their `retained` sizes).
    private var totalRetainedBytes = 0
    /// A lower bound of the oldest `firstBufferedAt` among sendable partitions (exact after a scan): lets
    /// ``received(_:offset:bytes:retained:partition:now:)`` skip the scan for an expired linger on almost every record.
    private var oldestSendable: Instant?

    public init(configuration: BatchingConfiguration) {
        self.configuration = configuration
    }

    /// Bulk calls currently in flight.
    public var inFlight: Int { callsInFlight.count }

    /// Records buffered (not yet sent) in all partitions.
    public var buffered: Int { partitions.values.reduce(0) { $0 + $1.bufferedCount } }

    /// Memory held by the records buffered (not yet sent) in all partitions: the sum of their `retained` sizes,
    /// what ``BatchingConfiguration/maxBufferedBytes`` bounds.
    public var bufferedBytes: Int { totalRetainedBytes }

    /// Whether the buffer holds ``BatchingConfiguration/maxBufferedBytes`` or more: the owner should take no more
    /// records until calls complete. (Pausing partitions instead would make librdkafka drop what it pre-fetched
    /// for them and fetch it again.)
    public var isOverBudget: Bool { totalRetainedBytes >= configuration.maxBufferedBytes }

    // MARK: - Input

    /// A record was read and decoded. `bytes` is its encoded size in a bulk call (counted against
    /// ``BatchingConfiguration/maxBytes``); `retained` the memory it holds while buffered, e.g. with the source
    /// message kept for the dead-letter topic (counted against ``BatchingConfiguration/maxBufferedBytes``; default
    /// `bytes`).
    public mutating func received(_ payload: Payload, offset: Int64, bytes: Int, retained: Int? = nil,
                                  partition: Partition, now: Instant) -> [Action] {
        let retained = retained ?? bytes
        var state = takeState(partition)
        state.watermark.track(offset)
        if state.bufferedCount == 0 { startWaiting(&state, now: now) }
        state.buffer.append(Item(payload: payload, offset: offset, bytes: bytes, retained: retained))
        state.bufferedBytes += bytes
        state.retainedBytes += retained
        totalRetainedBytes += retained
        if state.inFlight == nil {
            sendableRecords += 1
            sendableBytes += bytes
            if state.bufferedCount == 1 { noteSendable(since: now) }
        }
        var actions: [Action] = []
        if !state.paused,
            state.bufferedCount >= configuration.maxBufferedPerPartition
                || totalRetainedBytes >= 2 * configuration.maxBufferedBytes
        {
            state.paused = true
            paused.insert(partition)
            actions.append(.pause(partition))
        }
        partitions[partition] = state
        let lingerMayHaveExpired = oldestSendable.map { $0.advanced(by: configuration.linger) <= now } ?? false
        actions += startCalls(now: now, force: [], scanLinger: lingerMayHaveExpired)
        return actions
    }

    /// A record was read that needs no call and no dead-letter (a tombstone, a truncate): it is done now.
    public mutating func receivedDone(offset: Int64, partition: Partition) {
        var state = takeState(partition)
        state.watermark.track(offset)
        if state.watermark.markDone(offset) { dirty.insert(partition) }
        partitions[partition] = state
    }

    /// A record was read whose completion comes later, outside a batch (a dead-letter write).
    public mutating func receivedPending(offset: Int64, partition: Partition) {
        partitions[partition, default: PartitionState()].watermark.track(offset)
    }

    /// A record tracked with ``receivedPending(offset:partition:)`` is done (e.g. its dead-letter write was acknowledged).
    public mutating func markDone(offset: Int64, partition: Partition) {
        guard partitions[partition] != nil else { return }
        var state = takeState(partition)
        if state.watermark.markDone(offset) { dirty.insert(partition) }
        partitions[partition] = state
    }

    /// A call was accepted (HTTP 202) or otherwise fully handled: its records are done. Segments of partitions
    /// removed (revoked) meanwhile are ignored.
    public mutating func batchCompleted(_ batch: Batch, now: Instant) -> [Action] {
        guard callsInFlight.remove(batch.id) != nil else { return [] }
        for segment in batch.segments where partitions[segment.partition]?.inFlight == batch.id {
            var state = takeState(segment.partition)
            for offset in segment.offsets where state.watermark.markDone(offset) { dirty.insert(segment.partition) }
            release(&state)
            partitions[segment.partition] = state
        }
        var actions = resumeDrained()
        actions += startCalls(now: now, force: [], scanLinger: true)
        return actions
    }

    /// A call was abandoned (its partitions were revoked, or the pipeline stops, before it was accepted): nothing
    /// of it is done, nothing committed; its records are not sent again by this instance.
    public mutating func batchAbandoned(_ batch: Batch) {
        guard callsInFlight.remove(batch.id) != nil else { return }
        for segment in batch.segments where partitions[segment.partition]?.inFlight == batch.id {
            var state = takeState(segment.partition)
            release(&state)
            partitions[segment.partition] = state
        }
    }

    /// Time passed: send calls whose linger expired.
    public mutating func tick(now: Instant) -> [Action] {
        startCalls(now: now, force: [], scanLinger: true)
    }

    /// Send every buffered record of `partitions` as soon as the in-flight limits allow, regardless of linger.
    public mutating func flush(_ partitions: Set<Partition>, now: Instant) -> [Action] {
        startCalls(now: now, force: partitions, scanLinger: true)
    }

    // MARK: - Offsets

    /// The next offset to commit for each partition whose watermark moved since the last call.
    public mutating func takeCommittable() -> [Partition: Int64] {
        var result: [Partition: Int64] = [:]
        for partition in dirty {
            if let offset = partitions[partition]?.watermark.committable { result[partition] = offset }
        }
        dirty.removeAll()
        return result
    }

    /// The next offset to commit for `partition` (everything below it is done), if any record was done.
    public func committable(_ partition: Partition) -> Int64? {
        partitions[partition]?.watermark.committable
    }

    /// Whether `partition` has records in a call in flight.
    public func hasInFlight(_ partition: Partition) -> Bool {
        partitions[partition]?.inFlight != nil
    }

    /// Forgets `partitions` (revoked): buffered records are dropped, since the new owner reads them again from the
    /// last commit. A call still carrying their records completes or is abandoned later without effect on them.
    /// - Returns: The committable offset of each partition that had one.
    public mutating func remove(_ removed: [Partition]) -> [Partition: Int64] {
        var result: [Partition: Int64] = [:]
        for partition in removed {
            guard let state = partitions.removeValue(forKey: partition) else { continue }
            totalRetainedBytes -= state.retainedBytes
            if state.inFlight == nil {
                sendableRecords -= state.bufferedCount
                sendableBytes -= state.bufferedBytes
            }
            if let offset = state.watermark.committable { result[partition] = offset }
            dirty.remove(partition)
            paused.remove(partition)
        }
        return result
    }

    /// Partitions currently paused by back-pressure (re-apply after a rebalance: new assignments start unpaused).
    public var pausedPartitions: [Partition] { Array(paused) }

    // MARK: - Internals

    /// Moves a partition's state out of the dictionary (a new one if it has none), so that appending to its buffer
    /// or watermark mutates a uniquely referenced array instead of copying it; the caller puts it back.
    private mutating func takeState(_ partition: Partition) -> PartitionState {
        partitions.removeValue(forKey: partition) ?? PartitionState()
    }

    private mutating func startWaiting(_ state: inout PartitionState, now: Instant) {
        state.firstBufferedAt = now
        nextWaitingSequence += 1
        state.waitingSequence = nextWaitingSequence
    }

    private mutating func noteSendable(since instant: Instant) {
        if let oldest = oldestSendable, oldest <= instant { return }
        oldestSendable = instant
    }

    /// The partition's call is over: its remaining records may join the next call.
    private mutating func release(_ state: inout PartitionState) {
        state.inFlight = nil
        sendableRecords += state.bufferedCount
        sendableBytes += state.bufferedBytes
        if state.bufferedCount > 0, let first = state.firstBufferedAt { noteSendable(since: first) }
    }

    /// Resumes paused partitions once the instance is below half its byte budget and the partition below half its
    /// record budget.
    private mutating func resumeDrained() -> [Action] {
        guard !paused.isEmpty, totalRetainedBytes < configuration.maxBufferedBytes else { return [] }
        var actions: [Action] = []
        for partition in paused {
            guard var state = partitions[partition],
                state.bufferedCount < configuration.maxBufferedPerPartition / 2
            else { continue }
            state.paused = false
            partitions[partition] = state
            paused.remove(partition)
            actions.append(.resume(partition))
        }
        return actions
    }

    /// Whether the oldest sendable record has waited its linger; recomputes ``oldestSendable`` exactly.
    private mutating func lingerExpired(now: Instant) -> Bool {
        guard let bound = oldestSendable, bound.advanced(by: configuration.linger) <= now else { return false }
        oldestSendable = partitions.values.lazy.filter(\.sendable).compactMap(\.firstBufferedAt).min()
        guard let oldest = oldestSendable else { return false }
        return oldest.advanced(by: configuration.linger) <= now
    }

    private mutating func startCalls(now: Instant, force: Set<Partition>, scanLinger: Bool) -> [Action] {
        var actions: [Action] = []
        while callsInFlight.count < configuration.maxInFlight, sendableRecords > 0 {
            let full = sendableRecords >= configuration.maxRecords || sendableBytes >= configuration.maxBytes
            let forced = !force.isEmpty && force.contains { partitions[$0]?.sendable ?? false }
            guard full || forced || (scanLinger && lingerExpired(now: now)) else { break }
            guard let call = takeCall(now: now, first: force) else { break }
            actions.append(.send(call))
        }
        return actions
    }

    /// Fills one call from the sendable partitions, those in `first` first, then the oldest waiting.
    private mutating func takeCall(now: Instant, first: Set<Partition>) -> Batch? {
        let candidates = partitions.compactMap { (partition, state) -> (Partition, Bool, Instant, Int)? in
            guard state.sendable, let since = state.firstBufferedAt else { return nil }
            return (partition, first.contains(partition), since, state.waitingSequence)
        }.sorted { $0.1 != $1.1 ? $0.1 : $0.2 != $1.2 ? $0.2 < $1.2 : $0.3 < $1.3 }
        nextBatchID += 1
        let id = nextBatchID
        var segments: [Segment] = []
        var records = 0
        var bytes = 0
        for (partition, _, _, _) in candidates {
            guard records < configuration.maxRecords, bytes < configuration.maxBytes else { break }
            var state = takeState(partition)
            var items: [Payload] = []
            var offsets: [Int64] = []
            var taken = 0
            var retainedTaken = 0
            let room = configuration.maxRecords - records
            items.reserveCapacity(min(state.bufferedCount, room))
            offsets.reserveCapacity(min(state.bufferedCount, room))
            while state.bufferHead < state.buffer.count, records < configuration.maxRecords {
                let item = state.buffer[state.bufferHead]
                // One record larger than the limit still goes alone (Certyo's answer decides its fate).
                if records > 0, bytes + item.bytes > configuration.maxBytes { break }
                items.append(item.payload)
                offsets.append(item.offset)
                bytes += item.bytes
                taken += item.bytes
                retainedTaken += item.retained
                records += 1
                state.bufferHead += 1
            }
            if items.isEmpty {
                partitions[partition] = state
                break
            }
            sendableRecords -= state.bufferedCount + items.count
            sendableBytes -= state.bufferedBytes
            state.bufferedBytes -= taken
            state.retainedBytes -= retainedTaken
            totalRetainedBytes -= retainedTaken
            if state.bufferHead == state.buffer.count {
                state.buffer.removeAll(keepingCapacity: state.buffer.count <= 4096)
                state.bufferHead = 0
            } else if state.bufferHead > 4096 {
                state.buffer.removeFirst(state.bufferHead)
                state.bufferHead = 0
            }
            // What stays behind waits for this call to end; its linger counts from now.
            if state.bufferedCount > 0 { startWaiting(&state, now: now) } else { state.firstBufferedAt = nil }
            state.inFlight = id
            partitions[partition] = state
            segments.append(Segment(partition: partition, items: items, offsets: offsets))
        }
        guard !segments.isEmpty else { return nil }
        callsInFlight.insert(id)
        return Batch(id: id, segments: segments, bytes: bytes)
    }
}

extension BatchingStateMachine {
    /// Every partition with state (buffered, in flight, or tracked offsets).
    public var knownPartitions: [Partition] { Array(partitions.keys) }

    /// Whether `partition` has records waiting to be sent.
    public func hasBuffered(_ partition: Partition) -> Bool {
        (partitions[partition]?.bufferedCount ?? 0) > 0
    }
}
