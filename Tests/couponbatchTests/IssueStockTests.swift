import Foundation
import Postgres
import TestSupport
import Testing

/// Stock is never exceeded; when it runs out the run still succeeds, counts who got nothing, and
/// serves members lowest id first; a combo pack is all or none.
@Suite struct IssueStockTests {
    /// The members of `run` holding at least one coupon, ascending.
    static func servedMembers(_ fixture: IssueFixture, run: Int64) throws -> [Int64] {
        try fixture.ints("SELECT DISTINCT member_id FROM coupons WHERE run_id = $1 ORDER BY 1", [run])
    }

    @Test func aComboPackIsAllOrNoneWhenOneTemplatesStockRunsOut() throws {
        let fixture = try IssueFixture(
            templates: """
                templates:
                  - {key: big, type: cash, off_fen: 1000, validity: {days: 7}, stock: 100000}
                  - {key: scarce, type: threshold, tiers: [{min_spend_fen: 10000, off_fen: 2000}], validity: {days: 7}, stock: 501}
                  - {key: free, type: gift, sku: TEA, value_fen: 800, validity: {days: 7}}
                """,
            jobs: [
                issueJob(
                    "starter",
                    "coupons:\n  - {template: big}\n  - {template: scarce, quantity: 2}\n  - {template: free}")
            ])
        try fixture.addMembers(1...600)
        let result = try fixture.run("starter", ["--workers", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        // 501 scarce coupons cover 250 packs of 2; one is left, and no member gets a partial pack.
        let packSizes = try fixture.ints("SELECT count(*) FROM coupons GROUP BY member_id")
        #expect(Set(packSizes) == [4])
        #expect(try Self.servedMembers(fixture, run: 1) == Array(1...250))
        let stock = try fixture.rows("SELECT key, stock, issued FROM template_stock ORDER BY key")
        #expect(
            stock.map { [$0["key"], $0["stock"], $0["issued"]] } == [
                ["big", "100000", "250"], ["free", nil, "250"], ["scarce", "501", "500"],
            ])
        let run = try #require(try fixture.runRecord("starter"))
        #expect(run.status == "succeeded")
        #expect(run.counts["stock_exhausted"] == 350)
        #expect(run.counts["members_issued"] == 250)
        #expect(run.counts["coupons_issued"] == 1000)
        #expect(result.stdout.contains("stock exhausted: 350 eligible members got nothing"))
    }

    @Test func stockLeftByOneRunIsAllTheNextRunGetsLowestIdsFirst() throws {
        let fixture = try IssueFixture(
            templates: "templates:\n  - {key: s, type: cash, off_fen: 500, validity: {days: 3}, stock: 350}",
            jobs: [issueJob("weekly", "coupons:\n  - {template: s}")])
        try fixture.addMembers(1...200)
        #expect(try fixture.run("weekly", at: "2026-11-23T02:00:00Z").status == 0)
        let second = try fixture.run("weekly", at: "2026-11-30T02:00:00Z")
        #expect(second.status == 0, "\(second.stderr)")
        let third = try fixture.run("weekly", at: "2026-12-07T02:00:00Z")
        #expect(third.status == 0, "\(third.stderr)")
        let runs = try fixture.ints("SELECT id FROM job_runs ORDER BY slot")
        #expect(try Self.servedMembers(fixture, run: runs[0]) == Array(1...200))
        #expect(try Self.servedMembers(fixture, run: runs[1]) == Array(1...150))
        #expect(try Self.servedMembers(fixture, run: runs[2]).isEmpty)
        #expect(try fixture.runRecord("weekly", at: "2026-11-30T02:00:00Z")?.counts["stock_exhausted"] == 50)
        #expect(try fixture.runRecord("weekly", at: "2026-12-07T02:00:00Z")?.counts["stock_exhausted"] == 200)
        #expect(try fixture.runRecord("weekly", at: "2026-12-07T02:00:00Z")?.status == "succeeded")
        #expect(try fixture.int("SELECT issued FROM template_stock WHERE key = 's'") == 350)
    }

    @Test func loweringStockBelowWhatWasIssuedStopsIssuanceWithoutRewritingHistory() throws {
        let fixture = try IssueFixture(
            templates: "templates:\n  - {key: s, type: cash, off_fen: 500, validity: {days: 3}, stock: 1000}",
            jobs: [issueJob("weekly", "coupons:\n  - {template: s}")])
        try fixture.addMembers(1...300)
        #expect(try fixture.run("weekly", at: "2026-11-23T02:00:00Z").status == 0)
        try fixture.writeTemplates(
            "templates:\n  - {key: s, type: cash, off_fen: 500, validity: {days: 3}, stock: 100}")
        let second = try fixture.run("weekly", at: "2026-11-30T02:00:00Z")
        #expect(second.status == 0, "\(second.stderr)")
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 300)
        #expect(
            try fixture.rows("SELECT stock, issued FROM template_stock").first == ["stock": "300", "issued": "300"])
        #expect(try fixture.runRecord("weekly", at: "2026-11-30T02:00:00Z")?.counts["stock_exhausted"] == 300)
    }

    /// Two jobs share one template; their runs start at the same moment, each on three workers.
    /// With stock 3000 each run sees at its start that stock cannot cover it; with 7000 each
    /// sees enough for itself, and the other run drains it while it runs.
    @Test(arguments: [3000, 7000], 1...3)
    func stockIsNeverExceededByTwoConcurrentRunsOfDifferentJobs(stock: Int64, round: Int) throws {
        let fixture = try IssueFixture(
            templates: """
                templates:
                  - {key: shared, type: cash, off_fen: 1000, validity: {days: 7}, stock: \(stock)}
                  - {key: other, type: gift, sku: TEA, value_fen: 800, validity: {days: 7}}
                """,
            jobs: [
                issueJob("job-a", "coupons:\n  - {template: shared}"),
                issueJob("job-b", "coupons:\n  - {template: other}\n  - {template: shared}"),
            ])
        let members: Int64 = 4000
        try fixture.addMembers(1...Int(members))
        let a = try fixture.start("job-a", ["--workers", "3"])
        let b = try fixture.start("job-b", ["--workers", "3"])
        let results = [a.wait(), b.wait()]
        for result in results { #expect(result.status == 0, "\(result.stdout) \(result.stderr)") }

        #expect(try fixture.int("SELECT issued FROM template_stock WHERE key = 'shared'") == stock)
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE template_key = 'shared'") == stock)
        // job-b's pack is all or none: its gifts match its shared coupons one for one.
        let runA = try #require(try fixture.runRecord("job-a"))
        let runB = try #require(try fixture.runRecord("job-b"))
        #expect(
            try fixture.int("SELECT count(*) FROM coupons WHERE run_id = $1 AND template_key = 'other'", [runB.id])
                == fixture.int("SELECT count(*) FROM coupons WHERE run_id = $1 AND template_key = 'shared'", [runB.id]))
        #expect(runA.status == "succeeded")
        #expect(runB.status == "succeeded")
        let servedA = runA.counts["members_issued"] ?? 0
        let servedB = runB.counts["members_issued"] ?? 0
        #expect(servedA + servedB == stock)
        #expect((runA.counts["stock_exhausted"] ?? 0) + (runB.counts["stock_exhausted"] ?? 0) == 2 * members - stock)
        // Within each run, the members served are the lowest ids.
        #expect(try Self.servedMembers(fixture, run: runA.id) == Array(stride(from: 1, through: servedA, by: 1)))
        #expect(try Self.servedMembers(fixture, run: runB.id) == Array(stride(from: 1, through: servedB, by: 1)))
    }
    /// Stock below demand is allotted to chunks when the run is planned: many chunks on several
    /// workers still serve exactly the lowest ids, and what was set aside and not issued returns.
    @Test func allottedStockServesTheLowestIdsAcrossParallelChunks() throws {
        let fixture = try IssueFixture(
            templates: "templates:\n  - {key: s, type: cash, off_fen: 500, validity: {days: 3}, stock: 951, per_member: 1}",
            jobs: [issueJob("many", chunkSize: 100, "coupons:\n  - {template: s}")])
        try fixture.addMembers(1...2000)
        // Members 1–10 already had theirs: not eligible, so the stock reaches up to member 960.
        let early = try fixture.run("many", at: "2026-11-01T02:00:00Z")
        #expect(early.status == 0, "\(early.stderr)")
        #expect(try fixture.int("DELETE FROM coupons WHERE member_id > 10 RETURNING 1") >= 0)
        _ = try fixture.ints("UPDATE template_stock SET issued = 10 RETURNING issued")
        let result = try fixture.run("many", ["--workers", "4"])
        #expect(result.status == 0, "\(result.stderr)")
        let run = try #require(try fixture.runRecord("many"))
        #expect(try Self.servedMembers(fixture, run: run.id) == Array(11...951))
        #expect(run.counts["stock_exhausted"] == 1049)  // 1990 eligible, 941 served
        #expect(try fixture.rows("SELECT stock, issued FROM template_stock").first == ["stock": "951", "issued": "951"])
        #expect(try fixture.int("SELECT count(*) FROM issue_stock_reservations") == 0)
    }

    /// A run that ended without finishing (here: one whose row is gone) held stock aside; the
    /// next run planning the same template returns it first.
    @Test func stockHeldByARunThatEndedIsReturnedWhenTheNextRunPlans() throws {
        let fixture = try IssueFixture(
            templates: "templates:\n  - {key: s, type: cash, off_fen: 500, validity: {days: 3}, stock: 300}",
            jobs: [issueJob("weekly", "coupons:\n  - {template: s}")])
        try fixture.addMembers(1...200)
        _ = try fixture.ints(
            """
            WITH held AS (INSERT INTO issue_stock_reservations (run_id, template_key, reserved) VALUES (424242, 's', 250)
                          RETURNING reserved)
            INSERT INTO template_stock (key, stock, issued) SELECT 's', 300, reserved FROM held
            ON CONFLICT (key) DO UPDATE SET issued = EXCLUDED.issued RETURNING issued
            """)
        let result = try fixture.run("weekly")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 200)
        #expect(try fixture.rows("SELECT stock, issued FROM template_stock").first == ["stock": "300", "issued": "200"])
        #expect(try fixture.int("SELECT count(*) FROM issue_stock_reservations") == 0)
    }
}
