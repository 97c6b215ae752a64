import CertyoEmulator
import Foundation
import KafkaBridge
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Three `certyo-cdc run` processes in one consumer group; one is killed and one added mid-run.
@Suite(.serialized, .needsTestPostgres, .timeLimit(.minutes(4)))
struct ScaleOutTests {
    @Test func threeInstancesOneKilledOneAddedLeaveNoGap() async throws {
        let rows = 30_000
        // Slow enough that the run outlasts several rebalances (~3–7 s each on the mock): 50-record calls, two in
        // flight per process, 150 ms each.
        try await ChaosWorld.with(partitions: 12) { world in
            let produced = try await world.produceRows(0..<rows)
            await world.emulator.setFaults(FaultConfiguration(latency: .milliseconds(150)))
            let slow = ["CERTYO_BATCH_MAX_RECORDS": "50", "CERTYO_MAX_IN_FLIGHT": "2"]
            var members = try (0..<3).map { try world.start("member-\($0)", slow) }

            try await waitUntil(deadline: .seconds(90)) { await world.storedCount() >= rows / 4 }
            let victim = members.remove(at: 1)
            victim.send(SIGKILL)
            #expect(try await victim.waitForExit(within: .seconds(10)) == .init(status: SIGKILL, bySignal: true))
            let storedAtKill = await world.storedCount()

            try await waitUntil(deadline: .seconds(90)) { await world.storedCount() >= max(rows / 2, storedAtKill + 1) }
            members.append(try world.start("member-3", slow))
            let storedAtJoin = await world.storedCount()
            print("scale-out: killed member-1 at \(storedAtKill) stored, added member-3 at \(storedAtJoin)")

            try await waitUntil(deadline: .seconds(150)) {
                for member in members where !member.isRunning {
                    throw ChaosError("\(member.name) exited:\n\(member.logTail())")
                }
                return try await world.committedEqualsEnd(produced.end)
            }
            // The added member took part: it sent calls of its own.
            let joined = members.last!
            #expect(joined.log.contains("partitions assigned"), "member-3 was given partitions")
            for member in members {
                member.send(SIGTERM)
                #expect(try await member.waitForExit(within: .seconds(30)) == .init(status: 0, bySignal: false))
            }

            let keys = await world.storedKeys()
            #expect(keys.count == rows, "no gap")
            #expect(Set(keys.keys) == Set(produced.positions.keys))
            #expect(keys.values.allSatisfy { $0 == 1 }, "each key stored once (replays answered, not stored)")
            // On the mock every commit during a rebalance fails, so each rebalance replays what was uncommitted:
            // duplicates are expected but bounded (here, well under one extra delivery per record).
            let replays = await world.emulator.counters().idempotencyReplays
            print("scale-out: \(rows) records, \(replays) replays")
            #expect(replays < rows / 2)
            let committed = try await world.committed()
            #expect(committed == produced.end.mapValues { Optional($0) })
        }
    }
}
