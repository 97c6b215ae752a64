import Crypto

/// All of the emulator's mutable state, as a value. ``EmulatorStore`` keeps it behind a `Mutex`; every method here
/// runs inside that lock, is given the current instant, and returns what the caller needs to answer.
///
/// Time-driven work (accumulator flushes after `accumulateInterval`, anchoring after `anchorDelay`) is applied
/// lazily: before a tenant's state is read or changed, ``advance(_:tenant:to:)`` performs every flush and anchor that
/// became due, stamped with the instant it became due. The result is the same as running timers, with no
/// background tasks and no races.
struct EmulatorState {
    struct Settings: Sendable {
        var accumulateSize: Int
        var accumulateInterval: Duration
        var anchorDelay: Duration
        var seed: UInt64
        var requestLogCapacity: Int
    }

    let settings: Settings
    let clock: EmulatorClock
    var faults: FaultConfiguration
    var random: SplitMix64
    var tenants: [ExactString: TenantState] = [:]
    var buckets: [ExactString: TokenBucket] = [:]
    var counters = EmulatorCounters()
    var log: [LoggedRequest] = []
    var nextSequence = 1
    var nextBlockNumber: Int

    init(settings: Settings, clock: EmulatorClock, faults: FaultConfiguration) {
        self.settings = settings
        self.clock = clock
        self.faults = faults
        self.random = SplitMix64(seed: settings.seed)
        self.nextBlockNumber = 50_000_000 + Int(settings.seed % 1_000_000)
    }

    // MARK: - Arrival, faults and the request log

    /// Registers an API request's arrival: gives it its sequence number and log entry and draws its faults.
    mutating func arrive(method: String, path: String, at now: ContinuousClock.Instant) -> (Int, FaultPlan) {
        let sequence = nextSequence
        nextSequence += 1
        counters.requests += 1
        let plan = FaultPlan.draw(faults, from: &random)
        if log.count >= settings.requestLogCapacity, !log.isEmpty {
            log.removeFirst(max(1, log.count / 2))
        }
        log.append(
            LoggedRequest(
                sequence: sequence,
                arrivedAt: clock.rfc3339(now, fractionDigits: 6),
                elapsed: clock.start.duration(to: now),
                method: method,
                path: path,
                answeredElapsed: nil,
                status: nil,
                tenantId: nil,
                idempotencyKeys: [],
                batchFingerprint: nil,
                retryAfterSeconds: nil,
                fault: nil
            )
        )
        return (sequence, plan)
    }

    /// Records how a request ended. `status == nil` means the connection was closed without an answer.
    mutating func complete(sequence: Int, outcome: RequestOutcome, at now: ContinuousClock.Instant) {
        if let status = outcome.status {
            counters.responsesByStatus[status, default: 0] += 1
        }
        for fault in outcome.faults {
            switch fault {
            case .serverError: counters.injectedServerErrors += 1
            case .disconnect: counters.droppedConnections += 1
            case .slowResponse: counters.slowResponses += 1
            case .forgedProof: counters.forgedProofs += 1
            }
        }
        if outcome.status == 429 { counters.rateLimited += 1 }
        if outcome.status == 409 { counters.idempotencyConflicts += 1 }
        guard let first = log.first?.sequence, sequence >= first, sequence - first < log.count else { return }
        let position = sequence - first
        log[position].answeredElapsed = clock.start.duration(to: now)
        log[position].status = outcome.status
        log[position].batchFingerprint = outcome.fingerprint ?? outcome.idempotencyKeys.first
        log[position].tenantId = outcome.tenantId
        log[position].idempotencyKeys = outcome.idempotencyKeys
        log[position].retryAfterSeconds = outcome.retryAfterSeconds
        log[position].fault = outcome.faults.isEmpty ? nil : outcome.faults.map(\.rawValue).joined(separator: ",")
    }

