import AsyncHTTPClient
import CDCCore
import Foundation
import Logging
import Synchronization
import NIOCore
import NIOHTTP1

/// A client of the Certyo API: bulk and single ingest, verify, and record queries, one attempt per call.
///
/// The client owns its `HTTPClient` (on the shared event loop group), with the connect timeout of its
/// ``Configuration``. Retrying is the caller's job: a failed call throws a ``CertyoError`` that says whether to retry
/// (``CertyoError/isRetriable``) and how soon (``CertyoError/retryAfter``, ``RetryPolicy``).
///
/// ```swift
/// try await withCertyoClient(configuration: configuration, logger: logger) { client in
///     let response = try await client.ingestBulk(records)
/// }
/// ```
///
/// - Important: Call ``shutdown()`` once the client is no longer needed, before the last reference goes (or use
///   ``withCertyoClient(configuration:logger:_:)``, which does): `HTTPClient` traps in debug builds when it is
///   deinitialised while still running.
public final class CertyoClient: Sendable {
    /// The configuration in use: the one the client was made with, with the key ``replaceAPIKey(_:)`` last set.
    public var configuration: Configuration { current.withLock { $0 } }

    private let current: Mutex<Configuration>

    private let httpClient: HTTPClient
    private let logger: Logger
    private let base: BaseURL
    private let decoder = JSONDecoder()

