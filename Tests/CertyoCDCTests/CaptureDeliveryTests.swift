import CDCCore
@testable import CertyoCDC
import CertyoClient
import Logging
import Synchronization
import Testing

/// The delivery loop the Kafka pipeline, the listener and the poller share, driven by a scripted sink.
@Suite(.timeLimit(.minutes(1)))
struct CaptureDeliveryTests {
    enum Answer: Error { case retry, reject(Int), split, rejectAll }

    /// Answers each call with the next scripted answer (`nil` = accepted), recording the record ids of each call.
    final class ScriptedSink: BatchSink {
        private let state: Mutex<(answers: [Answer?], calls: [[String]])>

        init(_ answers: [Answer?]) { state = Mutex((answers, [])) }

        var calls: [[String]] { state.withLock { $0.calls } }

        func ingest(_ records: [CertyoRecord]) async throws -> BatchReceipt {
            let answer = state.withLock { state -> Answer? in
                state.calls.append(records.map(\.recordId))
                return state.answers.isEmpty ? nil : state.answers.removeFirst()
            }
            if let answer { throw answer }
            return BatchReceipt(accepted: records.count, replayed: 0)
        }

        func classify(_ error: any Error) -> FailureDisposition {
            let rejection = Rejection(reason: "invalid_record", message: "refused", httpStatus: 400,
                                      errorCode: "invalid_record")
            switch error as? Answer {
            case .retry: return .retry(retryAfter: nil, category: "server_error")
            case .reject(let index): return .reject([index: rejection])
            case .split: return .split(status: 413, code: "payload_too_large")
            case .rejectAll: return .rejectAll(rejection)
            case nil: return .retry(retryAfter: nil, category: "other")
            }
        }
    }

    final class Host: DeliveryHost {
        struct State { var letters: [(String, String)] = []; var pauses = 0; var resumes = 0; var abandoned = false }
        let state = Mutex(State())

        func record(of item: String) -> CertyoRecord {
            CertyoRecord(database: "db", collection: "public.t", recordId: item, recordPayload: Array("{}".utf8),
                         operationType: .upsert, sourceTimestamp: nil, idempotencyKey: "k:\(item)")
        }
        func isAbandoned(_ lane: String) -> Bool { state.withLock { $0.abandoned } }
        func pauseForRetry(_ lane: String) { state.withLock { $0.pauses += 1 } }
        func resumeAfterRetry(_ lane: String) { state.withLock { $0.resumes += 1 } }
        func deadLetter(_ item: String, _ rejection: Rejection, lane: String) async -> Bool {
            state.withLock { $0.letters.append((item, rejection.reason)) }
            return true
        }
    }

    func delivery(_ sink: ScriptedSink, statistics: PipelineStatistics = PipelineStatistics()) -> BatchDelivery {
        var configuration = DeliveryConfiguration()
        configuration.retry.initialDelay = .milliseconds(1)
        configuration.retry.maximumDelay = .milliseconds(2)
        configuration.pauseAfterRetries = 2
        return BatchDelivery(configuration: configuration, sink: sink, statistics: statistics,
                             logger: Logger(label: "test"), laneMetadataKey: "capture.table")
    }

    @Test func retriesUntilAcceptedAndHoldsTheLaneWhileItKeepsFailing() async {
        let sink = ScriptedSink([.retry, .retry, .retry, nil])
        let statistics = PipelineStatistics()
        let host = Host()
        let done = await delivery(sink, statistics: statistics).deliver(["a", "b"], lane: "t", host: host)
        #expect(done)
        #expect(sink.calls == Array(repeating: ["a", "b"], count: 4))
        #expect(statistics.snapshot.retries == 3)
        #expect(statistics.snapshot.ingested == 2)
        #expect(host.state.withLock { ($0.pauses, $0.resumes) } == (1, 1))
    }

    @Test func aRefusedRecordIsDeadLetteredAndTheRestSentAgain() async {
        let sink = ScriptedSink([.reject(1), nil])
        let host = Host()
        #expect(await delivery(sink).deliver(["a", "b", "c"], lane: "t", host: host))
        #expect(sink.calls == [["a", "b", "c"], ["a", "c"]])
        #expect(host.state.withLock { $0.letters.map(\.0) } == ["b"])
    }

    @Test func tooLargeCallsAreHalvedAndARecordTooLargeAloneIsDeadLettered() async {
        // [a b c d] too large -> [a b] ok -> [c d] too large -> [c] ok -> [d] too large alone.
        let sink = ScriptedSink([.split, nil, .split, nil, .split])
        let host = Host()
        #expect(await delivery(sink).deliver(["a", "b", "c", "d"], lane: "t", host: host))
        #expect(sink.calls == [["a", "b", "c", "d"], ["a", "b"], ["c", "d"], ["c"], ["d"]])
        #expect(host.state.withLock { $0.letters.map { "\($0.0):\($0.1)" } } == ["d:too_large"])
    }

    @Test func aRefusalNamingNoRecordIsHalvedDownToTheCulprit() async {
        let sink = ScriptedSink([.rejectAll, nil, .rejectAll])
        let host = Host()
        #expect(await delivery(sink).deliver(["a", "b"], lane: "t", host: host))
        #expect(host.state.withLock { $0.letters.map(\.0) } == ["b"])
    }

    @Test func anAbandonedLaneStopsRetrying() async {
        let sink = ScriptedSink([.retry, .retry, .retry, .retry])
        let host = Host()
        host.state.withLock { $0.abandoned = true }
        #expect(await delivery(sink).deliver(["a"], lane: "t", host: host) == false)
        #expect(sink.calls.count == 1)
    }
}