    /// Takes a token from the tenant's bucket; returns how long until one is available when there is none.
    mutating func takeToken(tenant: String, at now: ContinuousClock.Instant) -> Duration? {
        guard let limit = faults.rateLimit else { return nil }
        let key = ExactString(tenant)
        var bucket = buckets[key] ?? TokenBucket(tokens: Double(limit.burst), updatedAt: now)
        let wait = bucket.take(limit: limit, at: now)
        buckets[key] = bucket
        return wait
    }

    // MARK: - Time

    /// Performs every flush and anchoring of one tenant that became due by `now`.
    mutating func advance(_ state: inout TenantState, tenant: ExactString, to now: ContinuousClock.Instant) {
        if let opened = state.accumulatorOpenedAt, !state.accumulator.isEmpty,
            opened + settings.accumulateInterval <= now
        {
            flush(&state, at: opened + settings.accumulateInterval)
        }
        while state.firstUnanchored < state.batches.count {
            let due = state.batches[state.firstUnanchored].flushedAt + settings.anchorDelay
            guard due <= now else { break }
            anchor(&state, tenant: tenant, batch: state.firstUnanchored, at: due)
            state.firstUnanchored += 1
        }
    }

    mutating func advanceAll(to now: ContinuousClock.Instant) {
        for tenant in Array(tenants.keys) {
            withTenant(tenant, now: now) { _, _ in }
        }
    }

    /// Runs `body` on a tenant's state after bringing it up to `now`.
    ///
    /// The state is taken out of the dictionary while `body` runs, so that its arrays and dictionaries stay
    /// uniquely referenced and are changed in place (a copy left in the dictionary would make every change copy the
    /// tenant's whole history).
    private mutating func withTenant<R>(
        _ tenant: ExactString,
        now: ContinuousClock.Instant,
        _ body: (inout EmulatorState, inout TenantState) -> R
    ) -> R {
        var state = tenants.removeValue(forKey: tenant) ?? TenantState()
        advance(&state, tenant: tenant, to: now)
        let result = body(&self, &state)
        tenants[tenant] = state
        return result
    }

    private mutating func flush(_ state: inout TenantState, at instant: ContinuousClock.Instant) {
        let members = state.accumulator
        state.accumulator.removeAll(keepingCapacity: true)
        state.accumulatorOpenedAt = nil
        let tree = MerkleTree(leaves: members.map { state.versions[$0].hashRaw })
        let batchIndex = state.batches.count
        for (leaf, version) in members.enumerated() {
            state.versions[version].batch = batchIndex
            state.versions[version].leaf = leaf
        }
        state.batches.append(Batch(tree: tree, flushedAt: instant, anchor: nil))
        counters.batchesFlushed += 1
    }

    private mutating func anchor(
        _ state: inout TenantState,
        tenant: ExactString,
        batch: Int,
        at instant: ContinuousClock.Instant
    ) {
        var hasher = SHA256()
        withUnsafeBytes(of: settings.seed.bigEndian) { hasher.update(bufferPointer: $0) }
        hasher.update(data: Array(tenant.value.utf8))
        hasher.update(data: state.batches[batch].tree.root)
        let txHash = "0x" + Hex.encode(hasher.finalize())
        state.batches[batch].anchor = Anchor(
            txHash: txHash,
            blockNumber: nextBlockNumber,
            anchoredAt: clock.rfc3339(instant, fractionDigits: 0)
        )
        nextBlockNumber += 1
        counters.batchesAnchored += 1
    }

    // MARK: - Ingest

    /// Stores a call's records atomically, or refuses the whole call on an idempotency conflict.
    mutating func commit(tenant: String, records: [PreparedRecord], at now: ContinuousClock.Instant) -> CommitOutcome {
        withTenant(ExactString(tenant), now: now) { emulator, state in
            emulator.commit(records: records, into: &state, at: now)
        }
    }

