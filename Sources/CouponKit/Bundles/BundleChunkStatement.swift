import Foundation
import Postgres

/// The SQL of one bundle chunk: read the chunk's subscriptions, record their periods, write the
/// delivered periods' coupons and count them in stock. The read and the write are each one
/// set-based statement (the write over `unnest` arrays), so a chunk costs two round trips besides
/// its settings and commit, however many subscriptions it holds.
enum BundleChunkStatement {
    /// Subscriptions of members `[lower, upper)` on `plans`, each with its last settled period.
    /// All of a member's subscriptions fall in one chunk (chunks split member ids), so the
    /// coupon numbers of a member's run stay unique without looking at other chunks.
    ///
    /// `watermarks` (per plan, in the order of `plans`) spare most subscriptions the probe of
    /// their periods (`BundleWatermark`, migration 0021): one covered by its plan's watermark
    /// comes back `covered` (the runner counts its periods due by the watermark), one created
    /// since comes back with nothing settled, and only the others (changed since, or with a
    /// period waiting for stock) are probed. Nil probes every subscription: dry runs, runs
    /// planned before watermarks, and a chunk redone after a collision.
    static func subscriptions(
        lower: Int64, upper: Int64, plans: [String], watermarks: [BundleWatermark]? = nil, _ connection: Connection
    ) throws -> [SubscriptionRecord] {
        var records: [SubscriptionRecord] = []
        // Which subscriptions need their periods probed is decided here, and the probes are a
        // second statement over just those: a LATERAL probe costs every row of the chunk its
        // rescan even when a one-time filter skips the index (36 ms against 7 ms for 20,000
        // subscriptions, EXPLAIN ANALYZE).
        //
        // Ordered by member only, so the member index's order serves: a tie-break on `id` had the
        // server sort each member's rows again (an incremental sort), 8 of the read's 29 ms of
        // backend CPU per 20,000 subscriptions. `BundleAllocation.decide` puts a member's
        // subscriptions in id order itself.
        //
        // The columns come in binary form, as stored (times as microseconds and dates as days
        // since 2000): no decimal text to make on the server and parse here. A job of one plan
        // (the usual case) compares with that plan's values directly; looking each row's plan up
        // in arrays three times (`array_position`) doubled the server's time for the read
        // (EXPLAIN ANALYZE of 20,000 subscriptions: 12–19 ms against 5–8 ms).
        let marks = watermarks ?? plans.map { _ in BundleWatermark.none }
        let onePlan = plans.count == 1
        let planNumber = onePlan ? "1" : "array_position($3::text[], s.plan)"
        let covered = onePlan ? "$4::text::xid8" : "($4::text[]::xid8[])[\(planNumber)]"
        let fresh = onePlan ? "$5::text::xid8" : "($5::text[]::xid8[])[\(planNumber)]"
        let coverHorizons = marks.map { String($0.coverHorizon) }
        let freshHorizons = marks.map { String($0.freshHorizon) }
        let result = try connection.query(
            """
            SELECT s.id, s.member_id, \(planNumber) AS plan_no, s.started_at, s.paid_through,
                   s.paused_from, s.paused_until, s.ends_on,
                   CASE WHEN $6::boolean OR s.id = ANY((
                            SELECT coalesce(array_agg(DISTINCT w.subscription_id), '{}') FROM bundle_deliveries w
                            WHERE w.status = 'waiting_stock' AND w.member_id >= $1 AND w.member_id < $2)::bigint[]) THEN 0
                        WHEN s.terms_xid < \(covered) THEN 1
                        WHEN s.created_xid > \(fresh) THEN 2
                        ELSE 0 END AS mode
            FROM subscriptions s
            WHERE s.member_id >= $1 AND s.member_id < $2 AND s.plan = \(onePlan ? "$3" : "ANY($3::text[])")
            ORDER BY s.member_id
            """,
            onePlan
                ? [lower, upper, plans[0], coverHorizons[0], freshHorizons[0], watermarks == nil]
                : [lower, upper, plans, coverHorizons, freshHorizons, watermarks == nil],
            binaryResults: true)
        records.reserveCapacity(result.count)
        for row in result.rows {
            let planIndex = Int(try row.binaryInteger(2) ?? 0) - 1
            guard plans.indices.contains(planIndex) else { continue }
            func instant(_ column: Int) throws -> Date? {
                try row.binaryInteger(column).map(PostgresTime.date(microsecondsSince2000:))
            }
            func day(_ column: Int) throws -> CalendarDay? {
                try row.binaryInteger(column).map {
                    let civil = CronCivil.date(days: Int($0) + PostgresTime.daysFrom1970To2000)
                    return CalendarDay(clampingYear: civil.year, month: civil.month, day: civil.day)
                }
            }
            var pause: DateInterval?
            if let from = try instant(5), let until = try instant(6), until >= from {
                pause = DateInterval(start: from, end: until)
            }
            let mode = try row.binaryInteger(8)
            let terms = SubscriptionTerms(
                startedAt: try instant(3) ?? Date.distantPast, paidThrough: try day(4) ?? CalendarDay(clampingYear: 1, month: 1, day: 1),
                pause: pause, endsOn: try day(7))
            records.append(
                SubscriptionRecord(
                    id: try row.binaryInteger(0) ?? 0, memberID: try row.binaryInteger(1) ?? 0,
                    plan: plans[planIndex], terms: terms, settled: 0, covered: mode == 1, probed: mode == 0))
        }
        try probe(&records, connection)
        return records
    }

