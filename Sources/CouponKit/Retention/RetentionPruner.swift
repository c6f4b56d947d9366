import Foundation
import Postgres

/// Retention: removes what no run needs any more, in small batches, and keeps the ledger rows and
/// their counts. Two things grow without bound and are needed only while a run may resume:
///
/// - a finished run's checkpoint: its plan (which may hold a resolved segment) and its
///   `run_chunks` rows. The run keeps its status, counts, note, error and times, and the number of
///   chunks done and planned (moved into the checkpoint), so `runs` and the console still show it.
/// - segment snapshots (`list:` and `sql:` member sets) that no remaining plan names.
///
/// The work is a list of batches: run-id ranges first, then one snapshot each. `prune` runs them
/// one transaction each; a `kind: prune` job runs them as the chunks of a run.
public struct RetentionPlan: Sendable, Equatable, Codable {
    public enum Batch: Sendable, Equatable, Codable {
        /// Finished runs with ids in lower..<upper.
        case runs(lower: Int64, upper: Int64)
        /// One segment snapshot source (and its member rows).
        case snapshot(id: Int64)
    }

    /// Finished before this instant (database clock) counts as old.
    public let cutoff: Date
    public let batches: [Batch]

    /// Lists the batches for everything older than `olderThanSeconds` by the database's clock.
    public static func make(olderThanSeconds: Int, batchSize: Int, _ connection: Connection) throws -> RetentionPlan {
        let cutoff: Date = try connection.query(
            "SELECT now() - make_interval(secs => $1) AS cutoff", [olderThanSeconds]
        ).row(0).decode("cutoff")
        let ids = try connection.query(
            """
            SELECT id FROM job_runs r
            WHERE r.status IN ('succeeded', 'failed', 'skipped', 'cancelled') AND r.finished_at < $1
              AND (r.checkpoint ? 'plan' OR EXISTS (SELECT 1 FROM run_chunks c WHERE c.run_id = r.id))
            ORDER BY id
            """, [cutoff]
        ).rows.map { try $0.decode("id", as: Int64.self) }
        var batches: [Batch] = stride(from: 0, to: ids.count, by: max(1, batchSize)).map { start in
            let slice = ids[start..<min(start + max(1, batchSize), ids.count)]
            return .runs(lower: slice.first ?? 0, upper: (slice.last ?? 0) + 1)
        }
        // Candidates only: each batch checks again, under the planning lock, that no plan names it.
        batches += try connection.query(
            "SELECT id FROM segment_snapshot_sources WHERE created_at < $1 ORDER BY id", [cutoff]
        ).rows.map { .snapshot(id: try $0.decode("id")) }
        return RetentionPlan(cutoff: cutoff, batches: batches)
    }

    /// Does one batch inside `transaction`; returns what it removed.
    public func execute(_ batch: Batch, in transaction: Connection) throws -> RunCounts {
        switch batch {
        case .runs(let lower, let upper):
            let checkpoints = try transaction.execute(Self.pruneCheckpointsSQL, [lower, upper, cutoff])
            let chunkRows = try transaction.execute(Self.deleteChunksSQL, [lower, upper, cutoff])
            return ["checkpoints_pruned": Int64(checkpoints), "chunk_rows_deleted": Int64(chunkRows)]
        case .snapshot(let id):
            try PlanningLock.exclude(in: transaction)
            let members = try transaction.query(Self.deleteSnapshotSQL, [id, cutoff]).first
            guard let members else { return ["snapshots_kept": 1] }
            return ["snapshots_deleted": 1, "snapshot_members_deleted": try members.decode("member_count")]
        }
    }

    static let finished = "status IN ('succeeded', 'failed', 'skipped', 'cancelled') AND finished_at < $3"

    /// Drops the plan, keeping how many chunks it had and how many committed (counted before
    /// the chunk rows go, in the same transaction), so progress still reads "4/4".
    static let pruneCheckpointsSQL = """
        UPDATE job_runs
        SET checkpoint = (checkpoint - 'plan') || jsonb_strip_nulls(jsonb_build_object(
                'chunks_total', jsonb_array_length(checkpoint->'plan'->'chunks'),
                'chunks_done', (SELECT count(*) FROM run_chunks c WHERE c.run_id = job_runs.id),
                'pruned_at', now()))
        WHERE id >= $1 AND id < $2 AND \(finished) AND checkpoint ? 'plan'
        """

    /// `chunks_done` was written into the checkpoint just before, so the rows can go.
    static let deleteChunksSQL = """
        DELETE FROM run_chunks c
        USING job_runs r
        WHERE c.run_id = r.id AND r.id >= $1 AND r.id < $2 AND r.\(finished)
        """

    /// A snapshot goes only when no plan left in the ledger names it (its fingerprint is unique
    /// text, so it is found in the plan's JSON however that nests it). Its members cascade.
    static let deleteSnapshotSQL = """
        DELETE FROM segment_snapshot_sources s
        WHERE s.id = $1 AND s.created_at < $2
          AND NOT EXISTS (
            SELECT 1 FROM job_runs r WHERE r.checkpoint ? 'plan' AND strpos(r.checkpoint::text, s.fingerprint) > 0)
        RETURNING member_count
        """
}
