import Foundation
import Logging
import Postgres

/// `kind: remind`: writes one notification per member listing that member's active coupons that
/// expire within `before` after the slot and that this job has not reminded yet, then delivers
/// what it can. Chunks are member id ranges; each is one `INSERT … SELECT … GROUP BY member`
/// into the outbox, committed with the chunk's checkpoint.
///
/// A coupon is reminded at most once per job: the coverage check reads the job's committed
/// notifications (their `coupon_ids`), a replayed chunk rolled back with everything it wrote, and
/// the runs of one job never overlap (remind jobs are `concurrency: forbid`, which the engine
/// enforces oldest slot first, fenced by attempt).
public struct RemindExecutor: JobExecutor {
    public let action: RemindAction

    public init(action: RemindAction) { self.action = action }

    public func plan(_ context: RunContext, _ connection: Connection) throws -> RunPlan {
        let sweep = try makePlan(context, connection)
        let chunks = try sweep.window.chunks(perChunk: action.chunkSize, connection)
        return RunPlan(chunks: chunks, payload: try sweep.encoded(), parallel: true)
    }

    func makePlan(_ context: RunContext, _ connection: Connection) throws -> SweepPlan {
        let slot = context.run.slot
        let segment = try action.segment.map {
            try SegmentResolver.resolve(
                $0, asOf: slot, connection: connection, options: .init(sandbox: context.segmentSandbox),
                logger: context.logger)
        }
        let window = SweepWindow(
            after: slot, through: slot.addingTimeInterval(Double(action.beforeSeconds)), templateKeys: action.templateKeys)
        return SweepPlan(
            window: window, segment: segment, sink: action.sink, zone: context.job.timeZone, quietHours: action.quietHours)
    }

    /// The chunk's not-yet-reminded coupons, as a relation over `coupons c`.
    static func pending(_ sweep: SweepPlan, job: String, members: RunPlan.Chunk?) -> (
        relation: String, parameters: [any PostgresBindable]
    ) {
        let p = SQLParameterList()
        var condition = sweep.window.condition(p, members: members)
        if let segment = sweep.segment {
            let predicate = segment.predicate(alias: "m", firstParameter: p.nextNumber)
            p.append(contentsOf: predicate.parameters)
            condition += "\n  AND EXISTS (SELECT 1 FROM members m WHERE m.id = c.member_id AND (\(predicate.sql)))"
        }
        // Coverage: a coupon listed by any committed notification of this job is not listed again.
        condition += """

              AND NOT EXISTS (SELECT 1 FROM notifications n
                              WHERE n.job = \(p.add(job)) AND n.member_id = c.member_id AND c.id = ANY (n.coupon_ids))
            """
        return ("(SELECT * FROM coupons c WHERE \(condition))", p.values)
    }

    public func execute(chunk: Int, of plan: RunPlan, _ context: RunContext, in tx: Connection) throws -> RunCounts {
        let sweep = try SweepPlan.decode(plan)
        if let segment = sweep.segment, !segment.snapshots.isEmpty { try segment.verifySnapshots(connection: tx) }
        guard let outbox = sweep.outbox(kind: .remind, context) else { return [:] }
        let pending = Self.pending(sweep, job: context.job.name, members: plan.chunks[chunk])
        let written = try outbox.write(from: pending.relation, parameters: pending.parameters, in: tx)
        return ["notifications": written.notifications, "coupons_reminded": written.coupons]
    }

    public func finish(_ plan: RunPlan, counts: RunCounts, _ context: RunContext, _ connection: Connection) throws
        -> String?
    {
        try SweepPlan.decode(plan).deliverAfterRun(context, connection)
    }

    public func dryRun(_ context: RunContext, _ connection: Connection) throws -> DryRunReport {
        let sweep = try makePlan(context, connection)
        let pending = Self.pending(sweep, job: context.job.name, members: nil)
        let row = try connection.query(
            "SELECT count(*)::bigint, count(DISTINCT c.member_id)::bigint FROM \(pending.relation) c", pending.parameters
        ).row(0)
        let sample = try connection.query(
            "SELECT DISTINCT c.member_id FROM \(pending.relation) c ORDER BY 1 LIMIT 5", pending.parameters
        ).rows.map { String(try $0.decode(0, as: Int64.self)) }
        let zone = context.job.timeZone
        return DryRunReport(lines: [
            .init(
                "window",
                "coupons expiring after \(ISO8601Text.format(sweep.window.after ?? context.run.slot, zone)) "
                    + "through \(ISO8601Text.format(sweep.window.through, zone))"),
            .init("templates", action.templateKeys.isEmpty ? "all" : action.templateKeys.joined(separator: ", ")),
            .init("to remind", "\(try row.decode(0, as: Int64.self)) coupons of \(try row.decode(1, as: Int64.self)) members"),
            .init("sample members", sample.isEmpty ? "none" : sample.joined(separator: ", ")),
            .init("sink", action.sink),
        ])
    }
}

/// ISO 8601 with the zone's offset (`2026-11-25T23:59:59+08:00`), as notifications write times.
enum ISO8601Text {
    static func format(_ date: Date, _ zone: TimeZone) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = zone
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
