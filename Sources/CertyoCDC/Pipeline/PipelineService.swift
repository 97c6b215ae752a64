import CDCCore
import CertyoClient
import Dispatch
import KafkaBridge
import Logging
import ServiceLifecycle
import Synchronization

/// Consumes Debezium change events from Kafka, sends them to Certyo in bulk calls and commits a partition's offset
/// only past records that were accepted (HTTP 202), skipped on purpose, or written to the dead-letter topic.
///
/// One driver task polls and decodes; one task per in-flight bulk call (carrying the records of one or more
/// partitions) sends and retries it; one committer task commits the done watermarks in order. Stopping (graceful shutdown or cancellation) stops fetching, sends what is buffered
/// within ``PipelineConfiguration/shutdownTimeout``, commits what is done and leaves the group.
public final class PipelineService<Decoder: ChangeDecoder>: Service {
    private let configuration: PipelineConfiguration
    private let decoderTemplate: Decoder
    private let sink: any BatchSink
    private let deadLetters: any DeadLetterSink
    private let logger: Logger
    /// Counters of this run.
    public let statistics: PipelineStatistics

    public init(
        configuration: PipelineConfiguration,
        decoder: Decoder,
        sink: any BatchSink,
        deadLetters: any DeadLetterSink,
        statistics: PipelineStatistics = PipelineStatistics(),
        logger: Logger
    ) {
        self.configuration = configuration
        self.decoderTemplate = decoder
        self.sink = sink
        self.deadLetters = deadLetters
        self.statistics = statistics
        self.logger = logger
    }

    public func run() async throws {
        let core = PipelineCore(configuration: configuration, sink: sink, deadLetters: deadLetters,
                                statistics: statistics, logger: logger)
        let consumer = try KafkaConsumer(configuration: configuration.consumer, listener: core, logger: logger)
        core.attach(consumer)
        logger.info("pipeline started", metadata: [
            "kafka.group": "\(configuration.consumer.groupID)", "kafka.pattern": "\(configuration.consumer.topicPattern)",
        ])
        var decoder = decoderTemplate
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await core.runCommitter() }
            group.addTask { await core.runLauncher() }
            if let metrics = statistics.metrics {
                let lag = PartitionLagMonitor(statistics: statistics, metrics: metrics,
                                              interval: configuration.lagRefreshInterval, logger: logger)
                group.addTask { await lag.run(consumer) }
            }
            try await withGracefulShutdownHandler {
                while !core.stopRequested, !Task.isCancelled {
                    await core.waitWhileOverBudget(atMost: .seconds(1))
                    let messages = try await consumer.poll(maxMessages: 2000)
                    if !messages.isEmpty { statistics.update { $0.consumed += messages.count } }
                    var sends: [PipelineCore.Machine.Batch] = []
                    for message in messages {
                        sends += try await core.process(message, decoder: &decoder, group: &group)
                    }
                    for warning in decoder.takeWarnings() { logger.warning("\(warning)") }
                    sends += core.tick()
                    core.launch(sends)
                }
            } onGracefulShutdown: {
                core.requestStop()
            }
            logger.info("pipeline stopping: sending buffered batches, then committing")
            await core.drain(partitions: nil, timeout: configuration.shutdownTimeout)
            await core.commitNow()
            do {
                try await consumer.close()
            } catch {
                logger.warning("closing the Kafka consumer failed: \(error)")
            }
            core.finishCommitter()
            core.finishLauncher()
            group.cancelAll()
        }
        logger.info("pipeline stopped", metadata: ["pipeline.counts": "\(statistics.snapshot)"])
    }
}

/// The pipeline's shared state and the work every task does on it.
final class PipelineCore: KafkaRebalanceListener, @unchecked Sendable {
    // @unchecked Sendable: mutable state is in `state` (a Mutex); `consumer` is set once before the first poll.
    typealias Machine = BatchingStateMachine<TopicPartition, PendingRecord, ContinuousClock.Instant>

    /// A decoded record with the Kafka message it came from (kept for the dead-letter topic until it is done).
    struct PendingRecord: Sendable {
        var record: CertyoRecord
        var source: KafkaMessage
    }

    private struct State {
        var machine: Machine
        /// Partitions whose work must stop now (revoked past the bound, or shutdown past its bound).
        var abandoned: Set<TopicPartition> = []
        var abandonAll = false
        var stopRequested = false
        /// Offsets whose commit failed, retried with the next commit.
        var uncommitted: [TopicPartition: Int64] = [:]
        /// Partitions paused because their batch keeps failing.
        var pausedForRetry: Set<TopicPartition> = []
    }

