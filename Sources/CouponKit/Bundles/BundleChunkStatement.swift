import Foundation
import Postgres

/// The SQL of one bundle chunk: read the chunk's subscriptions, record their periods, write the
/// delivered periods' coupons. Each is one set-based statement over `unnest` arrays, so a chunk
/// costs three round trips however many subscriptions it holds.
enum BundleChunkStatement {
    /// Subscriptions of members `[lower, upper)` on `plans`, each with its last settled period.
    /// All of a member's subscriptions fall in one chunk (chunks split member ids), so the
    /// coupon numbers of a member's run stay unique without looking at other chunks.
    static func subscriptions(lower: Int64, upper: Int64, plans: [String], _ connection: Connection) throws
        -> [SubscriptionRecord]
    {
        var records: [SubscriptionRecord] = []
        // Times travel as microseconds and days since 1970: cheap to decode, exact.
        let result = try connection.query(
            """
            SELECT s.id, s.member_id, s.plan,
                   (extract(epoch FROM s.started_at) * 1000000)::bigint AS started,
                   s.paid_through - date '1970-01-01' AS paid_through,
                   (extract(epoch FROM s.paused_from) * 1000000)::bigint AS paused_from,
                   (extract(epoch FROM s.paused_until) * 1000000)::bigint AS paused_until,
                   s.ends_on - date '1970-01-01' AS ends_on,
                   coalesce((SELECT max(d.period) FROM bundle_deliveries d
                             WHERE d.subscription_id = s.id AND d.status <> 'waiting_stock'), 0) AS settled
            FROM subscriptions s
            WHERE s.member_id >= $1 AND s.member_id < $2 AND s.plan = ANY($3::text[])
            ORDER BY s.member_id, s.id
            """, [lower, upper, plans])
        records.reserveCapacity(result.count)
        for row in result.rows {
            func instant(_ column: Int) throws -> Date? {
                try row.decodeIfPresent(column, as: Int64.self).map { Date(timeIntervalSince1970: Double($0) / 1_000_000) }
            }
            func day(_ column: Int) throws -> CalendarDay? {
                try row.decodeIfPresent(column, as: Int.self).map {
                    let civil = CronCivil.date(days: $0)
                    return CalendarDay(clampingYear: civil.year, month: civil.month, day: civil.day)
                }
            }
            var pause: DateInterval?
            if let from = try instant(5), let until = try instant(6), until >= from {
                pause = DateInterval(start: from, end: until)
            }
            let terms = SubscriptionTerms(
                startedAt: try instant(3) ?? Date.distantPast, paidThrough: try day(4) ?? CalendarDay(clampingYear: 1, month: 1, day: 1),
                pause: pause, endsOn: try day(7))
            records.append(
                SubscriptionRecord(
                    id: try row.decode(0, as: Int64.self), memberID: try row.decode(1, as: Int64.self),
                    plan: try row.decode(2, as: String.self), terms: terms, settled: try row.decode(8, as: Int.self)))
        }
        return records
    }

