import CLibPQ

/// Owns one `PGcancel` (what `PQcancel` needs to ask the server to stop a running statement): `PQfreeCancel` in
/// `deinit`.
///
/// `@unchecked Sendable`: libpq documents `PQcancel` as safe to call from any thread (even a signal handler) while
/// the connection is in use, and the object is never modified after `PQgetCancel` built it.
final class LibPQCancel: @unchecked Sendable {
    private let pointer: OpaquePointer

    /// Reads the cancel key of `connection`; `nil` if libpq has none (connection not open).
    init?(connection: OpaquePointer) {
        guard let pointer = PQgetCancel(connection) else { return nil }
        self.pointer = pointer
    }

    deinit {
        PQfreeCancel(pointer)
    }

    /// Asks the server to cancel whatever the session is running. Blocks while it opens a connection to the server,
    /// so call it off the cooperative pool. Returns libpq's error text if the request could not be sent.
    @discardableResult
    func cancel() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let sent = buffer.withUnsafeMutableBufferPointer { buffer in
            PQcancel(pointer, buffer.baseAddress, Int32(buffer.count))
        }
        if sent != 0 { return nil }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
