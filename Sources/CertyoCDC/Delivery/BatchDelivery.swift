import CDCCore
import CertyoClient
import Logging
import Synchronization

/// What one capture path (Kafka, LISTEN/NOTIFY, polling) gives the shared delivery loop: how to reach the record
/// of an item, when its lane's work is abandoned, how to hold a lane back while a batch keeps failing, and how to
/// write a dead letter.
///
/// A *lane* is the unit whose items reach Certyo in order: a Kafka partition, or a captured table.
protocol DeliveryHost: Sendable {
    associatedtype Item: Sendable
    associatedtype Lane: Sendable & CustomStringConvertible

    /// The record to send for `item`.
    func record(of item: Item) -> CertyoRecord
    /// Whether the lane's work must stop now (revoked, shutting down past its bound, cancelled).
    func isAbandoned(_ lane: Lane) -> Bool
    /// Called once per failing batch after ``DeliveryConfiguration/pauseAfterRetries`` tries, or on a refused key.
    func pauseForRetry(_ lane: Lane)
    /// Called when that batch is done or abandoned.
    func resumeAfterRetry(_ lane: Lane)
    /// Writes one record Certyo refused to the dead-letter sink, retrying until it is stored.
    /// - Returns: `false` if the lane's work was abandoned first.
    func deadLetter(_ item: Item, _ rejection: Rejection, lane: Lane) async -> Bool
}

/// The backoff and alert settings of the shared delivery loop.
public struct DeliveryConfiguration: Sendable {
    /// Backoff between retries of a batch (429, 5xx, timeouts, connection errors). Default: ``RetryPolicy`` (1 s
    /// doubling, full jitter, capped at 60 s, never sooner than `Retry-After`).
    public var retry = RetryPolicy()
    /// After this many failed tries of one batch its lane is paused (Kafka: fetching stops). Default: `3`.
    public var pauseAfterRetries = 3
    /// How often a batch is tried again while Certyo refuses the key (401/403). Default: 30 s.
    public var unauthorisedRetryInterval: Duration = .seconds(30)
    /// How often the `certyo_auth_failed` alert line repeats while the key is refused. Default: 60 s.
    public var unauthorisedAlertInterval: Duration = .seconds(60)

    public init() {}
}

/// The retry / classify / halve / dead-letter / auth-alert loop every capture path shares: a batch is delivered
/// until each record is accepted (HTTP 202) or dead-lettered, or its lane's work is abandoned.
final class BatchDelivery: Sendable {
    private struct AuthState {
        /// Since when Certyo refuses the key (401/403); nil while it accepts it.
        var unauthorisedSince: ContinuousClock.Instant?
        var lastAuthAlert: ContinuousClock.Instant?
    }

    private let configuration: DeliveryConfiguration
    private let sink: any BatchSink
    private let statistics: PipelineStatistics
    private let logger: Logger
    /// The log metadata key naming a lane (`kafka.partition`, `capture.table`).
    private let laneMetadataKey: String
    private let clock = ContinuousClock()
    private let auth = Mutex(AuthState())

    init(configuration: DeliveryConfiguration, sink: any BatchSink, statistics: PipelineStatistics, logger: Logger,
         laneMetadataKey: String) {
        self.configuration = configuration
        self.sink = sink
        self.statistics = statistics
        self.logger = logger
        self.laneMetadataKey = laneMetadataKey
    }

