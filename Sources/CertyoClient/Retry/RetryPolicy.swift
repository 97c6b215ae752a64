import Foundation

/// When to send a failed Certyo call again: capped exponential backoff with full jitter, never earlier than the
/// server's `Retry-After`.
///
/// The policy is pure arithmetic; the retry loop belongs to the caller, which sleeps on its own (injected) clock:
///
/// ```swift
/// var attempt = 0
/// while true {
///     do { return try await client.ingestBulk(batch) }
///     catch let error as CertyoError where error.isRetriable {
///         try await clock.sleep(for: policy.delay(forAttempt: attempt, retryAfter: error.retryAfter, using: &rng))
///         attempt += 1
///     }
/// }
/// ```
///
/// The delay before retry number `attempt` (0 for the first retry) is
/// `max(minimumDelay, fraction × min(maximumDelay, initialDelay × multiplier^attempt))`, with `fraction` drawn
/// uniformly from `[0, 1)` ("full jitter"), and then at least `retryAfter` when the server sent one.
public struct RetryPolicy: Sendable, Hashable {
    /// The ceiling of the first retry's delay. Default: `1 s` (the vendor's advice).
    public var initialDelay: Duration
    /// The ceiling never grows past this. Default: `60 s`.
    public var maximumDelay: Duration
    /// How much the ceiling grows per attempt. Default: `2` (the vendor's advice: double).
    public var multiplier: Double
    /// No retry comes sooner than this, however small the jitter: the vendor asks never to retry at once.
    /// Default: `100 ms`.
    public var minimumDelay: Duration

    /// A policy with the defaults above.
    public init() {
        self.initialDelay = .seconds(1)
        self.maximumDelay = .seconds(60)
        self.multiplier = 2
        self.minimumDelay = .milliseconds(100)
    }

    /// The ceiling of the jittered delay before retry number `attempt`: `min(maximumDelay,
    /// initialDelay × multiplier^attempt)`, never below ``minimumDelay``.
    ///
    /// - Parameter attempt: 0 for the first retry; negative values count as 0.
    public func ceiling(forAttempt attempt: Int) -> Duration {
        // Whole nanoseconds: exact for the usual values, and no rounding surprises when compared with a Duration.
        let cap = Self.nanoseconds(maximumDelay)
        let growth = pow(max(multiplier, 1), Double(max(attempt, 0)))
        let ceiling = Double(Self.nanoseconds(initialDelay)) * growth
        let nanoseconds = ceiling.isFinite && ceiling < Double(cap) ? Int64(ceiling.rounded()) : cap
        return max(.nanoseconds(nanoseconds), minimumDelay, .zero)
    }

    /// The delay before retry number `attempt`.
    ///
    /// - Parameters:
    ///   - attempt: 0 for the first retry, 1 for the second, ...
    ///   - retryAfter: The server's `Retry-After` (``CertyoError/retryAfter``); the result is never shorter.
    ///   - generator: The source of jitter; inject a seeded one in tests.
    /// - Returns: How long to wait before sending the call again.
    public func delay(
        forAttempt attempt: Int,
        retryAfter: Duration? = nil,
        using generator: inout some RandomNumberGenerator
    ) -> Duration {
        // 53 random bits -> a fraction in [0, 1), the same on every platform for a given generator output.
        let fraction = Double(generator.next() >> 11) * 0x1p-53
        let jittered = Duration.nanoseconds(Int64((Double(Self.nanoseconds(ceiling(forAttempt: attempt))) * fraction)))
        return max(jittered, minimumDelay, retryAfter ?? .zero, .zero)
    }

    /// The delay before retrying after `error`, or `nil` when the error is not retriable.
    ///
    /// - Parameters:
    ///   - error: The failure of the previous attempt.
    ///   - attempt: 0 for the first retry, 1 for the second, ...
    ///   - generator: The source of jitter.
    public func delay(
        after error: CertyoError,
        attempt: Int,
        using generator: inout some RandomNumberGenerator
    ) -> Duration? {
        guard error.isRetriable else { return nil }
        return delay(forAttempt: attempt, retryAfter: error.retryAfter, using: &generator)
    }

    /// ``delay(forAttempt:retryAfter:using:)`` with the system's random source.
    public func delay(forAttempt attempt: Int, retryAfter: Duration? = nil) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(forAttempt: attempt, retryAfter: retryAfter, using: &generator)
    }

    /// Whole nanoseconds, saturating at `Int64.max`.
    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = product.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? .max : sum
    }
}
