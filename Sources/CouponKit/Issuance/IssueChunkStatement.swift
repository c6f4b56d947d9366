import Foundation
import Postgres

/// The SQL of one chunk: the members eligible for the job's packs (segment, A/B arm, per-member
/// cap, reissue interval), each given its arm's pack by one `INSERT … SELECT` computed by the
/// server, so no member row travels to the client and back. One statement serves every arm of a
/// chunk (each member's arm drawn once by its hash bucket), or one arm when the arms must run one
/// after another (stock taken as they go).
///
/// The cap and interval checks read committed coupons only; coupons of a limited template also
/// get the member's next `cap_seq`, so a concurrent run that gave the same member the same
/// template first makes the insert fail on `coupons_member_template_cap_key` (see
/// `capConstraint`), and the insert is redone once that run has committed.
///
/// Its plan must not depend on statistics: runs often start on a `coupons` table that was never
/// analyzed or that the run itself grew tenfold. So each limited template's check reads the
/// chunk's range of the cap index once and is joined to the members by a FULL JOIN, which can
/// only be merged or hashed, never re-run per member (see `eligibility`). Chunks run with JIT off
/// (`prepare`): its compile time is paid per statement, and estimates on such a table make every
/// chunk look expensive enough to compile.
struct IssueChunkStatement {
    /// The unique index that a race on a limited template collides on.
    static let capConstraint = "coupons_member_template_cap_key"

    let plan: IssuePlan
    /// The plan's arms this statement serves (indexes into `plan.arms`, ascending).
    let armIndexes: [Int]
    let runID: Int64

    /// A statement for every arm of the plan at once.
    init(plan: IssuePlan, runID: Int64) {
        self.init(plan: plan, armIndexes: Array(plan.arms.indices), runID: runID)
    }

    /// A statement for one arm of the plan.
    init(plan: IssuePlan, arm: IssuePlan.Arm, runID: Int64) {
        self.init(plan: plan, armIndexes: [plan.arms.firstIndex(of: arm) ?? 0], runID: runID)
    }

    init(plan: IssuePlan, armIndexes: [Int], runID: Int64) {
        self.plan = plan
        self.armIndexes = armIndexes
        self.runID = runID
    }

    var arms: [IssuePlan.Arm] { armIndexes.map { plan.arms[$0] } }

    /// Settings for a transaction that runs these statements. JIT off: a chunk statement is short
    /// and runs hundreds of times, so compiling it costs more than it saves, and estimates on a
    /// never-analyzed or fast-grown `coupons` table would have it compiled (tens of ms) every time.
    static func prepare(_ tx: Connection) throws {
        try tx.executeScript(settings)
    }

    static let settings = "SET LOCAL jit = off"

    /// The members a statement considers: a chunk of the member id space, or the members of a
    /// trigger batch's events (at most one event per member), each coupon recording its event.
    enum Members {
        case range(lower: Int64, upper: Int64)
        case events(ids: [Int64], memberIDs: [Int64])
    }

    /// Eligible members as SQL pieces: `from` is `FROM … WHERE …` (limits checked unless
    /// `limits` is false), `id` the member id column, `event` the event column (NULL for a
    /// range), `arm` the member's arm (an index into `plan.arms`), and `capNumbers` the member's
    /// highest cap number per limited template key.
    struct Eligible {
        let from: String
        let id: String
        let event: String
        let arm: String
        let capNumbers: [String: String]
    }