    private let configuration: PipelineConfiguration
    private let sink: any BatchSink
    private let deadLetters: any DeadLetterSink
    private let statistics: PipelineStatistics
    private let logger: Logger
    /// The retry / classify / halve / dead-letter loop shared with the other capture paths.
    private let delivery: BatchDelivery
    private let clock = ContinuousClock()
    private let state: Mutex<State>
    private let commitSignal: AsyncStream<Void>.Continuation
    private let commitRequests: AsyncStream<Void>
    private let launches: AsyncStream<Machine.Batch>
    private let launcher: AsyncStream<Machine.Batch>.Continuation
    private var consumer: KafkaConsumer?

    init(configuration: PipelineConfiguration, sink: any BatchSink, deadLetters: any DeadLetterSink,
         statistics: PipelineStatistics, logger: Logger) {
        self.configuration = configuration
        self.sink = sink
        self.deadLetters = deadLetters
        self.statistics = statistics
        self.logger = logger
        self.delivery = BatchDelivery(configuration: configuration.delivery, sink: sink, statistics: statistics,
                                      logger: logger, laneMetadataKey: "kafka.partitions")
        self.state = Mutex(State(machine: Machine(configuration: configuration.batching)))
        (commitRequests, commitSignal) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        (launches, launcher) = AsyncStream.makeStream()
    }

    func attach(_ consumer: KafkaConsumer) { self.consumer = consumer }

    var stopRequested: Bool { state.withLock { $0.stopRequested } }

    func requestStop() { state.withLock { $0.stopRequested = true } }

    // MARK: - Driver

    /// Decodes one message and feeds the state machine. Returns the batches to start.
    func process<D: ChangeDecoder>(
        _ message: KafkaMessage,
        decoder: inout D,
        group: inout ThrowingDiscardingTaskGroup<any Error>
    ) async throws -> [Machine.Batch] {
        let tp = message.topicPartition
        let source = SourceMessage(
            topic: message.topic, partition: message.partition, offset: message.offset, key: message.key,
            value: message.value, headers: message.headers.map { .init(name: $0.name, value: $0.value) }
        )
        var outcome = decoder.decode(source)
        var attempt = 0
        while case .needsCatalog(let table) = outcome {
            attempt += 1
            do {
                try await decoder.refreshCatalog(for: table)
                outcome = decoder.decode(source)
                if case .needsCatalog = outcome {
                    outcome = .deadLetter(DeadLetterReason(
                        code: "unknown_column",
                        message: "\(table): the message has a column the PostgreSQL catalog does not list",
                        fix: "check that PG_DSN points at the database Debezium captures"
                    ))
                }
            } catch let error as ConfigError {
                // No catalog can be had without a configuration change (PG_DSN unset): stop with that one line,
                // committing nothing past this record.
                throw error
            } catch {
                let delay = Duration.seconds(min(30, 1 << min(attempt, 5)))
                logger.error("cannot read the column types of \(table) from PostgreSQL; retrying in \(delay): \(error)")
                try await Task.sleep(for: delay)
            }
        }
        switch outcome {
        case .record(let record):
            // Held until done: the record and its Kafka message (kept for the dead-letter topic).
            let retained = record.estimatedJSONBytes + (message.value?.count ?? 0) + (message.key?.count ?? 0)
            let actions = state.withLock {
                $0.machine.received(PendingRecord(record: record, source: message), offset: message.offset,
                                    bytes: record.estimatedJSONBytes, retained: retained, partition: tp,
                                    now: clock.now)
            }
            return apply(actions)
        case .skip(let reason):
            statistics.update { $0.skipped += 1 }
            if reason.code == "truncate" {
                logger.warning("TRUNCATE is not anchored (no row to record): \(reason.message)", metadata: [
                    "kafka.topic": "\(message.topic)", "kafka.offset": "\(message.offset)",
                ])
            }
            state.withLock { $0.machine.receivedDone(offset: message.offset, partition: tp) }
            commitSignal.yield()
        case .deadLetter(let reason):
            state.withLock { $0.machine.receivedPending(offset: message.offset, partition: tp) }
            let letter = DeadLetter(source: message, reason: reason.code, message: reason.description)
            group.addTask { await self.writeDeadLetter(letter) }
        case .needsCatalog:
            preconditionFailure("handled above")
        }
        return []
    }

