/// How records are grouped into Certyo bulk calls.
public struct BatchingConfiguration: Sendable, Hashable {
    /// Records per bulk call (Certyo accepts at most 1000). Default: `1000`.
    public var maxRecords: Int = 1000
    /// Encoded bytes of the records of one call (Certyo rejects bodies over 10 MiB). Default: 8 MiB.
    public var maxBytes: Int = 8 * 1024 * 1024
    /// How long a partial batch waits for more records before it is sent. Default: 200 ms.
    public var linger: Duration = .milliseconds(200)
    /// Bulk calls in flight across all partitions (one per partition at most). Default: `4`.
    public var maxInFlight: Int = 4
    /// Records buffered per partition before that partition's fetching is paused. Default: `5000`.
    public var maxBufferedPerPartition: Int = 5000

    public init() {}
}
