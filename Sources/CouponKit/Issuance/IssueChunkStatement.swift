import Foundation
import Postgres

/// The SQL of one arm of one chunk: eligible members (segment, arm bucket, per-member cap,
/// reissue interval) joined with the arm's pack and inserted server-side with
/// `INSERT … SELECT`, so no member row travels to the client and back.
///
/// The cap and interval checks read committed coupons only; coupons of a limited template also
/// get the member's next `cap_seq`, so a concurrent run that gave the same member the same
/// template first makes the insert fail on `coupons_member_template_cap_key` (see
/// `capConstraint`), and the insert is redone once that run has committed.
///
/// Its plan must not depend on statistics: runs often start on a `coupons` table that was never
/// analyzed or that the run itself grew tenfold. So each limited line is one probe of the cap
/// index per member, a `LATERAL … ORDER BY cap_seq DESC LIMIT 1` that can only be planned as a
/// parameterized index scan, and it answers the cap (the highest number is the count), the
/// interval (that coupon's issue time) and the next number at once. Chunks run with JIT off
/// (`IssueExecutor`): its compile time is paid per statement, and estimates on such a table
/// make every chunk look expensive enough to compile.
struct IssueChunkStatement {
    /// The unique index that a race on a limited template collides on.
    static let capConstraint = "coupons_member_template_cap_key"

    let plan: IssuePlan
    let arm: IssuePlan.Arm
    let runID: Int64

    /// Settings for a transaction that runs these statements. JIT off: a chunk statement is short
    /// and runs hundreds of times, so compiling it costs more than it saves, and estimates on a
    /// never-analyzed or fast-grown `coupons` table would have it compiled (tens of ms) every time.
    static func prepare(_ tx: Connection) throws {
        try tx.execute("SET LOCAL jit = off")
    }

    /// The members a statement considers: a chunk of the member id space, or the members of a
    /// trigger batch's events (at most one event per member), each coupon recording its event.
    enum Members {
        case range(lower: Int64, upper: Int64)
        case events(ids: [Int64], memberIDs: [Int64])
    }

