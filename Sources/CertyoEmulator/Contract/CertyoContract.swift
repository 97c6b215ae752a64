import Crypto

/// Every assumption the emulator makes about Certyo beyond what the vendor documents ("Part B" of
/// `certyo-api.md`), in one place, so that it can be changed here when the real service is found to differ.
///
/// Order in which errors win (the responder checks them in exactly this order):
/// 1. unknown path `404 not_found`, wrong method `405 method_not_allowed` (assumed: routing comes before
///    authentication, so a wrong base URL is told apart from a wrong key);
/// 2. missing or unknown `X-API-Key`: `401 unauthorized`;
/// 3. the key's tenant is over its token bucket: `429 rate_limited` with `Retry-After`;
/// 4. `Content-Length` above the body limit: `413 payload_too_large` (before the body is read; a body without
///    `Content-Length` that grows past the limit gets the same answer);
/// 5. body not JSON, or not an object: `400 invalid_request`;
/// 6. `tenantId` missing or not a string: `400 invalid_record` (ingest) or `400 invalid_request` (verify, query);
/// 7. `tenantId` not the key's tenant: `403 forbidden`;
/// 8. more records than the batch limit: `413 batch_too_large`;
/// 9. any invalid record or field: `400 invalid_record` with `details` (ingest) or `400 invalid_request`;
/// 10. an idempotency key already used for another record: `409 idempotency_conflict`.
public enum CertyoContract {
    // MARK: - Paths and headers

    /// The API paths (Part A).
    public enum Path {
        public static let records = "/api/v1/records"
        public static let bulk = "/api/v1/records/bulk"
        public static let verify = "/api/v1/verify/record"
        /// The emulator's own control path; the real API has none.
        public static let adminPrefix = "/__admin"
    }

    /// The header that carries the API key (Part A).
    public static let apiKeyHeader = "X-API-Key"

    // MARK: - Limits and defaults

    /// Records that fill one accumulator batch. Default: 1000.
    public static let defaultAccumulateSize = 1000
    /// How long an accumulator waits after its first record before it flushes. Default: 60 s.
    public static let defaultAccumulateInterval: Duration = .seconds(60)
    /// How long after a flush the batch is anchored. Default: 60 s (the vendor says 60–90 s).
    public static let defaultAnchorDelay: Duration = .seconds(60)
    /// Records allowed in one bulk call (Part A). Default: 1000.
    public static let defaultMaxBatch = 1000
    /// Bytes allowed in one request body. Default: 10 MiB.
    public static let defaultMaxBodyBytes = 10 * 1024 * 1024
    /// `GET /api/v1/records` page size when `limit` is absent.
    public static let defaultQueryLimit = 100
    /// The largest `limit` a query accepts; a larger one is `400 invalid_request`.
    public static let maximumQueryLimit = 1000

    // MARK: - Error codes and reasons

