/// The one error type of ``CertyoClient``: what failed, where, and what the caller should do about it.
///
/// A `CertyoError` never contains the API key: everything taken from outside (the server's message, an underlying
/// error's description) is redacted when the error is built.
///
/// The caller's decisions are properties: ``isRetriable`` (back off with a ``RetryPolicy`` and send the same call
/// again), ``isFatal`` (stop: an operator must fix the configuration), ``retryAfter`` (the earliest moment the server
/// allows the next attempt), and ``details`` (for ``Code/invalidRecord`` and ``Code/idempotencyConflict``: which
/// records of a bulk call to dead-letter before resending the rest).
public struct CertyoError: Error, Sendable {
    /// What kind of failure this is. Opaque: compare with the static members, never with strings.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Backing: String, Sendable, Hashable {
            case unauthorized
            case forbidden
            case rateLimited
            case payloadTooLarge
            case batchTooLarge
            case invalidRequest
            case invalidRecord
            case idempotencyConflict
            case notFound
            case serverError
            case unexpectedStatus
            case timeout
            case connectionFailed
            case invalidResponse
            case invalidConfiguration
        }

        fileprivate let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }

        /// `401`: the API key is missing or unknown.
        public static let unauthorized = Code(.unauthorized)
        /// `403`: the API key is not valid for the request's tenant.
        public static let forbidden = Code(.forbidden)
        /// `429`: over the tenant's rate limit; see ``CertyoError/retryAfter``.
        public static let rateLimited = Code(.rateLimited)
        /// `413 payload_too_large`: the body is over the server's size limit; split the batch.
        public static let payloadTooLarge = Code(.payloadTooLarge)
        /// `413 batch_too_large`, or a bulk call with more records than the client allows (then no request was sent).
        public static let batchTooLarge = Code(.batchTooLarge)
        /// `400` other than `invalid_record`, `405`, or a call the client refused to send (e.g. no records).
        public static let invalidRequest = Code(.invalidRequest)
        /// `400 invalid_record`: nothing of the call was stored; ``CertyoError/details`` names each bad record.
        public static let invalidRecord = Code(.invalidRecord)
        /// `409`: an idempotency key was reused for a different record; nothing of the call was stored.
        public static let idempotencyConflict = Code(.idempotencyConflict)
        /// `404`: no such record (verify), or no such path.
        public static let notFound = Code(.notFound)
        /// `5xx`.
        public static let serverError = Code(.serverError)
        /// Any other non-2xx status (e.g. a redirect, which the client never follows).
        public static let unexpectedStatus = Code(.unexpectedStatus)
        /// No complete response within the request timeout (or a `408`).
        public static let timeout = Code(.timeout)
        /// The connection could not be made, or was closed before the response was complete.
        public static let connectionFailed = Code(.connectionFailed)
        /// A success status whose body does not match the contract (not JSON, missing fields, wrong result count).
        public static let invalidResponse = Code(.invalidResponse)
        /// The client's ``CertyoClient/Configuration`` cannot work (bad base URL, empty or malformed API key).
        public static let invalidConfiguration = Code(.invalidConfiguration)

        public var description: String { backing.rawValue }
    }

    /// One problem the server found in a call: `{"index":17,"field":"recordId","reason":"missing"}`.
    public struct Detail: Sendable, Hashable, CustomStringConvertible {
        /// The position of the record in the bulk call; `nil` for a problem with the call itself or a single record.
        public var index: Int?
        /// The field at fault, e.g. `recordId`, `idempotencyKey`.
        public var field: String?
        /// `missing`, `empty`, `wrong_type`, `not_object`, `unknown_value`, `not_canonicalizable`,
        /// `tenant_mismatch`, `conflict`, ...
        public var reason: String

        public init(index: Int?, field: String?, reason: String) {
            self.index = index
            self.field = field
            self.reason = reason
        }

        public var description: String {
            var parts: [String] = []
            if let index { parts.append("record \(index)") }
            if let field { parts.append(field) }
            parts.append(reason)
            return parts.joined(separator: " ")
        }
    }

    // Immutable backing: an error is copied through many frames, and this one carries strings and an array.
    private final class Storage: Sendable {
        let code: Code
        let endpoint: String
        let status: Int?
        let serverCode: String?
        let message: String
        let details: [Detail]
        let retryAfter: Duration?
        let fix: String?
        let underlying: (any Error)?
        let underlyingDescription: String?
        let file: String
        let line: Int

        init(
            code: Code, endpoint: String, status: Int?, serverCode: String?, message: String, details: [Detail],
            retryAfter: Duration?, fix: String?, underlying: (any Error)?, underlyingDescription: String?,
            file: String, line: Int
        ) {
            self.code = code
            self.endpoint = endpoint
            self.status = status
            self.serverCode = serverCode
            self.message = message
            self.details = details
            self.retryAfter = retryAfter
            self.fix = fix
            self.underlying = underlying
            self.underlyingDescription = underlyingDescription
            self.file = file
            self.line = line
        }
    }

    private let storage: Storage

    /// What kind of failure this is.
    public var code: Code { storage.code }
    /// The call, e.g. `POST https://www.certyos.com/api/v1/records/bulk` (never a key, never a query string).
    public var endpoint: String { storage.endpoint }
    /// The HTTP status, when a response arrived.
    public var status: Int? { storage.status }
    /// The server's own error code (`invalid_record`, `rate_limited`, ...), when its body had one.
    public var serverCode: String? { storage.serverCode }
    /// What went wrong: the server's message, or the client's own account. Redacted.
    public var message: String { storage.message }
    /// The server's per-problem details (for `invalid_record` and `idempotency_conflict`), in the server's order.
    public var details: [Detail] { storage.details }
    /// How long the server asked us to wait (`Retry-After`, seconds or an HTTP date), when it said.
    public var retryAfter: Duration? { storage.retryAfter }
    /// What to change, when the fix is obvious.
    public var fix: String? { storage.fix }
    /// The error from the HTTP stack, for a timeout or a connection failure.
    public var underlying: (any Error)? { storage.underlying }
    /// Where the error was built.
    public var file: String { storage.file }
    /// Where the error was built.
    public var line: Int { storage.line }

    /// `true` for `429`, `5xx`, timeouts and connection failures: the same call may succeed later.
    ///
    /// Retrying an ingest call is safe because every record carries its idempotency key.
    public var isRetriable: Bool {
        switch code.backing {
        case .rateLimited, .serverError, .timeout, .connectionFailed: true
        default: false
        }
    }

    /// `true` when no retry and no other batch can succeed until an operator changes the configuration
    /// (`401`, `403`, an unusable configuration).
    public var isFatal: Bool {
        switch code.backing {
        case .unauthorized, .forbidden, .invalidConfiguration: true
        default: false
        }
    }

    init(
        code: Code,
        endpoint: String,
        status: Int? = nil,
        serverCode: String? = nil,
        message: String,
        details: [Detail] = [],
        retryAfter: Duration? = nil,
        fix: String? = nil,
        underlying: (any Error)? = nil,
        underlyingDescription: String? = nil,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.storage = Storage(
            code: code, endpoint: endpoint, status: status, serverCode: serverCode, message: message,
            details: details, retryAfter: retryAfter, fix: fix, underlying: underlying,
            underlyingDescription: underlyingDescription, file: file, line: line
        )
    }
}

