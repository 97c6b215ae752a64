import CDCCore
import CertyoClient
import Foundation
import Logging

/// The production ``BatchSink``: Certyo's bulk endpoint, with every answer classified (README, "Certyo's answers").
public struct CertyoBatchSink: BatchSink {
    private let client: CertyoClient
    private let apiKeyFile: String?
    private let logger: Logger?
    private let metrics: PipelineMetrics?
    private let readiness: Readiness?

    /// - Parameters:
    ///   - client: The Certyo client.
    ///   - apiKeyFile: `CERTYO_API_KEY_FILE`, re-read while Certyo refuses the key, so a rotated key is picked up
    ///     without a restart.
    ///   - metrics: Receives each call's latency (by status) and size. Default: none.
    ///   - readiness: Told whether Certyo accepts the key after each call. Default: none.
    public init(
        client: CertyoClient, apiKeyFile: String? = nil, logger: Logger? = nil, metrics: PipelineMetrics? = nil,
        readiness: Readiness? = nil
    ) {
        self.client = client
        self.apiKeyFile = apiKeyFile
        self.logger = logger
        self.metrics = metrics
        self.readiness = readiness
    }

    public func reloadCredentials() async {
        guard let apiKeyFile else { return }
        guard let text = try? String(contentsOfFile: apiKeyFile, encoding: .utf8) else {
            logger?.error("cannot read CERTYO_API_KEY_FILE '\(apiKeyFile)'; keeping the current key")
            return
        }
        let key = CertyoAPIKey(text)
        guard key != client.configuration.apiKey else { return }
        do {
            try client.replaceAPIKey(key)
            logger?.notice("CERTYO_API_KEY_FILE changed: using the new key")
        } catch {
            logger?.error("the key in CERTYO_API_KEY_FILE is not usable: \(error)")
        }
    }

    public func ingest(_ records: [CertyoRecord]) async throws -> BatchReceipt {
        let started = ContinuousClock.now
        let response: BulkIngestResponse
        do {
            response = try await client.ingestBulk(records)
        } catch {
            let outcome = CertyoOutcome(error)
            metrics?.recordCall(status: outcome.label, duration: ContinuousClock.now - started,
                                records: records.count)
            outcome.apply(to: readiness)
            throw error
        }
        metrics?.recordCall(status: "202", duration: ContinuousClock.now - started, records: records.count)
        CertyoOutcome.accepted.apply(to: readiness)
        return BatchReceipt(accepted: response.accepted, replayed: response.results.lazy.filter(\.idempotencyReplayed).count)
    }

    public func classify(_ error: any Error) -> FailureDisposition {
        guard let error = error as? CertyoError else {
            return .retry(retryAfter: nil, category: "other")
        }
        let rejection = { (reason: String) in
            Rejection(reason: reason, message: error.description, httpStatus: error.status, errorCode: error.serverCode)
        }
        switch error.code {
        case .rateLimited: return .retry(retryAfter: error.retryAfter, category: "rate_limited")
        case .serverError: return .retry(retryAfter: error.retryAfter, category: "server_error")
        case .timeout: return .retry(retryAfter: nil, category: "timeout")
        case .connectionFailed: return .retry(retryAfter: nil, category: "connection")
        case .invalidResponse: return .retry(retryAfter: nil, category: "invalid_response")
        case .payloadTooLarge, .batchTooLarge:
            return .split(status: error.status ?? 413, code: error.serverCode ?? "payload_too_large")
        case .unauthorized, .forbidden: return .unauthorized(message: error.description)
        case .invalidRecord, .idempotencyConflict:
            let reason = error.code == .invalidRecord ? "invalid_record" : "idempotency_conflict"
            var rejected: [Int: Rejection] = [:]
            for detail in error.details {
                guard let index = detail.index else { continue }
                var entry = rejection(reason)
                entry.message = "Certyo refused the record: \(detail) (\(error.serverCode ?? reason))"
                rejected[index] = entry
            }
            // A refusal that names no record is about the call itself: no record can be singled out.
            return rejected.isEmpty ? .rejectAll(rejection(reason)) : .reject(rejected)
        default:
            return .rejectAll(rejection(error.serverCode ?? "rejected"))
        }
    }
}
