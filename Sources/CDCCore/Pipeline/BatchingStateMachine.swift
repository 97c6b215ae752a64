/// Groups decoded records into bulk calls per partition and decides when an offset may be committed.
///
/// `Payload` is what travels with each record (the pipeline keeps the record with its source message, so a record
/// that Certyo rejects can be dead-lettered with its original bytes).
///
/// A value-type state machine: each method returns the actions its owner runs outside the lock. Rules:
/// - one batch in flight per partition (so a partition's records reach Certyo in order), at most
///   ``BatchingConfiguration/maxInFlight`` across partitions;
/// - a batch is sent when it is full (records or bytes), when its first record has waited ``BatchingConfiguration/linger``,
///   or when the owner flushes (revoke, shutdown);
/// - a partition's committable offset moves past a record only once it and every record before it is done.
public struct BatchingStateMachine<Partition: Hashable & Sendable, Payload: Sendable, Instant: InstantProtocol & Sendable>:
    Sendable
where Instant.Duration == Duration {
    /// An item waiting in a partition's buffer.
    public struct Item: Sendable {
        public var payload: Payload
        public var offset: Int64
        public var bytes: Int
    }

    /// A bulk call to make.
    public struct Batch: Sendable {
        public var id: Int
        public var partition: Partition
        public var items: [Payload]
        public var offsets: [Int64]
        public var bytes: Int
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
        var firstBufferedAt: Instant?
        var inFlight: Int?  // batch id
        var paused = false
        var watermark = OffsetWatermark()

        var bufferedCount: Int { buffer.count - bufferHead }
    }

    private let configuration: BatchingConfiguration
    private var partitions: [Partition: PartitionState] = [:]
    private var inFlightCount = 0
    private var nextBatchID = 0
    /// Partitions whose watermark moved since the last ``takeCommittable()``.
    private var dirty: Set<Partition> = []

    public init(configuration: BatchingConfiguration) {
        self.configuration = configuration
    }

    /// Batches currently in flight.
    public var inFlight: Int { inFlightCount }

    /// Records buffered (not yet sent) in all partitions.
    public var buffered: Int { partitions.values.reduce(0) { $0 + $1.bufferedCount } }

    // MARK: - Input

    /// A record was read and decoded.
    public mutating func received(_ payload: Payload, offset: Int64, bytes: Int, partition: Partition,
                                  now: Instant) -> [Action] {
        var state = partitions[partition, default: PartitionState()]
        state.watermark.track(offset)
        if state.bufferedCount == 0 { state.firstBufferedAt = now }
        state.buffer.append(Item(payload: payload, offset: offset, bytes: bytes))
        state.bufferedBytes += bytes
        var actions: [Action] = []
        if !state.paused, state.bufferedCount >= configuration.maxBufferedPerPartition {
            state.paused = true
            actions.append(.pause(partition))
        }
        partitions[partition] = state
        actions += startBatches(now: now, force: [])
        return actions
    }

    /// A record was read that needs no call and no dead-letter (a tombstone, a truncate): it is done now.
    public mutating func receivedDone(offset: Int64, partition: Partition) {
        var state = partitions[partition, default: PartitionState()]
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
        guard var state = partitions[partition] else { return }
        if state.watermark.markDone(offset) { dirty.insert(partition) }
        partitions[partition] = state
    }

    /// A batch was accepted (HTTP 202) or otherwise fully handled: its records are done.
    public mutating func batchCompleted(_ batch: Batch, now: Instant) -> [Action] {
        guard var state = partitions[batch.partition], state.inFlight == batch.id else { return [] }
        state.inFlight = nil
        inFlightCount -= 1
        for offset in batch.offsets where state.watermark.markDone(offset) { dirty.insert(batch.partition) }
        partitions[batch.partition] = state
        var actions = resumeIfDrained(batch.partition)
        actions += startBatches(now: now, force: [])
        return actions
    }

    /// A batch was abandoned (its partition was revoked before it was accepted): nothing is done, nothing committed.
    public mutating func batchAbandoned(_ batch: Batch) {
        guard var state = partitions[batch.partition], state.inFlight == batch.id else { return }
        state.inFlight = nil
        inFlightCount -= 1
        partitions[batch.partition] = state
    }

    /// Time passed: send batches whose linger expired.
    public mutating func tick(now: Instant) -> [Action] {
        startBatches(now: now, force: [])
    }

    /// Send every buffered record of `partitions` as soon as the in-flight limits allow, regardless of linger.
    public mutating func flush(_ partitions: Set<Partition>, now: Instant) -> [Action] {
        startBatches(now: now, force: partitions)
    }

    /// The earliest instant at which a linger expires, if any partition is waiting on one.
    public var nextDeadline: Instant? {
        partitions.values.compactMap { state in
            state.inFlight == nil && state.bufferedCount > 0 ? state.firstBufferedAt?.advanced(by: configuration.linger) : nil
        }.min()
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

    /// Whether `partition` has a batch in flight.
    public func hasInFlight(_ partition: Partition) -> Bool {
        partitions[partition]?.inFlight != nil
    }

    /// Forgets `partitions` (revoked): buffered records are dropped, since the new owner reads them again from the
    /// last commit. Call after in-flight batches completed or were abandoned.
    /// - Returns: The committable offset of each partition that had one.
    public mutating func remove(_ removed: [Partition]) -> [Partition: Int64] {
        var result: [Partition: Int64] = [:]
        for partition in removed {
            guard let state = partitions.removeValue(forKey: partition) else { continue }
            if state.inFlight != nil { inFlightCount -= 1 }
            if let offset = state.watermark.committable { result[partition] = offset }
            dirty.remove(partition)
        }
        return result
    }

    /// Partitions currently paused by back-pressure (re-apply after a rebalance: new assignments start unpaused).
    public var pausedPartitions: [Partition] {
        partitions.filter(\.value.paused).map(\.key)
    }

    // MARK: - Internals

    private mutating func resumeIfDrained(_ partition: Partition) -> [Action] {
        guard var state = partitions[partition], state.paused,
            state.bufferedCount < configuration.maxBufferedPerPartition / 2
        else { return [] }
        state.paused = false
        partitions[partition] = state
        return [.resume(partition)]
    }

    private mutating func startBatches(now: Instant, force: Set<Partition>) -> [Action] {
        guard inFlightCount < configuration.maxInFlight else { return [] }
        // Oldest waiting first, so no partition starves under the in-flight limit.
        let ready = partitions.compactMap { (partition, state) -> (Partition, Instant)? in
            guard state.inFlight == nil, state.bufferedCount > 0, let first = state.firstBufferedAt else { return nil }
            let full = state.bufferedCount >= configuration.maxRecords || state.bufferedBytes >= configuration.maxBytes
            let lingered = first.advanced(by: configuration.linger) <= now
            return full || lingered || force.contains(partition) ? (partition, first) : nil
        }.sorted { $0.1 < $1.1 }
        var actions: [Action] = []
        for (partition, _) in ready where inFlightCount < configuration.maxInFlight {
            actions.append(.send(takeBatch(partition, now: now)))
        }
        return actions
    }

    private mutating func takeBatch(_ partition: Partition, now: Instant) -> Batch {
        var state = partitions[partition]!
        var items: [Payload] = []
        var offsets: [Int64] = []
        var bytes = 0
        items.reserveCapacity(min(state.bufferedCount, configuration.maxRecords))
        while state.bufferHead < state.buffer.count, items.count < configuration.maxRecords {
            let item = state.buffer[state.bufferHead]
            if !items.isEmpty, bytes + item.bytes > configuration.maxBytes { break }
            items.append(item.payload)
            offsets.append(item.offset)
            bytes += item.bytes
            state.bufferHead += 1
        }
        state.bufferedBytes -= bytes
        if state.bufferHead == state.buffer.count {
            state.buffer.removeAll(keepingCapacity: true)
            state.bufferHead = 0
        } else if state.bufferHead > 4096 {
            state.buffer.removeFirst(state.bufferHead)
            state.bufferHead = 0
        }
        // The next batch's linger starts now: its records were already waiting.
        state.firstBufferedAt = state.bufferedCount > 0 ? now : nil
        nextBatchID += 1
        state.inFlight = nextBatchID
        inFlightCount += 1
        partitions[partition] = state
        return Batch(id: nextBatchID, partition: partition, items: items, offsets: offsets, bytes: bytes)
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
