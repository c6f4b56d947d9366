import Foundation
import Postgres

/// Builds a `CouponReport` with set-based statements: each section is one aggregate over
/// `coupons` or `redemptions`, grouped server-side, so only a few hundred rows ever reach the
/// client whatever the number of coupons. Everything runs in one REPEATABLE READ, read-only
/// transaction, so the sections agree with each other while tills keep redeeming.
///
/// No index serves these scans, on purpose: a report reads most of the period's coupons, which
/// a parallel sequential scan does fastest, and bulk issuance pays for no index it needs.
public struct ReportQueries: Sendable {
    public let options: ReportOptions

    public init(options: ReportOptions) {
        self.options = options
    }

    /// The period's bounds as instants, and the days as text.
    struct Period {
        let start: Date
        let end: Date
        /// A week before `start`: the days week-over-week changes compare with.
        let lookbackStart: Date
        let from: String
        let to: String
        let now: Date
    }

    public func build(_ connection: Connection) throws -> CouponReport {
        try connection.transaction(isolation: .repeatableRead, readOnly: true) { tx in
            // One scan of the period's coupons; compiling it (with inlining, as its cost estimate
            // asks) took longer than the scan it would speed up.
            try tx.execute("SET LOCAL jit = off")
            // The scan's groups are estimated from the times it reads (one per coupon, where a
            // month has a few thousand): at that estimate the planner sorts 10M rows, spilling
            // to disk, instead of hashing them. Hash aggregation spills past work_mem anyway.
            try tx.execute("SET LOCAL enable_sort = off")
            // Redemptions and A/B arms are joined to `members`: at PostgreSQL's default work_mem
            // (4MB) a million members' hash table spills to disk in batches, re-reading every
            // redemption. 64MB holds a million members' ids and home stores in one batch.
            try tx.execute("SET LOCAL work_mem = '64MB'")
            let period = try resolvePeriod(tx)
            let calendar = try self.calendar(period, tx)
            // The runs whose slot lies in the period: their arms (see `arms`).
            let runIDs = try tx.query("SELECT id FROM job_runs WHERE slot >= $1 AND slot < $2", [period.start, period.end])
                .rows.map { try $0.decode(0, as: Int64.self) }
            let groups = try CouponFacts.scan(period, calendar, runIDs: runIDs, segments: options.by == .segment, tx)
            let (uses, storeRows) = try redemptionUses(period, segments: options.by == .segment, stores: options.by == .store, tx)
            let firstDay = calendar.days.firstIndex(of: period.from).map { $0 + 1 } ?? Int.max
            let inPeriod = groups.filter { $0.issuedDay >= firstDay && $0.issuedDay <= calendar.days.count }

            let cohortTemplates = cohort(inPeriod, uses, key: { $0.templateKey }, useKey: { $0.templateKey })
            var rows: [KPIRow] = []
            switch options.by {
            case .template: rows = cohortTemplates.rows
            case .job:
                let jobs = try self.jobs(of: Set(inPeriod.map(\.runID)).union(uses.map(\.runID)), tx)
                rows = cohort(inPeriod, uses, key: { jobs[$0.runID] }, useKey: { jobs[$0.runID] }).rows
            case .segment: rows = cohort(inPeriod, uses, key: { $0.segment }, useKey: { $0.segment }).rows
            case .store: rows = storeRows
            case .day, .arm: rows = []
            }
            let templates = cohortTemplates.rows.map { row -> KPIRow in
                var row = row
                row.healthy = row.redemptionRate.map { $0 >= options.healthyRedemptionRate }
                return row
            }
            if options.by == .template { rows = templates }
            let daily = try self.daily(groups, calendar, period, tx)
            return CouponReport(
                generatedAt: period.now, timezone: options.timeZone.identifier, from: period.from, to: period.to,
                by: options.by, summary: cohortTemplates.total, rows: rows, daily: daily, templates: templates,
                arms: try arms(groups, runIDs: runIDs, tx), liability: try liability(groups, period, tx), alerts: alerts(daily),
                healthyRedemptionRate: options.healthyRedemptionRate, alertThreshold: options.alertThreshold)
        }
    }

