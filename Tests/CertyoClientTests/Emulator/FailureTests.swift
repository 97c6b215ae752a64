import CertyoClient
import CertyoEmulator
import Logging
import Testing

/// Authentication, rate limits and injected faults, against the emulator over a real socket.
@Suite(.timeLimit(.minutes(1))) struct FailureTests {
    @Test func anUnknownKeyIsUnauthorizedWithTheFixAndWithoutTheKey() async throws {
        try await withHarness(apiKey: Keys.unknown) { harness in
            let error = try await #require(throws: CertyoError.self) {
                try await harness.client.ingestBulk([record("u1")])
            }
            #expect(error.code == .unauthorized)
            #expect(error.status == 401)
            #expect(error.isFatal && !error.isRetriable)
            #expect(error.description.contains("POST \(harness.emulator.baseURL)/api/v1/records/bulk"))
            #expect(error.description.contains("fix: check CERTYO_API_KEY / CERTYO_API_KEY_FILE"))
            expectNoKey(in: error)
        }
    }

    @Test func aKeyOfAnotherTenantIsForbiddenAndNamesTheTenant() async throws {
        try await withHarness(apiKey: Keys.acme, tenantId: Keys.globexTenant) { harness in
            let error = try await #require(throws: CertyoError.self) {
                try await harness.client.verify(database: "productdb", collection: "public.products", recordId: "1")
            }
            #expect(error.code == .forbidden)
            #expect(error.status == 403)
            #expect(error.isFatal)
            #expect(error.description.contains("the key is not valid for tenant globex: check CERTYO_TENANT_ID"))
            expectNoKey(in: error)
        }
    }

    @Test func rateLimitedCallsCarryRetryAfterAndTheRetryWaitsForIt() async throws {
        try await withHarness { harness in
            // One token every 4 s: the second call is refused however slowly this machine runs it.
            await harness.emulator.setFaults(.init(rateLimit: RateLimit(requestsPerSecond: 0.25, burst: 1)))
            _ = try await harness.client.ingestBulk([record("rl1")])
            let batch = [record("rl2")]
            let error = try await #require(throws: CertyoError.self) { try await harness.client.ingestBulk(batch) }
            #expect(error.code == .rateLimited)
            #expect(error.status == 429)
            #expect(error.isRetriable)
            let retryAfter = try #require(error.retryAfter)
            #expect(retryAfter >= .seconds(1))

            // The pipeline's loop, in miniature: wait what the policy says, then send the same call again.
            var generator = FixedGenerator(values: [0])
            let wait = try #require(RetryPolicy().delay(after: error, attempt: 0, using: &generator))
            #expect(wait == retryAfter)
            try await Task.sleep(for: wait)
            let response = try await harness.client.ingestBulk(batch)
            #expect(response.results.count == 1)

            let log = await harness.emulator.requestLog()
            #expect(log.map(\.status) == [202, 429, 202])
            #expect(log[2].elapsed - log[1].elapsed >= retryAfter, "the retry came before Retry-After allowed it")
        }
    }

    @Test(arguments: [500, 502, 503])
    func injectedServerErrorsAreRetriable(status: Int) async throws {
        try await withHarness { harness in
            await harness.emulator.setFaults(.init(serverErrors: .init(share: 1, statuses: [status])))
            let batch = [record("s\(status)")]
            let error = try await #require(throws: CertyoError.self) { try await harness.client.ingestBulk(batch) }
            #expect(error.code == .serverError)
            #expect(error.status == status)
            #expect(error.isRetriable)
            #expect(error.retryAfter == nil)
            expectNoKey(in: error)

            await harness.emulator.setFaults(.init())
            let response = try await harness.client.ingestBulk(batch)
            #expect(!response.results[0].idempotencyReplayed, "the failed call stored nothing")
        }
    }

    @Test func a503WithRetryAfterCarriesIt() async throws {
        try await withHarness { harness in
            await harness.emulator.setFaults(
                .init(serverErrors: .init(share: 1, statuses: [503], retryAfterSeconds: 2))
            )
            let error = try await #require(throws: CertyoError.self) {
                try await harness.client.ingest(record("s503"))
            }
            #expect(error.code == .serverError)
            #expect(error.retryAfter == .seconds(2))
            var generator = FixedGenerator(values: [0])
            #expect(RetryPolicy().delay(after: error, attempt: 0, using: &generator) == .seconds(2))
        }
    }

    @Test func aConnectionClosedBeforeTheResponseIsRetriableAndTheRetryReplays() async throws {
        try await withHarness { harness in
            await harness.emulator.setFaults(.init(disconnects: .init(share: 1, afterProcessing: true)))
            let batch = (1...3).map { record("d\($0)") }
            let error = try await #require(throws: CertyoError.self) { try await harness.client.ingestBulk(batch) }
            #expect(error.code == .connectionFailed)
            #expect(error.status == nil)
            #expect(error.isRetriable)
            #expect(error.underlying != nil)
            expectNoKey(in: error)

            // The records were stored before the connection dropped: the retry must replay, not store again.
            await harness.emulator.setFaults(.init())
            let response = try await harness.client.ingestBulk(batch)
            #expect(response.results.allSatisfy { $0.idempotencyReplayed })
            #expect(await harness.emulator.counters().recordsStored == 3)
        }
    }

    @Test func aResponseSlowerThanTheRequestTimeoutIsATimeout() async throws {
        try await withHarness(requestTimeout: .milliseconds(300)) { harness in
            await harness.emulator.setFaults(.init(latency: .seconds(8)))
            let clock = ContinuousClock()
            let started = clock.now
            let error = try await #require(throws: CertyoError.self) {
                try await harness.client.ingestBulk([record("slow")])
            }
            // Far below the server's 8 s, with room for a loaded machine: the client's own timeout ended the call.
            #expect(clock.now - started < .seconds(6), "the client waited for the server, not its timeout")
            #expect(error.code == .timeout)
            #expect(error.isRetriable)
            #expect(error.description.contains("request timeout"))
            expectNoKey(in: error)
            await harness.emulator.setFaults(.init())
        }
    }

    @Test func aServerThatIsGoneIsAConnectionFailure() async throws {
        // Take a port from an emulator that has stopped: nothing listens there any more.
        let port = try await withCertyoEmulator(configuration: .clientTests(), logger: quietLogger) { $0.port }
        let recorder = LogRecorder()
        let logger = Logger(label: "gone") { _ in RecordingLogHandler(recorder: recorder) }
        var configuration = CertyoClient.Configuration(
            baseURL: "http://127.0.0.1:\(port)", apiKey: CertyoAPIKey(Keys.acme), tenantId: Keys.acmeTenant
        )
        configuration.connectTimeout = .seconds(2)
        configuration.requestTimeout = .seconds(5)
        let error = try await withCertyoClient(configuration: configuration, logger: logger) { client in
            try await #require(throws: CertyoError.self) { try await client.ingest(record("gone")) }
        }
        #expect(error.code == .connectionFailed)
        #expect(error.isRetriable)
        expectNoKey(in: error)
        recorder.expectNoKeyLogged()
    }

    @Test func aCallAfterShutdownFailsWithoutRetrying() async throws {
        try await withCertyoEmulator(configuration: .clientTests(), logger: quietLogger) { emulator in
            let recorder = LogRecorder()
            let logger = Logger(label: "shutdown") { _ in RecordingLogHandler(recorder: recorder) }
            let client = try CertyoClient(
                configuration: .init(baseURL: emulator.baseURL, apiKey: CertyoAPIKey(Keys.acme), tenantId: "acme-corp"),
                logger: logger
            )
            _ = try await client.ingest(record("before"))
            try await client.shutdown()
            let error = try await #require(throws: CertyoError.self) { try await client.ingest(record("after")) }
            #expect(error.code == .invalidRequest)
            #expect(!error.isRetriable, "a shut-down client must not send the pipeline into an endless retry")
            #expect(await emulator.counters().requests == 1)
            recorder.expectNoKeyLogged()
        }
    }

    @Test func cancellingTheCallingTaskIsACancellationNotAFailure() async throws {
        try await withHarness { harness in
            await harness.emulator.setFaults(.init(latency: .seconds(8)))
            let call = Task { try await harness.client.ingest(record("cancelled")) }
            // Wait until the request reached the emulator, then cancel the caller.
            _ = try await eventually { await harness.emulator.counters().requests == 1 ? true : nil }
            call.cancel()
            await #expect(throws: CancellationError.self) { try await call.value }
            await harness.emulator.setFaults(.init())
        }
    }
}
