import Foundation
import Metrics

/// Every metric couponbatch records, by name, in one place.
///
/// CouponKit records through the swift-metrics API only; the executable bootstraps the backend
/// (Prometheus). Until it does, these calls go to swift-metrics' no-op handlers, so library users
/// and tests pay nothing. Names follow Prometheus conventions (`_total` for counters, base units).
/// Label values are job, template and sink names from definition files: a bounded set.
public enum CouponMetrics {
    public enum Name {
        public static let runsStarted = "couponbatch_runs_started_total"
        public static let runsSucceeded = "couponbatch_runs_succeeded_total"
        public static let runsFailed = "couponbatch_runs_failed_total"
        public static let runDuration = "couponbatch_run_duration_seconds"
        public static let chunkDuration = "couponbatch_chunk_duration_seconds"
        public static let couponsIssued = "couponbatch_coupons_issued_total"
        public static let notificationsDelivered = "couponbatch_notifications_delivered_total"
        public static let notificationsFailed = "couponbatch_notifications_failed_total"
        public static let notificationsDead = "couponbatch_notifications_dead_total"
        public static let schedulingLag = "couponbatch_scheduling_lag_seconds"
        public static let leaseTakeovers = "couponbatch_lease_takeovers_total"
        public static let stockRemaining = "couponbatch_stock_remaining"
        public static let databaseReconnects = "couponbatch_database_reconnects_total"
    }

    /// A run's attempt began executing. `lagSeconds`: how long after its due slot a scheduled run
    /// started (first attempt only; manual runs have no due time to lag behind).
    public static func runStarted(job: String, lagSeconds: Double?) {
        Counter(label: Name.runsStarted, dimensions: [("job", job)]).increment()
        if let lagSeconds {
            Recorder(label: Name.schedulingLag, dimensions: [("job", job)], aggregate: true).record(max(0, lagSeconds))
        }
    }

    /// A run ended for good (a retry scheduled after a failure counts as failed: it is an alert).
    public static func runEnded(job: String, succeeded: Bool, seconds: Double) {
        Counter(label: succeeded ? Name.runsSucceeded : Name.runsFailed, dimensions: [("job", job)]).increment()
        Timer(label: Name.runDuration, dimensions: [("job", job)]).recordNanoseconds(nanoseconds(seconds))
    }

    /// One chunk committed; `counts` are its counts (`template.<key>` keys carry coupons per template).
    public static func chunkCommitted(job: String, seconds: Double, counts: RunCounts) {
        Timer(label: Name.chunkDuration, dimensions: [("job", job)]).recordNanoseconds(nanoseconds(seconds))
        for (key, value) in counts where key.hasPrefix(templateCountPrefix) && value > 0 {
            let template = String(key.dropFirst(templateCountPrefix.count))
            Counter(label: Name.couponsIssued, dimensions: [("template", template)]).increment(by: Int(value))
        }
    }

    /// The run-count key prefix under which issuance reports coupons per template.
    public static let templateCountPrefix = "template."

    /// A runner took over a run whose lease had lapsed (its runner died or hung).
    public static func leaseTakenOver(job: String) {
        Counter(label: Name.leaseTakeovers, dimensions: [("job", job)]).increment()
    }

    /// A lost database connection was replaced by a new one.
    public static func databaseReconnected() {
        Counter(label: Name.databaseReconnects).increment()
    }

    /// Stock left of a template with a finite stock, as last read from the database.
    public static func stockRemaining(template: String, remaining: Int64) {
        Gauge(label: Name.stockRemaining, dimensions: [("template", template)]).record(Double(remaining))
    }

    /// Notifications handed to a sink: delivered, failed (will be retried) or dead (gave up).
    public static func notifications(sink: String, delivered: Int64, failed: Int64, dead: Int64) {
        let dimensions = [("sink", sink)]
        if delivered > 0 { Counter(label: Name.notificationsDelivered, dimensions: dimensions).increment(by: delivered) }
        if failed > 0 { Counter(label: Name.notificationsFailed, dimensions: dimensions).increment(by: failed) }
        if dead > 0 { Counter(label: Name.notificationsDead, dimensions: dimensions).increment(by: dead) }
    }

    private static func nanoseconds(_ seconds: Double) -> Int64 {
        Int64((max(0, seconds) * 1_000_000_000).rounded())
    }
}