    /// The last settled and last recorded period of each subscription of `records` marked
    /// `probed`: one backward probe of the periods' primary key each; the last settled one needs
    /// a second probe only when the last period waits for stock.
    private static func probe(_ records: inout [SubscriptionRecord], _ connection: Connection) throws {
        let places = records.indices.filter { records[$0].probed }
        guard !places.isEmpty else { return }
        var ids = SQLIntegerArray(capacity: places.count)
        for place in places { ids.append(records[place].id) }
        let result = try connection.query(
            """
            SELECT coalesce(x.settled, 0) AS settled, coalesce(x.recorded, 0) AS recorded
            FROM unnest($1::bigint[]) WITH ORDINALITY AS p(id, place)
            LEFT JOIN LATERAL (
                SELECT d.period AS recorded,
                       CASE WHEN d.status <> 'waiting_stock' THEN d.period
                            ELSE (SELECT max(w.period) FROM bundle_deliveries w
                                  WHERE w.subscription_id = p.id AND w.status <> 'waiting_stock') END AS settled
                FROM bundle_deliveries d WHERE d.subscription_id = p.id
                ORDER BY d.period DESC LIMIT 1
            ) x ON true
            ORDER BY p.place
            """, [ids.text], binaryResults: true)
        guard result.count == places.count else {
            throw PostgresError(kind: .decoding, message: "the periods' probe returned \(result.count) rows for \(places.count) subscriptions")
        }
        for (row, place) in zip(result.rows, places) {
            records[place].settled = Int(try row.binaryInteger(0) ?? 0)
            records[place].recorded = Int(try row.binaryInteger(1) ?? 0)
        }
    }

    /// What `write` did.
    struct Written {
        var coupons: Int
        var notifications: Int64
    }

    /// The primary key a concurrent run's periods collide on.
    static let periodConstraint = "bundle_deliveries_pkey"

    /// A period waiting for stock that another run settled since the chunk read it: the chunk's
    /// writes are redone (like a collision on `periodConstraint`), and the fresh read sees it settled.
    struct PeriodSettledMeanwhile: Error {}

