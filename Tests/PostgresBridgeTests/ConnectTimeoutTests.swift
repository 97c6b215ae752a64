import Logging
import Testing

@testable import PostgresBridge

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback TCP port that accepts connections (the kernel's backlog does) but never says a word.
private final class SilentListener {
    let descriptor: Int32
    let port: UInt16

    init() throws {
        #if canImport(Glibc)
        let streamType = Int32(SOCK_STREAM.rawValue)
        #else
        let streamType = SOCK_STREAM
        #endif
        let descriptor = socket(AF_INET, streamType, 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        self.port = UInt16(bigEndian: address.sin_port)
        try #require(descriptor >= 0 && bound == 0 && named == 0 && listen(descriptor, 8) == 0)
    }

    deinit {
        close(descriptor)
    }
}

@Suite struct ConnectTimeoutTests {
    @Test(.timeLimit(.minutes(1))) func silentServerTimesOutAtOurDeadline() async throws {
        let listener = try SilentListener()
        var configuration = try PostgresConfiguration(
            dsn: "host=127.0.0.1 port=\(listener.port) dbname=db user=u password=silent-secret"
        )
        configuration.connectTimeout = .milliseconds(300)
        let clock = ContinuousClock()
        let started = clock.now
        let error = await #expect(throws: PostgresError.self) {
            try await PostgresConnection.connect(configuration: configuration, logger: Logger(label: "test"))
        }
        // libpq alone would wait at least 2 s; the poll loop enforces the configured 300 ms.
        #expect(clock.now - started < .seconds(2))
        #expect(error?.code == .connectionFailed)
        #expect(error?.isRetriable == true)
        let prefix = "cannot connect to 127.0.0.1:\(listener.port)/db: timeout expired"
        #expect(error?.description.hasPrefix(prefix) == true)
        #expect(error?.description.contains("is the host reachable") == true)
        #expect(error?.description.contains("silent-secret") == false)
    }
}