    /// Delivers `items` until each one is accepted or dead-lettered, or the lane's work is abandoned.
    /// - Returns: `true` when every item is done; `false` when abandoned (nothing of it may be committed).
    func deliver<Host: DeliveryHost>(_ items: [Host.Item], lane: Host.Lane, host: Host) async -> Bool {
        var attempt = 0
        var pausedForRetry = false
        defer { if pausedForRetry { host.resumeAfterRetry(lane) } }
        while true {
            attempt += 1
            let failure: any Error
            do {
                let receipt = try await sink.ingest(items.map(host.record(of:)))
                statistics.update {
                    $0.ingested += items.count
                    $0.replayed += receipt.replayed
                    $0.batches += 1
                }
                setAuthorised(true)
                return true
            } catch {
                failure = error
            }
            if host.isAbandoned(lane) { return false }
            switch sink.classify(failure) {
            case .retry(let retryAfter, let category):
                let delay = configuration.retry.delay(forAttempt: attempt - 1, retryAfter: retryAfter)
                statistics.update { $0.retries += 1; $0.retriesByCategory[category, default: 0] += 1 }
                logger.warning("bulk call failed; retrying the same \(items.count) records in \(delay)", metadata: [
                    laneMetadataKey: "\(lane)", "certyo.attempt": "\(attempt)", "error": "\(failure)",
                ])
                if attempt == configuration.pauseAfterRetries, !pausedForRetry {
                    // Keep polling (group membership) but stop fetching what cannot be sent yet.
                    pausedForRetry = true
                    host.pauseForRetry(lane)
                }
                guard await wait(delay, lane: lane, host: host) else { return false }
            case .unauthorized(let message):
                setAuthorised(false)
                if !pausedForRetry {
                    pausedForRetry = true
                    host.pauseForRetry(lane)
                }
                alertUnauthorised(message)
                guard await wait(configuration.unauthorisedRetryInterval, lane: lane, host: host) else { return false }
                await sink.reloadCredentials()
            case .split(let status, let code):
                guard items.count > 1 else {
                    let rejection = Rejection(reason: "too_large", message: "Certyo refused this record alone as too "
                        + "large (\(status) \(code)); it cannot be sent", httpStatus: status, errorCode: code)
                    return await host.deadLetter(items[0], rejection, lane: lane)
                }
                return await deliverInHalves(items, lane: lane, host: host)
            case .rejectAll(let rejection):
                // Nothing names the culprit: halve until each refused record stands alone.
                guard items.count > 1 else { return await host.deadLetter(items[0], rejection, lane: lane) }
                return await deliverInHalves(items, lane: lane, host: host)
            case .reject(let rejected):
                for (index, rejection) in rejected.sorted(by: { $0.key < $1.key }) where items.indices.contains(index) {
                    guard await host.deadLetter(items[index], rejection, lane: lane) else { return false }
                }
                let rest = items.indices.filter { rejected[$0] == nil }.map { items[$0] }
                if rest.isEmpty { return true }
                return await deliver(rest, lane: lane, host: host)
            }
        }
    }

    /// Delivers the first half, then the second, in order (a lane's records reach Certyo in order).
    private func deliverInHalves<Host: DeliveryHost>(_ items: [Host.Item], lane: Host.Lane, host: Host) async -> Bool {
        let half = items.count / 2
        guard await deliver(Array(items[..<half]), lane: lane, host: host) else { return false }
        return await deliver(Array(items[half...]), lane: lane, host: host)
    }

    /// Sleeps `delay` in short steps, returning `false` as soon as the lane's work is abandoned.
    func wait<Host: DeliveryHost>(_ delay: Duration, lane: Host.Lane, host: Host) async -> Bool {
        let until = clock.now.advanced(by: delay)
        while clock.now < until {
            if host.isAbandoned(lane) { return false }
            try? await Task.sleep(for: min(.milliseconds(100), until - clock.now))
        }
        return !host.isAbandoned(lane)
    }

    /// Runs `write` until it succeeds, backing off up to 30 s between tries; logs `record dead-lettered` once it
    /// did. Returns `false` if the lane's work was abandoned first.
    func writeDeadLetterUntilStored<Host: DeliveryHost>(
        lane: Host.Lane,
        host: Host,
        reason: String,
        message: String,
        metadata: Logger.Metadata,
        _ write: () async throws -> Void
    ) async -> Bool {
        var attempt = 0
        while !host.isAbandoned(lane) {
            attempt += 1
            do {
                try await write()
                logger.error("record dead-lettered: \(message)", metadata: metadata)
                statistics.update {
                    $0.deadLettered += 1
                    $0.deadLetteredByReason[reason, default: 0] += 1
                }
                return true
            } catch {
                logger.error("dead-letter write failed; the offset stays uncommitted, retrying: \(error)")
                guard await wait(.seconds(min(30, 1 << min(attempt, 5))), lane: lane, host: host) else { return false }
            }
        }
        return false
    }

    // MARK: - Authorisation

    private func setAuthorised(_ authorised: Bool) {
        let recovered = auth.withLock { state -> Bool in
            if authorised {
                defer { state.unauthorisedSince = nil }
                return state.unauthorisedSince != nil
            }
            if state.unauthorisedSince == nil { state.unauthorisedSince = clock.now }
            return false
        }
        if recovered { logger.notice("certyo_auth_recovered: Certyo accepts the API key again; sending resumed") }
    }

    /// One alert line per ``DeliveryConfiguration/unauthorisedAlertInterval`` while Certyo refuses the key.
    private func alertUnauthorised(_ message: String) {
        let due = auth.withLock { state -> Bool in
            if let last = state.lastAuthAlert, clock.now - last < configuration.unauthorisedAlertInterval {
                return false
            }
            state.lastAuthAlert = clock.now
            return true
        }
        if due {
            logger.critical(
                "certyo_auth_failed: Certyo refuses the API key or tenant; nothing is sent or committed until it accepts them. Fix CERTYO_API_KEY / CERTYO_API_KEY_FILE or CERTYO_TENANT_ID. \(message)"
            )
        }
    }
}