    /// The days from a week before the period to its end in the zone, and the instants they
    /// start at: each coupon's day is then a binary search among those instants
    /// (`width_bucket`), not a time zone conversion per row.
    private func calendar(_ period: Period, _ tx: Connection) throws -> CouponFacts.Calendar {
        let days = try tx.query(
            """
            SELECT d::date::text AS day, (d::date::timestamp AT TIME ZONE $3)::text AS starts
            FROM generate_series(($1::timestamptz AT TIME ZONE $3)::date, ($2::timestamptz AT TIME ZONE $3)::date - 1,
                                 interval '1 day') AS d
            ORDER BY d
            """, [period.lookbackStart, period.end, options.timeZone.identifier]
        ).rows
        let end = try tx.query("SELECT $1::timestamptz::text", [period.end]).row(0).decode(0, as: String.self)
        return CouponFacts.Calendar(
            days: try days.map { try $0.decode("day") },
            bounds: try days.map { try $0.decode("starts", as: String.self) } + [end])  // timestamptz text, exactly as stored
    }

    /// Job names of runs.
    private func jobs(of runIDs: Set<Int64>, _ tx: Connection) throws -> [Int64: String] {
        var jobs: [Int64: String] = [:]
        for row in try tx.query("SELECT id, job FROM job_runs WHERE id = ANY($1::bigint[])", [Array(runIDs)]).rows {
            jobs[try row.decode("id")] = try row.decode("job")
        }
        return jobs
    }

    private func resolvePeriod(_ tx: Connection) throws -> Period {
        let row = try tx.query(
            """
            WITH bounds AS (
                SELECT coalesce($1::date, coalesce($2::date, ($4::timestamptz AT TIME ZONE $3)::date) - 29) AS first_day,
                       coalesce($2::date, ($4::timestamptz AT TIME ZONE $3)::date) AS last_day
            )
            SELECT first_day::text AS from_day, last_day::text AS to_day,
                   first_day::timestamp AT TIME ZONE $3 AS start_at,
                   (last_day + 1)::timestamp AT TIME ZONE $3 AS end_at,
                   (first_day - 7)::timestamp AT TIME ZONE $3 AS lookback_at,
                   $4::timestamptz AS now
            FROM bounds
            """,
            [
                options.from?.description, options.to?.description, options.timeZone.identifier,
                (options.asOf ?? (try tx.query("SELECT now()").row(0).decode(0, as: Date.self))),
            ]
        ).row(0)
        let from: String = try row.decode("from_day")
        let to: String = try row.decode("to_day")
        guard from <= to else { throw InputError("--from \(from) is after --to \(to)") }
        return Period(
            start: try row.decode("start_at"), end: try row.decode("end_at"), lookbackStart: try row.decode("lookback_at"),
            from: from, to: to, now: try row.decode("now"))
    }

    /// Unreversed uses of the coupons issued in the period, per template, issuing run and (for
    /// segment reports) tier: read from `redemptions` alone, which carries its coupon's
    /// template, run, member and issue time (sql/0031).
    struct RedemptionUse {
        var templateKey: String
        var runID: Int64
        var segment: String?
        var redemptions: Int64
        var crossStore: Int64
        var discountFen: Int64
        var orderValueFen: Int64
    }

