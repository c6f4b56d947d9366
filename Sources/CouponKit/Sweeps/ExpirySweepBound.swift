import Foundation
import Postgres

/// Where an expiry sweep's window may start, so that it reads the block ranges of coupons
/// expiring since the job's previous sweep instead of every expired and redeemed coupon ever
/// issued (the BRIN only knows "some row here expired before the slot": history would make every
/// sweep slower for ever).
///
/// Why it is safe. Take the job's latest succeeded sweep E, made for slot P with the database's
/// clock reading T when it planned, before its snapshot. E expired every coupon of its templates
/// that was `active` in that snapshot and expired at or before P. A coupon made `active` after the
/// snapshot came from one of:
/// - a run's chunk (issue, bundle, trigger batch): its coupons expire after the run's slot (a
///   template whose validity ended before the slot issues nothing: `ValidityWindow.isOpen`), and
///   the run was pending or running after T, so it finished after T, or still runs;
/// - a redemption's reversal: `active` only if it expires after the database's clock then (later
///   than T, less the age of the reversal's transaction).
/// So nothing of E's templates is `active` with `expires_at` at or before
/// `min(P, T, slots of runs not finished by T - margin) - margin`. `min` with P because a sweep run
/// `--at` a future slot covers only what existed when it ran; the runs' slots because a catch-up
/// or `run --at` issuance for an old slot writes coupons that may have expired long ago. By
/// induction this holds when E was bounded itself.
///
/// Only a sweep whose templates include all of this one's counts: a job that had fewer templates,
/// a renamed job, a job whose sweeps all failed, or plans from before this bound existed sweep
/// unbounded once, as the first sweep does. A resumed sweep keeps the window its plan froze.
/// Coupons written outside couponbatch as `active` with an old expiry are outside the argument.
enum ExpirySweepBound {
    /// One day. It covers a transaction that makes coupons `active` (an issuance chunk, a trigger
    /// batch, a reversal) staying open well past the sweep's planning (they last seconds), and a
    /// run finishing just before T while its last chunk committed after the snapshot. Runner
    /// clocks play no part: T and the finish times are the database's, and slots only lower the
    /// bound. A day of expiries is a small part of the history, so the margin costs little.
    static let marginSeconds: TimeInterval = 86_400

    /// The exclusive lower end of the window of a sweep of `templateKeys` (empty: all) for `job`,
    /// or nil when no earlier succeeded sweep covers it.
    static func after(job: String, templateKeys: [String], excludingRun runID: Int64, _ connection: Connection) throws
        -> Date?
    {
        let keys = String(decoding: try JSONEncoder().encode(templateKeys.sorted()), as: UTF8.self)
        // The job's latest covering sweep (among its latest succeeded runs): min(slot, planned at), and planned at.
        guard
            let previous = try connection.query(
                """
                SELECT least((p->'window'->>'throughMicros')::bigint, (p->>'expiryPlannedAtMicros')::bigint) AS covered,
                       (p->>'expiryPlannedAtMicros')::bigint AS planned
                FROM (SELECT (checkpoint->'plan'->>'payload')::jsonb AS p FROM job_runs
                      WHERE job = $1 AND status = 'succeeded' AND id <> $2
                      ORDER BY slot DESC LIMIT 100) AS r
                WHERE p ? 'expiryPlannedAtMicros'
                  AND (jsonb_array_length(p->'window'->'templateKeys') = 0
                       OR (jsonb_array_length($3::jsonb) > 0 AND p->'window'->'templateKeys' @> $3::jsonb))
                ORDER BY planned DESC LIMIT 1
                """, [job, runID, keys]
            ).first
        else { return nil }
        let covered = SweepWindow.date(try previous.decode("covered", as: Int64.self))
        let planned = SweepWindow.date(try previous.decode("planned", as: Int64.self))
        let since = planned.addingTimeInterval(-marginSeconds)
        // Runs (of any job) that may have written after that sweep's snapshot: their coupons expire
        // after their slots. Skipped slots never ran.
        let oldestSlot = try connection.query(
            """
            SELECT min(slot) FROM job_runs
            WHERE id <> $1 AND status <> 'skipped'
              AND (status IN ('pending', 'running') OR finished_at IS NULL OR finished_at >= $2 OR heartbeat_at >= $2)
            """, [runID, since]
        ).row(0).decodeIfPresent(0, as: Date.self)
        return min(covered, oldestSlot ?? covered).addingTimeInterval(-marginSeconds)
    }
}
