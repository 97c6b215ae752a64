import CertyoEmulator
import Foundation
import KafkaBridge
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A corpus of broken envelopes among good ones, through a real `certyo-cdc run` process.
@Suite(.serialized, .needsTestPostgres, .timeLimit(.minutes(3)))
struct BadInputTests {
    /// One broken message: what it is, and what its dead letter must say.
    struct Case {
        var name: String
        var key: [UInt8]?
        var value: [UInt8]
        /// The exact `certyo.dlq.reason`.
        var reason: String
        /// Words `certyo.dlq.message` must contain (it names the defect and where it is).
        var messageMentions: [String]
        var httpStatus: String? = nil
    }

    /// The Certyo body limit of this test; the too-large row is twice that.
    static let bodyLimit = 48 * 1024

    static func corpus(_ world: ChaosWorld) -> [Case] {
        let (goodKey, goodValue) = world.envelope(90_001)
        let good = String(decoding: goodValue, as: UTF8.self)
        func value(_ text: String) -> [UInt8] { Array(text.utf8) }
        func key(_ id: Int) -> [UInt8] { Array(#"{"id":\#(id)}"#.utf8) }
        var invalidUTF8 = Array(world.envelope(90_002).value)
        let textStart = invalidUTF8.firstRange(of: Array("row 90002".utf8))!.lowerBound
        invalidUTF8.replaceSubrange(textStart..<(textStart + 3), with: [0x72, 0xC3, 0x28])  // "r" + a broken pair
        let table = world.table
        return [
            Case(name: "truncated JSON", key: goodKey, value: Array(goodValue.prefix(goodValue.count / 2)),
                 reason: "malformed_json", messageMentions: ["not JSON", world.topic]),
            Case(name: "invalid UTF-8", key: key(90_002), value: invalidUTF8,
                 reason: "malformed_json", messageMentions: ["UTF-8"]),
            Case(name: "a column of the wrong type", key: key(90_003),
                 value: value(String(decoding: world.envelope(90_003).value, as: UTF8.self)
                    .replacingOccurrences(of: #""id":90003,"#, with: #""id":"ninety","#)),
                 reason: "unexpected_value", messageMentions: [table, "id"]),
            Case(name: "op of the wrong type", key: key(90_004),
                 value: value(String(decoding: world.envelope(90_004).value, as: UTF8.self)
                    .replacingOccurrences(of: #""op":"c""#, with: #""op":7"#)),
                 reason: "not_a_change_event", messageMentions: [#""op" is not a string"#, world.topic]),
            Case(name: "missing op", key: key(90_005),
                 value: value(String(decoding: world.envelope(90_005).value, as: UTF8.self)
                    .replacingOccurrences(of: #""op":"c","#, with: "")),
                 reason: "not_a_change_event", messageMentions: [#"no "op" field"#]),
            Case(name: "missing source", key: key(90_006),
                 value: value(#"{"before":null,"after":{"id":90006,"v":"no source"},"op":"c","ts_ms":1764000000100}"#),
                 reason: "no_source_position", messageMentions: ["source.lsn"]),
            Case(name: "NULL key on a row event", key: nil, value: value(good.replacingOccurrences(
                of: "90001", with: "90007")),
                 reason: "no_primary_key", messageMentions: [table]),
            Case(name: "a row larger than the bulk body limit", key: key(90_008),
                 value: world.envelope(90_008, v: String(repeating: "x", count: 2 * bodyLimit)).value,
                 reason: "too_large", messageMentions: ["413"], httpStatus: "413"),
        ]
    }

    @Test func brokenEnvelopesAreDeadLetteredWithAPreciseReasonAndTheRestDelivered() async throws {
        let goodRows = 600
        try await ChaosWorld.with(partitions: 3, emulator: { $0.maxBodyBytes = Self.bodyLimit }) { world in
            let corpus = Self.corpus(world)
            var messages = (0..<goodRows).map { id in
                let (key, value) = world.envelope(id)
                return OutgoingMessage(topic: world.topic, key: key, value: value)
            }
            for (index, item) in corpus.enumerated() {
                messages.insert(
                    OutgoingMessage(topic: world.topic, key: item.key, value: item.value,
                                    headers: [KafkaHeader(name: "chaos.case", value: Array(item.name.utf8))]),
                    at: 40 + index * 70
                )
            }
            let reports = try await world.produce(messages)
            var end: [TopicPartition: Int64] = [:]
            for report in reports {
                let tp = TopicPartition(topic: world.topic, partition: report.partition)
                end[tp] = max(end[tp] ?? 0, report.offset + 1)
            }
            // Bodies stay under the limit for good records; the huge one is sent alone and refused.
            let child = try world.start("bad-input", ["CERTYO_BATCH_MAX_BYTES": "\(Self.bodyLimit / 2)"])
            try await waitUntil(deadline: .seconds(90)) {
                guard child.isRunning else { throw ChaosError("\(child.name) exited:\n\(child.logTail())") }
                return try await world.committedEqualsEnd(end)
            }
            #expect(child.isRunning, "no crash")
            child.send(SIGTERM)
            #expect(try await child.waitForExit(within: .seconds(30)) == .init(status: 0, bySignal: false))

            let keys = await world.storedKeys()
            #expect(keys.count == goodRows, "every good record stored, no broken one")
            #expect(Set(keys.keys) == Set((0..<goodRows).map(world.idempotencyKey)))
            let letters = try await world.readDeadLetters(count: corpus.count)
            #expect(letters.count == corpus.count, "one dead letter per broken message")
            for item in corpus {
                let found = letters.filter { $0.header("chaos.case") == item.name }
                guard found.count == 1, let letter = found.first else {
                    Issue.record("\(item.name): \(found.count) dead letters")
                    continue
                }
                let reason = letter.header("certyo.dlq.reason")
                let message = letter.header("certyo.dlq.message") ?? ""
                #expect(reason == item.reason, "\(item.name): \(reason ?? "nil") — \(message)")
                for word in item.messageMentions {
                    #expect(message.contains(word), "\(item.name): the message names \(word): \(message)")
                }
                #expect(letter.value == item.value, "\(item.name): the original bytes are kept")
                #expect(letter.key == item.key)
                #expect(letter.header("certyo.dlq.topic") == world.topic)
                #expect(letter.header("certyo.dlq.http_status") == item.httpStatus)
                print("dead letter [\(item.name)]: \(reason ?? "nil"): \(message)")
            }
            let committed = try await world.committed()
            #expect(world.allPartitions.allSatisfy { (committed[$0] ?? nil) ?? 0 == end[$0] ?? 0 })
        }
    }
}