    /// The cohort's uses (see `RedemptionUse`) and, for `--by store`, the uses in the period by
    /// the store that redeemed them, sorted by store: one pass over `redemptions` joined to
    /// `members` for both (each its own pass joined the members twice). Figures are FILTERed
    /// rather than grouped by flags: grouping keys read from the times make the planner expect
    /// a group per redemption and give up the parallel plan.
    private func redemptionUses(_ period: Period, segments: Bool, stores: Bool, _ tx: Connection) throws
        -> (uses: [RedemptionUse], stores: [KPIRow])
    {
        let cohort = "r.coupon_issued_at >= $1 AND r.coupon_issued_at < $2"
        // A use of a coupon that still exists (sql/0031).
        let inPeriod = "r.at >= $1 AND r.at < $2 AND r.coupon_issued_at IS NOT NULL"
        let rows = try tx.query(
            // Sorted outside the grouping: an ORDER BY beside the GROUP BY made the planner sort
            // every redemption (spilling to disk) to group them in that order.
            """
            SELECT * FROM (
                SELECT r.template_key, r.coupon_run_id, \(segments ? "coalesce(m.tier, 'unknown')" : "NULL::text") AS segment,
                       \(stores ? "r.store" : "NULL::text") AS store,
                       \(Self.useFigures(filter: cohort, prefix: "")),
                       \(stores ? Self.useFigures(filter: inPeriod, prefix: "store_") : "0 AS store_redemptions")
                FROM redemptions r
                LEFT JOIN members m ON m.id = r.member_id
                WHERE r.reversed_at IS NULL AND (\(cohort)\(stores ? " OR \(inPeriod)" : ""))
                GROUP BY 1, 2, 3, 4
            ) AS uses
            ORDER BY store
            """, [period.start, period.end]
        ).rows
        var uses: [RedemptionUse] = []
        var byStore: [KPIRow] = []  // in store order: the rows come sorted by store
        for row in rows {
            if try row.decode("redemptions", as: Int64.self) > 0 {
                uses.append(
                    RedemptionUse(
                        templateKey: try row.decode("template_key"), runID: try row.decode("coupon_run_id"),
                        segment: try row.decodeIfPresent("segment"), redemptions: try row.decode("redemptions"),
                        crossStore: try row.decode("cross_store"), discountFen: try row.decode("discount_fen"),
                        orderValueFen: try row.decode("order_value_fen")))
            }
            guard stores, try row.decode("store_redemptions", as: Int64.self) > 0 else { continue }
            let store: String = try row.decode("store")
            if byStore.last?.key != store {
                byStore.append(
                    KPIRow(
                        key: store, issued: nil, redeemed: nil, expired: nil, medianHoursToRedeem: nil, p90HoursToRedeem: nil,
                        redemptions: 0, crossStore: 0, discountFen: 0, orderValueFen: 0))
            }
            byStore[byStore.count - 1].redemptions += try row.decode("store_redemptions")
            byStore[byStore.count - 1].crossStore += try row.decode("store_cross_store")
            byStore[byStore.count - 1].discountFen += try row.decode("store_discount_fen")
            byStore[byStore.count - 1].orderValueFen += try row.decode("store_order_value_fen")
        }
        return (uses, byStore)
    }

    /// Uses, those outside the member's home store, discount and order value, of the rows of
    /// `redemptions r` (with their member `m`) that meet `filter`, named with `prefix`.
    static func useFigures(filter: String, prefix: String) -> String {
        """
        count(*) FILTER (WHERE \(filter)) AS \(prefix)redemptions,
               count(*) FILTER (WHERE \(filter) AND m.home_store IS NOT NULL AND r.store <> m.home_store) AS \(prefix)cross_store,
               coalesce(sum(r.discount_fen) FILTER (WHERE \(filter)), 0)::bigint AS \(prefix)discount_fen,
               coalesce(sum(r.amount_fen) FILTER (WHERE \(filter)), 0)::bigint AS \(prefix)order_value_fen
        """
    }