    /// Makes a client; no connection is opened until the first call.
    ///
    /// - Parameters:
    ///   - configuration: Where Certyo is, the key, the tenant and the timeouts.
    ///   - logger: Receives one debug line per call, and the HTTP stack's own logs.
    /// - Throws: A ``CertyoError`` with code ``CertyoError/Code/invalidConfiguration`` if the base URL is not an
    ///   `http`/`https` URL without credentials, or the API key or tenant is empty or not a valid header value.
    public init(configuration: Configuration, logger: Logger) throws {
        self.base = try BaseURL(validating: configuration)
        self.current = Mutex(configuration)
        self.logger = logger

        var http = HTTPClient.Configuration()
        http.timeout = .init(connect: TimeAmount(configuration.connectTimeout))
        http.redirectConfiguration = .disallow
        http.decompression = .disabled
        http.connectionPool = .init(idleTimeout: TimeAmount(configuration.idleConnectionTimeout))
        self.httpClient = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: http,
            backgroundActivityLogger: logger
        )
    }

    /// Uses `key` for every call from now on (a rotated key, re-read from `CERTYO_API_KEY_FILE`).
    ///
    /// - Throws: A ``CertyoError`` with code ``CertyoError/Code/invalidConfiguration`` if the key is empty or not a
    ///   valid header value; the client keeps its previous key then.
    public func replaceAPIKey(_ key: CertyoAPIKey) throws {
        var candidate = configuration
        candidate.apiKey = key
        _ = try BaseURL(validating: candidate)
        current.withLock { $0.apiKey = key }
    }

    /// Closes the client's connections. Calls made afterwards fail with ``CertyoError/Code/connectionFailed``.
    ///
    /// - Throws: The `HTTPClient`'s error if it was already shut down.
    public func shutdown() async throws {
        try await httpClient.shutdown()
    }

    // MARK: Calls

    /// Ingests up to ``Configuration/maximumBulkRecords`` records in one `POST /api/v1/records/bulk`.
    ///
    /// The call is all-or-nothing: either every record is accepted (or replayed by its idempotency key), or nothing
    /// is stored and the error's ``CertyoError/details`` name the records at fault.
    ///
    /// - Parameter records: The records, in the order their results come back.
    /// - Returns: One result per record, in input order (checked: count and record ids).
    /// - Throws: A ``CertyoError``: ``CertyoError/Code/batchTooLarge`` (before sending) for more records than
    ///   allowed, ``CertyoError/Code/invalidRequest`` for none, else the server's or the transport's failure.
    public func ingestBulk(_ records: some Collection<CertyoRecord>) async throws -> BulkIngestResponse {
        let endpoint = base.endpoint("POST", CertyoAPI.bulkIngestPath)
        guard records.count <= configuration.maximumBulkRecords else {
            throw CertyoError(
                code: .batchTooLarge, endpoint: endpoint,
                message: "\(records.count) records in one bulk call, the limit is \(configuration.maximumBulkRecords)",
                fix: "split the batch (at most \(configuration.maximumBulkRecords) records a call)"
            )
        }
        guard !records.isEmpty else {
            throw CertyoError(
                code: .invalidRequest, endpoint: endpoint, message: "a bulk call needs at least one record")
        }
        let body = BulkBody.bulk(tenantId: configuration.tenantId, records: records)
        let response: BulkIngestResponse = try await send(
            .POST, CertyoAPI.bulkIngestPath, endpoint: endpoint, body: body, recordCount: records.count
        )
        guard response.results.count == records.count,
            zip(response.results, records).allSatisfy({ $0.recordId == $1.recordId })
        else {
            throw CertyoError(
                code: .invalidResponse, endpoint: endpoint, status: 202,
                message: "the response has \(response.results.count) results for \(records.count) records, "
                    + "or not in input order"
            )
        }
        return response
    }

    /// Ingests one record with `POST /api/v1/records`. Prefer ``ingestBulk(_:)`` for more than a few records.
    ///
    /// - Parameter record: The record.
    /// - Returns: Its hash and acceptance time, and whether its idempotency key replayed an earlier acceptance.
    /// - Throws: A ``CertyoError``.
    public func ingest(_ record: CertyoRecord) async throws -> IngestResponse {
        let endpoint = base.endpoint("POST", CertyoAPI.ingestPath)
        let body = BulkBody.single(tenantId: configuration.tenantId, record: record)
        return try await send(.POST, CertyoAPI.ingestPath, endpoint: endpoint, body: body, recordCount: 1)
    }

    /// Asks whether a record is stored and anchored, with `POST /api/v1/verify/record`.
    ///
    /// - Parameters:
    ///   - database: The record's database.
    ///   - collection: The record's table, `schema.table`.
    ///   - recordId: The record's id.
    ///   - recordHash: A particular version's hash (`sha256:...`); `nil` for the latest version.
    /// - Returns: The verdict, with the Merkle root and proof once flushed and the anchor once anchored. The proof is
    ///   the server's claim: check it before trusting it.
    /// - Throws: A ``CertyoError`` with code ``CertyoError/Code/notFound`` when the tenant has no such record (or no
    ///   version with that hash); otherwise the server's or the transport's failure.
    public func verify(
        database: String,
        collection: String,
        recordId: String,
        recordHash: String? = nil
    ) async throws -> VerifyResponse {
        let endpoint = base.endpoint("POST", CertyoAPI.verifyPath)
        var body: [UInt8] = [UInt8(ascii: "{")]
        JSONText.appendMember("tenantId", string: configuration.tenantId, to: &body)
        body.append(UInt8(ascii: ","))
        JSONText.appendMember("database", string: database, to: &body)
        body.append(UInt8(ascii: ","))
        JSONText.appendMember("collection", string: collection, to: &body)
        body.append(UInt8(ascii: ","))
        JSONText.appendMember("recordId", string: recordId, to: &body)
        if let recordHash {
            body.append(UInt8(ascii: ","))
            JSONText.appendMember("recordHash", string: recordHash, to: &body)
        }
        body.append(UInt8(ascii: "}"))
        return try await send(.POST, CertyoAPI.verifyPath, endpoint: endpoint, body: body, recordCount: 1)
    }

    /// Reads one page of a record's stored versions, newest first, with `GET /api/v1/records`.
    ///
    /// - Parameters:
    ///   - database: The record's database.
    ///   - collection: The record's table, `schema.table`.
    ///   - recordId: The record's id.
    ///   - limit: At most this many versions (1...1000); `nil` for the server's default (100).
    ///   - cursor: The previous page's ``RecordsPage/nextCursor``; `nil` for the first page.
    /// - Returns: The page; its `nextCursor` is `nil` on the last page.
    /// - Throws: A ``CertyoError``; ``CertyoError/Code/invalidRequest`` (before sending) for a limit out of range.
    public func records(
        database: String,
        collection: String,
        recordId: String,
        limit: Int? = nil,
        cursor: String? = nil
    ) async throws -> RecordsPage {
        let endpoint = base.endpoint("GET", CertyoAPI.recordsPath)
        if let limit, !(1...CertyoAPI.maximumRecordsLimit).contains(limit) {
            throw CertyoError(
                code: .invalidRequest, endpoint: endpoint,
                message: "limit \(limit) is out of range",
                fix: "ask for 1...\(CertyoAPI.maximumRecordsLimit) records a page"
            )
        }
        var query: [(String, String)] = [
            ("tenantId", configuration.tenantId), ("database", database), ("collection", collection),
            ("recordId", recordId),
        ]
        if let limit { query.append(("limit", String(limit))) }
        if let cursor { query.append(("cursor", cursor)) }
        return try await send(.GET, CertyoAPI.recordsPath, query: query, endpoint: endpoint, body: nil, recordCount: 0)
    }

    // MARK: One attempt

    /// Sends one request and decodes a 2xx body as `Response`; anything else becomes a ``CertyoError``.
    private func send<Response: Decodable>(
        _ method: HTTPMethod,
        _ path: String,
        query: [(String, String)] = [],
        endpoint: String,
        body: [UInt8]?,
        recordCount: Int
    ) async throws -> Response {
        var request = HTTPClientRequest(url: base.url(path, query: query))
        request.method = method
        request.headers.add(name: CertyoAPI.apiKeyHeader, value: configuration.apiKey.secret)
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
        }

        var metadata: Logger.Metadata = [
            CertyoLoggingKeys.endpoint: "\(endpoint)",
            CertyoLoggingKeys.records: "\(recordCount)",
        ]
        let started = ContinuousClock.now
        do {
            let (status, headers, bytes) = try await exchange(request, endpoint: endpoint)
            metadata[CertyoLoggingKeys.status] = "\(status)"
            metadata[CertyoLoggingKeys.durationMilliseconds] = "\(Self.milliseconds(since: started))"
            guard (200..<300).contains(status) else {
                throw ResponseClassifier.error(
                    status: status, retryAfterHeader: headers.first(name: CertyoAPI.retryAfterHeader),
                    body: Array(bytes.readableBytesView), endpoint: endpoint,
                    configuration: configuration, now: Date()
                )
            }
            let decoded: Response
            do {
                decoded = try decoder.decode(Response.self, from: Data(bytes.readableBytesView))
            } catch {
                throw CertyoError(
                    code: .invalidResponse, endpoint: endpoint, status: status,
                    message: "the \(status) body does not match the contract",
                    underlying: error,
                    underlyingDescription: configuration.apiKey.redact(Self.decodingFailure(error))
                )
            }
            logger.debug("Certyo call succeeded", metadata: metadata)
            return decoded
        } catch let error as CertyoError {
            metadata[CertyoLoggingKeys.errorCode] = "\(error.code)"
            metadata[CertyoLoggingKeys.durationMilliseconds] = "\(Self.milliseconds(since: started))"
            logger.debug("Certyo call failed: \(error)", metadata: metadata)
            throw error
        }
    }

    /// Sends the request and reads the whole response within the request timeout; transport failures become
    /// ``CertyoError``s (cancellation stays a `CancellationError`).
    private func exchange(
        _ request: HTTPClientRequest,
        endpoint: String
    ) async throws -> (status: Int, headers: HTTPHeaders, body: ByteBuffer) {
        let deadline = NIODeadline.now() + TimeAmount(configuration.requestTimeout)
        do {
            let response = try await httpClient.execute(request, deadline: deadline, logger: logger)
            let body = try await response.body.collect(upTo: configuration.maximumResponseBytes)
            return (Int(response.status.code), response.headers, body)
        } catch is NIOTooManyBytesError {
            throw CertyoError(
                code: .invalidResponse, endpoint: endpoint,
                message: "the response body is larger than \(configuration.maximumResponseBytes) bytes",
                fix: "raise maximumResponseBytes, or ask for smaller pages"
            )
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw ResponseClassifier.transportError(error, endpoint: endpoint, configuration: configuration)
        }
    }

    private static func milliseconds(since start: ContinuousClock.Instant) -> Int64 {
        let elapsed = (ContinuousClock.now - start).components
        return elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
    }

    private static func decodingFailure(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return String(describing: error) }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing \(Self.path(context.codingPath + [key]))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(context.debugDescription) at \(Self.path(context.codingPath))"
        @unknown default:
            return String(describing: error)
        }
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.isEmpty
            ? "the top level"
            : codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
                .joined(separator: ".")
    }
}

/// Makes a ``CertyoClient``, runs `body` with it, and shuts it down, also when `body` throws.
///
/// - Parameters:
///   - configuration: The client's configuration.
///   - logger: The client's logger.
///   - body: What to do with the client; it must not escape.
/// - Returns: What `body` returns.
/// - Throws: A ``CertyoError`` for an unusable configuration, or what `body` throws.
public func withCertyoClient<Result: Sendable>(
    configuration: CertyoClient.Configuration,
    logger: Logger,
    _ body: (CertyoClient) async throws -> Result
) async throws -> Result {
    let client = try CertyoClient(configuration: configuration, logger: logger)
    let result: Result
    do {
        result = try await body(client)
    } catch {
        try? await client.shutdown()
        throw error
    }
    try await client.shutdown()
    return result
}
