import CDCCore
import CertyoCDC
import CertyoClient
import CertyoEmulator
import Foundation
import KafkaBridge
import Logging
import PostgresBridge
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing

/// The two secrets every path below is driven with, and what must never appear anywhere.
enum SweepSecret {
    static let apiKey = "cty_SWEEPkey7Qx9Zr4p2Lm8Vn3"
    /// Characters that percent-encode, so the raw and the URL forms differ.
    static let password = "Sw33p-Pa55:w/rd@x%y"
    static let encodedPassword = "Sw33p-Pa55%3Aw%2Frd%40x%25y"
    static let tenant = "sweep-tenant"

    /// Fragments distinctive enough that finding one means a secret (or a piece of it) leaked.
    static let fragments = [apiKey, "SWEEPkey7Qx9", "Zr4p2Lm8Vn3", password, encodedPassword, "Sw33p-Pa55", "w/rd@x"]

    /// A URL DSN and a `key=value` DSN for `port` (nothing listens on 1).
    static func urlDSN(port: String = "1") -> String {
        "postgresql://certyo_cdc:\(encodedPassword)@127.0.0.1:\(port)/certyo?connect_timeout=2"
    }

    static func keyValueDSN(port: String = "1") -> String {
        "host=127.0.0.1 port=\(port) dbname=certyo user=certyo_cdc password='\(password)' connect_timeout=2"
    }
}

/// Everything captured while driving the error paths: log lines, error texts, metrics pages, process output.
final class SweepEvidence: Sendable {
    private let items = Mutex<[(source: String, text: String)]>([])
    let logs = RecordingLogHandler.Store()

    /// A trace-level logger whose every line is kept.
    var logger: Logger {
        let store = logs
        return Logger(label: "certyo-cdc.sweep") { _ in RecordingLogHandler(store: store) }
    }

    func add(_ source: String, _ text: String) {
        items.withLock { $0.append((source, text)) }
    }

    /// Keeps an error's description, its `String(reflecting:)` and its dump.
    func add(_ source: String, error: any Error) {
        var dumped = ""
        dump(error, to: &dumped)
        add(source, "\(error)")
        add(source + " (reflecting)", String(reflecting: error))
        add(source + " (dump)", dumped)
    }

    /// Runs `body`, keeping the error it throws (a path that does not fail is recorded as such).
    func expectFailure(_ source: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            add(source, "(did not fail)")
        } catch {
            add(source, error: error)
        }
    }

    var texts: [(source: String, text: String)] {
        items.withLock { $0 } + logs.all.map { ("log", $0) }
    }

    /// Every captured text holding a secret fragment, named by where it came from.
    var leaks: [String] {
        texts.compactMap { item in
            SweepSecret.fragments.first(where: item.text.contains).map { "\(item.source): …\($0)… in \(item.text.prefix(300))" }
        }
    }

    func contains(_ needle: String) -> Bool { texts.contains { $0.text.contains(needle) } }
}

@Suite(.serialized, .timeLimit(.minutes(4)))
struct SecretsSweepTests {
    func client(_ baseURL: String, tenant: String = SweepSecret.tenant, timeout: Duration = .seconds(3),
                logger: Logger) throws -> CertyoClient {
        var configuration = CertyoClient.Configuration(baseURL: baseURL, apiKey: CertyoAPIKey(SweepSecret.apiKey),
                                                       tenantId: tenant)
        configuration.requestTimeout = timeout
        configuration.connectTimeout = .seconds(2)
        return try CertyoClient(configuration: configuration, logger: logger)
    }

    func record(_ id: String, payload: String = #"{"id":1}"#, key: String? = nil) -> CertyoRecord {
        CertyoRecord(database: "sweepdb", collection: "public.t", recordId: id, recordPayload: Array(payload.utf8),
                     operationType: .insert, sourceTimestamp: "2026-01-01T00:00:00.000000Z",
                     idempotencyKey: key ?? "sweep:\(id):\(UUID().uuidString)")
    }

