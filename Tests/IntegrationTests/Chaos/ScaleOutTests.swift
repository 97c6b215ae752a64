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
            // The added member took part.
            let joined = members.last!
            #expect(joined.log.contains("partitions assigned"), "member-3 was given partitions")
            // Each partition handed to a member (librdkafka's eager protocol hands all of them out again on every
            // rebalance) may replay at most what the previous owner had not committed: at most the whole partition.
            var partitionAssignments = 0
            for member in members + [victim] {
                let log = member.log
                func count(_ text: String) -> Int { log.components(separatedBy: text).count - 1 }
                let assigned = log.split(separator: "\n").filter { $0.contains("partitions assigned") }
                    .map { $0.components(separatedBy: world.topic).count - 1 }.reduce(0, +)
                partitionAssignments += assigned
                print("scale-out: \(member.name): \(count("partitions assigned")) assignments (\(assigned) partitions), "
                    + "\(count("commit on revoke failed")) failed commits on revoke, "
                    + "\(count("offset commit failed")) other failed commits, "
                    + "\(count("gave up waiting")) abandoned drains")
            }
            for member in members {
                member.send(SIGTERM)
                #expect(try await member.waitForExit(within: .seconds(30)) == .init(status: 0, bySignal: false))
            }

            let keys = await world.storedKeys()
            #expect(keys.count == rows, "no gap")
            #expect(Set(keys.keys) == Set(produced.positions.keys))
            #expect(keys.values.allSatisfy { $0 == 1 }, "each key stored once (replays answered, not stored)")
            // On the mock every commit during a rebalance fails (real Kafka accepts the commit on revoke), so each
            // rebalance replays what the revoked partitions sent while draining: duplicates are expected, but each
            // record at most once per change of its partition's owner.
            let replays = await world.emulator.counters().idempotencyReplays
            let ownershipChanges = partitionAssignments - world.partitions
            print("scale-out: \(rows) records, \(replays) replays, \(ownershipChanges) partition ownership changes")
            #expect(partitionAssignments >= world.partitions + 4, "the kill and the join moved partitions")
            #expect(replays <= ownershipChanges * (rows / world.partitions + 100), "bounded duplicates")
            let committed = try await world.committed()
            #expect(committed == produced.end.mapValues { Optional($0) })
        }
    }
}
