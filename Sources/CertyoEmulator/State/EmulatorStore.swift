import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Owns the emulator's state behind one `Mutex`; each method is one short critical section.
final class EmulatorStore: Sendable {
    let configuration: EmulatorConfiguration
    /// API key → tenant.
    private let tenantsByKey: [String: String]
    private let state: Mutex<EmulatorState>

    init(configuration: EmulatorConfiguration) {
        self.configuration = configuration
        self.tenantsByKey = configuration.apiKeys
        self.state = Mutex(Self.initialState(configuration))
    }

    private static func initialState(_ configuration: EmulatorConfiguration) -> EmulatorState {
        EmulatorState(
            settings: .init(
                accumulateSize: max(1, configuration.accumulateSize),
                accumulateInterval: configuration.accumulateInterval,
                anchorDelay: configuration.anchorDelay,
                seed: configuration.seed,
                requestLogCapacity: max(1, configuration.requestLogCapacity)
            ),
            clock: EmulatorClock(start: .now, startWallSeconds: Date().timeIntervalSince1970),
            faults: FaultConfiguration(rateLimit: configuration.rateLimit)
        )
    }

    /// The tenant an API key belongs to, `nil` for an unknown key.
    func tenant(forKey key: String) -> String? {
        tenantsByKey[key]
    }

    func arrive(method: String, path: String) -> (sequence: Int, plan: FaultPlan) {
        let now = ContinuousClock.now
        return state.withLock { $0.arrive(method: method, path: path, at: now) }
    }

    func complete(sequence: Int, outcome: RequestOutcome) {
        let now = ContinuousClock.now
        state.withLock { $0.complete(sequence: sequence, outcome: outcome, at: now) }
    }

    func takeToken(tenant: String) -> Duration? {
        let now = ContinuousClock.now
        return state.withLock { $0.takeToken(tenant: tenant, at: now) }
    }

    func commit(tenant: String, records: [PreparedRecord]) -> CommitOutcome {
        let now = ContinuousClock.now
        return state.withLock { $0.commit(tenant: tenant, records: records, at: now) }
    }

    func verify(tenant: String, key: RecordKey, recordHash: String?) -> VerifyResult? {
        let now = ContinuousClock.now
        return state.withLock { $0.verify(tenant: tenant, key: key, recordHash: recordHash, at: now) }
    }

    func query(tenant: String, scope: QueryScope, limit: Int, before cursor: Int?) -> QueryPage {
        let now = ContinuousClock.now
        return state.withLock { $0.query(tenant: tenant, scope: scope, limit: limit, before: cursor, at: now) }
    }

    func counters() -> EmulatorCounters {
        let now = ContinuousClock.now
        return state.withLock {
            $0.advanceAll(to: now)
            return $0.counters
        }
    }

    func requestLog() -> [LoggedRequest] {
        state.withLock { $0.log }
    }

    func faults() -> FaultConfiguration {
        state.withLock { $0.faults }
    }

    func setFaults(_ faults: FaultConfiguration) {
        state.withLock { $0.faults = faults }
    }

    func storedIdempotencyKeys(tenant: String) -> [String: Int] {
        state.withLock { $0.storedIdempotencyKeys(tenant: tenant) }
    }

    /// Back to the state at start-up: no records, counters, log or faults (the configured rate limit returns),
    /// and the fault generator restarts from the seed.
    func reset() {
        let fresh = Self.initialState(configuration)
        state.withLock { $0 = fresh }
    }
}
