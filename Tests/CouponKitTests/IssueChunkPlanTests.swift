@testable import CouponKit
import Foundation
import Postgres
import TestSupport
import Testing

/// A chunk statement's plan must not depend on statistics: runs start on a `coupons` table that
/// was never analyzed, or whose statistics say it is empty while the run grows it. Whatever the
/// estimates, it is not JIT-compiled, its per-member checks read the cap index (each limited line
/// one range scan of it), and no nested loop re-runs such a read per member.
@Suite struct IssueChunkPlanTests {
    enum TableState: String, CaseIterable, CustomStringConvertible {
        /// Rows written and never analyzed.
        case neverAnalyzed
        /// Analyzed while empty, then filled: the statistics say there is nothing.
        case analyzedEmptyThenFilled
        var description: String { rawValue }
    }

    static func line(_ key: String, perMember: Int?, reissueDays: Int? = nil, quantity: Int = 1) -> IssuePlan.Line {
        IssuePlan.Line(
            templateKey: key, version: 1, quantity: quantity, faceValueFen: 1000, blindbox: nil, usesLeft: nil,
            validFrom: Date(timeIntervalSince1970: 1_795_000_000), expiresAt: Date(timeIntervalSince1970: 1_795_600_000),
            perMemberLimit: perMember, reissueAfterDays: reissueDays, finiteStock: false, unnumberedCoupons: false)
    }

    /// A combo of a capped, an interval-limited and an unlimited template, in two A/B arms.
    static func plan() -> IssuePlan {
        let lines = [line("capped", perMember: 2), line("interval", perMember: nil, reissueDays: 30), line("free", perMember: nil)]
        return IssuePlan(
            segment: ResolvedSegment(asOf: Date(timeIntervalSince1970: 1_795_000_000), condition: .everyone),
            arms: [
                IssuePlan.Arm(name: "a", bucketFrom: 0, bucketTo: 1, holdout: false, lines: lines),
                IssuePlan.Arm(name: "b", bucketFrom: 1, bucketTo: 2, holdout: false, lines: Array(lines.prefix(1))),
            ],
            totalWeight: 2, armSeed: 7, issuedAt: Date(timeIntervalSince1970: 1_795_000_000), warnings: [])
    }

    /// Every plan node, depth first.
    static func nodes(_ node: [String: Any]) -> [[String: Any]] {
        [node] + ((node["Plans"] as? [[String: Any]]) ?? []).flatMap(nodes)
    }

    static func readsCoupons(_ node: [String: Any]) -> Bool {
        (node["Relation Name"] as? String) == "coupons" && (node["Node Type"] as? String) != "ModifyTable"
    }

