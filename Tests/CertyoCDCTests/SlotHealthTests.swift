@testable import CertyoCDC
import Logging
import PostgresBridge
import Testing

/// A hand-made instant: tests move time by adding seconds, never by waiting.
struct TestInstant: InstantProtocol {
    var offset: Duration

    func advanced(by duration: Duration) -> TestInstant { TestInstant(offset: offset + duration) }
    func duration(to other: TestInstant) -> Duration { other.offset - offset }
    static func < (lhs: TestInstant, rhs: TestInstant) -> Bool { lhs.offset < rhs.offset }

    static func at(_ seconds: Int) -> TestInstant { TestInstant(offset: .seconds(seconds)) }
}

@Suite struct SlotHealthTests {
    static var configuration: SlotMonitor.Configuration {
        var configuration = SlotMonitor.Configuration()
        configuration.slotName = "test_slot"
        configuration.retainedBytesWarning = 1000
        configuration.retainedBytesCritical = 4000
        configuration.inactiveWarning = .seconds(60)
        configuration.inactiveCritical = .seconds(600)
        configuration.reminderInterval = .seconds(300)
        return configuration
    }

    /// The state machine under test, behind a reference so `#expect` can drive it.
    final class Machine {
        var health = SlotHealth<TestInstant>(configuration: SlotHealthTests.configuration)

        func observe(_ observation: SlotObservation, at instant: TestInstant) -> [SlotAlert] {
            health.observe(observation, at: instant)
        }

        /// Observes and returns the event names.
        func events(_ observation: SlotObservation, at seconds: Int) -> [String] {
            observe(observation, at: .at(seconds)).map(\.event)
        }

        var readiness: Readiness.SlotState { health.readiness }

        func inactiveDuration(at instant: TestInstant) -> Duration { health.inactiveDuration(at: instant) }
    }

    static func slot(
        retained: Int64? = 10, active: Bool = true, wal: ReplicationSlotStatus.WALStatus? = .reserved,
        safe: Int64? = nil
    ) -> SlotObservation {
        .present(ReplicationSlotStatus(name: "test_slot", isActive: active, walStatus: wal, safeWALSize: safe,
                                       retainedBytes: retained, flushLagBytes: 0, catalogXminAge: 3))
    }


    @Test func healthySlotLogsNothingAndIsHealthy() {
        let health = Machine()
        #expect(health.readiness == .notWatched)
        #expect(health.events(Self.slot(), at: 0) == [])
        #expect(health.events(Self.slot(), at: 10_000) == [])
        #expect(health.readiness == .healthy)
    }

    @Test func retainedBytesWarningIsLoggedOnceThenClearedOnce() {
        let health = Machine()
        let entered = health.observe(Self.slot(retained: 1500), at: .at(0))
        #expect(entered.map(\.event) == ["slot_retained_bytes_warning"])
        #expect(entered.first?.level == .warning)
        #expect(entered.first?.description == "slot_retained_bytes_warning slot=test_slot retained_bytes=1500 threshold=1000")
        #expect(health.readiness == .degraded)
        // Still above: no line until the reminder interval has passed.
        #expect(health.events(Self.slot(retained: 1800), at: 15) == [])
        #expect(health.events(Self.slot(retained: 1900), at: 299) == [])
        let cleared = health.observe(Self.slot(retained: 200), at: .at(310))
        #expect(cleared.map(\.event) == ["slot_retained_bytes_cleared"])
        #expect(cleared.first?.level == .notice)
        #expect(cleared.first?["retained_bytes"] == "200")
        #expect(cleared.first?["duration_seconds"] == "310")
        #expect(health.events(Self.slot(retained: 200), at: 320) == [])
        #expect(health.readiness == .healthy)
    }

    @Test func remindersComeAtTheIntervalWhileTheStateLasts() {
        let health = Machine()
        #expect(health.events(Self.slot(retained: 1500), at: 0) == ["slot_retained_bytes_warning"])
        var reminders: [SlotAlert] = []
        for second in stride(from: 15, through: 960, by: 15) {
            reminders += health.observe(Self.slot(retained: 1500), at: .at(second))
        }
        // 0 → 300 → 600 → 900: three reminders in 960 s, each marked as such with how long the state lasts.
        #expect(reminders.map(\.event) == Array(repeating: "slot_retained_bytes_warning", count: 3))
        #expect(reminders.allSatisfy { $0.isReminder })
        #expect(reminders.map { $0["duration_seconds"] } == ["300", "600", "900"])
    }

    @Test func warningEscalatesToCriticalAndBack() {
        let health = Machine()
        #expect(health.events(Self.slot(retained: 1500), at: 0) == ["slot_retained_bytes_warning"])
        let critical = health.observe(Self.slot(retained: 5000), at: .at(15))
        #expect(critical.map(\.event) == ["slot_retained_bytes_critical"])
        #expect(critical.first?.level == .critical)
        #expect(critical.first?["threshold"] == "4000")
        #expect(!critical[0].isReminder)
        #expect(health.events(Self.slot(retained: 6000), at: 30) == [])
        // Back under critical but above warning: the warning state is entered again, once.
        #expect(health.events(Self.slot(retained: 2000), at: 45) == ["slot_retained_bytes_warning"])
        #expect(health.events(Self.slot(retained: 2000), at: 60) == [])
        // Straight from critical to healthy: one clearing line.
        #expect(health.events(Self.slot(retained: 5000), at: 75) == ["slot_retained_bytes_critical"])
        let cleared = health.observe(Self.slot(retained: 0), at: .at(90))
        #expect(cleared.map(\.event) == ["slot_retained_bytes_cleared"])
        #expect(cleared.first?["duration_seconds"] == "90")
    }

