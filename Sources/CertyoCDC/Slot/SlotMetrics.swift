import Metrics
import PostgresBridge

/// The slot sidecar's gauges (README "Metrics"), all with the dimension `slot`.
struct SlotMetrics: Sendable {
    private let up: Gauge
    private let exists: Gauge
    private let active: Gauge
    private let retainedBytes: Gauge
    private let flushLagBytes: Gauge
    private let safeWALSize: Gauge
    private let catalogXminAge: Gauge
    private let inactiveSeconds: Gauge
    private let walStatus: [(status: ReplicationSlotStatus.WALStatus, gauge: Gauge)]

    init(slot: String, factory: any MetricsFactory) {
        let dimensions = [("slot", slot)]
        func gauge(_ name: String) -> Gauge {
            Gauge(label: name, dimensions: dimensions, factory: factory)
        }
        up = gauge("certyo_cdc_slot_up")
        exists = gauge("certyo_cdc_slot_exists")
        active = gauge("certyo_cdc_slot_active")
        retainedBytes = gauge("certyo_cdc_slot_retained_bytes")
        flushLagBytes = gauge("certyo_cdc_slot_flush_lag_bytes")
        safeWALSize = gauge("certyo_cdc_slot_safe_wal_size_bytes")
        catalogXminAge = gauge("certyo_cdc_slot_catalog_xmin_age")
        inactiveSeconds = gauge("certyo_cdc_slot_inactive_seconds")
        walStatus = ReplicationSlotStatus.WALStatus.all.map { status in
            (status, Gauge(label: "certyo_cdc_slot_wal_status", dimensions: dimensions + [("wal_status", status.rawValue)],
                           factory: factory))
        }
    }

    /// Records one observation. While PostgreSQL is unreachable only `certyo_cdc_slot_up` changes (to 0): the other
    /// gauges keep the last values read. A missing slot reads as not existing, not active, its figures NaN.
    func record(_ observation: SlotObservation, inactiveFor: Duration) {
        switch observation {
        case .unreachable:
            up.record(0)
        case .missing:
            up.record(1)
            exists.record(0)
            active.record(0)
            for gauge in [retainedBytes, flushLagBytes, safeWALSize, catalogXminAge] { gauge.record(Double.nan) }
            inactiveSeconds.record(0)
            for entry in walStatus { entry.gauge.record(0) }
        case .present(let status):
            up.record(1)
            exists.record(1)
            active.record(status.isActive ? 1 : 0)
            retainedBytes.record(Self.value(status.retainedBytes))
            flushLagBytes.record(Self.value(status.flushLagBytes))
            safeWALSize.record(Self.value(status.safeWALSize))
            catalogXminAge.record(Self.value(status.catalogXminAge))
            inactiveSeconds.record(Double(inactiveFor.components.seconds)
                                   + Double(inactiveFor.components.attoseconds) / 1e18)
            for entry in walStatus { entry.gauge.record(entry.status == status.walStatus ? 1 : 0) }
        }
    }

    private static func value(_ figure: Int64?) -> Double {
        figure.map(Double.init) ?? Double.nan
    }
}