    /// Records `planned`, writes the coupons of its delivered periods and, with an `outbox`, each
    /// member's `bundle` notification, in one statement of data-modifying CTEs. New periods are a
    /// plain INSERT (an upsert costs about twice as much per row): a period another run recorded
    /// since the chunk read its subscriptions fails on `periodConstraint`. A period waiting for
    /// stock is updated only while it still waits; when another run settled it first,
    /// `PeriodSettledMeanwhile` is thrown. Either way the caller rolls the statement back and
    /// redoes the chunk, so whatever this statement commits is exactly `planned`: the coupons and
    /// notifications need not wait for the periods' RETURNING (joining it back cost a fifth of the
    /// statement).
    ///
    /// The coupons are counted in `template_stock` (`stock`, per template) after they are written,
    /// by a second statement (`stockStatement`): the rows stay locked until the chunk commits, and
    /// other chunks wait for them. Not by a last CTE of this one (issue chunks changed the same
    /// way, `IssueChunkStatement.takeStock`): a statement's unreferenced CTEs run after its main
    /// query, so ordering the count after the inserts meant reading every inserted row back
    /// (`RETURNING 1`, counted), and the 80,000 rows of a 20,000-member chunk went through a
    /// tuplestore that spilled to disk, 25 ms of the chunk's 530 (EXPLAIN ANALYZE).
    ///
    /// With an outbox, the chunk's coupon ids are drawn from the coupons' own sequence before
    /// anything is inserted (`CouponIDs`), so each member's notification takes its ids as a slice of
    /// that array instead of grouping the coupon insert's RETURNING by member (a sort of every
    /// coupon, a tenth of the statement).
    static func write(
        _ unordered: [PlannedDelivery], plan runPlan: BundleRunPlan, runID: Int64, stock: [(key: String, count: Int64)],
        outbox: BundleOutbox?, _ tx: Connection
    ) throws -> Written {
        try run(try prepareWrite(unordered, plan: runPlan, runID: runID, stock: stock, outbox: outbox), tx)
    }

    /// The write statement of a chunk, built before it is sent (a chunk read ahead builds it
    /// while the chunk before it writes). Nil when nothing is planned.
    struct PreparedWrite {
        let sql: String
        let values: [any PostgresBindable]
        let stockKeys: [String]
        let stockCounts: [Int64]
        let coupons: Int
    }

    /// Counts a chunk's coupons in `template_stock`, per template; returns the templates counted.
    static let stockStatement = """
        WITH taken AS (
            UPDATE template_stock t SET issued = t.issued + d.coupons
            FROM unnest($1::text[], $2::bigint[]) AS d(key, coupons)
            WHERE t.key = d.key AND (t.stock IS NULL OR t.issued + d.coupons <= t.stock)
            RETURNING 1
        )
        SELECT count(*) FROM taken
        """

    /// Sends `prepared` and checks what it reports (see `write`).
    static func run(_ prepared: PreparedWrite?, _ tx: Connection) throws -> Written {
        guard let prepared else { return Written(coupons: 0, notifications: 0) }
        let row = try tx.query(prepared.sql, prepared.values).row(0)
        if try row.decode(0, as: Int64.self) > 0 { throw PeriodSettledMeanwhile() }
        let notifications = try row.decode(1, as: Int64.self)
        // The coupons are counted in stock by a statement of their own, after they are written (see `write`).
        if !prepared.stockKeys.isEmpty {
            let taken = try tx.query(stockStatement, [prepared.stockKeys, prepared.stockCounts])
                .row(0).decode(0, as: Int64.self)
            // Another run took the stock first (or the template has less now): the engine redoes the chunk.
            guard taken == prepared.stockKeys.count else {
                throw IssueExecutor.StockContention(key: prepared.stockKeys.joined(separator: ", "))
            }
        }
        return Written(coupons: prepared.coupons, notifications: notifications)
    }

