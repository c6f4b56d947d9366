import Foundation
import Postgres
import TestSupport
import Testing

/// A/B arms: each member falls into one arm by weight, the same one in every run of the job;
/// the holdout is recorded and gets nothing; each coupon records its arm.
@Suite struct IssueArmTests {
    static let templates = """
        templates:
          - {key: d7, type: discount, percent_off: 15, max_off_fen: 3000, validity: {days: 7}}
          - {key: d15, type: discount, percent_off: 15, max_off_fen: 3000, validity: {days: 15}}
          - {key: bonus, type: cash, off_fen: 500, validity: {days: 15}}
        """
    static let variants = """
        variants:
          - {name: short, weight: 50, coupons: [{template: d7}]}
          - {name: long, weight: 30, coupons: [{template: d15}, {template: bonus}]}
          - {name: control, weight: 20, holdout: true}
        """
    static let members: Int64 = 20_000

    /// member id -> arm, from coupons and holdouts of one run.
    static func arms(_ fixture: IssueFixture, run: Int64) throws -> [Int64: String] {
        var arms: [Int64: String] = [:]
        for row in try fixture.rows(
            """
            SELECT member_id, arm FROM coupons WHERE run_id = $1
            UNION ALL SELECT member_id, arm FROM issue_holdouts WHERE run_id = $1
            """, [run])
        {
            let member = Int64(row["member_id"] ?? "") ?? 0
            let arm = row["arm"] ?? "?"
            if let earlier = arms[member], earlier != arm { arms[member] = "conflict" } else { arms[member] = arm }
        }
        return arms
    }

    @Test func armsFollowTheirWeightsAndTheHoldoutGetsNothing() throws {
        let fixture = try IssueFixture(
            templates: Self.templates, jobs: [issueJob("recall", chunkSize: 2000, Self.variants)])
        try fixture.addMembers(1...Int(Self.members))
        let result = try fixture.run("recall", ["--workers", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        let run = try #require(try fixture.runRecord("recall"))
        let arms = try Self.arms(fixture, run: run.id)
        // Every member in exactly one arm.
        #expect(arms.count == Int(Self.members))
        #expect(!arms.values.contains("conflict"))
        var sizes: [String: Int64] = [:]
        for arm in arms.values { sizes[arm, default: 0] += 1 }
        #expect(Set(sizes.keys) == ["short", "long", "control"])
        for (arm, weight) in [("short", 0.5), ("long", 0.3), ("control", 0.2)] {
            let expected = Double(Self.members) * weight
            let sigma = (Double(Self.members) * weight * (1 - weight)).squareRoot()
            let got = Double(sizes[arm] ?? 0)
            #expect(abs(got - expected) < 5 * sigma, "arm \(arm): \(got) members, \(expected) expected")
        }
        // Each arm got its own pack, and the holdout nothing.
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE arm = 'short' AND template_key <> 'd7'") == 0)
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE arm = 'long' AND template_key = 'd7'") == 0)
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE arm IS NULL OR arm = 'control'") == 0)
        #expect(Set(try fixture.ints("SELECT count(*) FROM coupons WHERE arm = 'long' GROUP BY member_id")) == [2])
        #expect(
            try fixture.int(
                "SELECT count(*) FROM issue_holdouts h JOIN coupons c ON c.member_id = h.member_id WHERE h.run_id = $1",
                [run.id])
                == 0)
        #expect(run.counts["holdout_members"] == sizes["control"])
        #expect(run.counts["arm.short.members"] == sizes["short"])
        #expect(run.counts["arm.long.members"] == sizes["long"])
        #expect(run.counts["arm.control.members"] == sizes["control"])
        #expect(run.counts["members_issued"] == (sizes["short"] ?? 0) + (sizes["long"] ?? 0))
    }

    @Test func aMembersArmIsTheSameInEveryRunOfTheJob() throws {
        let fixture = try IssueFixture(templates: Self.templates, jobs: [issueJob("recall", Self.variants)])
        try fixture.addMembers(1...3000)
        let slots = ["2026-11-02T03:00:00Z", "2026-11-09T03:00:00Z"]
        for slot in slots {
            let result = try fixture.run("recall", at: slot)
            #expect(result.status == 0, "\(result.stderr)")
        }
        // Kicking an existing slot again is the same run: nothing new is written.
        let before =
            try fixture.int("SELECT count(*) FROM coupons") + fixture.int("SELECT count(*) FROM issue_holdouts")
        let again = try fixture.run("recall", at: slots[0])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("already exists"))
        #expect(
            try fixture.int("SELECT count(*) FROM coupons") + fixture.int("SELECT count(*) FROM issue_holdouts")
                == before)

        let first = try Self.arms(fixture, run: try #require(try fixture.runRecord("recall", at: slots[0])).id)
        let second = try Self.arms(fixture, run: try #require(try fixture.runRecord("recall", at: slots[1])).id)
        #expect(first.count == 3000)
        #expect(first == second)
    }

    @Test func aMembersArmDoesNotDependOnChunkingOrWorkers() throws {
        // The same job in two databases, chunked and parallelised differently: the same arms.
        let a = try IssueFixture(templates: Self.templates, jobs: [issueJob("recall", chunkSize: 100, Self.variants)])
        let b = try IssueFixture(templates: Self.templates, jobs: [issueJob("recall", chunkSize: 5000, Self.variants)])
        try a.addMembers(1...3000)
        try b.addMembers(1...3000)
        #expect(try a.run("recall", ["--workers", "4"]).status == 0)
        #expect(try b.run("recall", ["--workers", "1"]).status == 0)
        #expect(try Self.arms(a, run: 1) == Self.arms(b, run: 1))
    }
}
