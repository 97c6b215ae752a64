import Logging

/// A connection opened on first use and opened again when it was lost: what a long-lived reader of rarely needed
/// facts (the catalog cache) wants, so that a server restart costs one reconnect instead of failing every later
/// lookup.
actor ReconnectingConnection {
    private let configuration: PostgresConfiguration
    private let logger: Logger
    private var connection: PostgresConnection?

    init(configuration: PostgresConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs `body` on the connection; if the connection turns out to be lost, reconnects and runs it once more.
    func withConnection<Value: Sendable>(
        _ body: @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        let current = try await open()
        do {
            return try await body(current)
        } catch let error as PostgresError where error.code == .connectionClosed {
            logger.info(
                "PostgreSQL connection lost; reconnecting",
                metadata: [PostgresLoggingKeys.error: "\(error)"]
            )
            if connection === current { connection = nil }
            return try await body(try await open())
        }
    }

    /// Closes the connection, if one is open. A later use opens a new one.
    func close() async {
        let current = connection
        connection = nil
        await current?.close()
    }

    private func open() async throws -> PostgresConnection {
        if let connection { return connection }
        let opened = try await PostgresConnection.connect(configuration: configuration, logger: logger)
        connection = opened
        return opened
    }
}
