import CLibPQ
import Logging

/// Receives the server's notices and warnings (`RAISE NOTICE`, "table does not exist, skipping", ...) for one
/// connection and logs them, instead of libpq's default of printing them to stderr.
///
/// libpq calls ``noticeReceiver`` with an `Unmanaged` pointer to this object. `LibPQConnection` keeps it alive:
/// it is a stored property there, and `LibPQConnection.deinit` calls `PQfinish` (after which libpq calls no
/// receiver) before its stored properties are released.
final class NoticeSink: Sendable {
    private let logger: Logger
    private let context: ErrorContext

    init(logger: Logger, context: ErrorContext) {
        self.logger = logger
        self.context = context
    }

    /// Registers this sink as `connection`'s notice receiver.
    func install(on connection: OpaquePointer) {
        PQsetNoticeReceiver(connection, noticeReceiver, Unmanaged.passUnretained(self).toOpaque())
    }

    fileprivate func receive(_ result: OpaquePointer) {
        let severity = PQresultErrorField(result, Int32(UInt8(ascii: "V"))).map { String(cString: $0) } ?? "NOTICE"
        let message = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) } ?? ""
        let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
        let level: Logger.Level = severity == "WARNING" ? .warning : .debug
        logger.log(
            level: level,
            "PostgreSQL \(severity): \(context.scrub(message) ?? "")",
            metadata: [PostgresLoggingKeys.sqlState: "\(sqlState)"]
        )
    }
}

/// libpq's notice callback: reaches the `NoticeSink` through the context pointer.
private func noticeReceiver(_ context: UnsafeMutableRawPointer?, _ result: OpaquePointer?) {
    guard let context, let result else { return }
    Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue().receive(result)
}