    @Test func inactiveTimeIsTrackedFromTheFirstInactiveReading() {
        let health = Machine()
        #expect(health.events(Self.slot(active: false), at: 100) == [])
        #expect(health.inactiveDuration(at: .at(130)) == .seconds(30))
        let warning = health.observe(Self.slot(active: false), at: .at(160))
        #expect(warning.map(\.event) == ["slot_inactive_warning"])
        #expect(warning.first?["inactive_seconds"] == "60")
        #expect(warning.first?["threshold"] == "60")
        #expect(health.events(Self.slot(active: false), at: 700) == ["slot_inactive_critical"])
        #expect(health.events(Self.slot(active: true), at: 710) == ["slot_inactive_cleared"])
        #expect(health.inactiveDuration(at: .at(720)) == .zero)
        // A new inactive spell starts from zero.
        #expect(health.events(Self.slot(active: false), at: 800) == [])
        #expect(health.events(Self.slot(active: false), at: 859) == [])
        #expect(health.events(Self.slot(active: false), at: 860) == ["slot_inactive_warning"])
    }

    @Test func walStatusUnreservedThenLost() {
        let health = Machine()
        let unreserved = health.observe(Self.slot(wal: .unreserved, safe: -20), at: .at(0))
        #expect(unreserved.map(\.event) == ["slot_wal_status_unreserved"])
        #expect(unreserved.first?.level == .warning)
        #expect(unreserved.first?["safe_wal_size"] == "-20")
        #expect(health.readiness == .degraded)
        let lost = health.observe(Self.slot(retained: nil, wal: .lost), at: .at(15))
        #expect(lost.map(\.event) == ["slot_wal_status_lost"])
        #expect(lost.first?.level == .critical)
        #expect(health.readiness == .lost)
        #expect(health.events(Self.slot(retained: nil, wal: .lost), at: 30) == [])
    }

    @Test func missingSlotReplacesItsConditionsAndClearsOnce() {
        let health = Machine()
        #expect(health.events(Self.slot(retained: 1500, active: false), at: 0) == ["slot_retained_bytes_warning"])
        let missing = health.observe(.missing, at: .at(15))
        #expect(missing.map(\.event) == ["slot_missing"])
        #expect(missing.first?.level == .critical)
        #expect(health.readiness == .missing)
        #expect(health.events(.missing, at: 30) == [])
        #expect(health.events(.missing, at: 315) == ["slot_missing"])  // reminder
        // Re-created and healthy: one clearing line, nothing about the conditions missing replaced.
        #expect(health.events(Self.slot(), at: 330) == ["slot_missing_cleared"])
        #expect(health.readiness == .healthy)
        #expect(health.inactiveDuration(at: .at(340)) == .zero)
    }

    @Test func unreachableIsItsOwnLineAndFreezesTheOthers() {
        let health = Machine()
        #expect(health.events(Self.slot(retained: 1500), at: 0) == ["slot_retained_bytes_warning"])
        let down = health.observe(.unreachable(target: "db:5432/app", reason: "connection refused"), at: .at(15))
        #expect(down.map(\.event) == ["slot_database_unreachable"])
        #expect(down.first?.level == .error)
        #expect(down.first?.description
                == #"slot_database_unreachable slot=test_slot target=db:5432/app reason="connection refused""#)
        #expect(health.readiness == .databaseUnreachable)
        // No reminder of the retained warning while nothing is known; the outage itself is reminded.
        #expect(health.events(.unreachable(target: "db:5432/app", reason: "other"), at: 400) == ["slot_database_unreachable"])
        // Back: the outage clears; the retained warning, still true, is not entered again, only reminded (its
        // last line was 415 s ago, more than the reminder interval).
        let back = health.observe(Self.slot(retained: 1500), at: .at(415))
        #expect(back.map(\.event) == ["slot_database_unreachable_cleared", "slot_retained_bytes_warning"])
        #expect(back.first?["duration_seconds"] == "400")
        #expect(back.last?.isReminder == true)
        #expect(health.events(Self.slot(retained: 1500), at: 500) == [])
        #expect(health.readiness == .degraded)
        #expect(health.events(Self.slot(retained: 10), at: 430) == ["slot_retained_bytes_cleared"])
    }

    @Test func waitDoublesAfterFailuresUpToTheBound() {
        var configuration = Self.configuration
        configuration.interval = .seconds(1)
        configuration.maximumRetryInterval = .seconds(5)
        #expect(SlotMonitor.wait(after: 0, configuration: configuration) == .seconds(1))
        #expect(SlotMonitor.wait(after: 1, configuration: configuration) == .seconds(1))
        #expect(SlotMonitor.wait(after: 2, configuration: configuration) == .seconds(2))
        #expect(SlotMonitor.wait(after: 3, configuration: configuration) == .seconds(4))
        #expect(SlotMonitor.wait(after: 4, configuration: configuration) == .seconds(5))
        #expect(SlotMonitor.wait(after: 400, configuration: configuration) == .seconds(5))
    }
}
