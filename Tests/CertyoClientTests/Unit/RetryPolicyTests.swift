import Testing

@testable import CertyoClient

@Suite struct RetryPolicyTests {
    /// 0x8000_0000_0000_0000 >> 11 is 2^52, which the policy turns into the fraction 0.5 exactly.
    static let half: UInt64 = 1 << 63

    @Test func ceilingDoublesFromOneSecondUpToTheCap() {
        let policy = RetryPolicy()
        #expect(policy.ceiling(forAttempt: 0) == .seconds(1))
        #expect(policy.ceiling(forAttempt: 1) == .seconds(2))
        #expect(policy.ceiling(forAttempt: 3) == .seconds(8))
        #expect(policy.ceiling(forAttempt: 5) == .seconds(32))
        #expect(policy.ceiling(forAttempt: 6) == .seconds(60))
        #expect(policy.ceiling(forAttempt: 10_000) == .seconds(60))
        #expect(policy.ceiling(forAttempt: Int.max) == .seconds(60))
        #expect(policy.ceiling(forAttempt: -3) == .seconds(1))
    }

    @Test func configurableInitialCapAndMultiplier() {
        var policy = RetryPolicy()
        policy.initialDelay = .milliseconds(250)
        policy.multiplier = 3
        policy.maximumDelay = .seconds(5)
        #expect(policy.ceiling(forAttempt: 0) == .milliseconds(250))
        #expect(policy.ceiling(forAttempt: 1) == .milliseconds(750))
        #expect(policy.ceiling(forAttempt: 2) == .milliseconds(2250))
        #expect(policy.ceiling(forAttempt: 3) == .seconds(5))
    }

    @Test func fullJitterScalesTheCeilingByTheDrawnFraction() {
        let policy = RetryPolicy()
        var generator = FixedGenerator(values: [Self.half])
        #expect(policy.delay(forAttempt: 0, using: &generator) == .milliseconds(500))
        #expect(policy.delay(forAttempt: 3, using: &generator) == .seconds(4))
        #expect(policy.delay(forAttempt: 12, using: &generator) == .seconds(30))

        var top = FixedGenerator(values: [.max])
        let nearCeiling = policy.delay(forAttempt: 2, using: &top)
        #expect(nearCeiling <= .seconds(4) && nearCeiling > .milliseconds(3999))
    }

    @Test func neverRetriesAtOnce() {
        let policy = RetryPolicy()
        var zero = FixedGenerator(values: [0])
        #expect(policy.delay(forAttempt: 0, using: &zero) == .milliseconds(100))
        #expect(policy.delay(forAttempt: 7, using: &zero) == .milliseconds(100))
    }

    @Test func retryAfterIsAFloorNotACeiling() {
        let policy = RetryPolicy()
        var generator = FixedGenerator(values: [Self.half])
        // The jittered delay (0.5 s) is shorter than the server asked: wait what the server asked.
        #expect(policy.delay(forAttempt: 0, retryAfter: .seconds(7), using: &generator) == .seconds(7))
        // Beyond the cap too: the server's word wins.
        #expect(policy.delay(forAttempt: 0, retryAfter: .seconds(120), using: &generator) == .seconds(120))
        // The jittered delay (16 s) is longer: keep it.
        #expect(policy.delay(forAttempt: 5, retryAfter: .seconds(1), using: &generator) == .seconds(16))
    }

    @Test func seededGeneratorsGiveTheSameDelaysWithinBounds() {
        let policy = RetryPolicy()
        var first = SplitMix64(seed: 42)
        var second = SplitMix64(seed: 42)
        var distinct = Set<Duration>()
        for attempt in 0..<40 {
            let a = policy.delay(forAttempt: attempt, using: &first)
            let b = policy.delay(forAttempt: attempt, using: &second)
            #expect(a == b)
            #expect(a >= policy.minimumDelay && a <= policy.ceiling(forAttempt: attempt))
            distinct.insert(a)
        }
        #expect(distinct.count > 30, "jitter should spread the delays")
    }

    @Test func onlyRetriableErrorsGetADelay() {
        let policy = RetryPolicy()
        var generator = FixedGenerator(values: [Self.half])
        let rateLimited = CertyoError(
            code: .rateLimited, endpoint: "POST x", status: 429, message: "slow down", retryAfter: .seconds(3)
        )
        #expect(policy.delay(after: rateLimited, attempt: 0, using: &generator) == .seconds(3))
        let server = CertyoError(code: .serverError, endpoint: "POST x", status: 503, message: "busy")
        #expect(policy.delay(after: server, attempt: 1, using: &generator) == .seconds(1))
        for code in [CertyoError.Code.unauthorized, .forbidden, .invalidRecord, .idempotencyConflict, .notFound] {
            let error = CertyoError(code: code, endpoint: "POST x", status: 400, message: "no")
            #expect(policy.delay(after: error, attempt: 0, using: &generator) == nil)
        }
    }
}

/// Returns the given values in turn, forever.
struct FixedGenerator: RandomNumberGenerator {
    var values: [UInt64]
    var index = 0

    mutating func next() -> UInt64 {
        defer { index += 1 }
        return values[index % values.count]
    }
}

/// A small seeded generator (SplitMix64), so jitter tests are deterministic.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
