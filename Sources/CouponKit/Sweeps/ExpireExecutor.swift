import Foundation
import Logging
import Postgres

/// `kind: expire`: marks `active` coupons whose validity ended at or before the slot `expired`,
/// a member id range per chunk of about `chunk_size` coupons, so no transaction holds locks for
/// long. Punch cards keep `uses_left`. With `notify: true`, each member whose coupons the chunk
/// expired gets one `expired` notification, written in the same statement.
///
/// Race-safe with redemption: both are `UPDATE … WHERE status = 'active'`. Under READ COMMITTED
/// a row changed by a concurrent commit is re-checked against the WHERE clause, so a coupon
/// redeemed a moment ago is skipped here, and one expired here is no longer redeemable.
public struct ExpireExecutor: JobExecutor {
    public let action: ExpireAction

    public init(action: ExpireAction) { self.action = action }

    public func plan(_ context: RunContext, _ connection: Connection) throws -> RunPlan {
        let sweep = try makePlan(context, connection)
        let chunks = try sweep.window.chunks(perChunk: action.chunkSize, connection)
        return RunPlan(chunks: chunks, payload: try sweep.encoded(), parallel: true)
    }

    /// The window: expiring at or before the slot, and after the bound an earlier sweep of this
    /// job left (`ExpirySweepBound`), if any. The clock is read before the window's first query,
    /// so the snapshot the chunks are planned from is no older than the instant recorded.
    func makePlan(_ context: RunContext, _ connection: Connection) throws -> SweepPlan {
        let plannedAt = try connection.query("SELECT now()").row(0).decode(0, as: Date.self)
        let after = try ExpirySweepBound.after(
            job: context.job.name, templateKeys: action.templateKeys, excludingRun: context.run.id, connection)
        var plan = SweepPlan(
            window: SweepWindow(after: after, through: context.run.slot, templateKeys: action.templateKeys), segment: nil,
            sink: action.notifySink, zone: context.job.timeZone, quietHours: action.quietHours)
        plan.expiryPlannedAtMicros = SweepWindow.micros(plannedAt)
        return plan
    }

    public func execute(chunk: Int, of plan: RunPlan, _ context: RunContext, in tx: Connection) throws -> RunCounts {
        let sweep = try SweepPlan.decode(plan)
        let p = SQLParameterList()
        let condition = sweep.window.condition(p, members: plan.chunks[chunk])
        var ctes = """
            expired AS (
                UPDATE coupons c SET status = 'expired'
                WHERE \(condition)
                RETURNING c.id, c.member_id, c.template_key, c.template_version, c.face_value_fen, c.expires_at
            )
            """
        var notified = "0::bigint"
        if let outbox = sweep.outbox(kind: .expired, context) {
            try outbox.setZone(tx)
            let insert = outbox.insert(from: "expired", parameters: p.values)
            ctes += ",\nnotified AS (\n\(insert.sql)\nRETURNING 1\n)"
            p.append(contentsOf: Array(insert.parameters.dropFirst(p.values.count)))
            notified = "(SELECT count(*) FROM notified)::bigint"
        }
        var counts: RunCounts = [:]
        let rows = try tx.query(
            """
            WITH \(ctes)
            SELECT e.template_key, count(*)::bigint AS coupons, sum(e.face_value_fen)::bigint AS face_value_fen,
                   \(notified) AS notifications
            FROM expired e GROUP BY e.template_key
            """, p.values)
        for row in rows.rows {
            let coupons: Int64 = try row.decode("coupons")
            counts["template.\(try row.decode("template_key", as: String.self))", default: 0] += coupons
            counts["coupons_expired", default: 0] += coupons
            counts["face_value_fen_expired", default: 0] += try row.decode("face_value_fen", as: Int64.self)
            counts["notifications"] = try row.decode("notifications", as: Int64.self)
        }
        return counts
    }

    public func finish(_ plan: RunPlan, counts: RunCounts, _ context: RunContext, _ connection: Connection) throws
        -> String?
    {
        try SweepPlan.decode(plan).deliverAfterRun(context, connection)
    }

    public func dryRun(_ context: RunContext, _ connection: Connection) throws -> DryRunReport {
        let sweep = try makePlan(context, connection)
        let p = SQLParameterList()
        let rows = try connection.query(
            """
            SELECT c.template_key, count(*)::bigint, count(DISTINCT c.member_id)::bigint FROM coupons c
            WHERE \(sweep.window.condition(p, members: nil)) GROUP BY 1 ORDER BY 1
            """, p.values)
        let zone = context.job.timeZone
        let since = sweep.window.after.map { "after \(ISO8601Text.format($0, zone)) (an earlier sweep's bound) and " } ?? ""
        var lines: [DryRunReport.Line] = [
            .init("expires", "active coupons expiring \(since)at or before \(ISO8601Text.format(context.run.slot, zone))")
        ]
        for row in rows.rows {
            lines.append(
                .init(
                    "template \(try row.decode(0, as: String.self))",
                    "\(try row.decode(1, as: Int64.self)) coupons of \(try row.decode(2, as: Int64.self)) members"))
        }
        if rows.isEmpty { lines.append(.init("coupons", "none to expire")) }
        lines.append(.init("notify", action.notifySink.map { "yes, through sink \($0)" } ?? "no"))
        return DryRunReport(lines: lines)
    }
}