    /// The members of this statement's arms among `members` that may get their arm's pack.
    ///
    /// Each limited template reads the chunk's range of the cap index once, grouped by member
    /// (`max(cap_seq)` is how many of the template's coupons a member has; its `issued_at` is the
    /// last), and is joined to the members by a FULL JOIN: PostgreSQL can only merge or hash a full
    /// join, never run it as a nested loop, so no estimate can turn it into a re-scan per member.
    /// (The full join's extra rows, coupons of members outside the segment, are dropped by a
    /// filter that is deliberately not strict, so the planner keeps the join full.) Arms that
    /// share a template share its read.
    func eligibility(_ members: Members, limits: Bool = true, _ p: SQLParameters) -> Eligible {
        // The member rows, and the same members' rows of the cap index (a range of it, or one
        // probe per event's member).
        let source: String
        let event: String
        var memberConditions: [String]
        let capMembers: String
        switch members {
        case .range(let lower, let upper):
            let (lowerParameter, upperParameter) = (p.add(lower), p.add(upper))
            source = "members m"
            event = "NULL::bigint"
            memberConditions = ["m.id >= \(lowerParameter)", "m.id < \(upperParameter)"]
            capMembers = "c.member_id >= \(lowerParameter) AND c.member_id < \(upperParameter)"
        case .events(let ids, let memberIDs):
            let memberParameter = p.add(memberIDs)
            source = "unnest(\(p.add(ids))::bigint[], \(memberParameter)::bigint[]) AS ev(id, member_id) JOIN members m ON m.id = ev.member_id"
            event = "ev.id"
            memberConditions = []
            capMembers = "c.member_id = ANY(\(memberParameter)::bigint[])"
        }
        let segment = plan.segment.predicate(alias: "m", firstParameter: p.values.count + 1)
        p.values.append(contentsOf: segment.parameters)
        memberConditions.append("(\(segment.sql))")
        // The member's arm, from the same hash bucket whichever arms a statement serves: arms
        // cover consecutive bucket ranges, so the arm is the number of arms after the first
        // whose range starts at or below the bucket.
        // (An index the statement itself chose, so written out rather than bound.)
        var arm = "\(armIndexes.first ?? 0)"
        if plan.arms.count > 1 {
            let bucket = "mod(abs(hashtextextended(m.id::text, \(p.add(plan.armSeed)))), \(p.add(Int64(plan.totalWeight))))"
            if armIndexes.count == 1, let only = arms.first {
                memberConditions.append("\(bucket) >= \(p.add(Int64(only.bucketFrom))) AND \(bucket) < \(p.add(Int64(only.bucketTo)))")
            } else {
                arm = "width_bucket(\(bucket), \(p.add(plan.arms.dropFirst().map { Int64($0.bucketFrom) }))::bigint[])"
            }
        }
        let limitedLines = arms.flatMap(\.lines).filter(\.isLimited)
        guard limits && !limitedLines.isEmpty else {
            return Eligible(
                from: "FROM \(source) WHERE " + memberConditions.joined(separator: "\n  AND "), id: "m.id", event: event,
                arm: arm, capNumbers: [:])
        }
        // One read of the cap index per limited template, whichever arms and lines use it.
        var joins: [String] = []
        var probes: [String: (name: String, key: String)] = [:]
        var capNumbers: [String: String] = [:]
        for line in limitedLines where probes[line.templateKey] == nil {
            let probe = "cap\(probes.count + 1)"
            let key = p.add(line.templateKey)
            probes[line.templateKey] = (probe, key)
            // issued_at needs the heap; without an interval the index alone answers.
            let needsLast = limitedLines.contains { $0.templateKey == line.templateKey && $0.reissueAfterDays != nil }
            let last = needsLast ? ", max(c.issued_at) AS last" : ""
            joins.append(
                """
                FULL JOIN (SELECT c.member_id, max(c.cap_seq) AS n\(last) FROM coupons c
                    WHERE \(capMembers)
                      AND c.template_key = \(key) AND c.cap_seq IS NOT NULL
                    GROUP BY c.member_id) AS \(probe) ON \(probe).member_id = mm.id
                """)
            capNumbers[line.templateKey] = "coalesce(\(probe).n, 0)"
        }
        // Each arm's own checks; with several arms, the member's arm picks them.
        var armConditions: [String] = []
        for (index, armDefinition) in zip(armIndexes, arms) {
            var conditions: [String] = []
            for line in armDefinition.lines where line.isLimited {
                guard let (probe, key) = probes[line.templateKey] else { continue }
                if let limit = line.perMemberLimit {
                    // Coupons issued while the template had no limit carry no number: count them too.
                    let count =
                        line.countsUnnumbered
                        ? "(SELECT count(*) FROM coupons c WHERE c.member_id = mm.id AND c.template_key = \(key))"
                        : "coalesce(\(probe).n, 0)"
                    conditions.append("\(count) + \(p.add(Int64(line.quantity))) <= \(p.add(Int64(limit)))")
                }
                if let days = line.reissueAfterDays {
                    let last =
                        line.countsUnnumbered
                        ? "(SELECT max(c.issued_at) FROM coupons c WHERE c.member_id = mm.id AND c.template_key = \(key))"
                        : "\(probe).last"
                    conditions.append(
                        """
                        coalesce(\(last), '-infinity') <= \(p.add(plan.issuedAt))::timestamptz - make_interval(days => \(p.add(days)))
                        """)
                }
            }
            let all = conditions.isEmpty ? "true" : conditions.joined(separator: "\n  AND ")
            armConditions.append(armIndexes.count == 1 ? all : "WHEN \(index) THEN \(all)")
        }
        let armCheck = armIndexes.count == 1 ? armConditions[0] : "CASE mm.arm \(armConditions.joined(separator: " ")) ELSE false END"
        let chosen =
            "FROM (SELECT m.id, \(event) AS event_id, \(arm) AS arm, true AS present FROM \(source) WHERE \(memberConditions.joined(separator: " AND "))) AS mm"
        let from = ([chosen] + joins).joined(separator: "\n") + "\nWHERE coalesce(mm.present, false)\n  AND " + armCheck
        return Eligible(from: from, id: "mm.id", event: "mm.event_id", arm: "mm.arm", capNumbers: capNumbers)
    }

