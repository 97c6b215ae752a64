import CLibPQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - LibPQConnection + Notifications

extension LibPQConnection {
    /// Returns the notifications libpq already holds or that arrive within `timeout`: `PQconsumeInput` and
    /// `PQnotifies`, with a `poll` on the connection's socket in between. Blocks up to `timeout`.
    ///
    /// - Important: Runs on the owning connection's queue, like every other method.
    /// - Throws: A ``PostgresError`` with code ``PostgresError/Code/connectionClosed`` when the connection is lost.
    func waitForNotifications(timeout: Duration) throws -> [PostgresNotification] {
        try withPointer { conn in
            var received = try consume(conn)
            guard received.isEmpty else { return received }
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: timeout)
            var descriptor = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
            while received.isEmpty {
                let remaining = clock.now.duration(to: deadline)
                guard remaining > .zero else { break }
                let (seconds, attoseconds) = remaining.components
                let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
                descriptor.revents = 0
                let ready = poll(&descriptor, 1, milliseconds)
                if ready < 0, errno == EINTR { continue }
                if ready < 0 {
                    throw PostgresError(code: .connectionClosed, operation: "waiting for notifications failed on",
                                       message: "poll failed with errno \(errno)", target: context.target)
                }
                if ready == 0 { break }
                received = try consume(conn)
            }
            return received
        }
    }

    /// Reads what the socket holds and takes every queued notification.
    private func consume(_ conn: OpaquePointer) throws -> [PostgresNotification] {
        guard PQconsumeInput(conn) == 1 else {
            throw PostgresError.libpq(.connectionClosed, operation: "waiting for notifications failed on",
                                      connection: conn, context: context)
        }
        var received: [PostgresNotification] = []
        while let notify = PQnotifies(conn) {
            received.append(
                PostgresNotification(
                    channel: String(cString: notify.pointee.relname),
                    payload: notify.pointee.extra.map { String(cString: $0) } ?? "",
                    processID: Int32(notify.pointee.be_pid)
                )
            )
            PQfreemem(notify)
        }
        return received
    }
}