    private mutating func commit(
        records: [PreparedRecord],
        into state: inout TenantState,
        at now: ContinuousClock.Instant
    ) -> CommitOutcome {
        enum Plan {
            case store
            case replay(IdempotencyEntry)
            case replayOfCall(Int)
        }
        var plans: [Plan] = []
        plans.reserveCapacity(records.count)
        var firstUseInCall: [ExactString: Int] = [:]
        var conflicts: [ValidationDetail] = []
        for (position, record) in records.enumerated() {
            guard let key = record.idempotencyKey else {
                plans.append(.store)
                continue
            }
            if let entry = state.idempotency[key] {
                if CertyoContract.isSameRecord(entry.identity, record.identity) {
                    plans.append(.replay(entry))
                } else {
                    conflicts.append(ValidationDetail(index: record.index, field: "idempotencyKey", reason: .conflict))
                    plans.append(.store)
                }
            } else if let first = firstUseInCall[key] {
                if CertyoContract.isSameRecord(records[first].identity, record.identity) {
                    plans.append(.replayOfCall(first))
                } else {
                    conflicts.append(ValidationDetail(index: record.index, field: "idempotencyKey", reason: .conflict))
                    plans.append(.store)
                }
            } else {
                firstUseInCall[key] = position
                plans.append(.store)
            }
        }
        if !conflicts.isEmpty { return .conflict(conflicts) }

        let acceptedAt = clock.rfc3339(now, fractionDigits: 0)
        var results: [IngestResult] = []
        results.reserveCapacity(records.count)
        for (position, record) in records.enumerated() {
            switch plans[position] {
            case .replay(let entry):
                counters.idempotencyReplays += 1
                results.append(
                    IngestResult(
                        recordId: entry.identity.recordId.value,
                        recordHash: entry.identity.recordHash,
                        acceptedAt: entry.acceptedAt,
                        replayed: true
                    )
                )
            case .replayOfCall(let first):
                counters.idempotencyReplays += 1
                var result = results[first]
                result.replayed = true
                results.append(result)
            case .store:
                let sequence = state.versions.count
                state.versions.append(
                    StoredVersion(
                        identity: record.identity,
                        hashRaw: record.hashRaw,
                        ingested: record.ingested,
                        acceptedAt: acceptedAt,
                        batch: nil,
                        leaf: 0
                    )
                )
                let identity = record.identity
                state.byRecord[RecordKey(identity.database, identity.collection, identity.recordId), default: []]
                    .append(sequence)
                state.byCollection[CollectionKey(identity.database, identity.collection), default: []].append(sequence)
                state.byDatabase[identity.database, default: []].append(sequence)
                if let key = record.idempotencyKey {
                    state.idempotency[key] = IdempotencyEntry(identity: identity, acceptedAt: acceptedAt)
                    state.idempotencyStores[key, default: 0] += 1
                }
                if state.accumulator.isEmpty { state.accumulatorOpenedAt = now }
                state.accumulator.append(sequence)
                if state.accumulator.count >= settings.accumulateSize {
                    flush(&state, at: now)
                }
                counters.recordsStored += 1
                results.append(
                    IngestResult(
                        recordId: identity.recordId.value,
                        recordHash: identity.recordHash,
                        acceptedAt: acceptedAt,
                        replayed: false
                    )
                )
            }
        }
        return .accepted(results)
    }

    // MARK: - Verify

    /// Finds the version a verify request names: the latest, or the one with `recordHash`.
    mutating func verify(tenant: String, key: RecordKey, recordHash: String?, at now: ContinuousClock.Instant)
        -> VerifyResult?
    {
        let tenantKey = ExactString(tenant)
        guard tenants[tenantKey] != nil else { return nil }
        return withTenant(tenantKey, now: now) { _, state in Self.verify(state, key: key, recordHash: recordHash) }
    }

