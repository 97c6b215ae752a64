/// One `NOTIFY` delivered to a session that `LISTEN`s on its channel.
public struct PostgresNotification: Hashable, Sendable {
    /// The channel name, as given to `NOTIFY` / `pg_notify`.
    public var channel: String
    /// The payload (empty when none was given).
    public var payload: String
    /// The server process that sent it.
    public var processID: Int32

    public init(channel: String, payload: String, processID: Int32) {
        self.channel = channel
        self.payload = payload
        self.processID = processID
    }
}
