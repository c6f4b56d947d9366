import Foundation
import Postgres
import TestSupport
import Testing

/// `per_member` (a lifetime cap) and `reissue_after_days` hold across the runs of a job and
/// across jobs that issue the same template.
@Suite struct IssueLimitsTests {
    static let weeks = ["2026-11-02T02:00:00Z", "2026-11-09T02:00:00Z", "2026-11-16T02:00:00Z", "2026-11-23T02:00:00Z"]

    @Test func perMemberCapStopsIssuanceAfterTheCapAcrossRuns() throws {
        let fixture = try IssueFixture(
            templates: "templates:\n  - {key: capped, type: cash, off_fen: 500, validity: {days: 3}, per_member: 2}",
            jobs: [issueJob("weekly", "coupons:\n  - {template: capped}")])
        try fixture.addMembers(1...300)
        for week in Self.weeks {
            let result = try fixture.run("weekly", at: week)
            #expect(result.status == 0, "\(result.stderr)")
        }
        #expect(Set(try fixture.couponsPerMember(template: "capped").values) == [2])
        #expect(try fixture.couponsPerMember(template: "capped").count == 300)
        let issuedPerRun = try Self.weeks.map { try fixture.runRecord("weekly", at: $0)?.counts["members_issued"] ?? 0 }
        #expect(issuedPerRun == [300, 300, 0, 0])
        // A capped member is not counted as a stock shortage.
        #expect(try fixture.runRecord("weekly", at: Self.weeks[2])?.counts["stock_exhausted"] == nil)
    }

    @Test func aPackThatWouldPassTheCapIsNotIssuedAtAll() throws {
        let fixture = try IssueFixture(
            templates: """
                templates:
                  - {key: capped, type: cash, off_fen: 500, validity: {days: 3}, per_member: 3}
                  - {key: free, type: cash, off_fen: 100, validity: {days: 3}}
                """,
            jobs: [issueJob("weekly", "coupons:\n  - {template: capped, quantity: 2}\n  - {template: free}")])
        try fixture.addMembers(1...150)
        for week in Self.weeks.prefix(2) {
            #expect(try fixture.run("weekly", at: week).status == 0)
        }
        // 2 + 2 > 3: the second run gives nothing, not even the uncapped coupon of the pack.
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE template_key = 'capped'") == 300)
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE template_key = 'free'") == 150)
        #expect(try fixture.runRecord("weekly", at: Self.weeks[1])?.counts["coupons_issued"] ?? 0 == 0)
    }

    @Test func reissueIsAllowedAgainOnlyOnceTheIntervalHasPassed() throws {
        let fixture = try IssueFixture(
            templates:
                "templates:\n  - {key: recall, type: cash, off_fen: 500, validity: {days: 3}, reissue_after_days: 7}",
            jobs: [issueJob("recall", "coupons:\n  - {template: recall}")])
        try fixture.addMembers(1...120)
        let slots = [
            "2026-11-01T02:00:00Z",  // first
            "2026-11-04T02:00:00Z",  // 3 days later: too soon
            "2026-11-08T01:59:59Z",  // a second short of 7 days: too soon
            "2026-11-08T02:00:00Z",  // 7 days: allowed again
            "2026-11-10T02:00:00Z",  // 2 days after that: too soon
            "2026-11-20T02:00:00Z",  // 12 days: allowed
        ]
        for slot in slots {
            let result = try fixture.run("recall", at: slot)
            #expect(result.status == 0, "\(result.stderr)")
        }
        let issued = try slots.map { try fixture.runRecord("recall", at: $0)?.counts["members_issued"] ?? 0 }
        #expect(issued == [120, 0, 0, 120, 0, 120])
        #expect(Set(try fixture.couponsPerMember(template: "recall").values) == [3])
    }

    @Test func theCapCountsCouponsFromEveryJobOfTheTemplate() throws {
        let fixture = try IssueFixture(
            templates:
                "templates:\n  - {key: once, type: cash, off_fen: 500, validity: {days: 3}, per_member: 1, reissue_after_days: 30}",
            jobs: [
                issueJob("job-a", "coupons:\n  - {template: once}"),
                issueJob("job-b", "coupons:\n  - {template: once}"),
            ])
        try fixture.addMembers(1...200)
        #expect(try fixture.run("job-a", at: "2026-11-01T02:00:00Z").status == 0)
        try fixture.addMembers(201...260)
        #expect(try fixture.run("job-b", at: "2026-11-02T02:00:00Z").status == 0)
        #expect(Set(try fixture.couponsPerMember(template: "once").values) == [1])
        #expect(try fixture.runRecord("job-b", at: "2026-11-02T02:00:00Z")?.counts["members_issued"] == 60)
        #expect(
            try fixture.ints(
                "SELECT DISTINCT member_id FROM coupons c JOIN job_runs r ON r.id = c.run_id WHERE r.job = 'job-b' ORDER BY 1"
            )
                == Array(201...260))
    }

    /// Two jobs issue `per_member: 1` and `reissue_after_days` templates at the same moment: no
    /// member ends up with two of either.
    @Test(arguments: 1...2)
    func theCapHoldsForTwoConcurrentRunsOfDifferentJobs(round: Int) throws {
        let fixture = try IssueFixture(
            templates: """
                templates:
                  - {key: once, type: cash, off_fen: 500, validity: {days: 3}, per_member: 1}
                  - {key: once-stocked, type: cash, off_fen: 500, validity: {days: 3}, per_member: 1, stock: 1000000}
                  - {key: monthly, type: cash, off_fen: 500, validity: {days: 3}, reissue_after_days: 30}
                """,
            jobs: [
                issueJob(
                    "job-a", "coupons:\n  - {template: once}\n  - {template: once-stocked}\n  - {template: monthly}"),
                issueJob(
                    "job-b", chunkSize: 700,
                    "coupons:\n  - {template: monthly}\n  - {template: once-stocked}\n  - {template: once}"),
            ])
        try fixture.addMembers(1...6000)
        let a = try fixture.start("job-a", ["--workers", "2"])
        let b = try fixture.start("job-b", ["--workers", "2"])
        for result in [a.wait(), b.wait()] { #expect(result.status == 0, "\(result.stderr)") }
        for template in ["once", "once-stocked", "monthly"] {
            let perMember = try fixture.couponsPerMember(template: template)
            #expect(perMember.count == 6000)
            #expect(perMember.values.filter { $0 > 1 }.count == 0, "\(template): members over the cap")
        }
        #expect(try fixture.int("SELECT issued FROM template_stock WHERE key = 'once-stocked'") == 6000)
    }
}
