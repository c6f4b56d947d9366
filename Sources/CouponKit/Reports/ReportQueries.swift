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
            // Each statement scans the period's coupons once; compiling them (with inlining, as
            // their cost estimates ask) took longer than the scans it would speed up.
            try tx.execute("SET LOCAL jit = off")
            let period = try resolvePeriod(tx)
            let cohortTemplates = try cohort(key: "c.template_key", joins: "", period, tx)
            var rows: [KPIRow] = []
            switch options.by {
            case .template: rows = cohortTemplates.rows
            case .job: rows = try cohort(key: "j.job", joins: "JOIN job_runs j ON j.id = c.run_id", period, tx).rows
            case .segment: rows = try cohort(key: "coalesce(ms.tier, 'unknown')", joins: "LEFT JOIN members ms ON ms.id = c.member_id", period, tx).rows
            case .store: rows = try stores(period, tx)
            case .day, .arm: rows = []
            }
            let templates = cohortTemplates.rows.map { row -> KPIRow in
                var row = row
                row.healthy = row.redemptionRate.map { $0 >= options.healthyRedemptionRate }
                return row
            }
            if options.by == .template { rows = templates }
            let daily = try self.daily(period, tx)
            return CouponReport(
                generatedAt: period.now, timezone: options.timeZone.identifier, from: period.from, to: period.to,
                by: options.by, summary: cohortTemplates.total, rows: rows, daily: daily, templates: templates,
                arms: try arms(period, tx), liability: try liability(period, tx), alerts: alerts(daily),
                healthyRedemptionRate: options.healthyRedemptionRate, alertThreshold: options.alertThreshold)
        }
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

    /// Coupons issued in the period grouped by `key` (an expression over `c` and `joins`), and
    /// the total. Each statement is a plain GROUP BY, which PostgreSQL runs as a parallel hash
    /// aggregate (GROUPING SETS and ordered-set aggregates would not be): the total is the sum of
    /// the groups, and the time to redemption comes back as a histogram of whole minutes per group,
    /// whose median and p90 `MinuteHistogram` interpolates as `percentile_cont` would.
    private func cohort(key: String, joins: String, _ period: Period, _ tx: Connection) throws -> (
        total: KPIRow, rows: [KPIRow]
    ) {
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
        for row in try tx.query(
            """
            SELECT \(key) AS key,
                   \(Self.minutesToRedeem) AS minutes,
                   count(*) AS issued,
                   count(*) FILTER (WHERE \(Self.lapsed("$3"))) AS expired
            FROM coupons c \(joins)
            WHERE c.issued_at >= $1 AND c.issued_at < $2
            GROUP BY 1, 2
            """, [period.start, period.end, period.now]
        ).rows {
            let group: String = try row.decodeIfPresent("key") ?? "-"
            let count: Int64 = try row.decode("issued")
            var side = sides[group] ?? Side()
            side.issued += count
            side.expired += try row.decode("expired")
            if let minutes = try row.decodeIfPresent("minutes", as: Int64.self) {
                side.redeemed += count
                side.minutes.add(minutes, count: count)
            }
            sides[group] = side
        }
        for row in try tx.query(
            """
            SELECT \(key) AS key,
                   count(*) AS redemptions,
                   count(*) FILTER (WHERE m.home_store IS NOT NULL AND r.store <> m.home_store) AS cross_store,
                   coalesce(sum(r.discount_fen), 0)::bigint AS discount_fen,
                   coalesce(sum(r.amount_fen), 0)::bigint AS order_value_fen
            FROM redemptions r
            JOIN coupons c ON c.id = r.coupon_id
            LEFT JOIN members m ON m.id = c.member_id
            \(joins)
            WHERE r.reversed_at IS NULL AND c.issued_at >= $1 AND c.issued_at < $2
              -- Implied (a coupon's redeemed_at is its first unreversed use: set by redeem, reset by a
              -- reversal), but it lets the join hash the redeemed coupons instead of all of them.
              AND c.redeemed_at IS NOT NULL
            GROUP BY 1
            """, [period.start, period.end]
        ).rows {
            let group: String = try row.decodeIfPresent("key") ?? "-"
            var side = sides[group] ?? Side()
            side.redemptions = try row.decode("redemptions")
            side.crossStore = try row.decode("cross_store")
            side.discountFen = try row.decode("discount_fen")
            side.orderValueFen = try row.decode("order_value_fen")
            sides[group] = side
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

    /// A coupon that lapsed unused by `now`: marked expired by the sweep, or still active past
    /// its window because the sweep has not run yet (the report need not wait for it).
    static func lapsed(_ now: String) -> String {
        "c.redeemed_at IS NULL AND (c.status = 'expired' OR (c.status = 'active' AND c.expires_at <= \(now)))"
    }

    /// Uses in the period by the store that redeemed them.
    private func stores(_ period: Period, _ tx: Connection) throws -> [KPIRow] {
        try tx.query(
            """
            SELECT r.store,
                   count(*) AS redemptions,
                   count(*) FILTER (WHERE m.home_store IS NOT NULL AND r.store <> m.home_store) AS cross_store,
                   coalesce(sum(r.discount_fen), 0)::bigint AS discount_fen,
                   coalesce(sum(r.amount_fen), 0)::bigint AS order_value_fen
            FROM redemptions r
            JOIN coupons c ON c.id = r.coupon_id
            LEFT JOIN members m ON m.id = c.member_id
            WHERE r.reversed_at IS NULL AND r.at >= $1 AND r.at < $2
            GROUP BY r.store
            ORDER BY r.store
            """, [period.start, period.end]
        ).rows.map { row in
            KPIRow(
                key: try row.decode("store"), issued: nil, redeemed: nil, expired: nil, medianHoursToRedeem: nil,
                p90HoursToRedeem: nil, redemptions: try row.decode("redemptions"), crossStore: try row.decode("cross_store"),
                discountFen: try row.decode("discount_fen"), orderValueFen: try row.decode("order_value_fen"))
        }
    }

    /// Issued, redeemed and expired per day of the zone, from a week before the period (for
    /// week-over-week changes) to its end; only the period's days are returned.
    private func daily(_ period: Period, _ tx: Connection) throws -> [DailyRow] {
        // The days and the instants they start at in the zone: each coupon's day is then a binary
        // search among those instants (`width_bucket`), not a time zone conversion per row.
        let days = try tx.query(
            """
            SELECT d::date::text AS day, (d::date::timestamp AT TIME ZONE $3)::text AS starts
            FROM generate_series(($1::timestamptz AT TIME ZONE $3)::date, ($2::timestamptz AT TIME ZONE $3)::date - 1,
                                 interval '1 day') AS d
            ORDER BY d
            """, [period.lookbackStart, period.end, options.timeZone.identifier]
        ).rows
        let dayNames: [String] = try days.map { try $0.decode("day") }
        let starts: [String] = try days.map { try $0.decode("starts") }  // timestamptz text, exactly as stored
        var rows = dayNames.map {
            DailyRow(day: $0, issued: 0, redeemed: 0, expired: 0, discountFen: 0, orderValueFen: 0, changes: [:])
        }
        for row in try tx.query(
            """
            WITH per AS (
                -- One scan for both: the day a coupon was issued, and the day it lapsed unused.
                SELECT CASE WHEN c.issued_at >= $1 AND c.issued_at < $2 THEN width_bucket(c.issued_at, $4::timestamptz[]) END
                           AS issued_day,
                       CASE WHEN \(Self.lapsed("$3")) AND c.expires_at >= $1 AND c.expires_at < $2
                            THEN width_bucket(c.expires_at, $4::timestamptz[]) END AS expired_day,
                       count(*) AS n
                FROM coupons c
                WHERE (c.issued_at >= $1 AND c.issued_at < $2) OR (c.expires_at >= $1 AND c.expires_at < $2)
                GROUP BY 1, 2
            )
            SELECT 'issued' AS metric, issued_day AS day, sum(n)::bigint AS n, 0::bigint AS discount_fen,
                   0::bigint AS order_value_fen
            FROM per WHERE issued_day IS NOT NULL GROUP BY 2
            UNION ALL
            SELECT 'expired', expired_day, sum(n)::bigint, 0, 0 FROM per WHERE expired_day IS NOT NULL GROUP BY 2
            UNION ALL
            SELECT 'redeemed', width_bucket(r.at, $4::timestamptz[]), count(*), sum(r.discount_fen)::bigint,
                   sum(r.amount_fen)::bigint
            FROM redemptions r WHERE r.reversed_at IS NULL AND r.at >= $1 AND r.at < $2 GROUP BY 2
            """, [period.lookbackStart, period.end, period.now, starts]
        ).rows {
            // width_bucket counts the starts at or before the instant: day 1 is the first.
            let index = Int(try row.decode("day", as: Int64.self)) - 1
            guard rows.indices.contains(index) else { continue }
            let n: Int64 = try row.decode("n")
            switch try row.decode("metric", as: String.self) {
            case "issued": rows[index].issued = n
            case "expired": rows[index].expired = n
            default:
                rows[index].redeemed = n
                rows[index].discountFen = try row.decode("discount_fen")
                rows[index].orderValueFen = try row.decode("order_value_fen")
            }
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
    private func arms(_ period: Period, _ tx: Connection) throws -> [ArmRow] {
        // The runs first, as an array: the planner then estimates from `run_id`'s statistics and
        // reads their coupons in one parallel scan (a join to a CTE it guessed held one run made
        // it re-read the table once per run). Members per arm, who ordered after the run and who
        // redeemed come from each pack's first coupon (seq 1, one per member); only a combo's
        // later coupons add members who redeemed one of those but not the first. A member who
        // both redeemed and ordered responded once.
        let runIDs = try tx.query("SELECT id FROM job_runs WHERE slot >= $1 AND slot < $2", [period.start, period.end])
            .rows.map { try $0.decode(0, as: Int64.self) }
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
                    WHERE c.arm IS NOT NULL AND c.seq > 1 AND c.redeemed_at IS NOT NULL AND c.run_id = ANY($1::bigint[])
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
                WHERE h.run_id = ANY($1::bigint[])
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
            """, [runIDs]
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

    /// Coupons still usable at the report's "now", at the face value they have left.
    private func liability(_ period: Period, _ tx: Connection) throws -> Liability {
        let row = try tx.query(
            """
            SELECT count(*) AS coupons,
                   coalesce(sum(CASE WHEN c.uses_left IS NOT NULL AND t.uses > 0
                                     THEN c.face_value_fen / t.uses * c.uses_left
                                     ELSE c.face_value_fen END), 0)::bigint AS outstanding
            FROM coupons c
            LEFT JOIN (SELECT key, version, (spec->>'uses')::int AS uses FROM coupon_templates) t
                   ON t.key = c.template_key AND t.version = c.template_version
            WHERE c.status = 'active' AND c.expires_at > $1
            """, [period.now]
        ).row(0)
        let outstanding: Int64 = try row.decode("outstanding")
        return Liability(
            asOf: period.now, activeCoupons: try row.decode("coupons"), outstandingFaceValueFen: outstanding,
            reservePercent: options.reservePercent,
            reserveFen: Int64((Double(outstanding) * options.reservePercent / 100).rounded()))
    }
}
