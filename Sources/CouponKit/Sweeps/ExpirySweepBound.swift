import Foundation
import Postgres

/// Where an expiry sweep's window may start: after the instant that an earlier succeeded sweep of
/// the same job left nothing `active` at or before, less a margin. Without it every sweep reads
/// every block range of expired and redeemed history (the BRIN only knows "some row here expired
/// before the slot"), so sweeps would slow down for ever as history grows.
///
/// Why it is safe: an earlier sweep E (slot P, planned at database time T) expired every coupon
/// of its templates that was `active` in its plan's snapshot and expired at or before P. A coupon
/// that became `active` after that snapshot did so in a transaction whose clock read at least
/// T minus that transaction's age, and `CouponActivation` writes it `expired` unless it expires
/// after that clock. So, once E succeeded, no coupon of E's templates is `active` with
/// `expires_at <= min(P, T) - margin`, as long as no transaction that activates coupons stays open
/// longer than the margin. `min` because a sweep run `--at` a future slot only covers what
/// existed when it ran. By induction this holds for a sweep that was bounded itself.
///
/// Only an earlier sweep whose templates include all of this one's counts (a job that had fewer
/// templates, a renamed job, or one with no succeeded sweep since this rule exists sweeps
/// unbounded, as the first sweep does). A failed or interrupted sweep counts for nothing; its
/// resumed attempt keeps its own frozen window.
enum ExpirySweepBound {
    /// One day: covers a transaction that activates coupons (an issuance chunk, a trigger batch,
    /// a reversal) staying open long past the sweep's planning; such transactions last seconds.
    /// The runner's clock plays no part (slots only lower the bound), so clock skew needs none.
    /// A day of expiries is a small part of a year of history, so the margin costs little.
    static let marginSeconds: TimeInterval = 86_400

    /// The exclusive lower end of a sweep of `templateKeys` (empty: all) for `job`, or nil when no
    /// earlier succeeded sweep covers it.
    static func after(job: String, templateKeys: [String], excludingRun runID: Int64, _ connection: Connection) throws
        -> Date?
    {
        let keys = String(decoding: try JSONEncoder().encode(templateKeys.sorted()), as: UTF8.self)
        // The job's latest succeeded runs by slot; each covered instant is min(slot, planned at).
        let row = try connection.query(
            """
            SELECT max(least((p->'window'->>'throughMicros')::bigint, (p->>'expiryPlannedAtMicros')::bigint))
            FROM (SELECT (checkpoint->'plan'->>'payload')::jsonb AS p FROM job_runs
                  WHERE job = $1 AND status = 'succeeded' AND id <> $2
                  ORDER BY slot DESC LIMIT 100) AS r
            WHERE p ? 'expiryPlannedAtMicros'
              AND (jsonb_array_length(p->'window'->'templateKeys') = 0
                   OR (jsonb_array_length($3::jsonb) > 0 AND p->'window'->'templateKeys' @> $3::jsonb))
            """, [job, runID, keys]
        ).row(0)
        guard let micros = try row.decodeIfPresent(0, as: Int64.self) else { return nil }
        return SweepWindow.date(micros).addingTimeInterval(-marginSeconds)
    }
}
