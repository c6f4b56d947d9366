import Foundation
import Postgres

/// `kind: prune`: retention as a scheduled job. Its run's chunks are the batches of a
/// `RetentionPlan`, committed in order, so a crash resumes after the last batch done.
public struct PruneExecutor: JobExecutor {
    public let action: PruneAction

    public init(action: PruneAction) {
        self.action = action
    }

    public func plan(_ context: RunContext, _ connection: Connection) throws -> RunPlan {
        let retention = try RetentionPlan.make(
            olderThanSeconds: action.olderThanSeconds, batchSize: action.batchSize, connection)
        let payload = String(decoding: try JSONEncoder().encode(retention), as: UTF8.self)
        let chunks = retention.batches.indices.map { RunPlan.Chunk(lower: Int64($0), upper: Int64($0) + 1) }
        return RunPlan(chunks: chunks, payload: payload, parallel: false)
    }

    public func execute(chunk: Int, of plan: RunPlan, _ context: RunContext, in transaction: Connection) throws
        -> RunCounts
    {
        let retention = try JSONDecoder().decode(RetentionPlan.self, from: Data((plan.payload ?? "").utf8))
        return try retention.execute(retention.batches[chunk], in: transaction)
    }

    public func dryRun(_ context: RunContext, _ connection: Connection) throws -> DryRunReport {
        let retention = try RetentionPlan.make(
            olderThanSeconds: action.olderThanSeconds, batchSize: action.batchSize, connection)
        let runBatches = retention.batches.filter { if case .runs = $0 { return true } else { return false } }.count
        return DryRunReport(lines: [
            .init("older than", LocalTimeFormat.format(retention.cutoff, in: context.job.timeZone)),
            .init("run batches", "\(runBatches) of up to \(action.batchSize) finished runs"),
            .init("snapshot candidates", "\(retention.batches.count - runBatches) (kept if a plan still names them)"),
        ])
    }
}
