import PostgresBridge
import Testing

/// `PostgresConnection.notifications(timeout:)`: LISTEN/NOTIFY through libpq, waiting on the socket off the pool.
@Suite(.timeLimit(.minutes(1)), .enabled(if: PostgresTestEnvironment.isConfigured,
                                         "set CDC_POSTGRES_* (scripts/test-postgres.sh start)"))
struct NotificationTests {
    @Test func aNotifyFromAnotherSessionWakesTheListener() async throws {
        let listener = try await PostgresTestEnvironment.connect()
        let sender = try await PostgresTestEnvironment.connect()
        let channel = PostgresTestEnvironment.uniqueTableName("ch")
        try await listener.execute("LISTEN \(channel)")

        let quiet = try await listener.notifications(timeout: .milliseconds(50))
        #expect(quiet.isEmpty, "nothing was sent yet")

        let waiting = Task { try await listener.notifications(timeout: .seconds(20)) }
        try await sender.execute("SELECT pg_notify($1, 'public.accounts')", [channel])
        let received = try await waiting.value
        #expect(received.map(\.channel) == [channel])
        #expect(received.map(\.payload) == ["public.accounts"])

        // Sent while the listener ran another statement: kept by libpq and returned by the next call.
        try await sender.execute("SELECT pg_notify($1, 'a'), pg_notify($1, 'b')", [channel])
        _ = try await listener.query("SELECT 1")
        let later = try await listener.notifications(timeout: .seconds(20))
        #expect(later.map(\.payload) == ["a", "b"])
        await listener.close()
        await sender.close()
    }

    @Test func aClosedConnectionThrowsInsteadOfWaiting() async throws {
        let listener = try await PostgresTestEnvironment.connect()
        await listener.close()
        await #expect(throws: PostgresError.self) { try await listener.notifications(timeout: .seconds(5)) }
    }
}