    static func prepareWrite(
        _ unordered: [PlannedDelivery], plan runPlan: BundleRunPlan, runID: Int64, stock: [(key: String, count: Int64)],
        outbox: BundleOutbox?
    ) throws -> PreparedWrite? {
        guard !unordered.isEmpty else { return nil }
        let layout = CouponIDs(unordered)
        let planned = layout.planned
        let p = SQLParameters()
        let run = p.add(runID)
        let lines = couponLines(runPlan, run: run, p)
        // Integers only, as array text built byte by byte: the plan as its index in `plans`, the
        // due time as its index in `dues` (a chunk has few distinct ones), the status and whether
        // the period's row exists as one code.
        let planKeys = runPlan.plans.map(\.key)
        let planIndex = Dictionary(uniqueKeysWithValues: planKeys.enumerated().map { ($1, $0 + 1) })
        var dues: [Date] = []
        var dueIndex: [Date: Int] = [:]
        let statuses: [PlannedDelivery.Status] = [.delivered, .skipped, .waitingStock]
        // One pass over the periods fills every column (a pass per column copied each period once more).
        // The coupons' places in the chunk's ids (`first_id`) only matter with an outbox.
        // Separate variables, not an array of columns: appending through an array's element
        // retained and released its storage for every value.
        var subscriptionIDs = SQLIntegerArray(capacity: planned.count)
        var periods = SQLIntegerArray(capacity: planned.count)
        var memberIDs = SQLIntegerArray(capacity: planned.count)
        var planNumbers = SQLIntegerArray(capacity: planned.count)
        var dueNumbers = SQLIntegerArray(capacity: planned.count)
        var codes = SQLIntegerArray(capacity: planned.count)
        var couponCounts = SQLIntegerArray(capacity: planned.count)
        var seqBases = SQLIntegerArray(capacity: planned.count)
        var firstIDs = SQLIntegerArray(capacity: outbox == nil ? 0 : planned.count)
        // Neighbouring periods mostly share their plan and due time: the last ones are kept to
        // skip hashing them again.
        var lastDue: (at: Date, number: Int)?
        var lastPlan: (key: String, number: Int)?
        for (delivery, first) in zip(planned, layout.firsts) {
            let due: Int
            if let lastDue, lastDue.at == delivery.dueAt {
                due = lastDue.number
            } else if let known = dueIndex[delivery.dueAt] {
                due = known
            } else {
                dues.append(delivery.dueAt)
                due = dues.count
                dueIndex[delivery.dueAt] = due
            }
            lastDue = (delivery.dueAt, due)
            let plan: Int
            if let lastPlan, lastPlan.key == delivery.plan {
                plan = lastPlan.number
            } else {
                plan = planIndex[delivery.plan] ?? 0
            }
            lastPlan = (delivery.plan, plan)
            let status: Int
            switch delivery.status {
            case .delivered: status = 0
            case .skipped: status = 1
            case .waitingStock: status = 2
            }
            subscriptionIDs.append(delivery.subscriptionID)
            periods.append(delivery.period)
            memberIDs.append(delivery.memberID)
            planNumbers.append(plan)
            dueNumbers.append(due)
            codes.append(status + (delivery.retry ? 10 : 0))
            couponCounts.append(delivery.coupons)
            seqBases.append(delivery.seqBase)
            if outbox != nil { firstIDs.append(first) }
        }
        // A column whose periods all hold one value (a chunk's periods mostly share their due
        // time, status, coupon count and numbering) is sent as that value, not as an array the
        // server parses and unnests 20,000 times. Not the plan's number, which joins the periods
        // to their plan's lines (an integer join, not text): with it sent as one value, `perf` of a
        // run showed the backend moving index items in B-tree inserts (memmove under
        // _bt_doinsert, 2% of its CPU), which runs with it as an array do not show.
        var columns: [(values: SQLIntegerArray, name: String, type: String)] = [
            (subscriptionIDs, "subscription_id", "bigint"), (periods, "period", "int"), (memberIDs, "member_id", "bigint"),
            (planNumbers, "plan_no", "int"), (dueNumbers, "due_no", "int"), (codes, "code", "int"),
            (couponCounts, "coupons", "int"), (seqBases, "seq_base", "int"),
        ]
        if outbox != nil { columns.append((firstIDs, "first_id", "int")) }
        let arrays = columns.filter { $0.values.single == nil || $0.name == "plan_no" }
        let constants = columns.filter { $0.values.single != nil && $0.name != "plan_no" }.compactMap { column in
            column.values.single.map { "\(p.add($0))::\(column.type) AS \(column.name)" }
        }
        // The arrays are unnested in the select list (a ProjectSet node streaming them in
        // lockstep), not in FROM, where each array's elements went into a tuplestore first:
        // EXPLAIN ANALYZE of three arrays of 20,000, 3.5–3.9 ms against 9.9–10.6 ms, and `i`
        // is scanned twice a chunk.
        let unnested = arrays.map { "unnest(\(p.add($0.values.text))::\($0.type)[]) AS \($0.name)" }
        let rows = """
            (SELECT \(unnested.joined(separator: ", "))) AS i\(constants.isEmpty ? "" : """

                CROSS JOIN (SELECT \(constants.joined(separator: ", "))) AS k
                """)
            """
        let input = """
            SELECT subscription_id, period, member_id, plan_no, (\(p.add(planKeys))::text[])[plan_no] AS plan,
                   (\(p.add(dues))::timestamptz[])[due_no] AS due_at,
                   (\(p.add(statuses.map(\.rawValue)))::text[])[code % 10 + 1] AS status, code, code >= 10 AS retry, coupons,
                   seq_base\(outbox == nil ? "" : ", first_id")
            FROM \(rows)
            """
        // With an outbox: every coupon's id, drawn in one go; coupon `seq` of a period takes
        // ids[first_id + seq - 1].
        let ids = outbox == nil ? "" : """
            ,
            ids AS (
                SELECT array_agg(nextval((SELECT pg_get_serial_sequence('coupons', 'id')::regclass))) AS a
                FROM generate_series(1, \(p.add(Int64(layout.total))))
            )
            """
        // Periods waiting for stock are updated while they still wait; the statement counts those
        // another run settled first. Left out when the chunk has none (nearly always): planning
        // and scanning them cost a few milliseconds a chunk.
        let retries = planned.contains(where: \.retry)
        let retried = !retries ? "" : """
            retried AS (
                UPDATE bundle_deliveries AS w
                SET status = i.status, run_id = \(run), coupons = i.coupons, recorded_at = now()
                FROM i
                WHERE i.retry AND w.subscription_id = i.subscription_id AND w.period = i.period AND w.status = 'waiting_stock'
                RETURNING w.subscription_id, w.period
            ),
            """
        let unsettled = """
            (SELECT count(*) FROM i WHERE i.retry AND NOT EXISTS (
                SELECT 1 FROM retried r WHERE r.subscription_id = i.subscription_id AND r.period = i.period))
            """
        let notified = try outbox.map {
            ",\nn AS (\n\(try $0.insert(layout, ids: "(SELECT a FROM ids)", plan: runPlan, p))\nRETURNING 1\n)"
        }
        // `i` is not materialized: each statement that reads it unnests the arrays again (cheap),
        // and a column sent as one value folds into the scan that reads it. Materialized, the
        // coupons' join read the periods back from a tuplestore and compared each status as text:
        // EXPLAIN ANALYZE of a 20,000-subscription chunk put the join's input at 32 ms, against
        // 11 ms unnested again. The coupons take delivered periods by status code, a filter that
        // folds away when every period of the chunk has one status.
        let sql = """
            WITH i AS NOT MATERIALIZED (\(input))\(ids),
            inserted AS (
                INSERT INTO bundle_deliveries (subscription_id, period, member_id, plan, due_at, status, run_id, coupons)
                SELECT i.subscription_id, i.period, i.member_id, i.plan, i.due_at, i.status, \(run), i.coupons
                FROM i WHERE NOT i.retry
            ),
            \(retried)
            c AS (
                INSERT INTO coupons (\(outbox == nil ? "" : "id, ")template_key, template_version, member_id, run_id, seq, label,
                                     face_value_fen, issued_at, valid_from, expires_at, uses_left)
                SELECT \(outbox == nil ? "" : "(SELECT a FROM ids)[i.first_id + l.seq - 1], ")l.key, l.version, i.member_id, \(run),
                       i.seq_base + l.seq, nullif(l.label, ''), \(lines.face),
                       \(p.add(runPlan.issuedAt)), l.valid_from, l.expires_at, nullif(l.uses_left, -1)
                FROM i
                JOIN \(lines.from) ON l.plan_no = i.plan_no AND (l.welcome = 0 OR i.period = 1)
                WHERE i.code % 10 = 0
            )\(notified ?? "")
            SELECT \(retries ? unsettled : "0")::bigint,
                   \(notified == nil ? "0" : "(SELECT count(*) FROM n)")::bigint
            """
        return PreparedWrite(
            sql: sql, values: p.values, stockKeys: stock.map(\.key), stockCounts: stock.map(\.count), coupons: layout.total)
    }

