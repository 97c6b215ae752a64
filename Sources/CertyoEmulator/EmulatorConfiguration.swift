/// How an emulator instance listens and behaves.
public struct EmulatorConfiguration: Sendable {
    /// The address to bind. Default: `"127.0.0.1"`.
    public var host: String
    /// The TCP port; `0` picks a free one (read it back from ``RunningEmulator/port``). Default: `0`.
    public var port: Int
    /// Valid API keys and the tenant each belongs to (key → tenantId). Default: empty (every API call is `401`).
    public var apiKeys: [String: String]
    /// How long an accumulator waits after its first record entered it empty before it flushes. Default: 60 s.
    public var accumulateInterval: Duration
    /// Records that fill an accumulator; a bulk call is split at this point. Default: 1000.
    public var accumulateSize: Int
    /// How long after a flush the batch is anchored. Default: 60 s.
    public var anchorDelay: Duration
    /// The most records one bulk call may carry (`413 batch_too_large` above it). Default: 1000.
    public var maxBatch: Int
    /// The largest request body (`413 payload_too_large` above it). Default: 10 MiB.
    public var maxBodyBytes: Int
    /// The per-tenant token bucket at start-up; `nil` turns rate limiting off. Switchable at runtime through
    /// ``FaultConfiguration/rateLimit``. Default: `nil`.
    public var rateLimit: RateLimit?
    /// Seeds the generator that decides, in order of arrival, which requests get injected faults, and the fake
    /// anchor transactions. Default: `0`.
    public var seed: UInt64
    /// How many requests the request log keeps (oldest dropped first). Default: 100 000.
    public var requestLogCapacity: Int

    /// The defaults listed on each property.
    public init() {
        self.host = "127.0.0.1"
        self.port = 0
        self.apiKeys = [:]
        self.accumulateInterval = CertyoContract.defaultAccumulateInterval
        self.accumulateSize = CertyoContract.defaultAccumulateSize
        self.anchorDelay = CertyoContract.defaultAnchorDelay
        self.maxBatch = CertyoContract.defaultMaxBatch
        self.maxBodyBytes = CertyoContract.defaultMaxBodyBytes
        self.rateLimit = nil
        self.seed = 0
        self.requestLogCapacity = 100_000
    }
}

/// A token bucket per tenant: it holds at most ``burst`` tokens and gains ``requestsPerSecond`` tokens a second;
/// each API request of the tenant takes one, and a request that finds none is `429 rate_limited`.
public struct RateLimit: Sendable, Equatable, Codable {
    /// Tokens added per second.
    public var requestsPerSecond: Double
    /// Bucket size (and the tokens a tenant starts with). Default: `requestsPerSecond` rounded up, at least 1.
    public var burst: Int

    public init(requestsPerSecond: Double, burst: Int? = nil) {
        self.requestsPerSecond = requestsPerSecond
        self.burst = burst ?? max(1, Int(requestsPerSecond.rounded(.up)))
    }
}
