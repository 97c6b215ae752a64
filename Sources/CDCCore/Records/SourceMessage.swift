/// One Kafka record as the decoder sees it: coordinates, key, value and headers, with no Kafka types.
///
/// `KafkaBridge` produces its own message type; the wiring layer maps it onto this one, so `CDCCore` stays free of I/O.
public struct SourceMessage: Sendable {
    public struct Header: Sendable, Hashable {
        public var name: String
        /// The header value bytes; `nil` for a NULL header value.
        public var value: [UInt8]?

        public init(name: String, value: [UInt8]?) {
            self.name = name
            self.value = value
        }
    }

    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// The key bytes; `nil` for a NULL key (Debezium truncate events).
    public var key: [UInt8]?
    /// The value bytes; `nil` for a NULL value (a tombstone).
    public var value: [UInt8]?
    public var headers: [Header]

    public init(
        topic: String,
        partition: Int32 = 0,
        offset: Int64 = 0,
        key: [UInt8]?,
        value: [UInt8]?,
        headers: [Header] = []
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
    }
}