    private static func verify(_ state: TenantState, key: RecordKey, recordHash: String?) -> VerifyResult? {
        guard let versions = state.byRecord[key] else { return nil }
        let chosen: Int?
        if let recordHash {
            chosen = versions.last { state.versions[$0].identity.recordHash == recordHash }
        } else {
            chosen = versions.last
        }
        guard let chosen else { return nil }
        let version = state.versions[chosen]
        var result = VerifyResult(recordHash: version.identity.recordHash)
        if let batchIndex = version.batch {
            let batch = state.batches[batchIndex]
            result.merkleRoot = batch.tree.root
            result.proof = batch.tree.proof(forLeaf: version.leaf)
            result.anchor = batch.anchor
        }
        return result
    }

    // MARK: - Query

    /// One page of stored versions, newest first.
    mutating func query(tenant: String, scope: QueryScope, limit: Int, before cursor: Int?, at now: ContinuousClock.Instant)
        -> QueryPage
    {
        let tenantKey = ExactString(tenant)
        guard tenants[tenantKey] != nil else { return QueryPage(records: [], nextCursor: nil) }
        return withTenant(tenantKey, now: now) { _, state in
            Self.query(state, scope: scope, limit: limit, before: cursor)
        }
    }

    private static func query(_ state: TenantState, scope: QueryScope, limit: Int, before cursor: Int?) -> QueryPage {
        let sequences: [Int]
        switch scope {
        case .tenant: sequences = []
        case .database(let database): sequences = state.byDatabase[database] ?? []
        case .collection(let key): sequences = state.byCollection[key] ?? []
        case .record(let key): sequences = state.byRecord[key] ?? []
        }
        // The versions to page through are either all of the tenant's (0..<count) or an index list; both ascend.
        let total = scope.isTenant ? state.versions.count : sequences.count
        func sequence(at position: Int) -> Int { scope.isTenant ? position : sequences[position] }
        // `end` is the position just past the newest version to return.
        var end = total
        if let cursor {
            var low = 0
            var high = total
            while low < high {
                let middle = (low + high) / 2
                if sequence(at: middle) < cursor { low = middle + 1 } else { high = middle }
            }
            end = low
        }
        let start = max(0, end - limit)
        var records: [QueryRecord] = []
        records.reserveCapacity(end - start)
        for position in stride(from: end - 1, through: start, by: -1) {
            let version = state.versions[sequence(at: position)]
            let anchored = version.batch.map { state.batches[$0].anchor != nil } ?? false
            records.append(
                QueryRecord(
                    ingested: version.ingested,
                    recordHash: version.identity.recordHash,
                    acceptedAt: version.acceptedAt,
                    anchoredOnChain: anchored
                )
            )
        }
        let nextCursor = start > 0 ? sequence(at: start) : nil
        return QueryPage(records: records, nextCursor: nextCursor)
    }

    // MARK: - Test access

    func storedIdempotencyKeys(tenant: String) -> [String: Int] {
        guard let state = tenants[ExactString(tenant)] else { return [:] }
        var out: [String: Int] = [:]
        for (key, count) in state.idempotencyStores { out[key.value, default: 0] += count }
        return out
    }
}

// MARK: - Tenant state

/// One tenant's records, indexes, idempotency keys, accumulator and batches.
struct TenantState {
    /// Every stored version, in acceptance order; a version's position is its sequence number.
    var versions: [StoredVersion] = []
    var byRecord: [RecordKey: [Int]] = [:]
    var byCollection: [CollectionKey: [Int]] = [:]
    var byDatabase: [ExactString: [Int]] = [:]
    var idempotency: [ExactString: IdempotencyEntry] = [:]
    /// How many times a version was stored under each key (the contract says: once).
    var idempotencyStores: [ExactString: Int] = [:]
    var accumulator: [Int] = []
    var accumulatorOpenedAt: ContinuousClock.Instant?
    var batches: [Batch] = []
    /// Batches are anchored in flush order, so everything before this one is anchored.
    var firstUnanchored = 0
}

struct StoredVersion {
    var identity: RecordIdentity
    var hashRaw: [UInt8]
    /// The record object as ingested (member order kept, server-written fields left out).
    var ingested: [UInt8]
    var acceptedAt: String
    var batch: Int?
    var leaf: Int
}

