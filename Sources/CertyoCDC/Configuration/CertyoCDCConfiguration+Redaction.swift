import KafkaBridge
import PostgresBridge

// MARK: - CertyoCDCConfiguration + CustomReflectable

/// `dump`, `String(reflecting:)` and test failure output show the configuration without its secrets: the API key is
/// already redacted by ``CertyoClient/CertyoAPIKey``; the DSN's password and librdkafka properties whose name says
/// password, secret or key material are replaced here.
extension CertyoCDCConfiguration: CustomReflectable {
    public var customMirror: Mirror {
        var pipeline = self.pipeline
        pipeline.consumer.additionalProperties = Self.redacted(pipeline.consumer.additionalProperties)
        return Mirror(
            self,
            children: [
                "certyo": certyo as Any, "pipeline": pipeline as Any, "deadLetterTopic": deadLetterTopic as Any,
                "postgresDSN": postgresDSN.map(Self.redactedDSN) as Any, "pipelineEnabled": pipelineEnabled as Any,
                "logLevel": logLevel as Any, "apiKeyFile": apiKeyFile as Any,
                "operationsServer": operationsServer as Any, "certyoProbeInterval": certyoProbeInterval as Any,
            ],
            displayStyle: .struct
        )
    }

    /// The DSN in `key=value` form with `password=***`; a DSN libpq cannot parse is not shown at all.
    static func redactedDSN(_ dsn: String) -> String {
        (try? PostgresConfiguration(dsn: dsn))?.redactedDSN ?? "(a DSN that does not parse; not shown)"
    }

    static func redacted(_ properties: [String: String]) -> [String: String] {
        var shown = properties
        for key in properties.keys
        where ["password", "secret", "sasl.jaas", "key.pem", "certificate.pem"].contains(where: key.contains) {
            shown[key] = "***"
        }
        return shown
    }
}