    /// Where each delivered period's coupons fall in the chunk's array of coupon ids: periods in
    /// member, subscription and period order (as `BundleAllocation.decide` returns them), so a
    /// member's coupons are one run of the array, in coupon number order.
    struct CouponIDs {
        /// The chunk's periods in that order.
        let planned: [PlannedDelivery]
        /// Per period of `planned`, the 1-based place of its first coupon (0 when not delivered).
        let firsts: [Int64]
        /// Coupons of the chunk.
        let total: Int

        init(_ unordered: [PlannedDelivery]) {
            func before(_ a: PlannedDelivery, _ b: PlannedDelivery) -> Bool {
                (a.memberID, a.subscriptionID, a.period) < (b.memberID, b.subscriptionID, b.period)
            }
            let inOrder = zip(unordered, unordered.dropFirst()).allSatisfy { !before($1, $0) }
            planned = inOrder ? unordered : unordered.sorted(by: before)
            var firsts: [Int64] = []
            firsts.reserveCapacity(planned.count)
            var next = 1
            for delivery in planned {
                guard delivery.status == .delivered else {
                    firsts.append(0)
                    continue
                }
                firsts.append(Int64(next))
                next += delivery.coupons
            }
            self.firsts = firsts
            total = next - 1
        }
    }

    /// Every coupon line of every plan as one `unnest` (`l`), with the face value expression
    /// (blind boxes drawn per run, member and seq). `seq` numbers a period's coupons 1…n,
    /// welcome last; `line` tells the lines apart for the draws.
    private static func couponLines(_ runPlan: BundleRunPlan, run: String, _ p: SQLParameters) -> (from: String, face: String) {
        var plans: [Int32] = []  // the plan's place in `runPlan.plans`, 1-based, as `plan_no` of the periods
        var welcome: [Int32] = []
        var labels: [String] = []
        var pack = CouponLineArrays()
        var faceCases: [String] = []
        for (number, plan) in runPlan.plans.enumerated() {
            var seq: Int32 = 0
            for (isWelcome, lines) in [(false, plan.coupons), (true, plan.welcome)] {
                for line in lines {
                    for _ in 0..<line.quantity {
                        seq += 1
                        plans.append(Int32(number + 1))
                        welcome.append(isWelcome ? 1 : 0)
                        labels.append(plan.label ?? "")
                        pack.append(line, seq: seq)
                        if let choices = line.blindbox {
                            let salt = "(\(run)::bigint * 1000 + i.seq_base + l.seq)"
                            let draw = CouponPackSQL.blindboxDraw(choices, member: "i.member_id", salt: salt, p)
                            faceCases.append("WHEN \(p.add(Int32(pack.count))) THEN \(draw)")
                        }
                    }
                }
            }
        }
        let face = faceCases.isEmpty ? "l.face" : "CASE l.line \(faceCases.joined(separator: " ")) ELSE l.face END"
        let from = """
            unnest(\(p.add(plans))::int[], \(p.add(welcome))::int[], \(p.add(labels))::text[], \(pack.unnestArguments(p)))
                WITH ORDINALITY AS l(plan_no, welcome, label, \(CouponLineArrays.columns), line)
            """
        return (from, face)
    }
}