    /// The coupons issued in the period (`groups`) and their uses, added up by `key` (a group
    /// whose key is nil, a run without a job row, is left out), and the total. The time to
    /// redemption comes as a histogram of whole minutes per group, whose median and p90
    /// `MinuteHistogram` interpolates as `percentile_cont` would.
    private func cohort(
        _ groups: [CouponFacts.Group], _ uses: [RedemptionUse], key: (CouponFacts.Group) -> String?,
        useKey: (RedemptionUse) -> String?
    ) -> (total: KPIRow, rows: [KPIRow]) {
        struct Side {
            var issued: Int64 = 0
            var redeemed: Int64 = 0
            var expired: Int64 = 0
            var redemptions: Int64 = 0
            var crossStore: Int64 = 0
            var discountFen: Int64 = 0
            var orderValueFen: Int64 = 0
            var minutes = MinuteHistogram()

            mutating func add(_ other: Side) {
                issued += other.issued
                redeemed += other.redeemed
                expired += other.expired
                redemptions += other.redemptions
                crossStore += other.crossStore
                discountFen += other.discountFen
                orderValueFen += other.orderValueFen
                minutes.add(other.minutes)
            }
        }
        var sides: [String: Side] = [:]
        for group in groups {
            guard let name = key(group) else { continue }
            var side = sides[name] ?? Side()
            side.issued += group.coupons
            if group.lapsed { side.expired += group.coupons }
            if let minutes = group.minutesToRedeem {
                side.redeemed += group.coupons
                side.minutes.add(minutes, count: group.coupons)
            }
            sides[name] = side
        }
        for use in uses {
            guard let name = useKey(use) else { continue }
            var side = sides[name] ?? Side()
            side.redemptions += use.redemptions
            side.crossStore += use.crossStore
            side.discountFen += use.discountFen
            side.orderValueFen += use.orderValueFen
            sides[name] = side
        }
        func kpi(_ key: String, _ side: Side) -> KPIRow {
            KPIRow(
                key: key, issued: side.issued, redeemed: side.redeemed, expired: side.expired,
                medianHoursToRedeem: side.minutes.percentile(0.5).map { $0 / 60 },
                p90HoursToRedeem: side.minutes.percentile(0.9).map { $0 / 60 },
                redemptions: side.redemptions, crossStore: side.crossStore, discountFen: side.discountFen,
                orderValueFen: side.orderValueFen)
        }
        var total = Side()
        for side in sides.values { total.add(side) }
        return (kpi("all", total), sides.map { kpi($0.key, $0.value) }.sorted { $0.key < $1.key })
    }

    /// Whole minutes from issue to first use, rounded half away from zero as `round(numeric)`
    /// would, in double precision: `extract` returns numeric, and numeric arithmetic on every
    /// redeemed coupon of the period costs more than the rest of the scan.
    static let minutesToRedeem = """
        (CASE WHEN c.redeemed_at >= c.issued_at
              THEN floor(date_part('epoch', c.redeemed_at - c.issued_at) / 60 + 0.5)
              ELSE ceil(date_part('epoch', c.redeemed_at - c.issued_at) / 60 - 0.5) END)::bigint
        """

    /// Issued, redeemed and expired per day of the zone, from a week before the period (for
    /// week-over-week changes) to its end; only the period's days are returned. Issued and
    /// expired come from the coupon scan's groups, uses from `redemptions`.
    private func daily(
        _ groups: [CouponFacts.Group], _ calendar: CouponFacts.Calendar, _ period: Period, _ tx: Connection
    ) throws -> [DailyRow] {
        var rows = calendar.days.map {
            DailyRow(day: $0, issued: 0, redeemed: 0, expired: 0, discountFen: 0, orderValueFen: 0, changes: [:])
        }
        // Day buckets count the starts at or before the instant: day 1 is the first.
        for group in groups {
            if rows.indices.contains(group.issuedDay - 1) { rows[group.issuedDay - 1].issued += group.coupons }
            if group.lapsed, rows.indices.contains(group.expiresDay - 1) { rows[group.expiresDay - 1].expired += group.coupons }
        }
        for row in try tx.query(
            """
            SELECT width_bucket(r.at, $3::timestamptz[]) AS day, count(*) AS n, sum(r.discount_fen)::bigint AS discount_fen,
                   sum(r.amount_fen)::bigint AS order_value_fen
            FROM redemptions r WHERE r.reversed_at IS NULL AND r.at >= $1 AND r.at < $2 GROUP BY 1
            """, [period.lookbackStart, period.end, calendar.bounds]
        ).rows {
            let index = Int(try row.decode("day", as: Int64.self)) - 1
            guard rows.indices.contains(index) else { continue }
            rows[index].redeemed = try row.decode("n")
            rows[index].discountFen = try row.decode("discount_fen")
            rows[index].orderValueFen = try row.decode("order_value_fen")
        }
        var result: [DailyRow] = []
        for (index, row) in rows.enumerated() where row.day >= period.from {
            var row = row
            for metric in DailyRow.metrics {
                let value = row.value(metric)
                let dayOverDay = index >= 1 ? ReportStatistics.change(from: rows[index - 1].value(metric), to: value) : nil
                let weekOverWeek = index >= 7 ? ReportStatistics.change(from: rows[index - 7].value(metric), to: value) : nil
                let flagged = [dayOverDay, weekOverWeek].contains { $0.map { abs($0) > options.alertThreshold } ?? false }
                row.changes[metric] = DailyRow.Change(dayOverDay: dayOverDay, weekOverWeek: weekOverWeek, flagged: flagged)
            }
            result.append(row)
        }
        return result
    }