    /// While the buffer holds its byte budget, waits for calls to complete instead of polling, at most `limit`
    /// (then it polls anyway, so the group's rebalances are served; past twice the budget partitions pause). The
    /// records stay in librdkafka's queue meanwhile, which its own `queued.max.messages.kbytes` bounds; pausing
    /// partitions instead would make librdkafka drop what it pre-fetched for them and fetch it again.
    func waitWhileOverBudget(atMost limit: Duration) async {
        let deadline = clock.now.advanced(by: limit)
        while state.withLock({ $0.machine.isOverBudget }), clock.now < deadline, !stopRequested, !Task.isCancelled {
            launch(tick())
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Batches whose linger expired.
    func tick() -> [Machine.Batch] {
        apply(state.withLock { $0.machine.tick(now: clock.now) })
    }

    /// Runs pause/resume actions and returns the batches to send.
    private func apply(_ actions: [Machine.Action]) -> [Machine.Batch] {
        var batches: [Machine.Batch] = []
        for action in actions {
            switch action {
            case .send(let batch): batches.append(batch)
            case .pause(let tp):
                logger.debug("pausing \(tp): its buffer is full")
                do { try consumer?.pause([tp]) } catch { logger.warning("pausing \(tp) failed: \(error)") }
            case .resume(let tp):
                do { try consumer?.resume([tp]) } catch { logger.warning("resuming \(tp) failed: \(error)") }
            }
        }
        return batches
    }

    // MARK: - Senders

    /// Starts a sender task for each batch. Every batch the state machine hands out goes through here, whoever
    /// made it ready (the driver, a completed batch, a drain), so none is left marked in flight without a sender.
    func launch(_ batches: [Machine.Batch]) {
        for batch in batches { launcher.yield(batch) }
    }

    /// Runs one sender task per launched batch, until ``finishLauncher()``.
    func runLauncher() async {
        await withDiscardingTaskGroup { group in
            for await batch in launches {
                group.addTask { await self.runBatch(batch) }
            }
        }
    }

    func finishLauncher() { launcher.finish() }

    /// Sends one call, then launches whatever its completion made ready (possibly several: the freed in-flight
    /// slot and its partitions' next records).
    private func runBatch(_ batch: Machine.Batch) async {
        let done = await delivery.deliver(batch.items, lane: CallPartitions(batch.partitions), host: self)
        let actions: [Machine.Action] = state.withLock {
            if done { return $0.machine.batchCompleted(batch, now: clock.now) }
            $0.machine.batchAbandoned(batch)
            return []
        }
        commitSignal.yield()
        launch(apply(actions))
    }

    /// A decoder dead letter: written, then its offset is done.
    private func writeDeadLetter(_ letter: DeadLetter) async {
        guard await writeDeadLetterUntilAcknowledged(letter) else { return }
        state.withLock { $0.machine.markDone(offset: letter.source.offset, partition: letter.source.topicPartition) }
        commitSignal.yield()
    }

    /// Writes `letter` until the broker acknowledges it. Returns `false` if the partition's work was abandoned first.
    private func writeDeadLetterUntilAcknowledged(_ letter: DeadLetter) async -> Bool {
        await delivery.writeDeadLetterUntilStored(
            lane: CallPartitions([letter.source.topicPartition]), host: self, reason: letter.reason, message: letter.message,
            metadata: [
                "kafka.topic": "\(letter.source.topic)", "kafka.partition": "\(letter.source.partition)",
                "kafka.offset": "\(letter.source.offset)", "dlq.reason": "\(letter.reason)",
            ]
        ) {
            try await deadLetters.write(letter)
        }
    }

    // MARK: - Commits

    /// Commits done watermarks whenever they move, one commit at a time (so offsets never go backwards).
    func runCommitter() async {
        for await _ in commitRequests {
            await commitNow()
        }
    }

    func finishCommitter() { commitSignal.finish() }

    func commitNow() async {
        guard let consumer else { return }
        let offsets = state.withLock { state -> [TopicPartition: Int64] in
            var offsets = state.uncommitted
            offsets.merge(state.machine.takeCommittable()) { _, new in new }
            state.uncommitted = [:]
            return offsets
        }
        guard !offsets.isEmpty else { return }
        do {
            try await consumer.commit(offsets)
            statistics.update { $0.committed.merge(offsets) { max($0, $1) } }
        } catch {
            logger.warning("offset commit failed; retried with the next one: \(error)")
            state.withLock { $0.uncommitted.merge(offsets) { max($0, $1) } }
        }
    }

    // MARK: - Rebalance and shutdown

    /// Sends what is buffered for `partitions` (all when nil) and waits for in-flight batches, up to `timeout`;
    /// whatever is still unfinished then is abandoned (not committed: the next owner replays it).
    func drain(partitions: Set<TopicPartition>?, timeout: Duration) async {
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            let (sends, busy) = state.withLock { state -> ([Machine.Action], Bool) in
                let targets = partitions ?? Set(state.machine.knownPartitions)
                let sends = state.machine.flush(targets, now: clock.now)
                let busy = targets.contains { state.machine.hasInFlight($0) || state.machine.hasBuffered($0) }
                return (sends, busy)
            }
            launch(apply(sends))
            if !busy { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
        state.withLock { state in
            if let partitions { state.abandoned.formUnion(partitions) } else { state.abandonAll = true }
        }
        logger.warning("gave up waiting for in-flight batches after \(timeout); they will be replayed")
    }

    func partitionsRevoked(_ partitions: [TopicPartition], lost: Bool) -> [TopicPartition: Int64] {
        statistics.partitionsRevoked(partitions)
        let revoked = Set(partitions)
        if !lost, !stopRequested {
            let done = DispatchSemaphore(value: 0)
            let timeout = configuration.revokeTimeout
            Task {
                await self.drain(partitions: revoked, timeout: timeout)
                done.signal()
            }
            done.wait()
        } else {
            state.withLock { $0.abandoned.formUnion(revoked) }
        }
        return state.withLock { state in
            let offsets = state.machine.remove(partitions)
            for tp in partitions { state.uncommitted[tp] = nil }
            return lost ? [:] : offsets
        }
    }

    func partitionsAssigned(_ partitions: [TopicPartition]) {
        statistics.partitionsAssigned(partitions)
        let repause = state.withLock { state -> [TopicPartition] in
            for tp in partitions { state.abandoned.remove(tp) }
            // Newly assigned partitions start unpaused in librdkafka: re-apply what this instance still holds paused.
            let paused = state.pausedForRetry.union(state.machine.pausedPartitions)
            return partitions.filter { paused.contains($0) }
        }
        if !repause.isEmpty {
            do { try consumer?.pause(repause) } catch { logger.warning("re-pausing \(repause) failed: \(error)") }
        }
    }
}

// MARK: - PipelineCore + DeliveryHost

extension PipelineCore: DeliveryHost {
    func record(of item: PendingRecord) -> CertyoRecord { item.record }

    /// A call's work stops when every partition it carries was revoked (or the pipeline stops past its bound): a
    /// call that also carries partitions this instance keeps goes on, and completes only those.
    func isAbandoned(_ lane: CallPartitions) -> Bool {
        state.withLock { state in
            state.abandonAll || lane.partitions.allSatisfy { state.abandoned.contains($0) }
        } || Task.isCancelled
    }

    func pauseForRetry(_ lane: CallPartitions) {
        state.withLock { $0.pausedForRetry.formUnion(lane.partitions) }
        do { try consumer?.pause(lane.partitions) } catch { logger.warning("pausing \(lane) failed: \(error)") }
    }

    func resumeAfterRetry(_ lane: CallPartitions) {
        let resume = state.withLock { state -> [TopicPartition] in
            state.pausedForRetry.subtract(lane.partitions)
            let stillPaused = Set(state.machine.pausedPartitions)
            return lane.partitions.filter { !stillPaused.contains($0) }
        }
        guard !resume.isEmpty else { return }
        do { try consumer?.resume(resume) } catch { logger.warning("resuming \(lane) failed: \(error)") }
    }

    /// Writes one record Certyo refused to the dead-letter topic, retrying until the broker acknowledges it.
    func deadLetter(_ item: PendingRecord, _ rejection: Rejection, lane: CallPartitions) async -> Bool {
        let letter = DeadLetter(source: item.source, reason: rejection.reason, message: rejection.message,
                                httpStatus: rejection.httpStatus, errorCode: rejection.errorCode)
        return await writeDeadLetterUntilAcknowledged(letter)
    }
}

/// The partitions whose records one bulk call carries: the delivery loop's lane on the Kafka path.
struct CallPartitions: Sendable, CustomStringConvertible {
    var partitions: [TopicPartition]

    init(_ partitions: [TopicPartition]) { self.partitions = partitions }

    /// Up to four partitions by name, then how many more (a call can carry hundreds).
    var description: String {
        let named = partitions.prefix(4).map(\.description).joined(separator: ",")
        return partitions.count > 4 ? "\(named) and \(partitions.count - 4) more" : named
    }
}