    /// Counts the chunk's eligible members.
    func countEligible(lower: Int64, upper: Int64) -> (sql: String, parameters: [any PostgresBindable]) {
        countEligible(.range(lower: lower, upper: upper))
    }

    func countEligible(_ members: Members) -> (sql: String, parameters: [any PostgresBindable]) {
        let p = SQLParameters()
        let from = eligibility(members, p).from
        return ("SELECT count(*) \(from)", p.values)
    }

    /// Members per chunk of `size` from `lower` on, as `(chunk, members)` rows: eligible ones, or
    /// with `limits` false those the segment and arm select (an upper bound, with no probes).
    func countPerChunk(lower: Int64, upper: Int64, size: Int64, limits: Bool) -> (
        sql: String, parameters: [any PostgresBindable]
    ) {
        let p = SQLParameters()
        let eligible = eligibility(.range(lower: lower, upper: upper), limits: limits, p)
        return (
            "SELECT ((\(eligible.id) - \(p.add(lower))) / \(p.add(size)))::int AS chunk, count(*) AS members \(eligible.from) GROUP BY 1",
            p.values
        )
    }

    /// Up to `limit` eligible members in id order, for samples.
    func sample(limit: Int) -> (sql: String, parameters: [any PostgresBindable]) {
        let p = SQLParameters()
        let eligible = eligibility(.range(lower: Int64.min, upper: Int64.max), p)
        return ("SELECT \(eligible.id) \(eligible.from) ORDER BY \(eligible.id) LIMIT \(p.add(Int64(limit)))", p.values)
    }

    /// What `insert` did for one arm.
    struct ArmResult: Equatable {
        /// Index into the plan's arms.
        var arm: Int
        /// Members eligible for the arm's pack.
        var eligible: Int64
        /// Members given the pack (or, for the holdout, recorded as held out).
        var members: Int64
    }

    /// What `insert` did for the chunk.
    struct Result: Equatable {
        /// Per arm (index into the plan's arms); arms without eligible members are absent.
        var arms: [Int: ArmResult] = [:]
        /// Members of the chunk's range, eligible or not (when asked for).
        var scanned: Int64?
        /// False when a template's stock (or the run's reservation of it) could not cover what was
        /// written: another run took it meanwhile, and the chunk must be redone.
        var stockTaken = true
    }

    /// Where the coupons of a line are counted: the template's `template_stock` row (its stock
    /// checked when it has one), or the run's reservation of it (`issue_stock_reservations`).
    struct StockDraw {
        var arm: Int
        var key: String
        var quantity: Int64
        var reserved: Bool
    }

    /// Inserts the pack for the first `limit` by id of every eligible member (by event id for events, first come first served).
    func insert(lower: Int64, upper: Int64, limit: Int64?) -> (sql: String, parameters: [any PostgresBindable]) {
        insert(.range(lower: lower, upper: upper), limits: armIndexes.map { _ in limit })
    }