    // MARK: - Every Certyo answer and transport failure, through the client, the sink and the probe

    @Test func certyoErrorPathsNeverShowTheKey() async throws {
        let evidence = SweepEvidence()
        let logger = evidence.logger
        var configuration = EmulatorConfiguration()
        configuration.apiKeys = [SweepSecret.apiKey: SweepSecret.tenant]
        configuration.maxBatch = 5
        configuration.maxBodyBytes = 64 * 1024
        try await withCertyoEmulator(configuration: configuration, logger: logger) { emulator in
            let client = try self.client(emulator.baseURL, timeout: .seconds(1), logger: logger)
            let registry = PrometheusCollectorRegistry()
            let metrics = PipelineMetrics(factory: PipelineMetrics.makePrometheusFactory(registry: registry))
            let readiness = Readiness()
            let sink = CertyoBatchSink(client: client, logger: logger, metrics: metrics, readiness: readiness)
            func drive(_ name: String, _ records: [CertyoRecord]) async {
                do {
                    _ = try await sink.ingest(records)
                    evidence.add(name, "(accepted)")
                } catch {
                    evidence.add(name, error: error)
                    evidence.add(name + " (disposition)", String(reflecting: sink.classify(error)))
                }
            }
            await drive("202", [record("a"), record("b")])
            await drive("400 invalid_record", [record("c"), record("")])
            let key = "sweep:conflict:\(UUID().uuidString)"
            await drive("202 before conflict", [record("d", payload: #"{"id":4}"#, key: key)])
            await drive("409 idempotency_conflict", [record("d", payload: #"{"id":5}"#, key: key)])
            await drive("413 batch_too_large", (0..<6).map { record("e\($0)") })
            let big = #"{"blob":""# + String(repeating: "x", count: 70_000) + #""}"#
            await drive("413 payload_too_large", [record("f", payload: big)])
            await emulator.setFaults(FaultConfiguration(serverErrors: .init(share: 1, retryAfterSeconds: 1)))
            await drive("5xx", [record("g")])
            await emulator.setFaults(FaultConfiguration(rateLimit: RateLimit(requestsPerSecond: 0.01, burst: 1)))
            await drive("429 (first passes)", [record("h")])
            await drive("429", [record("i")])
            await emulator.setFaults(FaultConfiguration(disconnects: .init(share: 1, afterProcessing: false)))
            await drive("dropped connection", [record("j")])
            await emulator.setFaults(FaultConfiguration(slowResponses: .init(share: 1, delay: .seconds(3))))
            await drive("timeout", [record("k")])
            await emulator.setFaults(FaultConfiguration())
            await evidence.expectFailure("verify 404") {
                _ = try await client.verify(database: "sweepdb", collection: "public.t", recordId: "nope")
            }
            await evidence.expectFailure("replaceAPIKey with a bad key") {
                try client.replaceAPIKey(CertyoAPIKey(SweepSecret.apiKey + " \u{7}" + SweepSecret.apiKey))
            }

            // 403: the key is valid, for another tenant than the one asked for.
            let foreign = try self.client(emulator.baseURL, tenant: "not-the-sweep-tenant", logger: logger)
            await evidence.expectFailure("403 ingest") { _ = try await foreign.ingestBulk([record("l")]) }
            try await runProbeUntil(.unauthorised, client: foreign, logger: logger)
            try await foreign.shutdown()

            // 401: an emulator that does not know the key; the probe logs its line.
            try await withCertyoEmulator(configuration: EmulatorConfiguration(), logger: logger) { stranger in
                let refused = try self.client(stranger.baseURL, logger: logger)
                let refusedSink = CertyoBatchSink(client: refused, logger: logger, metrics: metrics, readiness: readiness)
                await evidence.expectFailure("401 ingest") { _ = try await refusedSink.ingest([record("m")]) }
                try await runProbeUntil(.unauthorised, client: refused, logger: logger)
                try await refused.shutdown()
                let log = await stranger.requestLog()
                evidence.add("emulator request log", "\(log)")
            }

            // Unreachable: nothing listens on port 1.
            let nowhere = try self.client("http://127.0.0.1:1", logger: logger)
            await evidence.expectFailure("unreachable") { _ = try await nowhere.ingestBulk([record("n")]) }
            try await runProbeUntil(.unreachable, client: nowhere, logger: logger)
            try await nowhere.shutdown()

            // A base URL holding credentials is refused without quoting it.
            await evidence.expectFailure("base URL with credentials") {
                var bad = CertyoClient.Configuration(
                    baseURL: "https://user:\(SweepSecret.encodedPassword)@certyo.example", apiKey: CertyoAPIKey(SweepSecret.apiKey),
                    tenantId: SweepSecret.tenant
                )
                bad.requestTimeout = .seconds(1)
                _ = try CertyoClient(configuration: bad, logger: logger)
            }
            evidence.add("client configuration", String(reflecting: client.configuration))
            evidence.add("/metrics", registry.emitToString())
            evidence.add("emulator request log", "\(await emulator.requestLog())")
            try await client.shutdown()
        }

        // The paths were really driven (status labels recorded, the probe lines logged) ...
        #expect(evidence.contains(#"status="401""#) && evidence.contains(#"status="413""#)
                && evidence.contains(#"status="timeout""#) && evidence.contains(#"status="connection""#))
        #expect(evidence.contains("certyo_probe: Certyo refuses the API key"))
        #expect(evidence.contains("certyo_probe: Certyo is unreachable"))
        #expect(evidence.logs.all.count > 20)
        // ... and no secret appears anywhere.
        #expect(evidence.leaks.isEmpty, "\(evidence.leaks.joined(separator: "\n"))")
    }

    /// Runs the probe until readiness shows `state`; throws if it does not within 20 s (the path was not driven).
    private func runProbeUntil(_ state: Readiness.CertyoState, client: CertyoClient, logger: Logger) async throws {
        let readiness = Readiness()
        let probe = CertyoProbe(client: client, readiness: readiness, interval: .milliseconds(50), logger: logger)
        let task = Task { try await probe.run() }
        var failure: (any Error)?
        do {
            try await waitUntil(deadline: .seconds(20)) { readiness.snapshot.certyo == state }
        } catch {
            failure = error
        }
        // Stopped before the caller shuts the client down.
        task.cancel()
        _ = try? await task.value
        if let failure { throw failure }
    }

    // MARK: - The pipeline under faults and refusals, with /metrics scraped

    @Test func thePipelineUnderFaultsAndRefusalsNeverShowsTheKey() async throws {
        let evidence = SweepEvidence()
        let logger = evidence.logger
        try await PipelineHarness.with(partitions: 2, emulator: {
            $0.apiKeys[SweepSecret.apiKey] = SweepSecret.tenant
        }) { harness in
            var end = try await harness.produceInserts(0..<150)
            let malformed = OutgoingMessage(topic: harness.topic, key: Array(#"{"id":1}"#.utf8),
                                            value: Array("not json at all".utf8))
            end.merge(try await harness.produce([malformed])) { max($0, $1) }
            let registry = PrometheusCollectorRegistry()
            let metrics = PipelineMetrics(factory: PipelineMetrics.makePrometheusFactory(registry: registry))
            let readiness = Readiness()
            await harness.emulator.setFaults(FaultConfiguration(
                rateLimit: RateLimit(requestsPerSecond: 20, burst: 3),
                serverErrors: .init(share: 0.3, statuses: [500, 502, 503], retryAfterSeconds: 1),
                disconnects: .init(share: 0.05, afterProcessing: true),
                slowResponses: .init(share: 0.05, delay: .seconds(2))
            ))
            let client = try self.client(harness.emulator.baseURL, timeout: .seconds(1), logger: logger)
            let statistics = PipelineStatistics(metrics: metrics, readiness: readiness)
            let pipeline = start(
                harness, sink: CertyoBatchSink(client: client, logger: logger, metrics: metrics, readiness: readiness),
                statistics: statistics, logger: logger
            ) {
                $0.retry.initialDelay = .milliseconds(50)
                $0.retry.maximumDelay = .milliseconds(500)
                $0.lagRefreshInterval = .milliseconds(100)
            }
            try await waitUntil(deadline: .seconds(120)) { statistics.snapshot.committed == end }
            try await pipeline.stop()
            await harness.emulator.setFaults(FaultConfiguration())

            // 403 on every call: the alert line, nothing committed, then a graceful stop.
            let foreign = try self.client(harness.emulator.baseURL, tenant: "not-the-sweep-tenant", logger: logger)
            let refused = start(
                harness, sink: CertyoBatchSink(client: foreign, logger: logger, metrics: metrics, readiness: readiness),
                statistics: PipelineStatistics(metrics: metrics, readiness: readiness), logger: logger
            ) { $0.unauthorisedRetryInterval = .milliseconds(100) }
            try await waitUntil(deadline: .seconds(30)) {
                await harness.emulator.requestLog().filter { $0.status == 403 }.count >= 3
            }
            #expect(readiness.snapshot.certyo == .unauthorised)
            try await refused.stop()
            try await foreign.shutdown()
            try await client.shutdown()

            try await withOperationsServer(readiness: readiness, registry: registry, metrics: metrics,
                                           logger: logger) { base in
                evidence.add("/metrics", try await httpGet(base + "/metrics").body)
                evidence.add("/ready", try await httpGet(base + "/ready").body)
            }
        }
        #expect(evidence.contains("certyo_auth_failed"))
        #expect(evidence.contains("bulk call failed; retrying"))
        #expect(evidence.contains("record dead-lettered"))
        #expect(evidence.contains("certyo_cdc_records_dead_lettered_total"))
        #expect(evidence.leaks.isEmpty, "\(evidence.leaks.joined(separator: "\n"))")
    }

    /// A pipeline with the given sink and statistics, running until ``PipelineHarness/RunningPipeline/stop()``.
    private func start(
        _ harness: PipelineHarness, sink: CertyoBatchSink, statistics: PipelineStatistics, logger: Logger,
        configure: (inout PipelineConfiguration) -> Void
    ) -> PipelineHarness.RunningPipeline {
        let group = "g-\(UUID().uuidString)"
        var configuration = harness.pipelineConfiguration(group: group)
        configure(&configuration)
        let pipeline = PipelineService(
            configuration: configuration, decoder: DebeziumChangeDecoder(decoder: DebeziumDecoder()), sink: sink,
            deadLetters: KafkaDeadLetterSink(topic: "certyo-cdc.dlq.\(group)", producer: harness.producer),
            statistics: statistics, logger: logger
        )
        let serviceGroup = ServiceGroup(services: [pipeline], logger: logger)
        let task = Task { try await serviceGroup.run() }
        return PipelineHarness.RunningPipeline(statistics: statistics, serviceGroup: serviceGroup, task: task)
    }

    // MARK: - PostgreSQL: unreachable, wrong password, malformed DSNs

    @Test func postgresErrorPathsNeverShowThePassword() async throws {
        let evidence = SweepEvidence()
        let logger = evidence.logger
        for (name, dsn) in [("url", SweepSecret.urlDSN()), ("key=value", SweepSecret.keyValueDSN())] {
            await evidence.expectFailure("unreachable \(name)") {
                let configuration = try PostgresConfiguration(dsn: dsn)
                evidence.add("configuration \(name)", String(reflecting: configuration))
                evidence.add("configuration \(name) (description)", "\(configuration)")
                _ = try await PostgresConnection.connect(configuration: configuration, logger: logger)
            }
        }
        let malformed = [
            "host=127.0.0.1 password='\(SweepSecret.password)",  // unterminated quote
            "host=127.0.0.1 password=\(SweepSecret.password) bogus_keyword=1",
            "postgresql://certyo_cdc:\(SweepSecret.encodedPassword)@127.0.0.1:notaport/db",
            "postgresql://certyo_cdc:\(SweepSecret.encodedPassword)@127.0.0.1/db?connect_timeout=soon",
        ]
        for (index, dsn) in malformed.enumerated() {
            await evidence.expectFailure("malformed DSN \(index)") { _ = try PostgresConfiguration(dsn: dsn) }
        }
        if PostgresTestEnvironment.isConfigured {
            let port = PostgresTestEnvironment.port
            let wrong = PostgresTestEnvironment.dsn(password: SweepSecret.password)
            await evidence.expectFailure("wrong password") {
                _ = try await PostgresConnection.connect(configuration: try PostgresConfiguration(dsn: wrong),
                                                         logger: logger)
            }
            await evidence.expectFailure("wrong password (url)") {
                let url = "postgresql://\(PostgresTestEnvironment.user):\(SweepSecret.encodedPassword)@"
                    + "\(PostgresTestEnvironment.host):\(port)/\(PostgresTestEnvironment.database)"
                _ = try await PostgresConnection.connect(configuration: try PostgresConfiguration(dsn: url),
                                                         logger: logger)
            }
            #expect(evidence.contains("password authentication failed") || evidence.contains("authentication"))
        } else {
            print("SecretsSweepTests: CDC_POSTGRES_* not set; the wrong-password path against a live server is skipped")
        }

        // The application's own start: PG_DSN unreachable, everything else valid.
        let raw = RawSettings(environment: [
            "CERTYO_API_KEY": SweepSecret.apiKey, "CERTYO_TENANT_ID": SweepSecret.tenant,
            "CERTYO_BASE_URL": "http://127.0.0.1:1", "PG_DSN": SweepSecret.urlDSN(), "CERTYO_HTTP_PORT": "off",
        ])
        let configuration = try CertyoCDCConfiguration.load(raw)
        evidence.add("CertyoCDCConfiguration", String(reflecting: configuration))
        await evidence.expectFailure("application start") {
            try await CertyoCDCApplication(configuration: configuration, logger: logger).run()
        }
        #expect(evidence.contains("127.0.0.1"))
        #expect(evidence.leaks.isEmpty, "\(evidence.leaks.joined(separator: "\n"))")
    }

    // MARK: - Configuration mistakes with both secrets set

    @Test func configurationErrorsNeverShowASecret() throws {
        let evidence = SweepEvidence()
        let base = [
            "CERTYO_API_KEY": SweepSecret.apiKey, "CERTYO_TENANT_ID": SweepSecret.tenant,
            "PG_DSN": SweepSecret.urlDSN(port: "5432"),
        ]
        let mistakes: [[String: String]] = [
            ["CERTYO_BASE_URL": "ftp://user:\(SweepSecret.encodedPassword)@certyo.example"],
            ["CERTYO_BASE_URL": "user:\(SweepSecret.password)@certyo.example"],
            ["CERTYO_API_KEY": SweepSecret.apiKey + " trailing"],
            ["CERTYO_API_KEY_FILE": "/nonexistent/\(UUID().uuidString)"],
            ["CERTYO_TENANT_ID": " "],
            ["CERTYO_REQUEST_TIMEOUT": "soon"],
            ["KAFKA_PROPERTIES": "sasl.password=\(SweepSecret.password),bogus.property=1"],
            ["KAFKA_PROPERTIES": "session.timeout.ms=abc"],
            ["KAFKA_PROPERTIES": "sasl.password:\(SweepSecret.password)"],
            ["KAFKA_PROPERTIES": "sasl.password \(SweepSecret.password)"],
            ["CERTYO_BATCH_MAX_RECORDS": "5000"],
            ["CERTYO_BATCH_MAX_BYTES": "1"],
            ["CERTYO_BATCH_LINGER": "-1"],
            ["CERTYO_MAX_IN_FLIGHT": "0"],
            ["CERTYO_DLQ_TOPIC": "bad topic"],
            ["CERTYO_TOPIC_PATTERN": "(["],
            ["CERTYO_PIPELINE_ENABLED": "maybe"],
            ["CERTYO_LOG_LEVEL": "loud"],
            ["CERTYO_HTTP_PORT": "http"],
            ["CERTYO_HTTP_HOST": "http://0.0.0.0/"],
        ]
        var failures = 0
        for (index, mistake) in mistakes.enumerated() {
            do {
                let configuration = try CertyoCDCConfiguration.load(RawSettings(environment: base.merging(mistake) { $1 }))
                evidence.add("configuration \(index) (accepted)", String(reflecting: configuration))
            } catch {
                failures += 1
                evidence.add("configuration \(index)", error: error)
            }
        }
        #expect(failures == mistakes.count, "every mistake is refused")
        #expect(evidence.leaks.isEmpty, "\(evidence.leaks.joined(separator: "\n"))")
    }

    // MARK: - The executable: run and decode, stdout and stderr

    @Test func theExecutablesErrorOutputNeverShowsASecret() async throws {
        // The chaos suites' lookup: $CERTYO_CDC_BIN (scripts/test.sh sets it), else next to the tests; it throws when
        // there is no binary, so this check never passes without running.
        let binary = try CDCProcess.executableURL()
        let evidence = SweepEvidence()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let connector = directory.appendingPathComponent("connector.json")
        try Data(#"{"config":{"database.password":"\#(SweepSecret.password)","decimal.handling.mode":"bogus"}}"#.utf8)
            .write(to: connector)
        let brokenConnector = directory.appendingPathComponent("broken.json")
        try Data(#"{"config":{"database.password":"\#(SweepSecret.password)", "#.utf8).write(to: brokenConnector)
        let input = directory.appendingPathComponent("input.jsonl")
        try Data("not json\n{\"seq\":1,\"topic\":\"t\",\"key\":null,\"value\":\"{}\"}\n".utf8).write(to: input)
        let environment = [
            "CERTYO_API_KEY": SweepSecret.apiKey, "CERTYO_TENANT_ID": SweepSecret.tenant,
            "PG_DSN": SweepSecret.urlDSN(), "CERTYO_BASE_URL": "http://127.0.0.1:1", "CERTYO_HTTP_PORT": "off",
            "CERTYO_LOG_LEVEL": "trace", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        ]
        let runs: [(String, [String], [String: String])] = [
            ("run: PostgreSQL unreachable", ["run"], [:]),
            ("run: bad timeout", ["run", "--request-timeout", "soon"], [:]),
            ("run: key with a space", ["run"], ["CERTYO_API_KEY": SweepSecret.apiKey + " x"]),
            ("run: credentials in the URL", ["run"], ["CERTYO_BASE_URL": "https://u:\(SweepSecret.encodedPassword)@h"]),
            ("decode: bad connector mode", ["decode", "--connector-config", connector.path, input.path], [:]),
            ("decode: broken connector JSON", ["decode", "--connector-config", brokenConnector.path, input.path], [:]),
            ("decode: bad input", ["decode", input.path], [:]),
            ("decode: missing file", ["decode", directory.appendingPathComponent("none").path], [:]),
        ]
        for (name, arguments, extra) in runs {
            let (status, output) = try await Self.run(binary, arguments, environment: environment.merging(extra) { $1 })
            evidence.add("\(name) (exit \(status))", output)
            if name.hasPrefix("run") { #expect(status != 0, "\(name)") }
        }
        #expect(evidence.contains("configuration error"))
        #expect(evidence.leaks.isEmpty, "\(evidence.leaks.joined(separator: "\n"))")
    }


    /// Runs the binary with only `environment`, and returns its exit status and combined output.
    static func run(_ binary: URL, _ arguments: [String], environment: [String: String]) async throws
        -> (Int32, String)
    {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = environment.merging(["PATH": "/usr/bin:/bin"]) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = await Task.detached { output.fileHandleForReading.readDataToEndOfFile() }.value
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
