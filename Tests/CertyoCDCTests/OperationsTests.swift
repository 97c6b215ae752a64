import AsyncHTTPClient
@testable import CertyoClient
import KafkaBridge
import Logging
import NIOCore
import NIOHTTP1
import Prometheus
import ServiceLifecycle
import Testing

@testable import CertyoCDC

/// Prometheus text as `series -> value`, the series written as it appears (`name{label="v",...}`).
func parseMetrics(_ text: String) -> [String: Double] {
    var values: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        values[String(line[..<space])] = value
    }
    return values
}

@Suite struct PipelineMetricsTests {
    let registry = PrometheusCollectorRegistry()
    var metrics: PipelineMetrics { PipelineMetrics(factory: PipelineMetrics.makePrometheusFactory(registry: registry)) }

    @Test func statisticsEmitEveryCountAsTheDifferenceItMade() {
        let statistics = PipelineStatistics(metrics: metrics)
        let tp0 = TopicPartition(topic: "certyo.public.t", partition: 0)
        let tp1 = TopicPartition(topic: "certyo.public.t", partition: 1)
        statistics.update { $0.consumed += 7 }
        statistics.update { $0.consumed += 5; $0.skipped += 1 }
        statistics.update { $0.ingested += 10; $0.replayed += 3 }
        statistics.update { $0.deadLettered += 1; $0.deadLetteredByReason["toast_placeholder", default: 0] += 1 }
        statistics.update { $0.deadLettered += 1; $0.deadLetteredByReason["toast_placeholder", default: 0] += 1 }
        statistics.update { $0.retries += 1; $0.retriesByCategory["rate_limited", default: 0] += 1 }
        statistics.update { $0.committed[tp0] = 4; $0.committed[tp1] = 9 }
        statistics.update { $0.committed[tp0] = 6 }

        let values = parseMetrics(registry.emitToString())
        #expect(values["certyo_cdc_records_consumed_total"] == 12)
        #expect(values["certyo_cdc_records_skipped_total"] == 1)
        #expect(values["certyo_cdc_records_ingested_total"] == 10)
        #expect(values["certyo_cdc_records_replayed_total"] == 3)
        #expect(values[#"certyo_cdc_records_dead_lettered_total{reason="toast_placeholder"}"#] == 2)
        #expect(values[#"certyo_cdc_retries_total{category="rate_limited"}"#] == 1)
        #expect(values[#"certyo_cdc_partition_committed_offset{topic="certyo.public.t",partition="0"}"#] == 6)
        #expect(values[#"certyo_cdc_partition_committed_offset{topic="certyo.public.t",partition="1"}"#] == 9)
        // The counts themselves are unchanged by emitting.
        #expect(statistics.snapshot.consumed == 12 && statistics.snapshot.deadLetteredByReason == ["toast_placeholder": 2])
    }

    @Test func verificationPassesFailuresAndFailedRowsAreCounted() {
        let statistics = VerificationStatistics(metrics: metrics)
        var clean = PassCounts()
        clean.rows = 4
        var tampered = PassCounts()
        tampered.failedNow = 2
        statistics.recordPass(clean)
        statistics.recordPass(tampered)
        statistics.recordFailure("PostgreSQL unreachable")
        let values = parseMetrics(registry.emitToString())
        #expect(values["certyo_cdc_verification_passes_total"] == 2)
        #expect(values["certyo_cdc_verification_rows_failed_total"] == 2)
        #expect(values["certyo_cdc_verification_pass_failures_total"] == 1)
        #expect(statistics.snapshot.passes == 2 && statistics.snapshot.failures == 1)
    }

    @Test func assignmentDrivesReadinessAndRevocationDropsThePartitionsSeries() {
        let readiness = Readiness()
        let metrics = metrics
        let statistics = PipelineStatistics(metrics: metrics, readiness: readiness)
        let tp0 = TopicPartition(topic: "t", partition: 0)
        let tp1 = TopicPartition(topic: "t", partition: 1)
        #expect(readiness.snapshot.reasons.contains("no Kafka partition assigned"))
        statistics.partitionsAssigned([tp0, tp1])
        #expect(readiness.snapshot.assignedPartitions == 2)
        statistics.update { $0.committed[tp0] = 3; $0.committed[tp1] = 5 }
        metrics.setLag(tp1, 2)
        statistics.partitionsRevoked([tp1])
        #expect(readiness.snapshot.assignedPartitions == 1)
        #expect(statistics.assignedPartitions == [tp0])
        let text = registry.emitToString()
        #expect(parseMetrics(text)[#"certyo_cdc_partition_committed_offset{topic="t",partition="0"}"#] == 3)
        #expect(!text.contains(#"partition="1""#))
        // Assigned again: its last committed offset is reported again at once.
        statistics.partitionsAssigned([tp1])
        let again = parseMetrics(registry.emitToString())
        #expect(again[#"certyo_cdc_partition_committed_offset{topic="t",partition="1"}"#] == 5)
    }

