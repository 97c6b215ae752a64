/// The misbehaviour the emulator injects into API calls (never into the admin path). All off by default.
///
/// Each API request, in order of arrival, takes the same fixed number of draws from the seeded generator, so a
/// seed and an order of requests always give the same faults. At most one of server error, dropped connection and
/// slow response hits a request, in that priority; latency applies to every request; a forged proof only changes a
/// verify response that carries a proof.
public struct FaultConfiguration: Sendable, Equatable {
    /// The per-tenant token bucket; `nil` turns rate limiting off. Default: the configuration's
    /// ``EmulatorConfiguration/rateLimit``.
    public var rateLimit: RateLimit?
    /// A share of requests answered `500`/`502`/`503` before anything is processed. Default: `nil` (none).
    public var serverErrors: ServerErrors?
    /// Time added before every API request is processed. Default: zero.
    public var latency: Duration
    /// A share of requests whose connection is closed with no response. Default: `nil` (none).
    public var disconnects: Disconnects?
    /// A share of requests answered only after a delay, typically longer than the client's timeout; the request is
    /// processed (and stored) first. Default: `nil` (none).
    public var slowResponses: SlowResponses?
    /// The share of verify responses whose Merkle proof is forged (one byte of the first sibling, or of the root
    /// when the proof is empty, is flipped), to test that clients check proofs. Default: `0`.
    public var forgedProofShare: Double

    /// No faults, no rate limit.
    public init(
        rateLimit: RateLimit? = nil,
        serverErrors: ServerErrors? = nil,
        latency: Duration = .zero,
        disconnects: Disconnects? = nil,
        slowResponses: SlowResponses? = nil,
        forgedProofShare: Double = 0
    ) {
        self.rateLimit = rateLimit
        self.serverErrors = serverErrors
        self.latency = latency
        self.disconnects = disconnects
        self.slowResponses = slowResponses
        self.forgedProofShare = forgedProofShare
    }

    /// Injected `5xx` answers.
    public struct ServerErrors: Sendable, Equatable {
        /// The share of API requests that get one, in `[0, 1]`.
        public var share: Double
        /// The statuses to pick from (uniformly, by the seeded generator): a subset of 500, 502, 503.
        /// Default: all three.
        public var statuses: [Int]
        /// When set, the answer carries `Retry-After` with these whole seconds. Default: `nil`.
        public var retryAfterSeconds: Int?

        public init(share: Double, statuses: [Int] = [500, 502, 503], retryAfterSeconds: Int? = nil) {
            self.share = share
            self.statuses = statuses
            self.retryAfterSeconds = retryAfterSeconds
        }
    }

    /// Connections closed before the response.
    public struct Disconnects: Sendable, Equatable {
        /// The share of API requests whose connection is closed, in `[0, 1]`.
        public var share: Double
        /// `true`: the request is processed (records are stored) and then the response is lost, as when a network
        /// fails on the way back; `false`: the connection is closed before anything is processed. Default: `true`.
        public var afterProcessing: Bool

        public init(share: Double, afterProcessing: Bool = true) {
            self.share = share
            self.afterProcessing = afterProcessing
        }
    }

    /// Responses sent late.
    public struct SlowResponses: Sendable, Equatable {
        /// The share of API requests answered late, in `[0, 1]`.
        public var share: Double
        /// How late.
        public var delay: Duration

        public init(share: Double, delay: Duration) {
            self.share = share
            self.delay = delay
        }
    }
}

/// The faults drawn for one request.
struct FaultPlan: Sendable, Equatable {
    var latency: Duration = .zero
    var serverError: (status: Int, retryAfterSeconds: Int?)? = nil
    var disconnect: Disconnect? = nil
    var slowDelay: Duration? = nil
    var forgeProof = false

    enum Disconnect: Sendable, Equatable {
        case beforeProcessing
        case afterProcessing
    }

    static func == (lhs: FaultPlan, rhs: FaultPlan) -> Bool {
        lhs.latency == rhs.latency && lhs.serverError?.status == rhs.serverError?.status
            && lhs.serverError?.retryAfterSeconds == rhs.serverError?.retryAfterSeconds
            && lhs.disconnect == rhs.disconnect && lhs.slowDelay == rhs.slowDelay && lhs.forgeProof == rhs.forgeProof
    }

    /// Draws the faults of the next request: always exactly five values, whatever is switched on, so that the
    /// sequence for a seed depends only on the order of arrival.
    static func draw(_ faults: FaultConfiguration, from random: inout SplitMix64) -> FaultPlan {
        let errorDraw = random.nextUnit()
        let statusDraw = random.next()
        let disconnectDraw = random.nextUnit()
        let slowDraw = random.nextUnit()
        let forgeDraw = random.nextUnit()
        var plan = FaultPlan(latency: faults.latency)
        if let errors = faults.serverErrors, !errors.statuses.isEmpty, errorDraw < errors.share {
            let status = errors.statuses[Int(statusDraw % UInt64(errors.statuses.count))]
            plan.serverError = (status, errors.retryAfterSeconds)
        } else if let disconnects = faults.disconnects, disconnectDraw < disconnects.share {
            plan.disconnect = disconnects.afterProcessing ? .afterProcessing : .beforeProcessing
        } else if let slow = faults.slowResponses, slowDraw < slow.share {
            plan.slowDelay = slow.delay
        }
        plan.forgeProof = forgeDraw < faults.forgedProofShare
        return plan
    }
}