    /// Records `deliveries`; returns those this transaction now owns. A period another run
    /// settled first is left alone (its row wins); a period waiting for stock is taken over.
    static func record(_ deliveries: [PlannedDelivery], runID: Int64, _ tx: Connection) throws -> [PlannedDelivery] {
        guard !deliveries.isEmpty else { return [] }
        let result = try tx.query(
            """
            INSERT INTO bundle_deliveries AS d (subscription_id, period, member_id, plan, due_at, status, run_id, coupons)
            SELECT i.subscription_id, i.period, i.member_id, i.plan, i.due_at, i.status, $7, i.coupons
            FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::text[], $5::timestamptz[], $6::text[], $8::int[])
                AS i(subscription_id, period, member_id, plan, due_at, status, coupons)
            ON CONFLICT (subscription_id, period) DO UPDATE
                SET status = EXCLUDED.status, run_id = EXCLUDED.run_id, coupons = EXCLUDED.coupons,
                    due_at = EXCLUDED.due_at, recorded_at = now()
                WHERE d.status = 'waiting_stock'
            RETURNING d.subscription_id, d.period
            """,
            [
                deliveries.map(\.subscriptionID), deliveries.map { Int32($0.period) }, deliveries.map(\.memberID),
                deliveries.map(\.plan), deliveries.map { $0.dueAt.postgresText ?? "" }, deliveries.map(\.status.rawValue),
                runID, deliveries.map { Int32($0.coupons) },
            ])
        var owned: Set<PeriodKey> = []
        for row in result.rows {
            owned.insert(PeriodKey(subscription: try row.decode(0, as: Int64.self), period: try row.decode(1, as: Int.self)))
        }
        return deliveries.filter { owned.contains(PeriodKey(subscription: $0.subscriptionID, period: $0.period)) }
    }

    private struct PeriodKey: Hashable {
        let subscription: Int64
        let period: Int
    }

    /// Writes the coupons of `delivered` periods with one INSERT … SELECT joining the periods to
    /// their plans' lines; returns the coupons written.
    static func insertCoupons(_ delivered: [PlannedDelivery], plan runPlan: BundleRunPlan, runID: Int64, _ tx: Connection)
        throws -> Int
    {
        guard !delivered.isEmpty else { return 0 }
        let p = SQLParameters()
        // One element per coupon line of every plan; `seq` numbers a period's coupons 1…n, welcome last.
        var plans: [String] = []
        var welcome: [Int32] = []
        var labels: [String] = []
        var pack = CouponLineArrays()
        var faceCases: [String] = []
        let run = p.add(runID)
        for plan in runPlan.plans {
            var seq: Int32 = 0
            for (isWelcome, lines) in [(false, plan.coupons), (true, plan.welcome)] {
                for line in lines {
                    for _ in 0..<line.quantity {
                        seq += 1
                        plans.append(plan.key)
                        welcome.append(isWelcome ? 1 : 0)
                        labels.append(plan.label ?? "")
                        pack.append(line, seq: seq)
                        if let choices = line.blindbox {
                            let salt = "(\(run)::bigint * 1000 + d.seq_base + l.seq)"
                            let draw = CouponPackSQL.blindboxDraw(choices, member: "d.member_id", salt: salt, p)
                            faceCases.append("WHEN \(p.add(Int32(pack.count))) THEN \(draw)")
                        }
                    }
                }
            }
        }
        let face = faceCases.isEmpty ? "l.face" : "CASE l.line \(faceCases.joined(separator: " ")) ELSE l.face END"
        let sql = """
            INSERT INTO coupons (template_key, template_version, member_id, run_id, seq, label, face_value_fen,
                                 issued_at, valid_from, expires_at, uses_left)
            SELECT l.key, l.version, d.member_id, \(run), d.seq_base + l.seq, nullif(l.label, ''), \(face),
                   \(p.add(runPlan.issuedAt)), l.valid_from, l.expires_at, nullif(l.uses_left, -1)
            FROM unnest(\(p.add(delivered.map(\.memberID)))::bigint[], \(p.add(delivered.map(\.plan)))::text[],
                        \(p.add(delivered.map { Int32($0.seqBase) }))::int[],
                        \(p.add(delivered.map { Int32($0.period == 1 ? 1 : 0) }))::int[])
                AS d(member_id, plan, seq_base, first_period)
            JOIN unnest(\(p.add(plans))::text[], \(p.add(welcome))::int[], \(p.add(labels))::text[], \(pack.unnestArguments(p)))
                WITH ORDINALITY AS l(plan, welcome, label, \(CouponLineArrays.columns), line)
              ON l.plan = d.plan AND (l.welcome = 0 OR d.first_period = 1)
            """
        return try tx.execute(sql, p.values)
    }
}