    /// Inserts each eligible member's arm's pack (the holdout's members into `issue_holdouts`),
    /// each coupon recording its event, takes the coupons from stock, and reports per arm how many
    /// members were eligible and served (`Result`, read by `result`). `limits` (one per arm of the
    /// statement, nil for none) caps the members an arm serves: the first by member id (by event
    /// id for events, first come first served). `stock` names where each line's coupons are
    /// counted; `countScanned` adds the number of members in a range.
    ///
    /// One statement, so a chunk costs one round trip however many arms and templates it has: on
    /// a busy server each round trip waits for the client and the backend to be scheduled again.
    /// The eligible members are materialized once, with their arm and cap numbers: the packs'
    /// coupons are joined to them, and with the members on the inner side of that join they would
    /// be found again for every coupon. The writes are data-modifying CTEs, which PostgreSQL runs
    /// to completion whether or not the final SELECT reads them.
    func insert(_ members: Members, limits: [Int64?], stock: [StockDraw] = [], countScanned: Bool = false) -> (
        sql: String, parameters: [any PostgresBindable]
    ) {
        let p = SQLParameters()
        let eligible = eligibility(members, p)
        var order = eligible.id
        if case .events = members { order = eligible.event }
        // One element per coupon of every pack; seq numbers the coupons of a member's pack.
        var pack = CouponLineArrays()
        var packArms: [Int32] = []
        var names: [String?] = []
        var capOffsets: [Int32] = []  // 1…quantity for a limited template's coupons, -1 otherwise
        var capKeys: [Int32] = []  // the template (1-based, in `capKeyOrder`) whose cap number a coupon continues, 0 for none
        let capKeyOrder = eligible.capNumbers.keys.sorted()
        var faceCases: [String] = []
        for (index, arm) in zip(armIndexes, arms) where !arm.holdout {
            var seq: Int32 = 0
            for line in arm.lines {
                for offset in 0..<line.quantity {
                    seq += 1
                    packArms.append(Int32(index))
                    names.append(arm.name)
                    let capKey = eligible.capNumbers[line.templateKey] == nil ? nil : capKeyOrder.firstIndex(of: line.templateKey)
                    capOffsets.append(capKey == nil ? -1 : Int32(offset + 1))
                    capKeys.append(capKey.map { Int32($0 + 1) } ?? 0)
                    pack.append(line, seq: seq)
                    if let choices = line.blindbox {
                        let salt = p.add(runID &* 1_000 &+ Int64(seq))
                        let draw = CouponPackSQL.blindboxDraw(choices, member: "e.id", salt: salt, p)
                        faceCases.append("WHEN \(p.add(Int64(pack.count))) THEN \(draw)")
                    }
                }
            }
        }
        let capColumns = capKeyOrder.enumerated().map { ", \(eligible.capNumbers[$0.element] ?? "0") AS cap\($0.offset + 1)" }.joined()
        // An arm past its limit: each member's place in its arm's id order.
        var chosen = "true"
        var rank = ""
        if limits.contains(where: { $0 != nil }) {
            var perArm = [Int64](repeating: Int64.max, count: plan.arms.count)
            for (index, limit) in zip(armIndexes, limits) { perArm[index] = limit ?? Int64.max }
            rank = ", row_number() OVER (PARTITION BY \(eligible.arm) ORDER BY \(order)) AS rank"
            chosen = "e.rank <= (\(p.add(perArm))::bigint[])[e.arm + 1]"
        }
        let run = p.add(runID)
        // The coupons written, read by the stock update so that it runs after the insert: the
        // stock row stays locked until the chunk commits, and other chunks wait for it.
        var written = "0"
        var statements = ["served AS (SELECT e.arm, count(*) AS eligible, count(*) FILTER (WHERE \(chosen)) AS members FROM e GROUP BY e.arm)"]
        if !pack.keys.isEmpty {
            let face = faceCases.isEmpty ? "l.face" : "CASE l.n \(faceCases.joined(separator: " ")) ELSE l.face END"
            let capSeq =
                capKeyOrder.isEmpty
                ? "NULL::int"
                : "CASE l.cap_key \(capKeyOrder.indices.map { "WHEN \($0 + 1) THEN l.cap_offset + e.cap\($0 + 1)" }.joined(separator: " ")) END"
            statements.append(
                """
                coupons_written AS (
                    INSERT INTO coupons (template_key, template_version, member_id, run_id, seq, arm, face_value_fen,
                                         issued_at, valid_from, expires_at, uses_left, cap_seq, event_id)
                    SELECT l.key, l.version, e.id, \(run), l.seq, nullif(l.arm_name, ''), \(face),
                           \(p.add(plan.issuedAt)), l.valid_from, l.expires_at, nullif(l.uses_left, -1), \(capSeq), e.event_id
                    FROM e JOIN unnest(\(pack.unnestArguments(p)), \(p.add(packArms))::int[], \(p.add(names.map { $0 ?? "" }))::text[],
                                      \(p.add(capOffsets))::int[], \(p.add(capKeys))::int[])
                        WITH ORDINALITY AS l(\(CouponLineArrays.columns), arm, arm_name, cap_offset, cap_key, n)
                        ON l.arm = e.arm
                    WHERE \(chosen)
                    RETURNING 1)
                """)
            written = "(SELECT count(*) FROM coupons_written)"
        }
        var held = "NULL::bigint"
        if let (index, holdout) = zip(armIndexes, arms).first(where: { $0.1.holdout }) {
            statements.append(
                """
                held AS (
                    INSERT INTO issue_holdouts (run_id, member_id, arm)
                    SELECT \(run), e.id, \(p.add(holdout.name ?? "holdout")) FROM e
                    WHERE e.arm = \(index) AND \(chosen)
                    ON CONFLICT DO NOTHING
                    RETURNING 1)
                """)
            held = "CASE WHEN s.arm = \(index) THEN (SELECT count(*) FROM held) END"
        }
        var stockCheck = "true"
        if !stock.isEmpty {
            // Coupons per template, counted where each line's stock is kept; each row must be
            // updated, or stock ran out under another run.
            statements.append(
                """
                drawn AS (
                    SELECT d.key, d.reserved, sum(d.quantity * s.members) AS coupons
                    FROM unnest(\(p.add(stock.map { Int32($0.arm) }))::int[], \(p.add(stock.map(\.key)))::text[],
                                \(p.add(stock.map(\.quantity)))::bigint[], \(p.add(stock.map { Int32($0.reserved ? 1 : 0) }))::int[])
                        AS d(arm, key, quantity, reserved)
                    JOIN served s ON s.arm = d.arm
                    WHERE \(written) >= 0
                    GROUP BY 1, 2 HAVING sum(d.quantity * s.members) > 0),
                stock_taken AS (
                    UPDATE template_stock t SET issued = t.issued + d.coupons FROM drawn d
                    WHERE t.key = d.key AND d.reserved = 0 AND (t.stock IS NULL OR t.issued + d.coupons <= t.stock)
                    RETURNING 1),
                reservation_drawn AS (
                    UPDATE issue_stock_reservations r SET reserved = r.reserved - d.coupons FROM drawn d
                    WHERE r.run_id = \(run) AND r.template_key = d.key AND d.reserved = 1 AND r.reserved >= d.coupons
                    RETURNING 1)
                """)
            stockCheck =
                "(SELECT count(*) FROM drawn) = (SELECT count(*) FROM stock_taken) + (SELECT count(*) FROM reservation_drawn)"
        }
        var scanned = "NULL::bigint"
        if countScanned, case .range(let lower, let upper) = members {
            scanned = "(SELECT count(*) FROM members WHERE id >= \(p.add(lower)) AND id < \(p.add(upper)))"
        }
        // One row per arm with eligible members, and one (arm NULL) for the chunk.
        let sql = """
            WITH e AS MATERIALIZED (
                SELECT \(eligible.id) AS id, \(eligible.event) AS event_id, \(eligible.arm) AS arm\(capColumns)\(rank)
                \(eligible.from)
                ORDER BY \(order)),
            \(statements.joined(separator: ",\n"))
            SELECT s.arm, s.eligible, coalesce(\(held), s.members) AS members, NULL::boolean AS stock_taken
            FROM served s
            UNION ALL
            SELECT NULL, \(scanned), NULL, \(stockCheck)
            """
        return (sql, p.values)
    }

    /// The rows of `insert`'s statement.
    static func result(_ rows: QueryResult) throws -> Result {
        var result = Result()
        for row in rows.rows {
            guard let arm = try row.decodeIfPresent("arm", as: Int32.self) else {
                result.scanned = try row.decodeIfPresent("eligible", as: Int64.self)
                result.stockTaken = try row.decode("stock_taken", as: Bool.self)
                continue
            }
            result.arms[Int(arm)] = ArmResult(
                arm: Int(arm), eligible: try row.decode("eligible", as: Int64.self),
                members: try row.decode("members", as: Int64.self))
        }
        return result
    }
}
