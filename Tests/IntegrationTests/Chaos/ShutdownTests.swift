import CertyoEmulator
import Foundation
import KafkaBridge
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGTERM/SIGINT on a real `certyo-cdc run` process mid-load.
@Suite(.serialized, .needsTestPostgres, .timeLimit(.minutes(3)))
struct ShutdownTests {
    /// certyo-cdc's shutdown bound (`PipelineConfiguration.shutdownTimeout`, 15 s) plus time to commit and leave.
    static let exitBound: Duration = .seconds(20)

    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalMidLoadCommitsWhatIsStoredAndLeavesTheGroup(signal: Int32) async throws {
        let rows = 20_000
        try await ChaosWorld.with(partitions: 6) { world in
            let produced = try await world.produceRows(0..<rows)
            await world.emulator.setFaults(FaultConfiguration(latency: .milliseconds(40)))
            // A 1 MiB buffer budget (~1 000 of these records): at the signal most of the topic is still in Kafka,
            // so the drain sends only what was buffered and the run stops mid-load.
            let child = try world.start("graceful", ["CERTYO_BATCH_MAX_RECORDS": "100", "CERTYO_MAX_IN_FLIGHT": "2",
                                                     "CERTYO_MAX_BUFFERED_BYTES": "1048576"])
            try await waitUntil(deadline: .seconds(60)) {
                guard child.isRunning else { throw ChaosError("\(child.name) exited:\n\(child.logTail())") }
                return await world.storedCount() >= 2_000
            }
            let signalled = ContinuousClock.now
            child.send(signal)
            let end = try await child.waitForExit(within: Self.exitBound)
            let took = ContinuousClock.now - signalled
            #expect(end == .init(status: 0, bySignal: false), "exit 0 after a graceful stop")
            print("signal \(signal) mid-load: exited in \(took)")
            #expect(child.log.contains("pipeline stopping"))
            #expect(child.log.contains("pipeline stopped"))

            // Everything Certyo stored before the process stopped lies below the committed offsets: a restart
            // re-sends nothing that was already accepted (the drain finished the in-flight calls and committed).
            let committed = try await world.committed()
            let stored = await world.storedKeys()
            #expect(stored.count < rows, "the signal came mid-load")
            var uncovered: [String] = []
            for key in stored.keys {
                let (tp, offset) = try #require(produced.positions[key])
                if offset >= (committed[tp] ?? nil) ?? 0 { uncovered.append(key) }
            }
            #expect(uncovered.isEmpty, "\(uncovered.count) stored records lie past the committed offsets")

            // It left the group: a new member gets every partition at the first join (~3 s on the mock), not after
            // the old member's session timed out.
            let recorder = AssignmentRecorder()
            var configuration = KafkaConsumerConfiguration()
            configuration.bootstrapServers = world.cluster.bootstrapServers
            configuration.groupID = world.group
            configuration.topicPattern = "^" + NSRegularExpression.escapedPattern(for: world.topic) + "$"
            configuration.additionalProperties = mockConsumerProperties
            let consumer = try KafkaConsumer(configuration: configuration, listener: recorder, logger: world.logger)
            let joining = ContinuousClock.now
            var first: [TopicPartition: Int64] = [:]
            try await waitUntil(deadline: .seconds(20)) {
                for message in try await consumer.poll() where first[message.topicPartition] == nil {
                    first[message.topicPartition] = message.offset
                }
                return recorder.partitions == Set(world.allPartitions)
            }
            let joinTook = ContinuousClock.now - joining
            print("signal \(signal): a new member held all \(world.partitions) partitions after \(joinTook)")
            #expect(joinTook < .seconds(6), "the stopped process left the group instead of timing out")
            for (tp, offset) in first {
                #expect(offset == (committed[tp] ?? nil) ?? 0, "\(tp): the next member resumes at the commit")
            }
            try await consumer.close()
        }
    }

    @Test func inFlightCallsAreAbandonedWithinTheBound() async throws {
        try await ChaosWorld.with(partitions: 3) { world in
            let produced = try await world.produceRows(0..<3_000)
            // Certyo answers nothing for 25 s (longer than the 15 s shutdown bound; the client's timeout is 60 s).
            await world.emulator.setFaults(FaultConfiguration(latency: .seconds(25)))
            let child = try world.start("stuck", ["CERTYO_REQUEST_TIMEOUT": "60s"])
            try await waitUntil(deadline: .seconds(60)) {
                guard child.isRunning else { throw ChaosError("\(child.name) exited:\n\(child.logTail())") }
                return await world.emulator.counters().requests >= 3
            }
            let signalled = ContinuousClock.now
            child.send(SIGTERM)
            let end = try await child.waitForExit(within: Self.exitBound)
            let took = ContinuousClock.now - signalled
            print("SIGTERM with calls stuck in flight: exited in \(took)")
            #expect(end == .init(status: 0, bySignal: false))
            #expect(took >= .seconds(14), "it waited for the in-flight calls up to the bound")
            #expect(child.log.contains("gave up waiting for in-flight batches"))
            // Nothing it did not hear back about was committed.
            let committed = try await world.committed()
            #expect(world.allPartitions.allSatisfy { (committed[$0] ?? nil) ?? 0 == 0 }, "\(committed)")
            #expect(produced.end.values.allSatisfy { $0 > 0 })
            await world.emulator.setFaults(FaultConfiguration())
        }
    }

    @Test func aSecondSignalDuringTheDrainExitsAtOnceWith130() async throws {
        try await ChaosWorld.with(partitions: 3) { world in
            _ = try await world.produceRows(0..<3_000)
            await world.emulator.setFaults(FaultConfiguration(latency: .seconds(10)))
            let child = try world.start("impatient", ["CERTYO_REQUEST_TIMEOUT": "30s"])
            try await waitUntil(deadline: .seconds(60)) {
                guard child.isRunning else { throw ChaosError("\(child.name) exited:\n\(child.logTail())") }
                return await world.emulator.counters().requests >= 1
            }
            child.send(SIGTERM)
            // The drain has begun (and waits for the slow calls)...
            try await waitUntil(deadline: .seconds(10)) { child.log.contains("pipeline stopping") }
            #expect(child.isRunning, "still draining")
            let signalled = ContinuousClock.now
            child.send(SIGINT)
            let end = try await child.waitForExit(within: .seconds(5))
            print("second signal during the drain: exited in \(ContinuousClock.now - signalled)")
            #expect(end == .init(status: 130, bySignal: false))
            #expect(child.log.contains("exiting at once"))
            await world.emulator.setFaults(FaultConfiguration())
        }
    }
}
