import Foundation
import Postgres
import TestSupport
import Testing

/// `kind: bundle` runs through the binary: each due period delivered once, whole, with its
/// coupons written beside its `bundle_deliveries` row; pauses, renewals and cancels honoured.
@Suite struct BundleRunTests {
    /// Started Jan 31 (Shanghai): periods fall on Jan 31, Feb 28, Mar 31, Apr 30, …
    static let started = "2026-01-31T10:00:00+08:00"

    @Test func catchUpAfterThreeMonthsWithoutARunnerDeliversEachMissedPeriodOnce() throws {
        let fixture = try IssueFixture.bundles()
        try fixture.addMembers(1...3)
        try fixture.addSubscriptions(1...2, started: Self.started, paidThrough: "2027-01-30")
        let first = try fixture.run("bundles", at: "2026-02-01T00:00:00Z")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try fixture.deliveries(external: "E1") == ["1:delivered"])
        // The first period carries the welcome gift on top of the plan's three coupons.
        #expect(try fixture.couponsPerMember(template: "m-welcome") == [1: 1, 2: 1])
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE member_id = 1") == 4)

        // No runner from February to mid-May: one run delivers Feb 28, Mar 31 and Apr 30, once each.
        let catchUp = try fixture.run("bundles", at: "2026-05-15T00:00:00Z")
        #expect(catchUp.status == 0, "\(catchUp.stderr)")
        #expect(try fixture.deliveries(external: "E1") == ["1:delivered", "2:delivered", "3:delivered", "4:delivered"])
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE member_id = 1") == 4 + 3 * 3)
        #expect(try fixture.couponsPerMember(template: "m-welcome") == [1: 1, 2: 1])
        let run = try #require(try fixture.runRecord("bundles", at: "2026-05-15T00:00:00Z"))
        #expect(run.counts["periods_delivered"] == 6)
        #expect(run.counts["coupons_issued"] == 18)
        #expect(run.counts["template.m-cash"] == 12)
        #expect(
            try fixture.int("SELECT count(*) FROM bundle_deliveries WHERE run_id = $1 AND coupons = 3", [run.id]) == 6)

        // Kicking the same slot again, or a later slot with nothing due, delivers nothing more.
        _ = try fixture.run("bundles", at: "2026-05-15T00:00:00Z")
        let later = try fixture.run("bundles", at: "2026-05-20T00:00:00Z")
        #expect(later.status == 0, "\(later.stderr)")
        #expect(try fixture.runRecord("bundles", at: "2026-05-20T00:00:00Z")?.counts["coupons_issued"] == 0)
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 2 * 13)
        // Member-exclusive coupons carry the plan's label; numbers are unique per member and run.
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE label IS DISTINCT FROM '会员专享'") == 0)
        #expect(
            try fixture.int("SELECT count(*) FROM (SELECT 1 FROM coupons GROUP BY member_id, run_id, seq HAVING count(*) > 1) d")
                == 0)
        #expect(try fixture.int("SELECT count(*) FROM template_stock WHERE key = 'm-welcome' AND issued = 2") == 1)
        let export = try fixture.command(["coupons", "export", "--run", "\(run.id)"])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stdout.split(separator: "\n").dropFirst().allSatisfy { $0.hasSuffix(",会员专享") })
    }

    @Test func pausesSkipPeriodsRenewalsExtendAndACancelStopsAfterThePaidTerm() throws {
        let fixture = try IssueFixture.bundles()
        try fixture.addMembers(1...3)
        let csv = """
            external_id,member_id,plan,started_at,paid_through
            P,1,monthly,\(Self.started),2027-01-30
            R,2,monthly,\(Self.started),2026-03-30
            C,3,monthly,\(Self.started),2026-04-29

            """
        #expect(try fixture.importSubscriptions(csv).status == 0)
        let (p, r, c) = (try fixture.subscriptionID("P"), try fixture.subscriptionID("R"), try fixture.subscriptionID("C"))

        let pause = try fixture.command(["subscriptions", "pause", p, "--until", "2026-05-01", "--now", "2026-03-15T00:00:00+08:00"])
        #expect(pause.status == 0, "\(pause.stderr)")
        let cancel = try fixture.command(["subscriptions", "cancel", c, "--now", "2026-03-15T12:00:00+08:00"])
        #expect(cancel.status == 0, "\(cancel.stderr)")
        // An import raising paid_through later does not undo the cancel.
        #expect(try fixture.importSubscriptions("external_id,member_id,plan,started_at,paid_through\nC,3,monthly,\(Self.started),2026-12-31\n").status == 0)
        #expect(try fixture.command(["subscriptions", "renew", c, "--through", "2027-01-30"]).status == 65)

        #expect(try fixture.run("bundles", at: "2026-05-15T00:00:00Z").status == 0)
        #expect(try fixture.deliveries(external: "P") == ["1:delivered", "2:delivered", "3:skipped", "4:skipped"])
        #expect(try fixture.deliveries(external: "R") == ["1:delivered", "2:delivered"])
        #expect(try fixture.deliveries(external: "C") == ["1:delivered", "2:delivered", "3:delivered"])
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE member_id = 1") == 4 + 3)

        // The pause has ended by itself; resuming now is refused. A renewal makes Mar 31 and Apr 30 due.
        #expect(try fixture.command(["subscriptions", "resume", p, "--now", "2026-05-16T00:00:00+08:00"]).status == 65)
        let renew = try fixture.command(["subscriptions", "renew", r, "--through", "2026-04-30", "--now", "2026-05-16T00:00:00+08:00"])
        #expect(renew.status == 0, "\(renew.stderr)")
        #expect(try fixture.command(["subscriptions", "renew", r, "--through", "2026-04-01"]).status == 65)
        #expect(try fixture.run("bundles", at: "2026-06-01T00:00:00Z").status == 0)
        #expect(try fixture.deliveries(external: "R") == ["1:delivered", "2:delivered", "3:delivered", "4:delivered"])
        #expect(try fixture.deliveries(external: "P").last == "5:delivered")
        #expect(try fixture.deliveries(external: "C").count == 3)

        // `show` lists every change with its time, and the deliveries.
        let show = try fixture.command(["subscriptions", "show", p, "--now", "2026-06-01T00:00:00Z"])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("2026-03-15T00:00:00+08:00  paused"), "\(show.stdout)")
        #expect(show.stdout.contains("imported"))
        #expect(show.stdout.contains("skipped"))
        let shownC = try fixture.command(["subscriptions", "show", c, "--now", "2026-06-01T00:00:00Z"])
        #expect(shownC.stdout.contains("status        ended"), "\(shownC.stdout)")
        #expect(shownC.stdout.contains("cancelled"))
        let list = try fixture.command(["subscriptions", "list", "--status", "ended", "--now", "2026-06-01T00:00:00Z", "--json"])
        // C ended with its cancel (Apr 29), R with its renewed term (Apr 30); P runs on.
        #expect(list.stdout.split(separator: "\n").count == 2, "\(list.stdout)")
        #expect(list.stdout.contains("\"externalID\":\"C\""), "\(list.stdout)")
        #expect(list.stdout.contains("\"externalID\":\"R\""), "\(list.stdout)")
    }

    @Test func aPeriodShortOfStockWaitsWholeAndIsDeliveredByALaterRun() throws {
        let templates = """
            templates:
              - {key: m-cash, type: cash, off_fen: 1000, validity: {days: 30}}
              - {key: m-gift, type: gift, sku: MASK-1, value_fen: 3900, validity: {days: 30}, stock: 5}
            """
        let plans = "plans:\n  - {key: monthly, price_fen: 100, coupons: [{template: m-cash, quantity: 2}, {template: m-gift}]}\n"
        let fixture = try IssueFixture.bundles(templates: templates, plans: plans)
        try fixture.addMembers(1...8)
        try fixture.addSubscriptions(1...8, started: Self.started, paidThrough: "2027-01-30")
        let first = try fixture.run("bundles", at: "2026-02-01T00:00:00Z")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("3 periods waiting for stock"), "\(first.stdout)")
        let run = try #require(try fixture.runRecord("bundles", at: "2026-02-01T00:00:00Z"))
        #expect(run.counts["periods_delivered"] == 5)
        #expect(run.counts["periods_waiting_stock"] == 3)
        // Whole bundles only: the members who waited got none of the plan's coupons.
        #expect(try fixture.ints("SELECT DISTINCT member_id FROM coupons ORDER BY 1") == [1, 2, 3, 4, 5])
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 15)
        #expect(try fixture.int("SELECT count(*) FROM bundle_deliveries WHERE status = 'waiting_stock'") == 3)

        try fixture.writeTemplates(templates.replacingOccurrences(of: "stock: 5", with: "stock: 20"))
        #expect(try fixture.run("bundles", at: "2026-02-02T00:00:00Z").status == 0)
        #expect(try fixture.int("SELECT count(*) FROM bundle_deliveries WHERE status = 'delivered' AND period = 1") == 8)
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 24)
        #expect(try fixture.int("SELECT issued FROM template_stock WHERE key = 'm-gift'") == 8)
        let later = try #require(try fixture.runRecord("bundles", at: "2026-02-02T00:00:00Z"))
        #expect(try fixture.int("SELECT count(*) FROM bundle_deliveries WHERE run_id = $1", [later.id]) == 3)
    }

    @Test func twoBundleJobsOverTheSamePlanDeliverEachPeriodOnce() throws {
        let fixture = try IssueFixture.bundles(jobs: [
            IssueFixture.bundleJob("bundles-a", plans: "monthly", chunkSize: 200), IssueFixture.bundleJob("bundles-b", chunkSize: 300),
        ])
        try fixture.addMembers(1...3000)
        try fixture.addSubscriptions(1...3000, started: Self.started, paidThrough: "2027-01-30")
        let slot = "2026-03-01T00:00:00Z"
        let runs = try ["bundles-a", "bundles-b"].map { try fixture.start($0, at: slot, ["--workers", "2"]) }
        let results = runs.map { $0.wait() }
        #expect(results.allSatisfy { $0.status == 0 }, "\(results.map(\.stderr))")
        #expect(try fixture.int("SELECT count(*) FROM bundle_deliveries WHERE status = 'delivered'") == 6000)
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 3000 * 7)
        let delivered = try ["bundles-a", "bundles-b"].map { try fixture.runRecord($0, at: slot)?.counts["periods_delivered"] ?? 0 }
        #expect(delivered.reduce(0, +) == 6000, "\(delivered)")
        #expect(try fixture.int("SELECT sum(issued) FROM template_stock") == 3000 * 7)
    }

    /// A member's coupons are numbered in subscription id order whatever order the server returns
    /// the subscriptions in: the chunk's read orders by member only, and rows of one member may
    /// come in the order they were written, here the higher id first.
    @Test func aMembersCouponsAreNumberedInSubscriptionIdOrder() throws {
        let fixture = try IssueFixture.bundles()
        try fixture.addMembers(1...1)
        for (id, plan) in [(900, "monthly"), (800, "quarterly")] {
            _ = try fixture.int(
                """
                WITH s AS (
                    INSERT INTO subscriptions (id, external_id, member_id, plan, started_at, anchor_day, paid_through)
                    VALUES ($1::bigint, 'S' || $1::text, 1, $2, '2026-01-15T10:00:00+08:00', 15, '2027-01-14') RETURNING 1)
                SELECT count(*) FROM s
                """, [Int64(id), plan])
        }
        let result = try fixture.run("bundles", at: "2026-02-02T00:00:00Z")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try fixture.deliveries(external: "S800") == ["1:delivered"])
        #expect(try fixture.deliveries(external: "S900") == ["1:delivered"])
        // Subscription 800 (quarterly: two blind boxes) first, then 900 (monthly: four coupons).
        let inSeqOrder = try fixture.rows("SELECT template_key FROM coupons WHERE member_id = 1 ORDER BY seq")
        #expect(inSeqOrder.map { $0["template_key"] ?? "?" } == ["m-box", "m-box", "m-cash", "m-cash", "m-gift", "m-welcome"])
    }
}
