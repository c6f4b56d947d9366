import Foundation
import Postgres

/// What a run knows, when it is planned, about a plan's settled periods (table
/// `bundle_watermarks`, migration 0021): every period due by `through` is recorded for each
/// subscription whose terms last changed below `horizon`. Frozen in the run's plan, so a resumed
/// run reads its chunks the same way. A watermark only ever tells a chunk less than the truth
/// about a subscription it covers: the periods' primary key still decides exactly-once.
struct BundleWatermark: Codable, Sendable, Equatable {
    /// Periods due by this instant are recorded (subscriptions changed below `horizon`).
    var through: Date?
    /// Covers subscriptions with `terms_xid` below it; 0 when the plan's watermark was taken
    /// with another schedule (or there is none), so it covers nothing.
    var coverHorizon: Int64
    /// Subscriptions created above it were unknown when the watermark's run was planned: a chunk
    /// assumes they have nothing settled (0 with no watermark: every row created since migration
    /// 0021). Not the cover horizon: a long transaction anywhere on the cluster holds that back,
    /// and subscriptions the run did deliver would then look new to the next run and collide.
    var freshHorizon: Int64

    static let none = BundleWatermark(through: nil, coverHorizon: 0, freshHorizon: 0)

    /// The schedule a watermark was taken with, as text: a plan whose periods are numbered or
    /// timed differently now is not covered by it.
    static func fingerprint(_ plan: BundleRunPlan.Plan) -> String {
        "every=\(plan.everyMonths);day=\(plan.deliveryDay);at=\(plan.atMinutes);zone=\(plan.timeZone)"
    }

    /// The watermarks of `plans` and the snapshot horizon now: every transaction below it has
    /// ended, so all a run planned now will read of those transactions' subscriptions is what
    /// they committed. One statement, so the horizon and the chunk bounds read with it agree.
    static func read(_ plans: [BundleRunPlan.Plan], _ connection: Connection) throws
        -> (marks: [String: BundleWatermark], horizon: Int64, freshAfter: Int64)
    {
        let result = try connection.query(
            """
            SELECT p.key, w.through, coalesce(w.horizon::text, '0')::bigint AS horizon, w.schedule = p.schedule AS same,
                   coalesce(w.fresh_after::text, '1')::bigint - 1 AS fresh,
                   pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS now_horizon,
                   pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS now_fresh
            FROM unnest($1::text[], $2::text[]) AS p(key, schedule)
            LEFT JOIN bundle_watermarks w ON w.plan = p.key
            """, [plans.map(\.key), plans.map(fingerprint)])
        var marks: [String: BundleWatermark] = [:]
        var horizon: Int64 = 0
        var freshAfter: Int64 = 0
        for row in result.rows {
            let key = try row.decode("key", as: String.self)
            let through = try row.decodeIfPresent("through", as: Date.self)
            let mark = try row.decode("horizon", as: Int64.self)
            let same = try row.decodeIfPresent("same", as: Bool.self) ?? false
            horizon = try row.decode("now_horizon", as: Int64.self)
            freshAfter = try row.decode("now_fresh", as: Int64.self)
            marks[key] = BundleWatermark(
                through: same ? through : nil, coverHorizon: same && through != nil ? mark : 0,
                freshHorizon: try row.decode("fresh", as: Int64.self))
        }
        return (marks, horizon, freshAfter)
    }

    /// After a run settled every chunk: its slot and planning horizon become the plan's
    /// watermark, unless a run with a later slot (or the same slot and a later horizon) set one
    /// already. Either is true; the later one covers more periods.
    static func advance(_ runPlan: BundleRunPlan, horizon: Int64, freshAfter: Int64, runID: Int64, _ connection: Connection)
        throws
    {
        try connection.execute(
            """
            INSERT INTO bundle_watermarks (plan, through, horizon, fresh_after, schedule, run_id)
            SELECT p.key, $3, $4::text::xid8, $6::text::xid8, p.schedule, $5 FROM unnest($1::text[], $2::text[]) AS p(key, schedule)
            ON CONFLICT (plan) DO UPDATE
            SET through = EXCLUDED.through, horizon = EXCLUDED.horizon, fresh_after = EXCLUDED.fresh_after,
                schedule = EXCLUDED.schedule, run_id = EXCLUDED.run_id, updated_at = now()
            WHERE bundle_watermarks.through < EXCLUDED.through
               OR (bundle_watermarks.through = EXCLUDED.through AND bundle_watermarks.horizon < EXCLUDED.horizon)
            """,
            [runPlan.plans.map(\.key), runPlan.plans.map(fingerprint), runPlan.issuedAt, String(horizon), runID, String(freshAfter)])
    }
}
