import CouponKit
import Foundation
import Metrics
import Postgres
import Prometheus

/// The Prometheus backend for the metrics CouponKit records (CouponMetrics). Bootstrapped once
/// per process by the commands that export metrics (`scheduler`, `tick --metrics-textfile`).
enum MetricsBackend {
    /// The registry every metric lands in; rendered as Prometheus text by `render`.
    static let registry = PrometheusCollectorRegistry()

    /// Installs the backend. Runs last minutes, chunks seconds: each gets buckets that resolve its
    /// range. Lag buckets span a prompt start (under a second) to a missed hour.
    static func bootstrap() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = [
            CouponMetrics.Name.runDuration: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600].map(Duration.seconds),
            CouponMetrics.Name.chunkDuration: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
                .map(Duration.seconds),
        ]
        factory.valueHistogramBuckets = [
            CouponMetrics.Name.schedulingLag: [0.5, 1, 5, 15, 30, 60, 120, 300, 900, 3600]
        ]
        MetricsSystem.bootstrap(factory)
    }

    /// Prometheus text exposition format. Reads database-held gauges (stock) first when a
    /// connection is given; without one, the last values read are rendered.
    static func render(refreshingWith connection: Connection?) -> String {
        if let connection { try? StockGauges.refresh(connection) }
        return registry.emitToString()
    }

    /// Writes the node-exporter textfile collector format: the same text, replaced atomically so
    /// the collector never reads half a file.
    static func writeTextfile(_ path: String, refreshingWith connection: Connection?) throws {
        let text = render(refreshingWith: connection)
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ConfigurationError("--metrics-textfile \(path): cannot write: \(error.localizedDescription)")
        }
    }
}