    /// The last day's flagged changes: what a merchant opening the report today should look at.
    private func alerts(_ daily: [DailyRow]) -> [Alert] {
        guard let last = daily.last else { return [] }
        var alerts: [Alert] = []
        for metric in DailyRow.metrics {
            guard let change = last.changes[metric] else { continue }
            for (comparison, value, label) in [
                ("day_over_day", change.dayOverDay, "the day before"), ("week_over_week", change.weekOverWeek, "a week before"),
            ] {
                guard let value, abs(value) > options.alertThreshold else { continue }
                alerts.append(
                    Alert(
                        day: last.day, metric: metric, comparison: comparison, change: value,
                        message: "\(metric) on \(last.day): \(last.value(metric)), \(value >= 0 ? "+" : "")"
                            + "\(Int((value * 100).rounded()))% against \(label)"))
            }
        }
        return alerts
    }

    /// Arms of runs whose slot lies in the period, each member counted once, against the job's
    /// holdout (see `ArmRow`).
    private func arms(_ groups: [CouponFacts.Group], runIDs: [Int64], _ tx: Connection) throws -> [ArmRow] {
        // Only the runs the coupon scan saw arms in are read again (the BRIN index on run_id
        // finds their pages), and a combo's later coupons only where one of them was redeemed.
        // Members per arm, who ordered after the run and who redeemed come from each pack's
        // first coupon (seq 1, one per member); only a combo's later coupons add members who
        // redeemed one of those but not the first. A member who both redeemed and ordered
        // responded once.
        let periodRuns = Set(runIDs)
        let armGroups = groups.filter { $0.arm != nil && periodRuns.contains($0.runID) }
        let armRuns = Set(armGroups.map(\.runID)).sorted()
        let laterRuns = Set(armGroups.filter { $0.later && $0.minutesToRedeem != nil }.map(\.runID)).sorted()
        var rows = try tx.query(
            """
            WITH firsts AS (
                SELECT c.run_id, c.arm, count(*) AS members,
                       count(*) FILTER (WHERE m.last_order_at > r.slot) AS ordered,
                       count(*) FILTER (WHERE c.redeemed_at IS NOT NULL) AS redeemed,
                       count(*) FILTER (WHERE c.redeemed_at IS NOT NULL AND (m.last_order_at > r.slot) IS NOT TRUE)
                           AS redeemed_only
                FROM coupons c
                JOIN job_runs r ON r.id = c.run_id
                LEFT JOIN members m ON m.id = c.member_id
                WHERE c.arm IS NOT NULL AND c.seq = 1 AND c.run_id = ANY($1::bigint[])
                GROUP BY 1, 2
            ), later AS (
                SELECT x.run_id, x.arm, count(*) AS redeemed,
                       count(*) FILTER (WHERE (m.last_order_at > x.slot) IS NOT TRUE) AS redeemed_only
                FROM (
                    SELECT c.run_id, c.arm, c.member_id, r.slot
                    FROM coupons c
                    JOIN job_runs r ON r.id = c.run_id
                    WHERE c.arm IS NOT NULL AND c.seq > 1 AND c.redeemed_at IS NOT NULL AND c.run_id = ANY($2::bigint[])
                      AND NOT EXISTS (
                          SELECT 1 FROM coupons f
                          WHERE f.member_id = c.member_id AND f.run_id = c.run_id AND f.seq = 1 AND f.redeemed_at IS NOT NULL)
                    GROUP BY 1, 2, 3, 4
                ) AS x
                LEFT JOIN members m ON m.id = x.member_id
                GROUP BY 1, 2
            ), held AS (
                SELECT h.run_id, h.arm, count(*) AS members, count(*) FILTER (WHERE m.last_order_at > r.slot) AS responded
                FROM issue_holdouts h
                JOIN job_runs r ON r.id = h.run_id
                LEFT JOIN members m ON m.id = h.member_id
                WHERE h.run_id = ANY($3::bigint[])
                GROUP BY 1, 2
            )
            SELECT r.job, f.arm, false AS holdout, sum(f.members)::bigint AS members,
                   (sum(f.redeemed) + coalesce(sum(l.redeemed), 0))::bigint AS redeemed,
                   (sum(f.ordered) + sum(f.redeemed_only) + coalesce(sum(l.redeemed_only), 0))::bigint AS responded
            FROM firsts f JOIN job_runs r ON r.id = f.run_id LEFT JOIN later l USING (run_id, arm)
            GROUP BY r.job, f.arm
            UNION ALL
            SELECT r.job, h.arm, true, sum(h.members)::bigint, 0::bigint, sum(h.responded)::bigint
            FROM held h JOIN job_runs r ON r.id = h.run_id
            GROUP BY r.job, h.arm
            ORDER BY 1, 3, 2
            """, [armRuns, laterRuns, runIDs]
        ).rows.map { row in
            let members: Int64 = try row.decode("members")
            let redeemed: Int64 = try row.decode("redeemed")
            let responded: Int64 = try row.decode("responded")
            let interval = ReportStatistics.wilson(responded, of: members)
            return ArmRow(
                job: try row.decode("job"), arm: try row.decode("arm"), holdout: try row.decode("holdout"), members: members,
                redeemedMembers: redeemed, redemptionRate: ReportStatistics.rate(redeemed, of: members), responded: responded,
                responseRate: ReportStatistics.rate(responded, of: members), responseLow: interval?.low,
                responseHigh: interval?.high)
        }
        for index in rows.indices where !rows[index].holdout {
            guard let holdout = rows.first(where: { $0.holdout && $0.job == rows[index].job }),
                let lift = ReportStatistics.difference(
                    rows[index].responded, of: rows[index].members, minus: holdout.responded, of: holdout.members)
            else { continue }
            rows[index].liftVsHoldout = lift.difference
            rows[index].liftLow = lift.low
            rows[index].liftHigh = lift.high
        }
        return rows
    }