struct Batch {
    var tree: MerkleTree
    var flushedAt: ContinuousClock.Instant
    var anchor: Anchor?
}

struct Anchor: Sendable {
    var txHash: String
    var blockNumber: Int
    var anchoredAt: String
}

struct IdempotencyEntry {
    var identity: RecordIdentity
    var acceptedAt: String
}

struct RecordKey: Hashable, Sendable {
    var database: ExactString
    var collection: ExactString
    var recordId: ExactString

    init(_ database: ExactString, _ collection: ExactString, _ recordId: ExactString) {
        self.database = database
        self.collection = collection
        self.recordId = recordId
    }
}

struct CollectionKey: Hashable, Sendable {
    var database: ExactString
    var collection: ExactString

    init(_ database: ExactString, _ collection: ExactString) {
        self.database = database
        self.collection = collection
    }
}

/// A validated record, hashed and ready to store (prepared outside the lock).
struct PreparedRecord: Sendable {
    /// Index in a bulk call; `nil` for a single-record call.
    var index: Int?
    var identity: RecordIdentity
    var hashRaw: [UInt8]
    var ingested: [UInt8]
    var idempotencyKey: ExactString?
}

struct IngestResult: Sendable {
    var recordId: String
    var recordHash: String
    var acceptedAt: String
    var replayed: Bool
}

enum CommitOutcome: Sendable {
    case accepted([IngestResult])
    case conflict([ValidationDetail])
}

struct VerifyResult: Sendable {
    var recordHash: String
    var merkleRoot: [UInt8]?
    var proof: [MerkleProofStep]?
    var anchor: Anchor?
}

enum QueryScope: Sendable {
    case tenant
    case database(ExactString)
    case collection(CollectionKey)
    case record(RecordKey)

    var isTenant: Bool {
        if case .tenant = self { return true }
        return false
    }
}

struct QueryRecord: Sendable {
    var ingested: [UInt8]
    var recordHash: String
    var acceptedAt: String
    var anchoredOnChain: Bool
}

struct QueryPage: Sendable {
    var records: [QueryRecord]
    var nextCursor: Int?
}

/// How a request ended, for the counters and the request log.
struct RequestOutcome: Sendable {
    var status: Int?
    var tenantId: String? = nil
    var idempotencyKeys: [String] = []
    /// The first idempotency key of a body read only to log it (a request refused before processing).
    var fingerprint: String? = nil
    var retryAfterSeconds: Int? = nil
    var faults: [InjectedFault] = []
}

/// The names of injected faults, as the request log writes them.
enum InjectedFault: String, Sendable {
    case serverError = "server_error"
    case disconnect = "disconnect"
    case slowResponse = "slow_response"
    case forgedProof = "forged_proof"
}

/// A token bucket (see ``RateLimit``).
struct TokenBucket {
    var tokens: Double
    var updatedAt: ContinuousClock.Instant

    /// Takes a token; returns `nil` on success or how long until a token is available.
    mutating func take(limit: RateLimit, at now: ContinuousClock.Instant) -> Duration? {
        let elapsed = updatedAt.duration(to: now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(Double(limit.burst), tokens + max(0, seconds) * limit.requestsPerSecond)
        updatedAt = now
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        guard limit.requestsPerSecond > 0 else { return .seconds(3600) }
        return .seconds((1 - tokens) / limit.requestsPerSecond)
    }
}

/// Maps the monotonic clock the emulator runs on to wall-clock text.
struct EmulatorClock: Sendable {
    let start: ContinuousClock.Instant
    /// Wall-clock seconds since 1970 at `start`.
    let startWallSeconds: Double

    func rfc3339(_ instant: ContinuousClock.Instant, fractionDigits: Int) -> String {
        let offset = start.duration(to: instant)
        let seconds = Double(offset.components.seconds) + Double(offset.components.attoseconds) / 1e18
        return RFC3339.format(secondsSince1970: startWallSeconds + seconds, fractionDigits: fractionDigits)
    }
}