    /// The `error.code` of an error body.
    public struct ErrorCode: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let unauthorized = ErrorCode("unauthorized")
        public static let forbidden = ErrorCode("forbidden")
        public static let rateLimited = ErrorCode("rate_limited")
        public static let payloadTooLarge = ErrorCode("payload_too_large")
        public static let batchTooLarge = ErrorCode("batch_too_large")
        public static let invalidRecord = ErrorCode("invalid_record")
        public static let invalidRequest = ErrorCode("invalid_request")
        public static let idempotencyConflict = ErrorCode("idempotency_conflict")
        public static let notFound = ErrorCode("not_found")
        public static let methodNotAllowed = ErrorCode("method_not_allowed")
        /// Injected faults only: `500`.
        public static let internalError = ErrorCode("internal_error")
        /// Injected faults only: `502`.
        public static let badGateway = ErrorCode("bad_gateway")
        /// Injected faults only: `503`.
        public static let serviceUnavailable = ErrorCode("service_unavailable")
    }

    /// The `reason` of one entry of `error.details`.
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let missing = Reason("missing")
        public static let empty = Reason("empty")
        public static let wrongType = Reason("wrong_type")
        public static let notObject = Reason("not_object")
        public static let unknownValue = Reason("unknown_value")
        public static let notCanonicalizable = Reason("not_canonicalizable")
        public static let tenantMismatch = Reason("tenant_mismatch")
        /// Only in `409 idempotency_conflict`, on the field `idempotencyKey`.
        public static let conflict = Reason("conflict")
    }

    // MARK: - Records

    /// The values `operationType` may take (Part A).
    public static let operationTypes: Set<String> = ["upsert", "insert", "update", "delete"]

    /// Record fields that the service writes into query results; stored copies of ingested records leave out
    /// members with these names so that the output never repeats a name.
    static let serverFields: Set<String> = ["recordHash", "acceptedAt", "anchoredOnChain"]

    /// Validates one ingested record.
    ///
    /// Assumptions beyond Part A: a required field that is `null` counts as `missing`; `recordPayload: {}` is
    /// `empty`; optional fields may be absent or `null`, otherwise they must be strings; an empty `idempotencyKey`
    /// is `empty`; `sourceTimestamp` must look like ISO 8601 (`wrong_type` otherwise); members not listed in
    /// Part A are kept as ingested and not checked.
    /// - Parameters:
    ///   - record: The record as parsed.
    ///   - index: Its index in a bulk call, `nil` for a single-record call.
    ///   - callTenant: The bulk call's `tenantId`, which every record must repeat; `nil` for a single call (whose
    ///     `tenantId` was checked before authorisation).
    /// - Returns: One detail per problem, empty when the record is valid.
    static func validate(record: JSONValue, index: Int?, callTenant: String?) -> [ValidationDetail] {
        guard case .object = record else {
            if case .invalid = record {
                return [ValidationDetail(index: index, field: nil, reason: .notCanonicalizable)]
            }
            return [ValidationDetail(index: index, field: nil, reason: .notObject)]
        }
        var details: [ValidationDetail] = []
        func add(_ field: String, _ reason: Reason) {
            details.append(ValidationDetail(index: index, field: field, reason: reason))
        }
        func requiredString(_ field: String) -> String? {
            switch record[member: field] {
            case nil, .null?:
                add(field, .missing)
            case .string(let value)?:
                if value.isEmpty { add(field, .empty) } else { return value }
            case .invalid?:
                add(field, .notCanonicalizable)
            default:
                add(field, .wrongType)
            }
            return nil
        }
        func optionalString(_ field: String) -> String? {
            switch record[member: field] {
            case nil, .null?:
                return nil
            case .string(let value)?:
                return value
            case .invalid?:
                add(field, .notCanonicalizable)
            default:
                add(field, .wrongType)
            }
            return nil
        }

        if let tenant = requiredString("tenantId"), let callTenant, !tenant.isExactly(callTenant) {
            add("tenantId", .tenantMismatch)
        }
        _ = requiredString("database")
        _ = requiredString("collection")
        _ = requiredString("recordId")
        switch record[member: "recordPayload"] {
        case nil, .null?:
            add("recordPayload", .missing)
        case .object(let members)?:
            if members.isEmpty {
                add("recordPayload", .empty)
            } else if record[member: "recordPayload"]?.firstIssue != nil {
                add("recordPayload", .notCanonicalizable)
            }
        case .invalid?:
            add("recordPayload", .notCanonicalizable)
        default:
            add("recordPayload", .notObject)
        }
        _ = optionalString("clientId")
        _ = optionalString("recordVersion")
        if let operation = optionalString("operationType"), !operationTypes.contains(operation) {
            add("operationType", .unknownValue)
        }
        if let timestamp = optionalString("sourceTimestamp"), !looksLikeISO8601(timestamp) {
            add("sourceTimestamp", .wrongType)
        }
        if let key = optionalString("idempotencyKey"), key.isEmpty {
            add("idempotencyKey", .empty)
        }
        return details
    }

    /// `recordVersion` when the record has none (Part A).
    public static let defaultRecordVersion = "1"

    /// Whether a text is an ISO 8601 date or date-time: `YYYY-MM-DD`, optionally followed by `T` (or a space),
    /// `HH:MM[:SS[.fraction]]` and an optional `Z` or `±HH[:MM]`.
    static func looksLikeISO8601(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var i = 0
        func digits(_ count: Int) -> Bool {
            guard i + count <= bytes.count else { return false }
            for offset in 0..<count where !(0x30...0x39).contains(bytes[i + offset]) { return false }
            i += count
            return true
        }
        func byte(_ ascii: Unicode.Scalar) -> Bool {
            guard i < bytes.count, bytes[i] == UInt8(ascii: ascii) else { return false }
            i += 1
            return true
        }
        guard digits(4), byte("-"), digits(2), byte("-"), digits(2) else { return false }
        if i == bytes.count { return true }
        guard byte("T") || byte("t") || byte(" ") else { return false }
        guard digits(2), byte(":"), digits(2) else { return false }
        if byte(":") {
            guard digits(2) else { return false }
            if byte(".") || byte(",") {
                guard digits(1) else { return false }
                while i < bytes.count, (0x30...0x39).contains(bytes[i]) { i += 1 }
            }
        }
        if i == bytes.count { return true }
        if byte("Z") || byte("z") { return i == bytes.count }
        guard byte("+") || byte("-"), digits(2) else { return false }
        if i == bytes.count { return true }
        _ = byte(":")
        return digits(2) && i == bytes.count
    }

    // MARK: - Hashing and idempotency

    /// `recordHash`: `"sha256:"` + lower-case hex SHA-256 of the RFC 8785 canonical JSON of `recordPayload`.
    static func recordHash(canonicalPayload: [UInt8]) -> (text: String, raw: [UInt8]) {
        let raw = Array(SHA256.hash(data: canonicalPayload))
        return (hashPrefix + Hex.encode(raw), raw)
    }

    /// The prefix of every hash the API writes.
    public static let hashPrefix = "sha256:"

    /// Two uses of one idempotency key name the same record when the hash, database, collection and record id
    /// are all equal (byte for byte); other fields (`operationType`, `recordVersion`, …) may differ and still replay.
    static func isSameRecord(_ a: RecordIdentity, _ b: RecordIdentity) -> Bool {
        a == b
    }

    // MARK: - Rate limiting

    /// The token bucket counts requests (not records) per tenant; `Retry-After` is the whole number of seconds,
    /// rounded up and at least 1, until the bucket holds a token again.
    static func retryAfterSeconds(untilToken wait: Duration) -> Int {
        let seconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
        return max(1, Int(seconds.rounded(.up)))
    }

    // MARK: - Merkle trees and anchoring

    /// The Merkle rules of Part B.
    enum Merkle {
        /// A parent is SHA-256 over the raw bytes of left ‖ right.
        static func parent(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
            var hasher = SHA256()
            hasher.update(data: left)
            hasher.update(data: right)
            return Array(hasher.finalize())
        }
    }

    /// The chain the fake anchors name.
    public static let anchorChain = "polygon"

    // MARK: - Queries

    /// What a query reads. Assumed beyond Part B: `database`, `collection` and `recordId` narrow the query in that
    /// order (each needs the one before it), and every narrowing is served from an index, never by scanning.
    /// - Returns: `nil` when a parameter is given without the ones before it (`400 invalid_request`).
    static func queryScope(database: String?, collection: String?, recordId: String?) -> QueryScope? {
        switch (database, collection, recordId) {
        case (nil, nil, nil):
            return .tenant
        case (let database?, nil, nil):
            return .database(ExactString(database))
        case (let database?, let collection?, nil):
            return .collection(CollectionKey(ExactString(database), ExactString(collection)))
        case (let database?, let collection?, let recordId?):
            return .record(RecordKey(ExactString(database), ExactString(collection), ExactString(recordId)))
        default:
            return nil
        }
    }

    /// Query cursors are opaque to clients: `"c"` followed by the sequence number of the last version returned.
    static func encodeCursor(_ sequence: Int) -> String { "c\(sequence)" }

    static func decodeCursor(_ text: Substring) -> Int? {
        guard text.first == "c", let value = Int(text.dropFirst()), value >= 0 else { return nil }
        return value
    }
}

/// One entry of `error.details`.
struct ValidationDetail: Sendable, Equatable {
    /// The record's index in a bulk call; `nil` for the call itself or a single-record call.
    var index: Int?
    /// The member the problem is about; `nil` when it is about the whole record.
    var field: String?
    var reason: CertyoContract.Reason
}

/// What decides whether two uses of an idempotency key name the same record.
struct RecordIdentity: Sendable, Equatable {
    var recordHash: String
    var database: ExactString
    var collection: ExactString
    var recordId: ExactString
}
