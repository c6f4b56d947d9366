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
        /// Every member of the range is eligible for one of the statement's arms (segment
        /// `everyone`, no per-member check, every arm of the plan): the chunk's eligible members
        /// are then its scanned ones, and need not be counted a second time.
        var coversRange = false
    }

    /// The members of this statement's arms among `members` that may get their arm's pack.
    ///
    /// Each limited template reads the chunk's range of the cap index once, grouped by member
    /// (`max(cap_seq)` is how many of the template's coupons a member has; its `issued_at` is the
    /// last), and is joined to the members by a FULL JOIN: PostgreSQL can only merge or hash a full
    /// join, never run it as a nested loop, so no estimate can turn it into a re-scan per member.
    /// (The full join's extra rows, coupons of members outside the segment, are dropped by a
    /// filter that is deliberately not strict, so the planner keeps the join full.) Arms that
    /// share a template share its read; arms of one limited template each (A/B tests) share one
    /// read of all their templates, joined on the member and its arm's template.
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
                // Wrapped in coalesce (never NULL here) to be deliberately not strict: pulled up
                // under the full joins, it is then computed once by the scan of members, not again
                // by each join condition and filter that reads the arm (the hash of the id's text
                // was most of the chunk statement's extra work over the floor's).
                arm = "coalesce(width_bucket(\(bucket), \(p.add(plan.arms.dropFirst().map { Int64($0.bucketFrom) }))::bigint[]), 0)"
            }
        }
        let limitedLines = arms.flatMap(\.lines).filter(\.isLimited)
        guard limits && !limitedLines.isEmpty else {
            var coversRange = false
            if case .range = members { coversRange = segment.sql == "TRUE" && armIndexes.count == plan.arms.count }
            return Eligible(
                from: "FROM \(source) WHERE " + memberConditions.joined(separator: "\n  AND "), id: "m.id", event: event,
                arm: arm, capNumbers: [:], coversRange: coversRange && limitedLines.isEmpty)
        }
        // The templates' keys, bound once each and only where used.
        var keyParameters: [String: String] = [:]
        func keyParameter(_ key: String) -> String {
            if let bound = keyParameters[key] { return bound }
            let bound = p.add(key)
            keyParameters[key] = bound
            return bound
        }
        var joins: [String] = []
        var probes: [String: String] = [:]
        var capNumbers: [String: String] = [:]
        let limitedKeys = limitedLines.map(\.templateKey).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let limitedKeyByArm = arms.map { arm in Set(arm.lines.filter(\.isLimited).map(\.templateKey)) }
        if armIndexes.count > 1, limitedKeys.count > 1, limitedKeyByArm.allSatisfy({ $0.count <= 1 }) {
            // Arms of one limited template each (an A/B test of one capped coupon per arm): the
            // templates' reads of the cap index (each as when read alone) in one subquery, joined
            // by one full join on the member and its own arm's template, instead of one full join
            // per template, each a pass over the chunk's members.
            let needsLast = limitedLines.contains { $0.reissueAfterDays != nil }
            let keyByArm = plan.arms.indices.map { index -> String in
                guard let position = armIndexes.firstIndex(of: index) else { return "" }
                return limitedKeyByArm[position].first ?? ""
            }
            let reads = limitedKeys.map { key in
                let last = needsLast ? ", max(c.issued_at) AS last" : ""
                return """
                    SELECT c.member_id, c.template_key, max(c.cap_seq) AS n\(last) FROM coupons c
                        WHERE \(capMembers)
                          AND c.template_key = \(keyParameter(key)) AND c.cap_seq IS NOT NULL
                        GROUP BY c.member_id, c.template_key
                    """
            }
            joins.append(
                """
                FULL JOIN (\(reads.joined(separator: "\n    UNION ALL\n"))) AS cap1
                    ON cap1.member_id = mm.id AND cap1.template_key = (\(p.add(keyByArm))::text[])[mm.arm + 1]
                """)
            for key in limitedKeys {
                probes[key] = "cap1"
                capNumbers[key] = "coalesce(cap1.n, 0)"
            }
        } else {
            // One read of the cap index per limited template, whichever arms and lines use it.
            for line in limitedLines where probes[line.templateKey] == nil {
                let probe = "cap\(probes.count + 1)"
                probes[line.templateKey] = probe
                // issued_at needs the heap; without an interval the index alone answers.
                let needsLast = limitedLines.contains { $0.templateKey == line.templateKey && $0.reissueAfterDays != nil }
                let last = needsLast ? ", max(c.issued_at) AS last" : ""
                joins.append(
                    """
                    FULL JOIN (SELECT c.member_id, max(c.cap_seq) AS n\(last) FROM coupons c
                        WHERE \(capMembers)
                          AND c.template_key = \(keyParameter(line.templateKey)) AND c.cap_seq IS NOT NULL
                        GROUP BY c.member_id) AS \(probe) ON \(probe).member_id = mm.id
                    """)
                capNumbers[line.templateKey] = "coalesce(\(probe).n, 0)"
            }
        }
        // Each arm's own checks; with several arms, the member's arm picks them.
        var armConditions: [String] = []
        for (index, armDefinition) in zip(armIndexes, arms) {
            var conditions: [String] = []
            for line in armDefinition.lines where line.isLimited {
                guard let probe = probes[line.templateKey] else { continue }
                if let limit = line.perMemberLimit {
                    // Coupons issued while the template had no limit carry no number: count them too.
                    let count =
                        line.countsUnnumbered
                        ? "(SELECT count(*) FROM coupons c WHERE c.member_id = mm.id AND c.template_key = \(keyParameter(line.templateKey)))"
                        : "coalesce(\(probe).n, 0)"
                    conditions.append("\(count) + \(p.add(Int64(line.quantity))) <= \(p.add(Int64(limit)))")
                }
                if let days = line.reissueAfterDays {
                    let last =
                        line.countsUnnumbered
                        ? "(SELECT max(c.issued_at) FROM coupons c WHERE c.member_id = mm.id AND c.template_key = \(keyParameter(line.templateKey)))"
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
}
