/// How records are grouped into Certyo bulk calls, and how much an instance buffers.
public struct BatchingConfiguration: Sendable, Hashable {
    /// Records per bulk call (Certyo accepts at most 1000). Default: `1000`.
    public var maxRecords: Int = 1000
    /// Encoded bytes of the records of one call (Certyo rejects bodies over 10 MiB). Default: 8 MiB.
    public var maxBytes: Int = 8 * 1024 * 1024
    /// How long a buffered record waits for more before a partial call is sent. Default: 200 ms.
    public var linger: Duration = .milliseconds(200)
    /// Bulk calls in flight at once. A call carries records of several partitions; a partition is in at most one
    /// call at a time. Default: `8`.
    public var maxInFlight: Int = 8
    /// Records buffered per partition before that partition's fetching is paused. Default: `5000`.
    public var maxBufferedPerPartition: Int = 5000
    /// Memory held by buffered (decoded, not yet sent) records across all partitions, each with the Kafka message
    /// it came from: at this size the pipeline stops taking records until calls complete, and past twice this size
    /// (calls failing) it pauses fetching. Bounds an instance's buffer whatever its number of partitions.
    /// Default: 16 MiB.
    public var maxBufferedBytes: Int = 16 * 1024 * 1024

    public init() {}
}
