import HTTPTypes
import Hummingbird
import NIOCore

/// An error answer of the API: `{"error":{"code":"...","message":"...","details":[...]}}`.
///
/// Messages name the field or limit and the fix; they never contain an API key.
struct APIError: Error, Sendable {
    var status: Int
    var code: CertyoContract.ErrorCode
    var message: String
    var details: [ValidationDetail] = []
    var retryAfterSeconds: Int? = nil

    static func invalidRequest(_ message: String) -> APIError {
        APIError(status: 400, code: .invalidRequest, message: message)
    }

    static func invalidRecord(_ details: [ValidationDetail]) -> APIError {
        APIError(status: 400, code: .invalidRecord, message: describe(details), details: details)
    }

    static func notFound(_ message: String) -> APIError {
        APIError(status: 404, code: .notFound, message: message)
    }

    /// The whole message for a list of problems: how many, then the first few spelled out.
    static func describe(_ details: [ValidationDetail]) -> String {
        let shown = details.prefix(3).map(describe).joined(separator: "; ")
        let more = details.count > 3 ? "; and \(details.count - 3) more (see details)" : ""
        let count = details.count == 1 ? "1 problem" : "\(details.count) problems"
        return "\(count): \(shown)\(more)"
    }

    /// One problem in words, with the fix.
    static func describe(_ detail: ValidationDetail) -> String {
        var subject = detail.index.map { "records[\($0)]" } ?? ""
        if let field = detail.field {
            subject += subject.isEmpty ? field : ".\(field)"
        } else if subject.isEmpty {
            subject = "the record"
        }
        switch detail.reason {
        case .missing:
            return "\(subject) is missing; it is required"
        case .empty:
            return "\(subject) is empty; send a non-empty value"
        case .wrongType:
            if detail.field == "sourceTimestamp" {
                return "\(subject) is not an ISO 8601 timestamp; send e.g. 2026-04-14T10:30:00Z"
            }
            if detail.field == "records" { return "\(subject) must be a JSON array of records" }
            return "\(subject) has the wrong JSON type; send a string"
        case .notObject:
            return "\(subject) must be a JSON object"
        case .unknownValue:
            return "\(subject) must be one of " + CertyoContract.operationTypes.sorted().joined(separator: ", ")
        case .notCanonicalizable:
            return "\(subject) is not I-JSON (a repeated member name, a lone surrogate, bytes that are not UTF-8, "
                + "or a number beyond binary64) and has no RFC 8785 form; fix the value at its source"
        case .tenantMismatch:
            return "\(subject) differs from the call's tenantId; send each tenant's records in its own call"
        case .conflict:
            return "\(subject) was already used for a different record (another recordHash, database, collection "
                + "or recordId); derive idempotency keys from the change's source position"
        default:
            return "\(subject): \(detail.reason)"
        }
    }

    /// The response: JSON body, and `Retry-After` when set.
    var response: Response {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("error")
        writer.beginObject()
        writer.field("code", code.rawValue)
        writer.field("message", message)
        if !details.isEmpty {
            writer.key("details")
            writer.beginArray()
            for detail in details {
                writer.beginObject()
                if let index = detail.index { writer.field("index", index) }
                if let field = detail.field { writer.field("field", field) }
                writer.field("reason", detail.reason.rawValue)
                writer.endObject()
            }
            writer.endArray()
        }
        writer.endObject()
        writer.endObject()
        var response = Response.json(status: status, writer.bytes)
        if let retryAfterSeconds {
            response.headers[.retryAfter] = String(retryAfterSeconds)
        }
        return response
    }
}

extension Response {
    /// A response with a JSON body.
    static func json(status: Int, _ bytes: [UInt8]) -> Response {
        Response(
            status: HTTPResponse.Status(code: status),
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}
