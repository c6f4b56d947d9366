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
struct IssueChunkStatement {
    /// The unique index that a race on a limited template collides on.
    static let capConstraint = "coupons_member_template_cap_key"

    let plan: IssuePlan
    let arm: IssuePlan.Arm
    let runID: Int64

    /// `FROM members m WHERE …` for this arm in `[lower, upper)`; also returns the parameters.
    private func eligibility(lower: Int64, upper: Int64, _ p: SQLParameters) -> String {
        var conditions = ["m.id >= \(p.add(lower))", "m.id < \(p.add(upper))"]
        let segment = plan.segment.predicate(alias: "m", firstParameter: p.values.count + 1)
        p.values.append(contentsOf: segment.parameters)
        conditions.append("(\(segment.sql))")
        if plan.arms.count > 1 {
            let bucket = "mod(abs(hashtextextended(m.id::text, \(p.add(plan.armSeed)))), \(p.add(Int64(plan.totalWeight))))"
            conditions.append("\(bucket) >= \(p.add(Int64(arm.bucketFrom))) AND \(bucket) < \(p.add(Int64(arm.bucketTo)))")
        }
        for line in arm.lines {
            if let limit = line.perMemberLimit {
                conditions.append(
                    """
                    (SELECT count(*) FROM coupons c WHERE c.member_id = m.id AND c.template_key = \(p.add(line.templateKey))) \
                    + \(p.add(Int64(line.quantity))) <= \(p.add(Int64(limit)))
                    """)
            }
            if let days = line.reissueAfterDays {
                // A scalar subquery, probed per member through the member_id index: as NOT EXISTS
                // the planner may turn it into an anti join over all of the template's coupons,
                // re-scanned per member while the statistics still think the table is small.
                conditions.append(
                    """
                    coalesce((SELECT max(c.issued_at) FROM coupons c WHERE c.member_id = m.id \
                    AND c.template_key = \(p.add(line.templateKey))), '-infinity') \
                    <= \(p.add(plan.issuedAt))::timestamptz - make_interval(days => \(p.add(days)))
                    """)
            }
        }
        return "FROM members m WHERE " + conditions.joined(separator: "\n  AND ")
    }

    /// Counts the chunk's eligible members (used when stock may run short).
    func countEligible(lower: Int64, upper: Int64) -> (sql: String, parameters: [any PostgresBindable]) {
        let p = SQLParameters()
        let from = eligibility(lower: lower, upper: upper, p)
        return ("SELECT count(*) \(from)", p.values)
    }

    /// Up to `limit` eligible members in id order, for samples.
    func sample(limit: Int) -> (sql: String, parameters: [any PostgresBindable]) {
        let p = SQLParameters()
        let from = eligibility(lower: Int64.min, upper: Int64.max, p)
        return ("SELECT m.id \(from) ORDER BY m.id LIMIT \(p.add(Int64(limit)))", p.values)
    }

    /// Inserts the pack for every eligible member (the first `limit` by id when given). A plain
    /// INSERT … SELECT: the row count comes back in the command tag, with no CTE to materialize.
    func insert(lower: Int64, upper: Int64, limit: Int64?) -> (sql: String, parameters: [any PostgresBindable]) {
        let p = SQLParameters()
        let from = eligibility(lower: lower, upper: upper, p)
        let limitClause = limit.map { "LIMIT \(p.add($0))" } ?? ""
        if arm.holdout {
            return (
                """
                INSERT INTO issue_holdouts (run_id, member_id, arm)
                SELECT \(p.add(runID)), e.id, \(p.add(arm.name ?? "holdout"))
                FROM (SELECT m.id \(from) ORDER BY m.id \(limitClause)) AS e
                ON CONFLICT DO NOTHING
                """, p.values
            )
        }
        // One element per coupon of the pack; seq numbers the coupons of a member's pack.
        var pack = CouponLineArrays()
        var capOffsets: [Int32] = []  // 1…quantity for a limited template's coupons, -1 otherwise
        var faceCases: [String] = []
        var seq: Int32 = 0
        for line in arm.lines {
            for index in 0..<line.quantity {
                seq += 1
                capOffsets.append(line.isLimited ? Int32(index + 1) : -1)
                pack.append(line, seq: seq)
                if let choices = line.blindbox {
                    let salt = p.add(runID &* 1_000 &+ Int64(seq))
                    let draw = CouponPackSQL.blindboxDraw(choices, member: "e.id", salt: salt, p)
                    faceCases.append("WHEN \(p.add(seq)) THEN \(draw)")
                }
            }
        }
        let face = faceCases.isEmpty ? "l.face" : "CASE l.seq \(faceCases.joined(separator: " ")) ELSE l.face END"
        return (
            """
            INSERT INTO coupons (template_key, template_version, member_id, run_id, seq, arm, face_value_fen,
                                 issued_at, valid_from, expires_at, uses_left, cap_seq)
            SELECT l.key, l.version, e.id, \(p.add(runID)), l.seq, \(p.add(arm.name)), \(face),
                   \(p.add(plan.issuedAt)), l.valid_from, l.expires_at, nullif(l.uses_left, -1),
                   CASE WHEN l.cap_offset > 0 THEN l.cap_offset + (
                       SELECT coalesce(max(c.cap_seq), 0) FROM coupons c
                       WHERE c.member_id = e.id AND c.template_key = l.key AND c.cap_seq IS NOT NULL) END
            FROM (SELECT m.id \(from) ORDER BY m.id \(limitClause)) AS e
            CROSS JOIN unnest(\(pack.unnestArguments(p)), \(p.add(capOffsets))::int[])
                AS l(\(CouponLineArrays.columns), cap_offset)
            """, p.values
        )
    }
}

