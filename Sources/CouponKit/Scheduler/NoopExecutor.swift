import Foundation
import Postgres

/// `kind: noop`: chunks that do nothing but (optionally) sleep or fail. Used for heartbeats,
/// for trying a deployment, and by the engine's own process-level tests.
public struct NoopExecutor: JobExecutor {
    public let action: NoopAction

    public init(action: NoopAction) { self.action = action }

    public func plan(_ context: RunContext, _ connection: Connection) throws -> RunPlan {
        RunPlan(chunks: (0..<Int64(action.chunks)).map { RunPlan.Chunk(lower: $0, upper: $0 + 1) })
    }

    public func execute(chunk: Int, of plan: RunPlan, _ context: RunContext, in transaction: Connection) throws
        -> RunCounts
    {
        if action.fail { throw NoopFailure() }
        if action.sleepMilliseconds > 0 { Thread.sleep(forTimeInterval: Double(action.sleepMilliseconds) / 1000) }
        return ["chunks": 1]
    }

    public func dryRun(_ context: RunContext, _ connection: Connection) throws -> DryRunReport {
        DryRunReport(lines: [
            .init("chunks", "\(action.chunks)"),
            .init("sleep per chunk", "\(action.sleepMilliseconds) ms"),
            .init("fails", action.fail ? "yes (fail: true)" : "no"),
        ])
    }

    struct NoopFailure: Error, CustomStringConvertible {
        var description: String { "the job is configured to fail (fail: true)" }
    }
}
