import CDCCore
import CertyoClient
import CertyoEmulator
import Crypto
import Foundation
import Logging
import Synchronization
import Testing

/// The keys the emulator accepts in these tests. The client must never print them.
enum Keys {
    static let acme = "cty_clientTestAcmeKey00001"
    static let acmeTenant = "acme-corp"
    static let globex = "cty_clientTestGlobexKey002"
    static let globexTenant = "globex"
    /// Not known to the emulator.
    static let unknown = "cty_clientTestUnknownKey03"
    static let all = [acme, globex, unknown]
}

/// Everything logged through a ``RecordingLogHandler``, rendered as text.
final class LogRecorder: Sendable {
    private let lines = Mutex<[String]>([])

    var all: [String] { lines.withLock { $0 } }

    func append(_ line: String) { lines.withLock { $0.append(line) } }
}

/// A `LogHandler` that renders every message with its metadata and source into a ``LogRecorder``.
struct RecordingLogHandler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let rendered = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        recorder.append("\(event.level) \(event.source) \(event.message) \(rendered)")
    }
}

/// A quiet logger for the emulator itself (its own tests check its logs).
let quietLogger: Logger = {
    var logger = Logger(label: "certyo-emulator") { _ in SwiftLogNoOpLogHandler() }
    logger.logLevel = .critical
    return logger
}()

extension EmulatorConfiguration {
    /// Two tenants; timers far in the future unless a test shortens them.
    static func clientTests(
        accumulateInterval: Duration = .seconds(3600),
        anchorDelay: Duration = .seconds(3600)
    ) -> EmulatorConfiguration {
        var configuration = EmulatorConfiguration()
        configuration.apiKeys = [Keys.acme: Keys.acmeTenant, Keys.globex: Keys.globexTenant]
        configuration.accumulateInterval = accumulateInterval
        configuration.anchorDelay = anchorDelay
        configuration.seed = 7
        return configuration
    }
}

/// What a test gets: a client talking to a live emulator over a socket, and what the client logged.
struct Harness {
    let emulator: RunningEmulator
    let client: CertyoClient
    let logs: LogRecorder
}

extension LogRecorder {
    /// Fails the test if any line contains a key; also checks that something was logged, so the check is not
    /// vacuous.
    func expectNoKeyLogged(sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = all
        #expect(!lines.isEmpty, "the client logged nothing", sourceLocation: sourceLocation)
        for line in lines {
            expectNoKey(in: line, sourceLocation: sourceLocation)
        }
    }
}

/// Fails the test if any printed form of `error` contains a key.
func expectNoKey(in error: CertyoError, sourceLocation: SourceLocation = #_sourceLocation) {
    var dumped = ""
    dump(error, to: &dumped)
    for text in [error.description, error.debugDescription, String(describing: error), dumped] {
        expectNoKey(in: text, sourceLocation: sourceLocation)
    }
}

/// Fails the test if `text` contains one of `keys`; the failure message masks the key, so that even a failing
/// test prints no key.
func expectNoKey(
    in text: String,
    keys: [String] = Keys.all,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let leaked = keys.filter { text.contains($0) }
    if !leaked.isEmpty {
        let masked = leaked.reduce(text) { $0.replacing($1, with: "<KEY>") }
        Issue.record("a key was printed: \(masked)", sourceLocation: sourceLocation)
    }
}

/// Runs `body` with an emulator on a free port and a ``CertyoClient`` pointed at it, logging at `trace` into a
/// recorder; afterwards, checks that no key was logged.
func withHarness<T: Sendable>(
    emulator emulatorConfiguration: EmulatorConfiguration = .clientTests(),
    apiKey: String = Keys.acme,
    tenantId: String = Keys.acmeTenant,
    requestTimeout: Duration = .seconds(20),
    maximumBulkRecords: Int = 1000,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (Harness) async throws -> T
) async throws -> T {
    try await withCertyoEmulator(configuration: emulatorConfiguration, logger: quietLogger) { emulator in
        let recorder = LogRecorder()
        let logger = Logger(label: "certyo-client-tests") { _ in RecordingLogHandler(recorder: recorder) }
        var configuration = CertyoClient.Configuration(
            baseURL: emulator.baseURL, apiKey: CertyoAPIKey(apiKey), tenantId: tenantId
        )
        configuration.requestTimeout = requestTimeout
        configuration.maximumBulkRecords = maximumBulkRecords
        let result = try await withCertyoClient(configuration: configuration, logger: logger) { client in
            try await body(Harness(emulator: emulator, client: client, logs: recorder))
        }
        recorder.expectNoKeyLogged(sourceLocation: sourceLocation)
        return result
    }
}

/// `sha256:` + lowercase hex SHA-256 of `bytes`: the hash Certyo must answer for a canonical payload.
func sha256Tagged(_ bytes: [UInt8]) -> String {
    "sha256:" + hex(Array(SHA256.hash(data: bytes)))
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// The 32 raw bytes of a `sha256:<hex>` string; `nil` when it is not one.
func rawBytes(ofTagged text: String) -> [UInt8]? {
    guard text.hasPrefix("sha256:") else { return nil }
    let digits = Array(text.utf8.dropFirst(7))
    guard digits.count == 64 else { return nil }
    var bytes: [UInt8] = []
    for index in stride(from: 0, to: 64, by: 2) {
        guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else {
            return nil
        }
        bytes.append(byte)
    }
    return bytes
}

/// Walks a Merkle proof from the record's hash upwards (Part B): SHA-256(sibling ‖ h) for `left`, SHA-256(h ‖
/// sibling) for `right`. Returns the root it reaches, as `sha256:<hex>`.
func rootReached(by response: VerifyResponse) -> String? {
    guard var current = rawBytes(ofTagged: response.recordHash) else { return nil }
    for step in response.merkleProof {
        guard let sibling = rawBytes(ofTagged: step.hash) else { return nil }
        switch step.position {
        case .left: current = Array(SHA256.hash(data: sibling + current))
        case .right: current = Array(SHA256.hash(data: current + sibling))
        }
    }
    return "sha256:" + hex(current)
}

/// Polls `probe` until it returns a value, or fails after `limit`. For remote state (anchoring) that offers no
/// event to await.
func eventually<T>(
    within limit: Duration = .seconds(30),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ probe: () async throws -> T?
) async throws -> T {
    let clock = ContinuousClock()
    let end = clock.now + limit
    while true {
        if let value = try await probe() { return value }
        guard clock.now < end else {
            Issue.record("the condition did not hold within \(limit)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}

/// A record whose payload is already canonical JSON.
func record(
    _ id: String,
    payload: String? = nil,
    key: String? = nil,
    collection: String = "public.products"
) -> CertyoRecord {
    CertyoRecord(
        database: "productdb", collection: collection, recordId: id,
        recordPayload: Array((payload ?? #"{"id":"\#(id)","name":"item \#(id)","price":9.5}"#).utf8),
        operationType: .upsert, sourceTimestamp: "2026-04-14T10:30:00Z",
        idempotencyKey: key ?? "certyo.public.products-0-\(id)-\(UUID().uuidString)"
    )
}