// MARK: - CertyoError + CustomStringConvertible

extension CertyoError: CustomStringConvertible {
    /// One line: the call, the status and server code, the message, the details, the wait and the fix.
    public var description: String {
        var text = "Certyo \(code): \(endpoint)"
        if let status {
            text += " answered \(status)"
            if let serverCode { text += " \(serverCode)" }
        }
        text += ": \(message)"
        if !details.isEmpty {
            let shown = details.prefix(Self.detailsShown).map(\.description).joined(separator: ", ")
            let more = details.count > Self.detailsShown ? ", and \(details.count - Self.detailsShown) more" : ""
            text += " [\(shown)\(more)]"
        }
        if let underlyingDescription = storage.underlyingDescription { text += " (\(underlyingDescription))" }
        if let retryAfter { text += "; retry after \(retryAfter)" }
        if let fix { text += "; fix: \(fix)" }
        return text
    }

    private static let detailsShown = 5
}

// MARK: - CertyoError + CustomDebugStringConvertible

extension CertyoError: CustomDebugStringConvertible {
    public var debugDescription: String { "CertyoError(\(description), at: \(file):\(line))" }
}

// MARK: - CertyoError + CustomReflectable

extension CertyoError: CustomReflectable {
    /// Only the redacted fields, so `dump(error)` shows what `description` shows.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "code": code, "endpoint": endpoint, "status": status as Any, "serverCode": serverCode as Any,
                "message": message, "details": details, "retryAfter": retryAfter as Any, "fix": fix as Any,
                "underlying": storage.underlyingDescription as Any, "file": file, "line": line,
            ],
            displayStyle: .struct
        )
    }
}
