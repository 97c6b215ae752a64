import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The request context: Hummingbird's core storage plus the connection, which the disconnect fault closes.
struct EmulatorRequestContext: RequestContext {
    typealias Source = ApplicationRequestContextSource

    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

/// Answers every request: the admin path directly, API paths through faults, authentication, rate limiting and
/// the handlers, in the order ``CertyoContract`` documents.
struct EmulatorResponder: HTTPResponder {
    typealias Context = EmulatorRequestContext

    let store: EmulatorStore
    let logger: Logger

    static let apiKeyField = HTTPField.Name(CertyoContract.apiKeyHeader)!

    enum Route {
        case ingest
        case bulk
        case verify
        case query
    }

    func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        if path == CertyoContract.Path.adminPrefix || path.hasPrefix(CertyoContract.Path.adminPrefix + "/") {
            return await AdminHandler(store: store).respond(to: request)
        }
        let (sequence, plan) = store.arrive(method: request.method.rawValue, path: path)

        if plan.latency > .zero {
            try? await Task.sleep(for: plan.latency)
        }
        if let serverError = plan.serverError {
            let error = Self.injectedError(status: serverError.status, retryAfterSeconds: serverError.retryAfterSeconds)
            store.complete(
                sequence: sequence,
                outcome: RequestOutcome(
                    status: error.status,
                    fingerprint: await Self.fingerprint(of: request, limit: store.configuration.maxBodyBytes),
                    retryAfterSeconds: error.retryAfterSeconds,
                    faults: [.serverError]
                )
            )
            return error.response
        }
        if plan.disconnect == .beforeProcessing {
            let fingerprint = await Self.fingerprint(of: request, limit: store.configuration.maxBodyBytes)
            store.complete(
                sequence: sequence,
                outcome: RequestOutcome(status: nil, fingerprint: fingerprint, faults: [.disconnect])
            )
            return await Self.dropConnection(context)
        }

        var (response, outcome) = await handleAPI(request, path: path, plan: plan)

        if plan.disconnect == .afterProcessing {
            outcome.status = nil
            outcome.retryAfterSeconds = nil
            outcome.faults.append(.disconnect)
            store.complete(sequence: sequence, outcome: outcome)
            return await Self.dropConnection(context)
        }
        if let delay = plan.slowDelay {
            outcome.faults.append(.slowResponse)
            try? await Task.sleep(for: delay)
        }
        store.complete(sequence: sequence, outcome: outcome)
        return response
    }

    /// The first `idempotencyKey` string in the body of a request refused before processing, for the request log
    /// (``LoggedRequest/batchFingerprint``). Reads the body (the refusal does not need it); `nil` when there is
    /// none or the body is over `limit`.
    private static func fingerprint(of request: Request, limit: Int) async -> String? {
        guard let body = try? await request.body.collect(upTo: limit) else { return nil }
        return body.withUnsafeReadableBytes { RequestReading.firstIdempotencyKey(in: $0) }
    }

    /// Closes the connection so that the client sees end-of-file (or a reset) and no response; the response this
    /// returns is never written.
    private static func dropConnection(_ context: Context) async -> Response {
        try? await context.channel.close(mode: .all)
        return Response(status: .internalServerError)
    }

    private static func injectedError(status: Int, retryAfterSeconds: Int?) -> APIError {
        let code: CertyoContract.ErrorCode =
            switch status {
            case 502: .badGateway
            case 503: .serviceUnavailable
            default: .internalError
            }
        return APIError(
            status: status,
            code: code,
            message: "injected fault: the emulator answers \(status) to this request; retry it",
            retryAfterSeconds: retryAfterSeconds
        )
    }

    // MARK: - Routing, authentication, rate limiting

    private func route(_ request: Request, path: String) -> Result<Route, APIError> {
        let method = request.method
        let allowed: [HTTPRequest.Method: Route]
        switch path {
        case CertyoContract.Path.records: allowed = [.post: .ingest, .get: .query]
        case CertyoContract.Path.bulk: allowed = [.post: .bulk]
        case CertyoContract.Path.verify: allowed = [.post: .verify]
        default:
            return .failure(.notFound("no such endpoint: \(path.prefix(200)); the API lives under /api/v1"))
        }
        guard let route = allowed[method] else {
            let methods = allowed.keys.map(\.rawValue).sorted().joined(separator: ", ")
            return .failure(
                APIError(
                    status: 405,
                    code: .methodNotAllowed,
                    message: "\(path) does not accept \(method.rawValue); use \(methods)"
                )
            )
        }
        return .success(route)
    }