    /// The members of this arm among `members` that may get its pack: `from` is `FROM … WHERE …`
    /// (limits checked unless `limits` is false), `id` the member id column, `event` the event
    /// column (NULL for a range), and `capNumbers` the member's highest cap number per line (nil
    /// for unlimited lines).
    ///
    /// Each limited line reads the chunk's range of the cap index once, grouped by member
    /// (`max(cap_seq)` is how many of the template's coupons a member has; its `issued_at` is the
    /// last), and is joined to the members by a FULL JOIN: PostgreSQL can only merge or hash a full
    /// join, never run it as a nested loop, so no estimate can turn it into a re-scan per member.
    /// (The full join's extra rows, coupons of members outside the segment, are dropped by a
    /// filter that is deliberately not strict, so the planner keeps the join full.)
    func eligibility(_ members: Members, limits: Bool = true, _ p: SQLParameters)
        -> (from: String, id: String, event: String, capNumbers: [String?])
    {
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
        if plan.arms.count > 1 {
            let bucket = "mod(abs(hashtextextended(m.id::text, \(p.add(plan.armSeed)))), \(p.add(Int64(plan.totalWeight))))"
            memberConditions.append("\(bucket) >= \(p.add(Int64(arm.bucketFrom))) AND \(bucket) < \(p.add(Int64(arm.bucketTo)))")
        }
        let limited = limits && arm.lines.contains(where: \.isLimited)
        guard limited else {
            return ("FROM \(source) WHERE " + memberConditions.joined(separator: "\n  AND "), "m.id", event, arm.lines.map { _ in nil })
        }
        var joins: [String] = []
        var conditions = ["coalesce(mm.present, false)"]
        var capNumbers: [String?] = []
        for (index, line) in arm.lines.enumerated() {
            guard line.isLimited else {
                capNumbers.append(nil)
                continue
            }
            let probe = "cap\(index + 1)"
            let key = p.add(line.templateKey)
            // issued_at needs the heap; without an interval the index alone answers.
            let last = line.reissueAfterDays == nil ? "" : ", max(c.issued_at) AS last"
            joins.append(
                """
                FULL JOIN (SELECT c.member_id, max(c.cap_seq) AS n\(last) FROM coupons c
                    WHERE \(capMembers)
                      AND c.template_key = \(key) AND c.cap_seq IS NOT NULL
                    GROUP BY c.member_id) AS \(probe) ON \(probe).member_id = mm.id
                """)
            capNumbers.append("coalesce(\(probe).n, 0)")
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
        let chosen = "FROM (SELECT m.id, \(event) AS event_id, true AS present FROM \(source) WHERE \(memberConditions.joined(separator: " AND "))) AS mm"
        let from = ([chosen] + joins).joined(separator: "\n") + "\nWHERE " + conditions.joined(separator: "\n  AND ")
        return (from, "mm.id", "mm.event_id", capNumbers)
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
        let (from, id, _, _) = eligibility(.range(lower: lower, upper: upper), limits: limits, p)
        return ("SELECT ((\(id) - \(p.add(lower))) / \(p.add(size)))::int AS chunk, count(*) AS members \(from) GROUP BY 1", p.values)
    }

    /// Up to `limit` eligible members in id order, for samples.
    func sample(limit: Int) -> (sql: String, parameters: [any PostgresBindable]) {
        let p = SQLParameters()
        let (from, id, _, _) = eligibility(.range(lower: Int64.min, upper: Int64.max), p)
        return ("SELECT \(id) \(from) ORDER BY \(id) LIMIT \(p.add(Int64(limit)))", p.values)
    }

    /// Inserts the pack for every eligible member (the first `limit` by id when given). A plain
    /// INSERT … SELECT: the row count comes back in the command tag, with no CTE to materialize.
    func insert(lower: Int64, upper: Int64, limit: Int64?) -> (sql: String, parameters: [any PostgresBindable]) {
        insert(.range(lower: lower, upper: upper), limit: limit)
    }

    /// Inserts the pack for every eligible member of `members`: the first `limit` by member id
    /// (by event id for events, first come first served), each coupon recording its event.
    func insert(_ members: Members, limit: Int64?) -> (sql: String, parameters: [any PostgresBindable]) {
        let p = SQLParameters()
        let (from, id, event, capNumbers) = eligibility(members, p)
        var order = id
        if case .events = members { order = event }
        let limitClause = limit.map { "LIMIT \(p.add($0))" } ?? ""
        if arm.holdout {
            return (
                """
                INSERT INTO issue_holdouts (run_id, member_id, arm)
                SELECT \(p.add(runID)), e.id, \(p.add(arm.name ?? "holdout"))
                FROM (SELECT \(id) AS id \(from) ORDER BY \(order) \(limitClause)) AS e
                ON CONFLICT DO NOTHING
                """, p.values
            )
        }
        // One element per coupon of the pack; seq numbers the coupons of a member's pack.
        var pack = CouponLineArrays()
        var capOffsets: [Int32] = []  // 1…quantity for a limited template's coupons, -1 otherwise
        var capLines: [Int32] = []  // the line whose cap number a coupon continues (1-based), 0 for none
        var faceCases: [String] = []
        var seq: Int32 = 0
        for (lineIndex, line) in arm.lines.enumerated() {
            for index in 0..<line.quantity {
                seq += 1
                capOffsets.append(line.isLimited ? Int32(index + 1) : -1)
                capLines.append(line.isLimited ? Int32(lineIndex + 1) : 0)
                pack.append(line, seq: seq)
                if let choices = line.blindbox {
                    let salt = p.add(runID &* 1_000 &+ Int64(seq))
                    let draw = CouponPackSQL.blindboxDraw(choices, member: "e.id", salt: salt, p)
                    faceCases.append("WHEN \(p.add(seq)) THEN \(draw)")
                }
            }
        }
        let face = faceCases.isEmpty ? "l.face" : "CASE l.seq \(faceCases.joined(separator: " ")) ELSE l.face END"
        let numbered = capNumbers.enumerated().compactMap { index, number in number.map { (index + 1, $0) } }
        let capColumns = numbered.map { ", \($0.1) AS cap\($0.0)" }.joined()
        let capSeq =
            numbered.isEmpty
            ? "NULL::int"
            : "CASE l.cap_line \(numbered.map { "WHEN \($0.0) THEN l.cap_offset + e.cap\($0.0)" }.joined(separator: " ")) END"
        // Materialized: the pack's coupons are joined to the members with a nested loop, and
        // with the members on its inner side they would be found again for every coupon.
        return (
            """
            WITH e AS MATERIALIZED (SELECT \(id) AS id, \(event) AS event_id\(capColumns) \(from) ORDER BY \(order) \(limitClause))
            INSERT INTO coupons (template_key, template_version, member_id, run_id, seq, arm, face_value_fen,
                                 issued_at, valid_from, expires_at, uses_left, cap_seq, event_id)
            SELECT l.key, l.version, e.id, \(p.add(runID)), l.seq, \(p.add(arm.name)), \(face),
                   \(p.add(plan.issuedAt)), l.valid_from, l.expires_at, nullif(l.uses_left, -1), \(capSeq), e.event_id
            FROM e CROSS JOIN unnest(\(pack.unnestArguments(p)), \(p.add(capOffsets))::int[], \(p.add(capLines))::int[])
                AS l(\(CouponLineArrays.columns), cap_offset, cap_line)
            """, p.values
        )
    }
}
