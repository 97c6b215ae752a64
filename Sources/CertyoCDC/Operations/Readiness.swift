import Synchronization

/// What `/ready` reports. Each long-running part sets its own facts here; the HTTP surface only reads them.
///
/// Ready means: this instance holds at least one partition, Certyo accepted the API key on the latest call or probe,
/// and the watched replication slot (when one is watched) is not lost or missing.
public final class Readiness: Sendable {
    /// Certyo as the pipeline last saw it.
    public enum CertyoState: String, Sendable, Hashable {
        /// No call or probe has answered yet.
        case unknown
        /// The latest call or probe was answered without 401/403.
        case accepted
        /// Certyo refuses the API key or tenant (401/403).
        case unauthorised
        /// The latest call or probe got no answer (connection error, timeout).
        case unreachable
    }

    /// The replication slot as the sidecar last saw it.
    public enum SlotState: String, Sendable, Hashable {
        /// No slot sidecar runs in this instance.
        case notWatched = "not_watched"
        case healthy
        /// A warn or critical threshold is crossed, or `wal_status` is `unreserved`: WAL still held, act soon.
        case degraded
        /// `wal_status` is `lost`: changes are gone.
        case lost
        /// The slot does not exist.
        case missing
        /// PostgreSQL cannot be reached; the slot's state is unknown.
        case databaseUnreachable = "database_unreachable"
    }

    public struct Snapshot: Sendable, Hashable {
        public var assignedPartitions = 0
        /// Whether a consumer pipeline runs in this instance (when not, partitions are not required).
        public var pipelineEnabled = true
        public var certyo = CertyoState.unknown
        public var slot = SlotState.notWatched

        public init() {}

        /// Why the instance is not ready; empty when it is.
        public var reasons: [String] {
            var reasons: [String] = []
            if pipelineEnabled, assignedPartitions == 0 { reasons.append("no Kafka partition assigned") }
            switch certyo {
            case .accepted: break
            case .unknown: reasons.append("Certyo has not answered yet")
            case .unauthorised: reasons.append("Certyo refuses the API key")
            case .unreachable: reasons.append("Certyo is unreachable")
            }
            switch slot {
            case .lost: reasons.append("the replication slot is lost")
            case .missing: reasons.append("the replication slot is missing")
            case .notWatched, .healthy, .degraded, .databaseUnreachable: break
            }
            return reasons
        }

        public var isReady: Bool { reasons.isEmpty }
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    public func update(_ body: (inout Snapshot) -> Void) {
        state.withLock { body(&$0) }
    }
}