    private func handleAPI(_ request: Request, path: String, plan: FaultPlan) async -> (Response, RequestOutcome) {
        var outcome = RequestOutcome(status: nil)
        let route: Route
        switch self.route(request, path: path) {
        case .success(let found): route = found
        case .failure(let error): return finish(error, &outcome)
        }
        guard let key = request.headers[Self.apiKeyField], !key.isEmpty else {
            return finish(
                APIError(status: 401, code: .unauthorized, message: "the X-API-Key header is missing; send your API key"),
                &outcome
            )
        }
        guard let tenant = store.tenant(forKey: key) else {
            return finish(
                APIError(
                    status: 401,
                    code: .unauthorized,
                    message: "the X-API-Key header holds no valid API key; check CERTYO_API_KEY"
                ),
                &outcome
            )
        }
        outcome.tenantId = tenant
        if let wait = store.takeToken(tenant: tenant) {
            let seconds = CertyoContract.retryAfterSeconds(untilToken: wait)
            outcome.fingerprint = await Self.fingerprint(of: request, limit: store.configuration.maxBodyBytes)
            return finish(
                APIError(
                    status: 429,
                    code: .rateLimited,
                    message: "tenant \(tenant) is over its request rate; retry after \(seconds) s (Retry-After)",
                    retryAfterSeconds: seconds
                ),
                &outcome
            )
        }
        do throws(APIError) {
            let response: Response
            switch route {
            case .ingest, .bulk:
                response = try await IngestHandler(store: store).ingest(
                    request,
                    keyTenant: tenant,
                    bulk: route == .bulk,
                    outcome: &outcome
                )
            case .verify:
                response = try await VerifyHandler(store: store).verify(
                    request,
                    keyTenant: tenant,
                    forgeProof: plan.forgeProof,
                    outcome: &outcome
                )
            case .query:
                response = try QueryHandler(store: store).query(request, keyTenant: tenant)
            }
            outcome.status = response.status.code
            return (response, outcome)
        } catch {
            return finish(error, &outcome)
        }
    }

    private func finish(_ error: APIError, _ outcome: inout RequestOutcome) -> (Response, RequestOutcome) {
        outcome.status = error.status
        outcome.retryAfterSeconds = error.retryAfterSeconds
        return (error.response, outcome)
    }
}

// MARK: - Shared request reading

enum RequestReading {
    /// Reads the body, refusing it by `Content-Length` before reading when it is over the limit.
    static func body(_ request: Request, limit: Int) async throws(APIError) -> ByteBuffer {
        let tooLarge = APIError(
            status: 413,
            code: .payloadTooLarge,
            message: "the request body is larger than \(limit) bytes (the emulator's --max-body-bytes); "
                + "send fewer records per call"
        )
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw tooLarge
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        } catch {
            throw APIError.invalidRequest("the request body could not be read")
        }
    }

    /// The value of the first `"idempotencyKey": "..."` member in raw JSON bytes, found by a scan (no parse: the
    /// body may be refused for any reason). Escaped characters are kept as written.
    static func firstIdempotencyKey(in bytes: UnsafeRawBufferPointer) -> String? {
        let name = Array(#""idempotencyKey""#.utf8)
        let count = bytes.count
        var index = 0
        search: while index + name.count <= count {
            for offset in 0..<name.count where bytes[index + offset] != name[offset] {
                index += 1
                continue search
            }
            var cursor = index + name.count
            func skipSpace() {
                while cursor < count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[cursor]) { cursor += 1 }
            }
            skipSpace()
            guard cursor < count, bytes[cursor] == UInt8(ascii: ":") else { index += 1; continue }
            cursor += 1
            skipSpace()
            guard cursor < count, bytes[cursor] == UInt8(ascii: "\"") else { index += 1; continue }
            let start = cursor + 1
            cursor = start
            while cursor < count, bytes[cursor] != UInt8(ascii: "\"") {
                cursor += bytes[cursor] == UInt8(ascii: "\\") ? 2 : 1
            }
            guard cursor < count else { return nil }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<cursor]), as: UTF8.self)
        }
        return nil
    }

    /// Parses a body that must be one JSON object.
    static func object(_ body: ByteBuffer) throws(APIError) -> JSONValue {
        let parsed: Result<JSONValue, JSONSyntaxError> = body.withUnsafeReadableBytes { bytes in
            Result { () throws(JSONSyntaxError) in try JSONParser.parse(bytes) }
        }
        let value: JSONValue
        switch parsed {
        case .success(let parsedValue): value = parsedValue
        case .failure(let error):
            throw APIError.invalidRequest("the request body is not JSON: \(error); send one JSON object")
        }
        switch value {
        case .object: return value
        case .invalid(let issue):
            throw APIError.invalidRequest("the request body is not I-JSON: \(issue)")
        default:
            throw APIError.invalidRequest("the request body is a JSON \(value.typeName); send one JSON object")
        }
    }
}