    @Test func callsAreRecordedAsHistogramsByStatus() {
        let metrics = metrics
        metrics.recordCall(status: "202", duration: .milliseconds(30), records: 100)
        metrics.recordCall(status: "202", duration: .milliseconds(70), records: 1000)
        metrics.recordCall(status: "timeout", duration: .seconds(31), records: 100)
        let values = parseMetrics(registry.emitToString())
        #expect(values[#"certyo_cdc_request_duration_seconds_count{status="202"}"#] == 2)
        #expect(values[#"certyo_cdc_request_duration_seconds_bucket{status="202",le="0.05"}"#] == 1)
        #expect(values[#"certyo_cdc_request_duration_seconds_count{status="timeout"}"#] == 1)
        #expect(values[#"certyo_cdc_request_duration_seconds_bucket{status="timeout",le="30.0"}"#] == 0)
        #expect(values["certyo_cdc_batch_records_count"] == 3)
        #expect(values["certyo_cdc_batch_records_sum"] == 1200)
        #expect(values[#"certyo_cdc_batch_records_bucket{le="100.0"}"#] == 2)
    }

    @Test func readinessIsPublishedAsGauges() {
        let metrics = metrics
        var snapshot = Readiness.Snapshot()
        metrics.publish(snapshot)
        var values = parseMetrics(registry.emitToString())
        #expect(values["certyo_cdc_ready"] == 0 && values["certyo_cdc_certyo_key_accepted"] == 0)
        snapshot.assignedPartitions = 1
        snapshot.certyo = .accepted
        metrics.publish(snapshot)
        values = parseMetrics(registry.emitToString())
        #expect(values["certyo_cdc_ready"] == 1 && values["certyo_cdc_certyo_key_accepted"] == 1)
    }
}

@Suite struct CertyoOutcomeTests {
    func error(_ code: CertyoError.Code, status: Int?) -> CertyoError {
        CertyoError(code: code, endpoint: "POST /api/v1/records/bulk", status: status, message: "m")
    }

    @Test func everyAnswerSaysWhatItProvesAboutTheKey() {
        let cases: [(CertyoError, String, Readiness.CertyoState?)] = [
            (error(.unauthorized, status: 401), "401", .unauthorised),
            (error(.forbidden, status: 403), "403", .unauthorised),
            (error(.timeout, status: nil), "timeout", .unreachable),
            (error(.connectionFailed, status: nil), "connection", .unreachable),
            (error(.rateLimited, status: 429), "429", nil),
            (error(.serverError, status: 503), "503", nil),
            (error(.invalidRecord, status: 400), "400", .accepted),
            (error(.idempotencyConflict, status: 409), "409", .accepted),
            (error(.payloadTooLarge, status: 413), "413", .accepted),
        ]
        for (error, label, state) in cases {
            let outcome = CertyoOutcome(error)
            #expect(outcome.label == label, "\(error.code)")
            #expect(outcome.state == state, "\(error.code)")
        }
        struct Other: Error {}
        #expect(CertyoOutcome(Other()) == CertyoOutcome(label: "error", state: nil))
    }

    @Test func applyingAnOutcomeThatProvesNothingKeepsTheState() {
        let readiness = Readiness()
        CertyoOutcome(error(.unauthorized, status: 401)).apply(to: readiness)
        #expect(readiness.snapshot.certyo == .unauthorised)
        CertyoOutcome(error(.serverError, status: 500)).apply(to: readiness)
        #expect(readiness.snapshot.certyo == .unauthorised)
        CertyoOutcome.accepted.apply(to: readiness)
        #expect(readiness.snapshot.certyo == .accepted)
    }
}

@Suite struct OperationsSettingsTests {
    let minimal = ["CERTYO_API_KEY": "cty_ops_settings_0000", "CERTYO_TENANT_ID": "acme-corp"]

    func load(_ extra: [String: String], flags: [Setting: String] = [:]) throws -> CertyoCDCConfiguration {
        try CertyoCDCConfiguration.load(RawSettings(flags: flags, environment: minimal.merging(extra) { $1 }))
    }

    @Test func theEndpointDefaultsToAllInterfacesOnPort9464() throws {
        let server = try #require(try load([:]).operationsServer)
        #expect(server == OperationsServer.Configuration(host: "0.0.0.0", port: 9464))
    }

