import ArgumentParser
import CouponKit
import Foundation
import Logging
import Postgres

/// Options of the commands that execute runs (`run`, `tick`, `scheduler`).
struct RunnerOptions: ParsableArguments {
    @Option(help: "Connections working in parallel (runs, and chunks of one run).")
    var workers: Int = 4

    @Option(help: "Seconds a run's lease lasts without a heartbeat before another runner may take it over.")
    var leaseSeconds: Int = 60

    func validate() throws {
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be between 1 and 256") }
        guard (1...3600).contains(leaseSeconds) else { throw ValidationError("--lease-seconds must be between 1 and 3600") }
    }

    func makeRunner(global: GlobalOptions, logger: Logger, stop: StopSignal = StopSignal(), progress: ProgressHandler? = nil)
        -> Runner
    {
        let url = global.resolvedDatabaseURL
        return Runner(
            options: .init(workers: workers, leaseSeconds: leaseSeconds),
            connect: { try Connection.connect(url: url) },
            resolver: ExecutorRegistry.standard,
            logger: logger, stop: stop, progress: progress)
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
