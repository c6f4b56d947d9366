import ArgumentParser
import CouponKit
import Foundation
import Logging
import Postgres

/// Options of the commands that execute runs (`run`, `tick`, `scheduler`).
struct RunnerOptions: ParsableArguments {
    @Option(
        help: """
            Connections working in parallel (runs, and chunks of one run). The default is this machine's processor \
            count (2 to 16); raise it when PostgreSQL runs on a bigger machine than the runner.
            """)
    var workers: Int = Runner.Options.defaultWorkers

    @Option(help: "Seconds a run's lease lasts without a heartbeat before another runner may take it over.")
    var leaseSeconds: Int = 60

    @Option(
        help: """
            Seconds the database may stay unreachable (a restart, a failover) before this runner gives its runs \
            up for the next runner and exits 75; within it, runs reconnect and carry on.
            """)
    var dbOutageSeconds: Double = RetryStrategy.defaultOutageSeconds

    @Option(help: "Seconds one statement of a chunk may take before PostgreSQL cancels it (the chunk rolls back).")
    var statementTimeoutSeconds: Int = 60

    func validate() throws {
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be between 1 and 256") }
        guard (1...3600).contains(leaseSeconds) else { throw ValidationError("--lease-seconds must be between 1 and 3600") }
        guard (0...86_400).contains(dbOutageSeconds) else {
            throw ValidationError("--db-outage-seconds must be between 0 and 86400")
        }
        guard (1...86_400).contains(statementTimeoutSeconds) else {
            throw ValidationError("--statement-timeout-seconds must be between 1 and 86400")
        }
    }

    func makeRunner(global: GlobalOptions, logger: Logger, stop: StopSignal = StopSignal(), progress: ProgressHandler? = nil)
        -> Runner
    {
        let url = global.resolvedDatabaseURL
        let options = Runner.Options(
            workers: workers, leaseSeconds: leaseSeconds, outageSeconds: dbOutageSeconds,
            statementTimeoutSeconds: statementTimeoutSeconds)
        let settings = options.connectionSettings
        return Runner(
            options: options,
            connect: { try Connection.connect(url: url, settings: settings) },
            resolver: ExecutorRegistry.standard,
            logger: logger, stop: stop, progress: progress, segmentSandbox: global.segmentSandbox)
    }
}

extension GlobalOptions {
    /// Loads and validates every definition under --jobs-dir (exit 78 with all errors if any).
    func loadDeployment() throws -> Deployment {
        try DefinitionLoader.load(directory: jobsDir)
    }
}

extension DefinitionErrors: CategorizedError {
    public var category: FailureCategory { .configuration }
}

/// ISO 8601 instants for --now, --at and --from (with or without fractional seconds or zone).
enum ISOInstant {
    static func parse(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        return nil
    }

    static func validate(_ text: String?, option: String) throws {
        if let text, parse(text) == nil {
            throw ValidationError("\(option) must be an ISO 8601 instant like 2026-11-23T09:00:00+08:00")
        }
    }
}