    @Test func portAndHostComeFromTheEnvironmentOrFlags() throws {
        #expect(try load(["CERTYO_HTTP_PORT": "9100", "CERTYO_HTTP_HOST": "127.0.0.1"]).operationsServer
            == OperationsServer.Configuration(host: "127.0.0.1", port: 9100))
        #expect(try load(["CERTYO_HTTP_PORT": "9100"], flags: [.httpPort: "9200"]).operationsServer?.port == 9200)
    }

    @Test func zeroOrOffTurnsTheEndpointOff() throws {
        #expect(try load(["CERTYO_HTTP_PORT": "off"]).operationsServer == nil)
        #expect(try load(["CERTYO_HTTP_PORT": "OFF"]).operationsServer == nil)
        #expect(try load(["CERTYO_HTTP_PORT": "0"]).operationsServer == nil)
    }

    @Test func aBadPortOrHostNamesTheSettingAndTheFix() throws {
        let port = #expect(throws: ConfigError.self) { try load(["CERTYO_HTTP_PORT": "http"]) }
        #expect(port?.setting == "--http-port / CERTYO_HTTP_PORT")
        #expect(port?.description.contains("fix: give a whole number from 0 to 65535") == true)
        let high = #expect(throws: ConfigError.self) { try load(["CERTYO_HTTP_PORT": "70000"]) }
        #expect(high?.setting == "--http-port / CERTYO_HTTP_PORT")
        let host = #expect(throws: ConfigError.self) { try load(["CERTYO_HTTP_HOST": "http://0.0.0.0/"]) }
        #expect(host?.setting == "--http-host / CERTYO_HTTP_HOST")
        #expect(host?.fix.contains("127.0.0.1") == true)
    }
}

/// Runs an ``OperationsServer`` on a free loopback port for the length of `body`.
func withOperationsServer(
    readiness: Readiness,
    registry: PrometheusCollectorRegistry,
    metrics: PipelineMetrics?,
    _ body: (_ baseURL: String) async throws -> Void
) async throws {
    var logger = Logger(label: "test.operations")
    logger.logLevel = .warning
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

/// One GET: the status, the content type and the body as text.
func get(_ url: String) async throws -> (status: Int, contentType: String?, body: String) {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
    let body = try await response.body.collect(upTo: 4 << 20)
    return (Int(response.status.code), response.headers.first(name: "content-type"), String(buffer: body))
}

@Suite(.timeLimit(.minutes(1))) struct OperationsServerTests {
    @Test func healthReadyAndMetricsAnswerFromTheSharedState() async throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = PipelineMetrics(factory: PipelineMetrics.makePrometheusFactory(registry: registry))
        let readiness = Readiness()
        try await withOperationsServer(readiness: readiness, registry: registry, metrics: metrics) { base in
            #expect(try await get(base + "/health").status == 200)

            let notReady = try await get(base + "/ready")
            #expect(notReady.status == 503)
            #expect(notReady.body == "no Kafka partition assigned\nCertyo has not answered yet\n")

            readiness.update { $0.assignedPartitions = 3; $0.certyo = .unauthorised }
            let refused = try await get(base + "/ready")
            #expect(refused.status == 503 && refused.body == "Certyo refuses the API key\n")
            var scraped = parseMetrics(try await get(base + "/metrics").body)
            #expect(scraped["certyo_cdc_ready"] == 0 && scraped["certyo_cdc_certyo_key_accepted"] == 0)

            readiness.update { $0.certyo = .accepted }
            let ready = try await get(base + "/ready")
            #expect(ready.status == 200 && ready.body == "ready\n")
            let page = try await get(base + "/metrics")
            #expect(page.status == 200)
            #expect(page.contentType?.hasPrefix("text/plain; version=0.0.4") == true)
            scraped = parseMetrics(page.body)
            #expect(scraped["certyo_cdc_ready"] == 1 && scraped["certyo_cdc_certyo_key_accepted"] == 1)

            // The slot sidecar's facts count too.
            readiness.update { $0.slot = .lost }
            let lost = try await get(base + "/ready")
            #expect(lost.status == 503 && lost.body == "the replication slot is lost\n")

            #expect(try await get(base + "/nothing-here").status == 404)
        }
    }
}

@Suite struct ConfigurationRedactionTests {
    @Test func dumpingTheConfigurationShowsNoSecret() throws {
        let key = "cty_REFLECTkey_0000000000"
        let password = "Refl3ct-pw:/@%"
        let configuration = try CertyoCDCConfiguration.load(RawSettings(environment: [
            "CERTYO_API_KEY": key, "CERTYO_TENANT_ID": "acme-corp",
            "PG_DSN": "host=db port=5432 dbname=app user=cdc password='\(password)'",
            "KAFKA_PROPERTIES": "sasl.password=\(password),client.id=certyo",
        ]))
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [String(reflecting: configuration), "\(configuration)", dumped] {
            #expect(!text.contains(key) && !text.contains(password) && !text.contains("Refl3ct"))
            #expect(text.contains("password=***"))
            #expect(text.contains("client.id"))
        }
        // The values themselves are untouched.
        #expect(configuration.postgresDSN?.contains(password) == true)
        #expect(configuration.pipeline.consumer.additionalProperties["sasl.password"] == password)
    }
}