    /// Coupons still usable at the report's "now", at the face value they have left: a punch
    /// card the share of its uses left (its group shares one face value), others all of it.
    private func liability(_ groups: [CouponFacts.Group], _ period: Period, _ tx: Connection) throws -> Liability {
        let outstanding = groups.filter(\.outstanding)
        var uses: [String: Int64] = [:]  // "key/version" → the template's uses, for punch cards
        if outstanding.contains(where: { $0.usesLeft != nil }) {
            for row in try tx.query("SELECT key || '/' || version AS id, (spec->>'uses')::int AS uses FROM coupon_templates").rows {
                uses[try row.decode("id")] = try row.decodeIfPresent("uses")
            }
        }
        var coupons: Int64 = 0
        var faceValueFen: Int64 = 0
        for group in outstanding {
            coupons += group.coupons
            if let usesLeft = group.usesLeft, let face = group.punchFaceFen,
                let total = uses["\(group.templateKey)/\(group.templateVersion)"], total > 0
            {
                faceValueFen += group.coupons * (face / total * usesLeft)
            } else {
                faceValueFen += group.faceValueFen
            }
        }
        return Liability(
            asOf: period.now, activeCoupons: coupons, outstandingFaceValueFen: faceValueFen,
            reservePercent: options.reservePercent,
            reserveFen: Int64((Double(faceValueFen) * options.reservePercent / 100).rounded()))
    }
}
