import CDCCore
import CertyoCDC
import CertyoClient
import CertyoEmulator
import Foundation
import KafkaBridge
import Testing

@Suite(.serialized, .timeLimit(.minutes(3)))
struct DeliveryTests {
    @Test func undecodableEnvelopesAreDeadLetteredWithTheirReasonAndTheRestDelivered() async throws {
        try await PipelineHarness.with(partitions: 3) { harness in
            let template = try EnvelopeTemplate.orderLineCreate()
            var messages = (0..<200).map { row in
                let (key, value) = template.envelope(orderID: row)
                return OutgoingMessage(topic: harness.topic, key: key, value: value)
            }
            let poison: [(key: String, value: String)] = [
                (#"{"order_id":9001,"line_no":1}"#, #"{"schema":{"type":"struct"},"payload":{"before":null,"af"#),
                (#"{"order_id":9002,"line_no":1}"#, #"{"before":null,"after":{"order_id":9002},"source":{}}"#),
                (#"{"order_id":9003,"line_no":1}"#, "not json at all"),
            ]
            for (index, item) in poison.enumerated() {
                messages.insert(OutgoingMessage(topic: harness.topic, key: Array(item.key.utf8),
                                                value: Array(item.value.utf8)), at: 50 * (index + 1))
            }
            let end = try await harness.produce(messages)
            let group = "g-\(UUID().uuidString)"
            let counts = try await harness.runPipeline(group: group) { $0.committed == end }

            #expect(counts.deadLettered == 3)
            let keys = await harness.emulator.storedIdempotencyKeys(tenant: PipelineHarness.tenant)
            #expect(keys.count == 200)
            let letters = try await harness.readAll(topic: "certyo-cdc.dlq.\(group)", count: 3)
            #expect(Set(letters.compactMap(\.key).map { String(decoding: $0, as: UTF8.self) }) == Set(poison.map(\.key)))
            for letter in letters {
                let original = try #require(poison.first { Array($0.key.utf8) == letter.key })
                #expect(letter.value == Array(original.value.utf8), "the original value bytes")
                #expect(letter.header("certyo.dlq.topic") == harness.topic)
                #expect(letter.header("certyo.dlq.offset").flatMap(Int64.init) != nil)
                #expect(letter.header("certyo.dlq.reason")?.isEmpty == false)
                #expect(letter.header("certyo.dlq.message")?.isEmpty == false)
            }
        }
    }

    @Test func tooLargeCallsAreSplitAndARecordTooLargeAloneIsDeadLettered() async throws {
        try await PipelineHarness.with(partitions: 2, emulator: { $0.maxBodyBytes = 24 * 1024 }) { harness in
            let template = try EnvelopeTemplate.orderLineCreate()
            var messages = (0..<300).map { row in
                let (key, value) = template.envelope(orderID: row)
                return OutgoingMessage(topic: harness.topic, key: key, value: value)
            }
            let (hugeKey, hugeValue) = template.envelope(orderID: 5000, note: String(repeating: "x", count: 40_000))
            messages.insert(OutgoingMessage(topic: harness.topic, key: hugeKey, value: hugeValue), at: 150)
            let end = try await harness.produce(messages)
            let group = "g-\(UUID().uuidString)"
            let counts = try await harness.runPipeline(group: group) { $0.committed == end }

            #expect(counts.deadLettered == 1)
            let keys = await harness.emulator.storedIdempotencyKeys(tenant: PipelineHarness.tenant)
            #expect(keys.count == 300)
            let letters = try await harness.readAll(topic: "certyo-cdc.dlq.\(group)", count: 1)
            #expect(letters.first?.key == hugeKey)
            #expect(letters.first?.header("certyo.dlq.reason") == "too_large")
            #expect(letters.first?.header("certyo.dlq.http_status") == "413")
        }
    }

    @Test func schemalessEnvelopesWithoutPGDSNStopThePipelineWithOneLineAndCommitNothing() async throws {
        try await PipelineHarness.with(partitions: 1) { harness in
            let key = #"{"order_id":1,"line_no":1}"#
            let value = #"{"before":null,"after":{"order_id":1,"line_no":1},"source":{"db":"productdb","#
                + #""schema":"public","table":"order_lines","lsn":100,"ts_ms":1},"op":"c","ts_ms":1}"#
            let end = try await harness.produce([
                OutgoingMessage(topic: harness.topic, key: Array(key.utf8), value: Array(value.utf8)),
            ])
            let group = "g-\(UUID().uuidString)"
            let pipeline = harness.startPipeline(group: group)
            let error = await #expect(throws: ConfigError.self) { try await pipeline.task.value }
            #expect(error?.setting.contains("PG_DSN") == true)
            #expect(error?.fix.contains("set PG_DSN") == true)
            let committed = try await harness.committed(group: group, partitions: Array(end.keys))
            #expect(committed.values.allSatisfy { $0 == nil })
        }
    }

    @Test func aRefusedKeyHoldsEveryOffsetUntilTheKeyFileHoldsAValidOne() async throws {
        try await PipelineHarness.with(partitions: 2) { harness in
            let end = try await harness.produceInserts(0..<200)
            let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("key-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: keyFile) }
            let wrongKey = "cty_revoked_0000000000000"
            try Data(wrongKey.utf8).write(to: keyFile)
            let configuration = CertyoClient.Configuration(
                baseURL: harness.emulator.baseURL, apiKey: CertyoAPIKey(wrongKey), tenantId: PipelineHarness.tenant
            )
            let (recording, lines) = RecordingLogHandler.logger()
            try await withCertyoClient(configuration: configuration, logger: recording) { client in
                let group = "g-\(UUID().uuidString)"
                let pipeline = harness.startPipeline(
                    group: group, sink: CertyoBatchSink(client: client, apiKeyFile: keyFile.path, logger: recording),
                    logger: recording
                ) { $0.unauthorisedRetryInterval = .milliseconds(300) }

                // Certyo refuses the key several times over: nothing is committed meanwhile.
                try await waitUntil(deadline: .seconds(30)) {
                    await harness.emulator.requestLog().filter { $0.status == 401 }.count >= 6
                }
                #expect(pipeline.statistics.snapshot.committed.isEmpty)
                #expect(pipeline.statistics.snapshot.ingested == 0)
                let during = try await harness.committed(group: group, partitions: Array(end.keys))
                #expect(during.values.allSatisfy { $0 == nil })

                // The operator rotates the key file: sending resumes by itself, nothing is missing.
                try Data((PipelineHarness.apiKey + "\n").utf8).write(to: keyFile)
                try await waitUntil(deadline: .seconds(60)) { pipeline.statistics.snapshot.committed == end }
                try await pipeline.stop()
            }
            let keys = await harness.emulator.storedIdempotencyKeys(tenant: PipelineHarness.tenant)
            #expect(keys.count == 200)
            #expect(keys.values.allSatisfy { $0 == 1 })
            let log = await harness.emulator.requestLog()
            #expect(!log.description.contains(wrongKey) && !log.description.contains(PipelineHarness.apiKey))
            // Every line certyo-cdc logged (at trace level, the HTTP stack's included) is free of both keys, and the
            // refusal was announced with the documented alert line.
            let logged = lines.all
            #expect(logged.contains { $0.contains("certyo_auth_failed") })
            #expect(logged.contains { $0.contains("certyo_auth_recovered") })
            #expect(!logged.contains { $0.contains(wrongKey) || $0.contains(PipelineHarness.apiKey) })
        }
    }
}

@Suite(.serialized, .timeLimit(.minutes(4)))
struct FaultsUnderLoadTests {
    @Test func serverErrorsRateLimitsLatencyAndDroppedConnectionsLoseNothing() async throws {
        try await PipelineHarness.with(partitions: 6) { harness in
            let end = try await harness.produceInserts(0..<3000)
            await harness.emulator.setFaults(FaultConfiguration(
                rateLimit: RateLimit(requestsPerSecond: 15, burst: 4),
                serverErrors: .init(share: 0.2, statuses: [500, 502, 503], retryAfterSeconds: 1),
                latency: .milliseconds(20),
                disconnects: .init(share: 0.05, afterProcessing: true)
            ))
            let group = "g-\(UUID().uuidString)"
            let counts = try await harness.runPipeline(
                group: group,
                configure: {
                    $0.batching.maxRecords = 100
                    // Short backoff so the test is quick; Retry-After still wins when Certyo sends one.
                    $0.retry.initialDelay = .milliseconds(100)
                    $0.retry.maximumDelay = .seconds(2)
                },
                deadline: .seconds(180)
            ) { $0.committed == end }

            let keys = await harness.emulator.storedIdempotencyKeys(tenant: PipelineHarness.tenant)
            #expect(keys.count == 3000, "no gap")
            #expect(keys.values.allSatisfy { $0 == 1 }, "nothing stored twice")
            #expect(counts.ingested >= 3000)
            let statuses = Set(await harness.emulator.requestLog().compactMap(\.status))
            #expect(statuses.contains(429))
            #expect(!statuses.isDisjoint(with: [500, 502, 503]))
            #expect((counts.retriesByCategory["rate_limited"] ?? 0) > 0)
            #expect((counts.retriesByCategory["server_error"] ?? 0) > 0)
            let committed = try await harness.committed(group: group, partitions: Array(end.keys))
            #expect(committed == end.mapValues { Optional($0) })
        }
    }
}
