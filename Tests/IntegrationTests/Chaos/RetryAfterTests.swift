import CertyoEmulator
import Foundation
import KafkaBridge
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Faults under load against a real `certyo-cdc run` process, and the emulator's request log as the witness that no
/// retry came earlier than the `Retry-After` of the refusal before it.
@Suite(.serialized, .needsTestPostgres, .timeLimit(.minutes(4)))
struct RetryAfterTests {
    /// The tolerance on "not earlier than refusal + Retry-After". Both instants come from the emulator's one
    /// monotonic clock: the refusal is stamped *before* its bytes are written and the retry when its handler starts
    /// (after the request arrived), and certyo-cdc starts its wait only after reading the refusal, so a correct
    /// client is always late, never early. The tolerance covers only the rounding of the two stamps and of the
    /// child's sleep to the OS timer (well under a millisecond); 5 ms leaves room for nothing like a retry that
    /// ignored `Retry-After` (which would be early by up to a whole second).
    static let tolerance: Duration = .milliseconds(5)

    @Test func serverErrorsA429StormLatencyAndClosedConnectionsLoseNothingAndNoRetryIsEarly() async throws {
        let rows = 8_000
        try await ChaosWorld.with(partitions: 6) { world in
            let produced = try await world.produceRows(0..<rows)
            await world.emulator.setFaults(FaultConfiguration(
                rateLimit: RateLimit(requestsPerSecond: 12, burst: 3),
                serverErrors: .init(share: 0.2, statuses: [500, 502, 503], retryAfterSeconds: 1),
                latency: .milliseconds(20),
                disconnects: .init(share: 0.05, afterProcessing: true)
            ))
            let child = try world.start("faults", ["CERTYO_BATCH_MAX_RECORDS": "100"])
            try await waitUntil(deadline: .seconds(180)) {
                guard child.isRunning else { throw ChaosError("\(child.name) exited:\n\(child.logTail())") }
                return try await world.committedEqualsEnd(produced.end)
            }
            child.send(SIGTERM)
            #expect(try await child.waitForExit(within: .seconds(30)) == .init(status: 0, bySignal: false))

            let keys = await world.storedKeys()
            #expect(keys.count == rows, "no gap")
            #expect(keys.values.allSatisfy { $0 == 1 }, "nothing stored twice")

            let log = await world.emulator.requestLog()
            let statuses = log.compactMap(\.status)
            #expect(statuses.contains(429), "the rate limit refused calls")
            #expect(statuses.contains { [500, 502, 503].contains($0) }, "server errors were injected")
            #expect(log.contains { $0.fault?.contains("disconnect") == true }, "connections were closed")

            // Pair every retry with the refusal before it: same batch (first idempotency key), in arrival order.
            var previous: [String: LoggedRequest] = [:]
            var checked: [Int: Int] = [:]
            var early: [String] = []
            for entry in log.sorted(by: { $0.sequence < $1.sequence }) {
                guard let fingerprint = entry.batchFingerprint else { continue }
                if let refusal = previous[fingerprint], let seconds = refusal.retryAfterSeconds,
                    let answered = refusal.answeredElapsed, let status = refusal.status
                {
                    let allowed = answered + .seconds(seconds) - Self.tolerance
                    checked[status, default: 0] += 1
                    if entry.elapsed < allowed {
                        early.append("#\(entry.sequence) came \(allowed + Self.tolerance - entry.elapsed) before "
                            + "#\(refusal.sequence)'s \(status) Retry-After: \(seconds) allowed it")
                    }
                }
                previous[fingerprint] = entry
            }
            print("Retry-After check: retries paired with their refusal by status: \(checked.sorted { $0.key < $1.key })")
            #expect(early.isEmpty, "retries earlier than Retry-After: \(early.prefix(5))")
            #expect((checked[429] ?? 0) > 0, "some retry followed a 429")
            #expect(checked.filter { [500, 502, 503].contains($0.key) }.values.reduce(0, +) > 0,
                    "some retry followed a 5xx")
            let committed = try await world.committed()
            #expect(committed == produced.end.mapValues { Optional($0) })
        }
    }
}
