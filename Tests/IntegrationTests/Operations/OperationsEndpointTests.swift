import AsyncHTTPClient
import CDCCore
import CertyoCDC
import CertyoClient
import CertyoEmulator
import Foundation
import KafkaBridge
import Logging
import NIOCore
import NIOHTTP1
import Prometheus
import ServiceLifecycle
import Testing

/// Prometheus text as `series -> value`, the series written as it appears (`name{label="v",...}`).
func parseMetrics(_ text: String) -> [String: Double] {
    var values: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        values[String(line[..<space])] = value
    }
    return values
}

/// One GET: the status and the body as text.
func httpGet(_ url: String) async throws -> (status: Int, body: String) {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
    let body = try await response.body.collect(upTo: 4 << 20)
    return (Int(response.status.code), String(buffer: body))
}

/// Runs an ``OperationsServer`` on a free loopback port for the length of `body`.
func withOperationsServer(
    readiness: Readiness,
    registry: PrometheusCollectorRegistry,
    metrics: PipelineMetrics?,
    logger: Logger,
    _ body: (_ baseURL: String) async throws -> Void
) async throws {
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let server = OperationsServer(
        configuration: .init(host: "127.0.0.1", port: 0), registry: registry, readiness: readiness, metrics: metrics,
        logger: logger, onListening: { continuation.yield($0); continuation.finish() }
    )
    let group = ServiceGroup(configuration: .init(services: [server], gracefulShutdownSignals: [], logger: logger))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask {
            defer { continuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        do {
            try await body("http://127.0.0.1:\(port)")
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

@Suite(.serialized, .timeLimit(.minutes(3)))
struct OperationsEndpointTests {
    @Test func metricsAndReadinessFollowARealPipelineRunThroughARefusedKey() async throws {
        try await PipelineHarness.with(partitions: 3) { harness in
            let end = try await harness.produceInserts(0..<600)
            let registry = PrometheusCollectorRegistry()
            let metrics = PipelineMetrics(factory: PipelineMetrics.makePrometheusFactory(registry: registry))
            let readiness = Readiness()
            let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("key-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: keyFile) }
            try Data(PipelineHarness.apiKey.utf8).write(to: keyFile)

            try await withOperationsServer(readiness: readiness, registry: registry, metrics: metrics,
                                           logger: harness.logger) { base in
                // Nothing runs yet: alive, not ready, and /ready says why.
                #expect(try await httpGet(base + "/health").status == 200)
                let before = try await httpGet(base + "/ready")
                #expect(before.status == 503)
                #expect(before.body.contains("no Kafka partition assigned"))

                var configuration = CertyoClient.Configuration(
                    baseURL: harness.emulator.baseURL, apiKey: CertyoAPIKey(PipelineHarness.apiKey),
                    tenantId: PipelineHarness.tenant
                )
                configuration.requestTimeout = .seconds(5)
                try await withCertyoClient(configuration: configuration, logger: harness.logger) { client in
                    let sink = CertyoBatchSink(client: client, apiKeyFile: keyFile.path, logger: harness.logger,
                                               metrics: metrics, readiness: readiness)
                    let statistics = PipelineStatistics(metrics: metrics, readiness: readiness)
                    var pipelineConfiguration = harness.pipelineConfiguration(group: "g-\(UUID().uuidString)")
                    pipelineConfiguration.lagRefreshInterval = .milliseconds(100)
                    pipelineConfiguration.unauthorisedRetryInterval = .milliseconds(200)
                    let pipeline = PipelineService(
                        configuration: pipelineConfiguration,
                        decoder: DebeziumChangeDecoder(decoder: DebeziumDecoder()), sink: sink,
                        deadLetters: KafkaDeadLetterSink(topic: "certyo-cdc.dlq.ops", producer: harness.producer),
                        statistics: statistics, logger: harness.logger
                    )
                    let probe = CertyoProbe(client: client, readiness: readiness, interval: .milliseconds(200),
                                            reloadCredentials: { await sink.reloadCredentials() },
                                            logger: harness.logger)
                    let group = ServiceGroup(configuration: .init(
                        services: [probe, pipeline], gracefulShutdownSignals: [], logger: harness.logger
                    ))
                    let running = Task { try await group.run() }

                    // Everything delivered: ready, and the scrape shows exactly what was produced.
                    try await waitUntil(deadline: .seconds(90)) { statistics.snapshot.committed == end }
                    try await waitUntil(deadline: .seconds(20)) { try await httpGet(base + "/ready").status == 200 }
                    var scraped: [String: Double] = [:]
                    try await waitUntil(deadline: .seconds(20)) {
                        scraped = parseMetrics(try await httpGet(base + "/metrics").body)
                        return end.keys.allSatisfy { scraped[Self.series("certyo_cdc_partition_lag", $0)] == 0 }
                    }
                    let counts = statistics.snapshot
                    #expect(scraped["certyo_cdc_records_consumed_total"] == 600)
                    #expect(scraped["certyo_cdc_records_ingested_total"] == 600)
                    #expect(scraped["certyo_cdc_batch_records_sum"] == 600)
                    #expect(scraped["certyo_cdc_batch_records_count"] == Double(counts.batches))
                    #expect(scraped[#"certyo_cdc_request_duration_seconds_count{status="202"}"#]
                        == Double(counts.batches))
                    #expect((scraped[#"certyo_cdc_request_duration_seconds_sum{status="202"}"#] ?? 0) > 0)
                    for (tp, offset) in end {
                        #expect(scraped[Self.series("certyo_cdc_partition_committed_offset", tp)] == Double(offset))
                    }
                    #expect(scraped["certyo_cdc_ready"] == 1)
                    #expect(scraped["certyo_cdc_certyo_key_accepted"] == 1)

                    // Certyo stops accepting the key (revoked, and the key file holds the revoked key).
                    let revoked = "cty_revoked_ops_0000000000"
                    try Data(revoked.utf8).write(to: keyFile)
                    try client.replaceAPIKey(CertyoAPIKey(revoked))
                    let more = try await harness.produceInserts(600..<700)
                    try await waitUntil(deadline: .seconds(30)) {
                        let ready = try await httpGet(base + "/ready")
                        return ready.status == 503 && ready.body == "Certyo refuses the API key\n"
                    }
                    // Nothing is committed meanwhile: the lag is exactly what was produced since.
                    try await waitUntil(deadline: .seconds(20)) {
                        scraped = parseMetrics(try await httpGet(base + "/metrics").body)
                        let lag = end.keys.compactMap { scraped[Self.series("certyo_cdc_partition_lag", $0)] }
                        return lag.count == end.count && lag.reduce(0, +) == 100
                    }
                    for (tp, offset) in end {
                        #expect(scraped[Self.series("certyo_cdc_partition_committed_offset", tp)] == Double(offset))
                    }
                    #expect(scraped["certyo_cdc_ready"] == 0)
                    #expect(scraped["certyo_cdc_certyo_key_accepted"] == 0)
                    #expect((scraped[#"certyo_cdc_request_duration_seconds_count{status="401"}"#] ?? 0) >= 1)

                    // The operator puts the valid key back: ready again by itself, and nothing is missing.
                    try Data(PipelineHarness.apiKey.utf8).write(to: keyFile)
                    try await waitUntil(deadline: .seconds(30)) { try await httpGet(base + "/ready").status == 200 }
                    let all = end.merging(more) { max($0, $1) }
                    try await waitUntil(deadline: .seconds(60)) { statistics.snapshot.committed == all }
                    scraped = parseMetrics(try await httpGet(base + "/metrics").body)
                    #expect(scraped["certyo_cdc_records_ingested_total"] == 700)
                    #expect(scraped["certyo_cdc_records_consumed_total"] == 700)

                    await group.triggerGracefulShutdown()
                    try await running.value
                }
                #expect(try await httpGet(base + "/health").status == 200)
            }
        }
    }

    @Test func aFreshInstanceWithARefusedKeyIsNotReadyBeforeAnyRecordArrives() async throws {
        try await PipelineHarness.with(partitions: 1) { harness in
            let readiness = Readiness()
            readiness.update { $0.pipelineEnabled = false }
            let configuration = CertyoClient.Configuration(
                baseURL: harness.emulator.baseURL, apiKey: CertyoAPIKey("cty_unknown_probe_00000000"),
                tenantId: PipelineHarness.tenant
            )
            try await withCertyoClient(configuration: configuration, logger: harness.logger) { client in
                let probe = CertyoProbe(client: client, readiness: readiness, interval: .milliseconds(100),
                                        logger: harness.logger)
                let group = ServiceGroup(configuration: .init(services: [probe], gracefulShutdownSignals: [],
                                                              logger: harness.logger))
                let running = Task { try await group.run() }
                try await waitUntil(deadline: .seconds(20)) { readiness.snapshot.certyo == .unauthorised }
                #expect(readiness.snapshot.reasons == ["Certyo refuses the API key"])
                // The key starts working (rotated in place): the probe notices without any record.
                try client.replaceAPIKey(CertyoAPIKey(PipelineHarness.apiKey))
                try await waitUntil(deadline: .seconds(20)) { readiness.snapshot.isReady }
                await group.triggerGracefulShutdown()
                try await running.value
            }
            // The probe only read: nothing was stored.
            #expect(await harness.emulator.counters().recordsStored == 0)
        }
    }

    static func series(_ name: String, _ tp: TopicPartition) -> String {
        "\(name){topic=\"\(tp.topic)\",partition=\"\(tp.partition)\"}"
    }
}
