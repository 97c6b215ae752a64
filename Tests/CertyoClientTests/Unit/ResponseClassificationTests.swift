import Foundation
import Testing

@testable import CertyoClient

@Suite struct ResponseClassificationTests {
    static let secret = "cty_classifierSecret000000"
    static let configuration = CertyoClient.Configuration(
        baseURL: "http://127.0.0.1:1", apiKey: .init(secret), tenantId: "acme-corp"
    )
    static let endpoint = "POST http://127.0.0.1:1/api/v1/records/bulk"
    static let now = Date(timeIntervalSince1970: 1_776_160_000)

    static func classify(_ status: Int, _ body: String, retryAfter: String? = nil) -> CertyoError {
        ResponseClassifier.error(
            status: status, retryAfterHeader: retryAfter, body: Array(body.utf8), endpoint: endpoint,
            configuration: configuration, now: now
        )
    }

    static func envelope(_ code: String, _ message: String, details: String? = nil) -> String {
        #"{"error":{"code":"\#(code)","message":"\#(message)""# + (details.map { #","details":\#($0)"# } ?? "")
            + "}}"
    }

    @Test(arguments: [
        (400, "invalid_request", CertyoError.Code.invalidRequest, false),
        (400, "invalid_record", .invalidRecord, false),
        (401, "unauthorized", .unauthorized, false),
        (403, "forbidden", .forbidden, false),
        (404, "not_found", .notFound, false),
        (405, "method_not_allowed", .invalidRequest, false),
        (408, "timeout", .timeout, true),
        (409, "idempotency_conflict", .idempotencyConflict, false),
        (413, "batch_too_large", .batchTooLarge, false),
        (413, "payload_too_large", .payloadTooLarge, false),
        (429, "rate_limited", .rateLimited, true),
        (500, "internal_error", .serverError, true),
        (502, "bad_gateway", .serverError, true),
        (503, "service_unavailable", .serverError, true),
        (302, "moved", .unexpectedStatus, false),
    ])
    func statusAndServerCodeGiveTheCode(status: Int, serverCode: String, code: CertyoError.Code, retriable: Bool) {
        let error = Self.classify(status, Self.envelope(serverCode, "the \(serverCode) message"))
        #expect(error.code == code)
        #expect(error.status == status)
        #expect(error.serverCode == serverCode)
        #expect(error.message == "the \(serverCode) message")
        #expect(error.isRetriable == retriable)
        #expect(error.description.contains(Self.endpoint))
        #expect(error.description.contains("answered \(status) \(serverCode)"))
    }

    @Test func unauthorizedAndForbiddenNameTheFix() {
        let unauthorized = Self.classify(401, Self.envelope("unauthorized", "missing or unknown X-API-Key"))
        #expect(unauthorized.isFatal)
        #expect(unauthorized.description.contains("fix: check CERTYO_API_KEY / CERTYO_API_KEY_FILE"))
        let forbidden = Self.classify(403, Self.envelope("forbidden", "key not valid for tenant"))
        #expect(forbidden.isFatal)
        #expect(
            forbidden.description.contains("the key is not valid for tenant acme-corp: check CERTYO_TENANT_ID")
        )
    }

    @Test func invalidRecordDetailsAreKeptInOrder() {
        let details =
            #"[{"index":17,"field":"recordId","reason":"missing"},"#
            + #"{"index":3,"field":"recordPayload","reason":"not_object"},{"field":"records","reason":"empty"}]"#
        let error = Self.classify(400, Self.envelope("invalid_record", "2 invalid records", details: details))
        #expect(error.code == .invalidRecord)
        #expect(
            error.details == [
                .init(index: 17, field: "recordId", reason: "missing"),
                .init(index: 3, field: "recordPayload", reason: "not_object"),
                .init(index: nil, field: "records", reason: "empty"),
            ])
        #expect(error.description.contains("[record 17 recordId missing, record 3 recordPayload not_object"))
    }

    @Test func retryAfterSecondsAndHTTPDate() {
        let seconds = Self.classify(429, Self.envelope("rate_limited", "slow down"), retryAfter: "3")
        #expect(seconds.retryAfter == .seconds(3))
        #expect(seconds.description.contains("retry after"))
        let date = Self.classify(
            503, Self.envelope("service_unavailable", "busy"),
            retryAfter: Self.httpDate(Self.now.addingTimeInterval(42))
        )
        #expect(date.retryAfter == .seconds(42))
        #expect(Self.classify(503, "", retryAfter: "soon").retryAfter == nil)
        #expect(Self.classify(503, "").retryAfter == nil)
    }

    @Test func retryAfterParsing() {
        #expect(RetryAfter.parse("0", now: Self.now) == .zero)
        #expect(RetryAfter.parse(" 120 ", now: Self.now) == .seconds(120))
        #expect(RetryAfter.parse("1.5", now: Self.now) == .milliseconds(1500))
        #expect(RetryAfter.parse("99999999999999999999999", now: Self.now) == .seconds(Int64(Int32.max)))
        #expect(RetryAfter.parse("-1", now: Self.now) == nil)
        #expect(RetryAfter.parse("", now: Self.now) == nil)
        #expect(RetryAfter.parse("tomorrow", now: Self.now) == nil)
        #expect(RetryAfter.parse(Self.httpDate(Self.now.addingTimeInterval(-30)), now: Self.now) == .zero)
        // RFC 850 form.
        let rfc850 = DateFormatter()
        rfc850.locale = Locale(identifier: "en_US_POSIX")
        rfc850.timeZone = TimeZone(identifier: "GMT")
        rfc850.dateFormat = "EEEE, dd-MMM-yy HH:mm:ss 'GMT'"
        #expect(RetryAfter.parse(rfc850.string(from: Self.now.addingTimeInterval(5)), now: Self.now) == .seconds(5))
    }

    @Test func aBodyThatIsNotACertyoErrorIsQuotedOnOneLine() {
        let html = "<html>\n<body>Bad Gateway</body>\n</html>" + String(repeating: "x", count: 500)
        let error = Self.classify(502, html)
        #expect(error.code == .serverError)
        #expect(error.serverCode == nil)
        #expect(error.message.hasPrefix("no Certyo error body: <html> <body>Bad Gateway"))
        #expect(error.message.hasSuffix("…"))
        #expect(!error.description.contains("\n"))
    }

    @Test func theKeyIsRedactedFromEverythingTheServerSends() {
        // A misbehaving server (or proxy) echoes the key: it must not reach the error.
        let echo = Self.classify(
            401,
            Self.envelope(
                "unauthorized", "unknown key \(Self.secret)",
                details: #"[{"field":"\#(Self.secret)","reason":"\#(Self.secret)"}]"#)
        )
        let raw = Self.classify(502, "proxy saw X-API-Key: \(Self.secret)")
        for error in [echo, raw] {
            var dumped = ""
            dump(error, to: &dumped)
            for text in [error.description, error.debugDescription, error.message, "\(error)", dumped] {
                expectNoKey(in: text, keys: [Self.secret, "classifierSecret"])
            }
        }
    }

    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}
