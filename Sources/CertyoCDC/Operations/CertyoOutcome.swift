import CertyoClient

/// What one Certyo call says about Certyo: the `status` dimension of `certyo_cdc_request_duration_seconds`, and
/// whether it tells ``Readiness`` anything about the key.
struct CertyoOutcome: Sendable, Hashable {
    /// The HTTP status (`202`, `401`, `503`, ...), or `timeout`, `connection`, `error` when there was none.
    var label: String
    /// The key's state the call proves; `nil` when it proves nothing (429, 5xx, an unreadable answer).
    var state: Readiness.CertyoState?

    static let accepted = CertyoOutcome(label: "202", state: .accepted)

    init(label: String, state: Readiness.CertyoState?) {
        self.label = label
        self.state = state
    }

    /// Classifies a failed call.
    init(_ error: any Error) {
        guard let error = error as? CertyoError else {
            self.init(label: "error", state: nil)
            return
        }
        switch error.code {
        case .unauthorized, .forbidden:
            self.init(label: error.status.map(String.init) ?? "401", state: .unauthorised)
        case .timeout:
            self.init(label: "timeout", state: .unreachable)
        case .connectionFailed:
            self.init(label: "connection", state: .unreachable)
        default:
            guard let status = error.status else {
                self.init(label: "error", state: nil)
                return
            }
            // Certyo checks the key before anything else but the rate limit and its own failures: any other answer
            // (400, 404, 409, 413, ...) means it accepted the key and tenant.
            let provesNothing = status == 429 || status >= 500 || error.code == .invalidResponse
            self.init(label: String(status), state: provesNothing ? nil : .accepted)
        }
    }

    /// Records the key's state, when the call proved one.
    func apply(to readiness: Readiness?) {
        guard let state, let readiness else { return }
        readiness.update { $0.certyo = state }
    }
}
