import Hummingbird

/// The admin path, which the real API does not have (see the README section "The Certyo emulator"):
///
/// - `GET /__admin/counters`: ``EmulatorCounters`` as JSON.
/// - `GET /__admin/requests`: the request log, `{"requests":[...]}` (``LoggedRequest``).
/// - `GET /__admin/faults`: the faults in force; `POST /__admin/faults` replaces them (members left out are off).
/// - `POST /__admin/reset`: back to the start-up state.
///
/// Admin requests take no API key, no faults and no fault draws, and are not counted or logged.
struct AdminHandler {
    let store: EmulatorStore

    func respond(to request: Request) async -> Response {
        let path = request.uri.path
        let method = request.method
        switch (path, method) {
        case ("/__admin/counters", .get):
            return Response.json(status: 200, Self.encode(store.counters()))
        case ("/__admin/requests", .get):
            return Response.json(status: 200, Self.encode(store.requestLog()))
        case ("/__admin/faults", .get):
            return Response.json(status: 200, Self.encode(store.faults()))
        case ("/__admin/faults", .post):
            do throws(APIError) {
                let body = try await RequestReading.body(request, limit: 1 << 20)
                let faults = try Self.decodeFaults(try RequestReading.object(body))
                store.setFaults(faults)
                return Response.json(status: 200, Self.encode(faults))
            } catch {
                return error.response
            }
        case ("/__admin/reset", .post):
            store.reset()
            return Response.json(status: 200, Array(#"{"reset":true}"#.utf8))
        case ("/__admin/counters", _), ("/__admin/requests", _), ("/__admin/faults", _), ("/__admin/reset", _):
            return APIError(status: 405, code: .methodNotAllowed, message: "\(path) does not accept \(method.rawValue)")
                .response
        default:
            return APIError.notFound(
                "no such admin endpoint: \(path.prefix(200)); see /__admin/counters, /__admin/requests, "
                    + "/__admin/faults, /__admin/reset"
            ).response
        }
    }

    // MARK: - Encoding

    static func encode(_ counters: EmulatorCounters) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("requests", counters.requests)
        writer.key("responsesByStatus")
        writer.beginObject()
        for (status, count) in counters.responsesByStatus.sorted(by: { $0.key < $1.key }) {
            writer.field(String(status), count)
        }
        writer.endObject()
        writer.field("recordsStored", counters.recordsStored)
        writer.field("idempotencyReplays", counters.idempotencyReplays)
        writer.field("idempotencyConflicts", counters.idempotencyConflicts)
        writer.field("rateLimited", counters.rateLimited)
        writer.field("injectedServerErrors", counters.injectedServerErrors)
        writer.field("droppedConnections", counters.droppedConnections)
        writer.field("slowResponses", counters.slowResponses)
        writer.field("forgedProofs", counters.forgedProofs)
        writer.field("batchesFlushed", counters.batchesFlushed)
        writer.field("batchesAnchored", counters.batchesAnchored)
        writer.endObject()
        return writer.bytes
    }

    static func encode(_ log: [LoggedRequest]) -> [UInt8] {
        var writer = JSONWriter(capacity: 64 + 200 * log.count)
        writer.beginObject()
        writer.key("requests")
        writer.beginArray()
        for entry in log {
            writer.beginObject()
            writer.field("sequence", entry.sequence)
            writer.field("arrivedAt", entry.arrivedAt)
            writer.key("elapsedSeconds")
            writer.double(seconds(entry.elapsed))
            writer.key("answeredElapsedSeconds")
            if let answered = entry.answeredElapsed { writer.double(seconds(answered)) } else { writer.null() }
            writer.field("method", entry.method)
            writer.field("path", entry.path)
            writer.key("status")
            if let status = entry.status { writer.int(status) } else { writer.null() }
            writer.field("tenantId", entry.tenantId)
            writer.key("idempotencyKeys")
            writer.beginArray()
            for key in entry.idempotencyKeys { writer.string(key) }
            writer.endArray()
            writer.field("batchFingerprint", entry.batchFingerprint)
            writer.key("retryAfterSeconds")
            if let retry = entry.retryAfterSeconds { writer.int(retry) } else { writer.null() }
            writer.field("fault", entry.fault)
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        return writer.bytes
    }

    static func encode(_ faults: FaultConfiguration) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("rateLimit")
        if let limit = faults.rateLimit {
            writer.beginObject()
            writer.key("requestsPerSecond")
            writer.double(limit.requestsPerSecond)
            writer.field("burst", limit.burst)
            writer.endObject()
        } else {
            writer.null()
        }
        writer.key("serverErrors")
        if let errors = faults.serverErrors {
            writer.beginObject()
            writer.key("share")
            writer.double(errors.share)
            writer.key("statuses")
            writer.beginArray()
            for status in errors.statuses { writer.int(status) }
            writer.endArray()
            writer.key("retryAfterSeconds")
            if let retry = errors.retryAfterSeconds { writer.int(retry) } else { writer.null() }
            writer.endObject()
        } else {
            writer.null()
        }
        writer.key("latencySeconds")
        writer.double(seconds(faults.latency))
        writer.key("disconnects")
        if let disconnects = faults.disconnects {
            writer.beginObject()
            writer.key("share")
            writer.double(disconnects.share)
            writer.field("afterProcessing", disconnects.afterProcessing)
            writer.endObject()
        } else {
            writer.null()
        }
        writer.key("slowResponses")
        if let slow = faults.slowResponses {
            writer.beginObject()
            writer.key("share")
            writer.double(slow.share)
            writer.key("delaySeconds")
            writer.double(seconds(slow.delay))
            writer.endObject()
        } else {
            writer.null()
        }
        writer.key("forgedProofShare")
        writer.double(faults.forgedProofShare)
        writer.endObject()
        return writer.bytes
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    // MARK: - Decoding

    /// Reads a `POST /__admin/faults` body; members left out (or `null`) are off.
    static func decodeFaults(_ object: JSONValue) throws(APIError) -> FaultConfiguration {
        var faults = FaultConfiguration()
        if let limit = try optionalObject(object, "rateLimit") {
            let rate = try number(limit, "rateLimit.requestsPerSecond", key: "requestsPerSecond", minimum: 0)
            guard let rate, rate > 0 else {
                throw APIError.invalidRequest("rateLimit.requestsPerSecond must be a number above 0")
            }
            let burst = try number(limit, "rateLimit.burst", key: "burst", minimum: 1)
            faults.rateLimit = RateLimit(requestsPerSecond: rate, burst: burst.map { Int($0) })
        }
        if let errors = try optionalObject(object, "serverErrors") {
            let share = try share(errors, "serverErrors.share")
            var statuses = [500, 502, 503]
            switch errors[member: "statuses"] {
            case nil, .null?: break
            case .array(let values)?:
                statuses = []
                for value in values {
                    guard case .number(let status) = value, [500.0, 502, 503].contains(status) else {
                        throw APIError.invalidRequest("serverErrors.statuses may hold only 500, 502 and 503")
                    }
                    statuses.append(Int(status))
                }
                if statuses.isEmpty { throw APIError.invalidRequest("serverErrors.statuses is empty") }
            default:
                throw APIError.invalidRequest("serverErrors.statuses must be an array of 500, 502, 503")
            }
            let retry = try number(errors, "serverErrors.retryAfterSeconds", key: "retryAfterSeconds", minimum: 0)
            faults.serverErrors = .init(share: share, statuses: statuses, retryAfterSeconds: retry.map { Int($0) })
        }
        if let latency = try number(object, "latencySeconds", key: "latencySeconds", minimum: 0) {
            faults.latency = .seconds(latency)
        }
        if let disconnects = try optionalObject(object, "disconnects") {
            var afterProcessing = true
            switch disconnects[member: "afterProcessing"] {
            case nil, .null?: break
            case .bool(let flag)?: afterProcessing = flag
            default: throw APIError.invalidRequest("disconnects.afterProcessing must be true or false")
            }
            faults.disconnects = .init(share: try share(disconnects, "disconnects.share"), afterProcessing: afterProcessing)
        }
        if let slow = try optionalObject(object, "slowResponses") {
            guard let delay = try number(slow, "slowResponses.delaySeconds", key: "delaySeconds", minimum: 0) else {
                throw APIError.invalidRequest("slowResponses.delaySeconds is missing")
            }
            faults.slowResponses = .init(share: try share(slow, "slowResponses.share"), delay: .seconds(delay))
        }
        if object[member: "forgedProofShare"] != nil {
            faults.forgedProofShare = try share(object, "forgedProofShare", key: "forgedProofShare")
        }
        return faults
    }

    private static func optionalObject(_ object: JSONValue, _ key: String) throws(APIError) -> JSONValue? {
        switch object[member: key] {
        case nil, .null?: return nil
        case let value? where { if case .object = value { return true } else { return false } }(): return value
        default: throw APIError.invalidRequest("\(key) must be an object or null")
        }
    }

    private static func number(_ object: JSONValue, _ name: String, key: String, minimum: Double) throws(APIError)
        -> Double?
    {
        switch object[member: key] {
        case nil, .null?: return nil
        case .number(let value)? where value >= minimum: return value
        default: throw APIError.invalidRequest("\(name) must be a number of at least \(JCS.ecmaScriptString(minimum))")
        }
    }

    private static func share(_ object: JSONValue, _ name: String, key: String = "share") throws(APIError) -> Double {
        guard case .number(let value)? = object[member: key], (0...1).contains(value) else {
            throw APIError.invalidRequest("\(name) must be a number from 0 to 1")
        }
        return value
    }
}
