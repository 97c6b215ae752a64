import AsyncHTTPClient
import Foundation

/// Turns an unsuccessful response, or a transport failure, into a ``CertyoError``.
enum ResponseClassifier {
    /// The error of a non-2xx response.
    static func error(
        status: Int,
        retryAfterHeader: String?,
        body: [UInt8],
        endpoint: String,
        configuration: CertyoClient.Configuration,
        now: Date
    ) -> CertyoError {
        let key = configuration.apiKey
        let envelope = try? JSONDecoder().decode(ErrorEnvelope.self, from: Data(body))
        let serverCode = envelope?.error.code.map(key.redact)
        let message =
            envelope?.error.message.map(key.redact)
            ?? "no Certyo error body\(snippet(of: body, key: key).map { ": \($0)" } ?? "")"
        let details = (envelope?.error.details ?? []).map {
            CertyoError.Detail(
                index: $0.index, field: $0.field.map(key.redact), reason: key.redact($0.reason ?? "unknown")
            )
        }
        let retryAfter = retryAfterHeader.flatMap { RetryAfter.parse($0, now: now) }

        let code: CertyoError.Code
        var fix: String?
        switch status {
        case 400 where serverCode == CertyoAPI.ErrorCode.invalidRecord:
            code = .invalidRecord
            fix = "dead-letter the records named in the details and resend the rest"
        case 400, 405:
            code = .invalidRequest
        case 401:
            code = .unauthorized
            fix = "check CERTYO_API_KEY / CERTYO_API_KEY_FILE"
        case 403:
            code = .forbidden
            fix = "the key is not valid for tenant \(configuration.tenantId): check CERTYO_TENANT_ID"
        case 404:
            code = .notFound
        case 408:
            code = .timeout
        case 409:
            code = .idempotencyConflict
            fix =
                "an idempotency key was reused for a different record: dead-letter the records named in the "
                + "details and check how keys are derived"
        case 413 where serverCode == CertyoAPI.ErrorCode.batchTooLarge:
            code = .batchTooLarge
            fix = "split the batch into smaller calls"
        case 413:
            code = .payloadTooLarge
            fix = "split the batch into smaller calls"
        case 429:
            code = .rateLimited
        case 500..<600:
            code = .serverError
        default:
            code = .unexpectedStatus
        }
        return CertyoError(
            code: code, endpoint: endpoint, status: status, serverCode: serverCode, message: message,
            details: details, retryAfter: retryAfter, fix: fix
        )
    }

    /// The error of a request that got no complete response.
    static func transportError(
        _ error: any Error,
        endpoint: String,
        configuration: CertyoClient.Configuration
    ) -> CertyoError {
        let underlying = configuration.apiKey.redact(String(describing: error))
        let reachable = "check that CERTYO_BASE_URL is reachable"
        guard let httpError = error as? HTTPClientError else {
            return CertyoError(
                code: .connectionFailed, endpoint: endpoint, message: "the connection failed", fix: reachable,
                underlying: error, underlyingDescription: underlying
            )
        }
        let code: CertyoError.Code
        let message: String
        var fix: String? = reachable
        switch httpError {
        case .deadlineExceeded, .readTimeout, .writeTimeout:
            code = .timeout
            message = "no complete response within the request timeout (\(configuration.requestTimeout))"
            fix = "check that CERTYO_BASE_URL is reachable, or raise the request timeout"
        case .connectTimeout, .tlsHandshakeTimeout:
            code = .connectionFailed
            message = "could not connect within the connect timeout (\(configuration.connectTimeout))"
        case .remoteConnectionClosed:
            code = .connectionFailed
            message = "the server closed the connection before the response was complete"
        case .alreadyShutdown:
            code = .invalidRequest
            message = "the client was shut down"
            fix = nil
        default:
            code = .connectionFailed
            message = "the request failed"
        }
        return CertyoError(
            code: code, endpoint: endpoint, message: message, fix: fix, underlying: error,
            underlyingDescription: underlying
        )
    }

    /// The start of a body that is not a Certyo error (a proxy's HTML page, say), on one line.
    private static func snippet(of body: [UInt8], key: CertyoAPIKey) -> String? {
        guard !body.isEmpty else { return nil }
        let limit = 200
        // Redact before cutting, so that the cut cannot leave a fragment of the key behind.
        let text = key.redact(String(decoding: body.prefix(4096), as: UTF8.self))
        let oneLine = String(text.prefix(limit).map { $0.isNewline || $0 == "\t" ? " " : $0 })
        return oneLine + (text.count > limit || body.count > 4096 ? "…" : "")
    }

    private struct ErrorEnvelope: Decodable {
        struct Body: Decodable {
            var code: String?
            var message: String?
            var details: [DetailBody]?
        }

        struct DetailBody: Decodable {
            var index: Int?
            var field: String?
            var reason: String?
        }

        var error: Body
    }
}
