/// Settings of the Kafka consumer.
public struct KafkaConsumerConfiguration: Sendable {
    /// `bootstrap.servers`. Default: `127.0.0.1:9092`.
    public var bootstrapServers: String = "127.0.0.1:9092"
    /// `group.id`: every certyo-cdc instance of one deployment uses the same group. Default: `certyo-cdc`.
    public var groupID: String = "certyo-cdc"
    /// Topics to consume, a regular expression (librdkafka subscribes to a pattern when it starts with `^`).
    /// Default: `^certyo\.public\..*`.
    public var topicPattern: String = #"^certyo\.public\..*"#
    /// How long one poll waits for the first message. Default: 100 ms.
    public var pollTimeout: Duration = .milliseconds(100)
    /// Any other librdkafka property (`session.timeout.ms`, `security.protocol`, ...), validated at startup.
    /// Default: none.
    public var additionalProperties: [String: String] = [:]

    public init() {}

    /// Properties that certyo-cdc owns: offsets are stored and committed only by the pipeline.
    static let ownedProperties: [String: String] = [
        "enable.auto.commit": "false",
        "enable.auto.offset.store": "false",
    ]

    /// Checks every property with librdkafka without connecting anywhere.
    /// - Throws: A ``KafkaError`` (`.configuration`) naming the first property librdkafka rejects.
    public func validate() throws {
        _ = try RDKafkaConfig(properties: try rdKafkaProperties())
    }

    /// The full librdkafka property dictionary.
    /// - Throws: A ``KafkaError`` (`.configuration`) when `additionalProperties` tries to change an owned property.
    func rdKafkaProperties() throws -> [String: String] {
        var properties: [String: String] = [
            "bootstrap.servers": bootstrapServers,
            "group.id": groupID,
            "auto.offset.reset": "earliest",
            "client.id": "certyo-cdc",
        ]
        for (key, value) in additionalProperties {
            if let owned = Self.ownedProperties[key], owned != value {
                throw KafkaError(
                    code: .configuration,
                    message: "librdkafka property '\(key)' must stay '\(owned)': certyo-cdc commits offsets itself, "
                        + "only after Certyo accepted the records; remove it from the Kafka properties"
                )
            }
            properties[key] = value
        }
        properties.merge(Self.ownedProperties) { _, owned in owned }
        return properties
    }
}