    @Test(arguments: TableState.allCases)
    func chunkStatementsReadTheCapIndexOnceWithoutJIT(state: TableState) throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try connection.execute(
            "INSERT INTO members (id, registered_at) SELECT g, '2026-01-01Z' FROM generate_series(1, 20000) AS g")
        if state == .analyzedEmptyThenFilled { try connection.execute("ANALYZE coupons") }
        // Earlier runs: 240,000 coupons, enough that a scan of coupons per member would be ruinous.
        try connection.execute(
            """
            INSERT INTO coupons (template_key, template_version, member_id, run_id, seq, face_value_fen, issued_at,
                                 valid_from, expires_at, cap_seq)
            SELECT k, 1, m, r, s, 100, now(), now(), now(), CASE WHEN k = 'free' THEN NULL ELSE r END
            FROM generate_series(1, 20000) AS m, generate_series(1, 6) AS r,
                 (VALUES ('capped', 1), ('interval', 2), ('free', 3), ('other', 4)) AS t(k, s)
            WHERE (m + r) % 2 = 0
            """)
        let jitAvailable = try connection.query("SELECT pg_jit_available()").row(0).decode(0, as: Bool.self)
        // Each arm on its own (when arms take stock as they go), and all arms in one statement: a
        // combo in two arms, and arms of one capped template each (read by one join).
        let statements = [Self.plan(), Self.cappedArmsPlan()].flatMap { plan in
            plan.arms.map { IssueChunkStatement(plan: plan, arm: $0, runID: 99) } + [IssueChunkStatement(plan: plan, runID: 99)]
        }
        for statement in statements {
            let label = statement.arms.map { $0.name ?? "-" }.joined(separator: "+")
            for (name, query) in [
                ("insert", statement.insert(lower: 1, upper: 5001, limit: nil)),
                ("insert up to an allotment", statement.insert(lower: 1, upper: 5001, limit: 1000)),
                ("count", statement.countEligible(lower: 1, upper: 5001)),
                ("count per chunk", statement.countPerChunk(lower: 1, upper: 20001, size: 5000, limits: true)),
            ] {
                let explained = try connection.transaction { tx in
                    // Any statement would be compiled at this threshold, unless the chunk's
                    // settings switch JIT off.
                    try tx.execute("SET LOCAL jit_above_cost = 0")
                    try IssueChunkStatement.prepare(tx)
                    return try tx.query("EXPLAIN (FORMAT JSON) " + query.sql, query.parameters).row(0).decode(0, as: String.self)
                }
                let top = try #require(
                    (try JSONSerialization.jsonObject(with: Data(explained.utf8)) as? [[String: Any]])?.first)
                if jitAvailable { #expect(top["JIT"] == nil, "\(name) of arm \(label) is JIT-compiled") }
                let root = try #require(top["Plan"] as? [String: Any])
                let plan = Self.nodes(root)
                let reads = plan.filter(Self.readsCoupons)
                // One read per limited template, shared by the arms and lines that use it.
                let limited = Set(statement.arms.flatMap(\.lines).filter(\.isLimited).map(\.templateKey)).count
                #expect(reads.count == limited, "\(name) of arm \(label): \(reads.map { $0["Node Type"] ?? "?" })")
                for read in reads {
                    #expect(
                        ["Index Scan", "Index Only Scan"].contains(read["Node Type"] as? String)
                            && read["Index Name"] as? String == IssueChunkStatement.capConstraint,
                        "\(name) reads coupons by \(read["Node Type"] ?? "?") on \(read["Index Name"] ?? "no index")")
                }
                for loop in plan where (loop["Node Type"] as? String) == "Nested Loop" {
                    #expect(!Self.nodes(loop).contains(where: Self.readsCoupons), "\(name) reads coupons inside a nested loop")
                }
            }
        }
    }

    /// An A/B plan whose arms give one coupon each, with the holdout between them (so an arm's
    /// place in the plan and in the pack differ).
    static func onePerArmPlan() -> IssuePlan {
        IssuePlan(
            segment: ResolvedSegment(asOf: Date(timeIntervalSince1970: 1_795_000_000), condition: .everyone),
            arms: [
                IssuePlan.Arm(name: "a", bucketFrom: 0, bucketTo: 1, holdout: false, lines: [line("ta", perMember: 1)]),
                IssuePlan.Arm(name: "hold", bucketFrom: 1, bucketTo: 2, holdout: true, lines: []),
                IssuePlan.Arm(name: "b", bucketFrom: 2, bucketTo: 3, holdout: false, lines: [line("tb", perMember: nil)]),
            ],
            totalWeight: 3, armSeed: 7, issuedAt: Date(timeIntervalSince1970: 1_795_000_000), warnings: [])
    }

    /// A pack of one coupon per arm is picked per member (constants, or by the member's arm),
    /// not hash-joined to an unnest of the pack: with one worker that join was a tenth of the
    /// run's server time. A combo still joins (the test proves the check can fail).
    @Test func onePerArmPacksAreNotJoinedToTheirPack() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try connection.execute(
            "INSERT INTO members (id, registered_at) SELECT g, '2026-01-01Z' FROM generate_series(1, 3000) AS g")
        let single = IssuePlan(
            segment: ResolvedSegment(asOf: Date(timeIntervalSince1970: 1_795_000_000), condition: .everyone),
            arms: [IssuePlan.Arm(name: nil, bucketFrom: 0, bucketTo: 1, holdout: false, lines: [Self.line("free", perMember: nil)])],
            totalWeight: 1, armSeed: 7, issuedAt: Date(timeIntervalSince1970: 1_795_000_000), warnings: [])
        for (label, plan, joined) in [("one coupon", single, false), ("A/B one each", Self.onePerArmPlan(), false), ("combo", Self.plan(), true)] {
            let query = IssueChunkStatement(plan: plan, runID: 99).insert(lower: 1, upper: 3001, limit: nil)
            let explained = try connection.query("EXPLAIN (FORMAT JSON) " + query.sql, query.parameters).row(0).decode(0, as: String.self)
            let top = try #require((try JSONSerialization.jsonObject(with: Data(explained.utf8)) as? [[String: Any]])?.first)
            let nodes = Self.nodes(try #require(top["Plan"] as? [String: Any]))
            let packScan = nodes.contains { ($0["Node Type"] as? String) == "Function Scan" && ($0["Alias"] as? String) == "l" }
            #expect(packScan == joined, "\(label): the pack is \(packScan ? "" : "not ")unnested")
        }
    }

    /// Each member gets its own arm's coupon, and the holdout none, when the pack is picked by arm.
    @Test func onePerArmPacksGiveEachMemberItsArmsCoupon() throws {
        let database = try TestDatabase()
        let connection = try database.connect()
        try connection.execute(
            "INSERT INTO members (id, registered_at) SELECT g, '2026-01-01Z' FROM generate_series(1, 3000) AS g")
        let plan = Self.onePerArmPlan()
        let all = IssueChunkStatement(plan: plan, runID: 99).insert(lower: 1, upper: 3001, limit: nil)
        try connection.transaction { tx in
            try IssueChunkStatement.prepare(tx)
            _ = try tx.query(all.sql, all.parameters)
        }
        let rows = try connection.query(
            """
            SELECT coalesce(c.arm, h.arm) AS arm, c.template_key, c.cap_seq, count(*)::bigint AS members
            FROM members m
            LEFT JOIN coupons c ON c.member_id = m.id AND c.run_id = 99
            LEFT JOIN issue_holdouts h ON h.member_id = m.id AND h.run_id = 99
            GROUP BY 1, 2, 3 ORDER BY 1
            """
        ).rows.map { row in
            "\(try row.decodeIfPresent("arm", as: String.self) ?? "none") \(try row.decodeIfPresent("template_key", as: String.self) ?? "-") \(try row.decodeIfPresent("cap_seq", as: Int32.self).map(String.init) ?? "-")"
        }
        // Three arms of equal weight over 3,000 members: each has some, and nobody is left out.
        #expect(rows == ["a ta 1", "b tb -", "hold - -"])
    }

    /// A/B arms of one limited template each, and a holdout: read together (`cappedArmsPlan`).
    static func cappedArmsPlan() -> IssuePlan {
        IssuePlan(
            segment: ResolvedSegment(asOf: Date(timeIntervalSince1970: 1_795_000_000), condition: .everyone),
            arms: [
                IssuePlan.Arm(name: "a", bucketFrom: 0, bucketTo: 1, holdout: false, lines: [line("ta", perMember: 1)]),
                IssuePlan.Arm(name: "hold", bucketFrom: 1, bucketTo: 2, holdout: true, lines: []),
                IssuePlan.Arm(
                    name: "b", bucketFrom: 2, bucketTo: 3, holdout: false, lines: [line("tb", perMember: 3, reissueDays: 30)]),
                IssuePlan.Arm(name: "c", bucketFrom: 3, bucketTo: 4, holdout: false, lines: [line("tc", perMember: 2)]),
            ],
            totalWeight: 4, armSeed: 7, issuedAt: Date(timeIntervalSince1970: 1_795_000_000), warnings: [])
    }

    /// Arms of one limited template each have their reads of the cap index joined at once, on the
    /// member and its arm's template: each member is still checked against its own arm's
    /// template only, and its coupon continues that template's cap numbers. The oracle is the
    /// same plan run one arm at a time (one read per template), on an identical database.
    @Test func armsOfOneLimitedTemplateEachAreCheckedAgainstTheirOwnTemplate() throws {
        let plan = Self.cappedArmsPlan()
        func outcome(armByArm: Bool) throws -> (coupons: [String], held: Int, counts: [Int: IssueChunkStatement.ArmResult]) {
            let database = try TestDatabase()
            let connection = try database.connect()
            try connection.execute(
                "INSERT INTO members (id, registered_at) SELECT g, '2026-01-01Z' FROM generate_series(1, 4000) AS g")
            // Earlier coupons of every template, to members of every arm: a ta (cap 1 reached in
            // arm a), a tb issued lately (within arm b's 30 days) or long ago, a tc (one of 2).
            try connection.execute(
                """
                INSERT INTO coupons (template_key, template_version, member_id, run_id, seq, face_value_fen, issued_at,
                                     valid_from, expires_at, cap_seq)
                SELECT t.key, 1, m, 1, t.seq, 100, t.issued, t.issued, t.issued + interval '7 days', 1
                FROM generate_series(1, 4000) AS m,
                     (VALUES ('ta', 1, 3, 0, timestamptz '2026-11-01Z'), ('tb', 2, 5, 1, '2026-11-20Z'),
                             ('tb', 3, 5, 2, '2026-01-01Z'), ('tc', 4, 2, 0, '2026-11-01Z')) AS t(key, seq, every, rest, issued)
                WHERE m % t.every = t.rest
                """)
            let statements =
                armByArm
                ? plan.arms.map { IssueChunkStatement(plan: plan, arm: $0, runID: 99) } : [IssueChunkStatement(plan: plan, runID: 99)]
            var counts: [Int: IssueChunkStatement.ArmResult] = [:]
            for statement in statements {
                // Two chunks by range, then a trigger batch's events for members of both.
                for members in [
                    IssueChunkStatement.Members.range(lower: 1, upper: 1501), .range(lower: 1501, upper: 3001),
                    .events(ids: Array(1...1000).map { Int64($0) }, memberIDs: Array(3001...4000).map { Int64($0) }),
                ] {
                    let insert = statement.insert(members, limits: statement.armIndexes.map { _ in nil })
                    let result = try connection.transaction { tx in
                        try IssueChunkStatement.prepare(tx)
                        return try IssueChunkStatement.result(tx.query(insert.sql, insert.parameters))
                    }
                    for (arm, counted) in result.arms {
                        counts[arm, default: IssueChunkStatement.ArmResult(arm: arm, eligible: 0, members: 0)].eligible += counted.eligible
                        counts[arm]?.members += counted.members
                    }
                }
            }
            let coupons = try connection.query(
                """
                SELECT member_id, template_key, cap_seq, arm, event_id FROM coupons WHERE run_id = 99
                ORDER BY member_id, template_key
                """
            ).rows.map { row in
                "\(try row.decode("member_id", as: Int64.self)) \(try row.decode("template_key", as: String.self)) \(try row.decodeIfPresent("cap_seq", as: Int32.self).map(String.init) ?? "-") \(try row.decodeIfPresent("arm", as: String.self) ?? "-") \(try row.decodeIfPresent("event_id", as: Int64.self).map(String.init) ?? "-")"
            }
            let held = try connection.query("SELECT count(*) FROM issue_holdouts WHERE run_id = 99").row(0).decode(0, as: Int64.self)
            return (coupons, Int(held), counts)
        }
        let together = try outcome(armByArm: false)
        let apart = try outcome(armByArm: true)
        #expect(together.coupons == apart.coupons)
        #expect(together.held == apart.held)
        #expect(together.counts == apart.counts)
        // Not vacuous: every arm served some members and refused others, and arm c's coupons
        // continue the members' earlier tc numbers.
        let byTemplate = Dictionary(grouping: together.coupons) { $0.split(separator: " ")[1] }
        #expect(byTemplate.keys.sorted() == ["ta", "tb", "tc"])
        #expect(byTemplate["tc"]?.contains { $0.split(separator: " ")[2] == "2" } == true)
        #expect(byTemplate["tc"]?.contains { $0.split(separator: " ")[2] == "1" } == true)
        #expect(byTemplate["tb"]?.contains { $0.split(separator: " ")[2] == "2" } == true)
        #expect(together.held > 0)
        for arm in [0, 2, 3] { #expect((together.counts[arm]?.members ?? 0) > 0, "arm \(arm) served nobody") }
        // Some members were refused (ta held in arm a, a recent tb in arm b).
        #expect(together.counts.values.reduce(0) { $0 + $1.members } < 4000)
    }
}
