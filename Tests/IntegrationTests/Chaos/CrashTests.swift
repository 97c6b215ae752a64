import CertyoEmulator
import Foundation
import KafkaBridge
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `kill -9` of a real `certyo-cdc run` process at random moments under load, and restarts.
@Suite(.serialized, .needsTestPostgres, .timeLimit(.minutes(5)))
struct CrashTests {
    @Test func fiveKillNinesAtRandomMomentsLoseNothingAndStoreEveryKeyOnce() async throws {
        var random = SeededGenerator.fromEnvironment(test: "kill -9 x5")
        let rows = 50_000
        try await ChaosWorld.with(partitions: 12) { world in
            let produced = try await world.produceRows(0..<rows)
            #expect(produced.end.values.reduce(0, +) == Int64(rows))
            // The moments: five distinct progress points (records stored at Certyo), plus up to 150 ms more, so a
            // kill lands anywhere in a batch's life (decoded, in flight, stored but not yet committed...).
            let moments = (0..<5).map { _ in Int.random(in: 2_000..<(rows - 3_000), using: &random) }.sorted()
            let extraDelays = (0..<5).map { _ in Int.random(in: 0..<150, using: &random) }
            print("kill -9 x5: kills when the emulator holds \(moments) records (+\(extraDelays) ms)")

            var child = try world.start("crash-0")
            for (index, moment) in moments.enumerated() {
                let requestsBefore = await world.emulator.counters().requests
                // The child must have made progress of its own since it started (a kill before it even joined
                // tests nothing), and the emulator must hold at least `moment` records.
                try await waitUntil(deadline: .seconds(120)) {
                    guard child.isRunning else { throw ChaosError("\(child.name) exited:\n\(child.logTail())") }
                    let counters = await world.emulator.counters()
                    return counters.recordsStored >= moment && counters.requests > requestsBefore
                }
                try await Task.sleep(for: .milliseconds(extraDelays[index]))
                let stored = await world.storedCount()
                child.send(SIGKILL)
                let end = try await child.waitForExit(within: .seconds(10))
                #expect(end == .init(status: SIGKILL, bySignal: true))
                print("kill -9 x5: killed \(child.name) with \(stored) records stored")
                child = try world.start("crash-\(index + 1)")
            }
            // The last one runs to the end: every partition committed up to its end offset.
            try await waitUntil(deadline: .seconds(150)) {
                guard child.isRunning else { throw ChaosError("\(child.name) exited:\n\(child.logTail())") }
                return try await world.committedEqualsEnd(produced.end)
            }
            child.send(SIGTERM)
            #expect(try await child.waitForExit(within: .seconds(30)) == .init(status: 0, bySignal: false))

            let keys = await world.storedKeys()
            #expect(keys.count == rows, "every key stored")
            #expect(Set(keys.keys) == Set(produced.positions.keys), "exactly the produced keys")
            #expect(keys.values.allSatisfy { $0 == 1 }, "no key stored twice")
            let counters = await world.emulator.counters()
            #expect(counters.recordsStored == rows)
            print("kill -9 x5: \(rows) records, \(counters.idempotencyReplays) replays answered from idempotency "
                + "keys, \(counters.requests) bulk calls")
            let committed = try await world.committed()
            #expect(committed == produced.end.mapValues { Optional($0) }, "committed offsets = end offsets")
        }
    }
}
