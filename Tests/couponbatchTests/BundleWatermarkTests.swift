import Foundation
import Postgres
import TestSupport
import Testing

/// Bundle watermarks (migration 0021): a run that settled every chunk records "every period due
/// by my slot is recorded, for subscriptions unchanged since I was planned", and later chunks
/// read covered subscriptions without probing their periods. Each test here is a way the
/// watermark could hide a due period (or make one be delivered twice), checked end to end.
@Suite struct BundleWatermarkTests {
    /// Started Jan 31 (Shanghai): periods fall on Jan 31, Feb 28, Mar 31, Apr 30, …
    static let started = "2026-01-31T10:00:00+08:00"

    static func counts(_ fixture: IssueFixture, at slot: String) throws -> [String: Int64] {
        try #require(try fixture.runRecord("bundles", at: slot)).counts
    }

    /// Subscriptions (by external id) whose terms the watermark of their plan covers. The horizon
    /// is the oldest transaction running anywhere on the cluster when the run was planned, so a
    /// long transaction of a test running beside this one can hold it back: then the
    /// subscription is probed (correct, only slower), and tests assert probe counts only for the
    /// subscriptions this says are covered.
    static func covered(_ fixture: IssueFixture) throws -> Set<String> {
        Set(
            try fixture.rows(
                """
                SELECT s.external_id AS e FROM subscriptions s JOIN bundle_watermarks w ON w.plan = s.plan
                WHERE s.terms_xid < w.horizon
                """
            ).compactMap { $0["e"] })
    }

    @Test func aFinishedRunCoversItsSubscriptionsAndTheNextRunProbesNone() throws {
        let fixture = try IssueFixture.bundles()
        try fixture.addMembers(1...300)
        try fixture.addSubscriptions(1...300, started: Self.started, paidThrough: "2027-01-30")
        // No watermark yet, every subscription created since: none is probed.
        let first = try fixture.run("bundles", at: "2026-02-01T00:00:00Z")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try Self.counts(fixture, at: "2026-02-01T00:00:00Z")["subscriptions_probed"] == nil)
        #expect(try fixture.int("SELECT count(*) FROM bundle_watermarks WHERE plan IN ('monthly', 'quarterly')") == 2)
        #expect(try fixture.int("SELECT count(*) FROM bundle_watermarks WHERE through = '2026-02-01T00:00:00Z'") == 2)

        // Covered: the runner counts the periods due by the watermark; Feb 28 and Mar 31 follow.
        let covered = try Self.covered(fixture).count
        #expect(try fixture.run("bundles", at: "2026-04-01T00:00:00Z").status == 0)
        let counts = try Self.counts(fixture, at: "2026-04-01T00:00:00Z")
        #expect(counts["subscriptions_probed", default: 0] == Int64(300 - covered), "\(counts)")
        #expect(counts["periods_delivered"] == 600)
        #expect(try fixture.deliveries(external: "E7") == ["1:delivered", "2:delivered", "3:delivered"])
        // The same slot again, and an earlier one: nothing more (the periods' key and the watermark agree).
        _ = try fixture.run("bundles", at: "2026-04-01T00:00:00Z")
        #expect(try fixture.run("bundles", at: "2026-03-01T00:00:00Z").status == 0)
        #expect(try fixture.int("SELECT count(*) FROM bundle_deliveries") == 900)
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 300 * (4 + 3 + 3))
        // The earlier slot's run did not move the watermark back.
        #expect(try fixture.int("SELECT count(*) FROM bundle_watermarks WHERE through = '2026-04-01T00:00:00Z'") == 2)
    }

    @Test func aRenewalOrAnImportAfterTheWatermarkMakesOldPeriodsDueAndTheyAreFound() throws {
        let fixture = try IssueFixture.bundles()
        try fixture.addMembers(1...4)
        let csv = """
            external_id,member_id,plan,started_at,paid_through
            R,1,monthly,\(Self.started),2026-03-30
            I,2,monthly,\(Self.started),2026-03-30
            K,3,monthly,\(Self.started),2027-01-30

            """
        #expect(try fixture.importSubscriptions(csv).status == 0)
        // Paid through Mar 30: Jan 31 and Feb 28 delivered; Mar 31 is past the term. The watermark
        // covers Apr 15, so Mar 31 counts as settled for them while their terms stay the same.
        #expect(try fixture.run("bundles", at: "2026-04-15T00:00:00Z").status == 0)
        #expect(try fixture.deliveries(external: "R") == ["1:delivered", "2:delivered"])

        // A renewal and an import raise the term: Mar 31 (before the watermark) and Apr 30 are due.
        let renew = try fixture.command(["subscriptions", "renew", try fixture.subscriptionID("R"), "--through", "2026-12-31"])
        #expect(renew.status == 0, "\(renew.stderr)")
        #expect(try fixture.importSubscriptions("external_id,member_id,plan,started_at,paid_through\nI,2,monthly,\(Self.started),2026-12-31\n").status == 0)
        // A subscription imported now that started in January: all its missed periods, once.
        #expect(try fixture.importSubscriptions("external_id,member_id,plan,started_at,paid_through\nN,4,monthly,\(Self.started),2026-12-31\n").status == 0)

        let covered = try Self.covered(fixture)
        #expect(!covered.contains("R") && !covered.contains("I") && !covered.contains("N"))
        #expect(try fixture.run("bundles", at: "2026-05-15T00:00:00Z").status == 0)
        for external in ["R", "I", "K", "N"] {
            #expect(
                try fixture.deliveries(external: external) == ["1:delivered", "2:delivered", "3:delivered", "4:delivered"],
                "\(external)")
        }
        let counts = try Self.counts(fixture, at: "2026-05-15T00:00:00Z")
        // R and I changed since the watermark: probed. K is covered (see `covered`), N new.
        #expect(counts["subscriptions_probed"] == (covered.contains("K") ? 2 : 3), "\(counts)")
        // R: Mar 31 and Apr 30; I: the same; K: Apr 30; N: all four.
        #expect(counts["periods_delivered"] == 9)
    }

    @Test func aPauseAndAResumeAfterTheWatermarkAreHonoured() throws {
        let fixture = try IssueFixture.bundles()
        try fixture.addMembers(1...2)
        let csv = "external_id,member_id,plan,started_at,paid_through\nP,1,monthly,\(Self.started),2027-01-30\nQ,2,monthly,\(Self.started),2027-01-30\n"
        #expect(try fixture.importSubscriptions(csv).status == 0)
        #expect(try fixture.run("bundles", at: "2026-02-01T00:00:00Z").status == 0)
        let p = try fixture.subscriptionID("P")
        let pause = try fixture.command(["subscriptions", "pause", p, "--until", "2026-06-01", "--now", "2026-02-10T00:00:00+08:00"])
        #expect(pause.status == 0, "\(pause.stderr)")
        #expect(try fixture.run("bundles", at: "2026-04-01T00:00:00Z").status == 0)
        #expect(try fixture.deliveries(external: "P") == ["1:delivered", "2:skipped", "3:skipped"])
        // Resumed early: Apr 30 is delivered, by a run whose watermark covered the pause.
        let resume = try fixture.command(["subscriptions", "resume", p, "--now", "2026-04-10T00:00:00+08:00"])
        #expect(resume.status == 0, "\(resume.stderr)")
        let covered = try Self.covered(fixture)
        #expect(!covered.contains("P"))
        #expect(try fixture.run("bundles", at: "2026-05-01T00:00:00Z").status == 0)
        #expect(try fixture.deliveries(external: "P") == ["1:delivered", "2:skipped", "3:skipped", "4:delivered"])
        #expect(try fixture.deliveries(external: "Q") == ["1:delivered", "2:delivered", "3:delivered", "4:delivered"])
        #expect(try Self.counts(fixture, at: "2026-05-01T00:00:00Z")["subscriptions_probed"] == (covered.contains("Q") ? 1 : 2))
    }

    @Test func aRunStoppedByTheCatchUpLimitLeavesTheWatermarkAndTheNextRunFinishes() throws {
        let fixture = try IssueFixture.bundles(jobs: [IssueFixture.bundleJob(plans: "monthly")])
        try fixture.addMembers(1...2)
        // Six years behind: 73 periods due, more than one run settles (60).
        try fixture.addSubscriptions(1...1, started: "2020-01-31T10:00:00+08:00", paidThrough: "2030-01-30")
        #expect(try fixture.run("bundles", at: "2026-02-01T00:00:00Z").status == 0)
        #expect(try fixture.int("SELECT count(*) FROM bundle_deliveries") == 60)
        #expect(try fixture.int("SELECT count(*) FROM bundle_watermarks") == 0)
        #expect(try fixture.run("bundles", at: "2026-02-02T00:00:00Z").status == 0)
        #expect(try fixture.int("SELECT count(*) FROM bundle_deliveries") == 73)
        #expect(try fixture.int("SELECT max(period) FROM bundle_deliveries") == 73)
        #expect(try fixture.int("SELECT count(*) FROM bundle_watermarks") == 1)
    }

    @Test func aChangedScheduleIsNotCoveredByTheOldWatermark() throws {
        let quarterly = """
            plans:
              - {key: monthly, price_fen: 100, every_months: 3, timezone: Asia/Shanghai, coupons: [{template: m-cash}]}
            """
        let fixture = try IssueFixture.bundles(plans: quarterly)
        try fixture.addMembers(1...1)
        try fixture.addSubscriptions(1...1, started: Self.started, paidThrough: "2027-01-30")
        // Quarterly through Apr 15: Jan 31 only (the next is Apr 30).
        #expect(try fixture.run("bundles", at: "2026-04-15T00:00:00Z").status == 0)
        #expect(try fixture.deliveries(external: "E1") == ["1:delivered"])
        // Made monthly: Feb 28 and Mar 31 are periods 2 and 3 now, due before the old watermark.
        try fixture.writePlans(quarterly.replacingOccurrences(of: "every_months: 3", with: "every_months: 1"))
        #expect(try fixture.run("bundles", at: "2026-04-16T00:00:00Z").status == 0)
        #expect(try fixture.deliveries(external: "E1") == ["1:delivered", "2:delivered", "3:delivered"])
    }

    @Test func aSubscriptionRecordedByARunThatDidNotFinishIsNotDeliveredTwice() throws {
        let fixture = try IssueFixture.bundles(jobs: [IssueFixture.bundleJob(plans: "monthly")])
        try fixture.addMembers(1...50)
        try fixture.addSubscriptions(1...50, started: Self.started, paidThrough: "2027-01-30")
        #expect(try fixture.run("bundles", at: "2026-02-01T00:00:00Z").status == 0)
        // As if a run had recorded new subscriptions' first periods and died before its last
        // step: they were created after the watermark, so the next chunk assumes nothing settled,
        // collides on the periods' key and redoes itself with probes.
        try fixture.addMembers(51...60)
        try fixture.addSubscriptions(51...60, started: Self.started, paidThrough: "2027-01-30")
        _ = try fixture.int(
            """
            WITH d AS (
                INSERT INTO bundle_deliveries (subscription_id, period, member_id, plan, due_at, status, run_id, coupons)
                SELECT id, 1, member_id, plan, '2026-01-31T02:00:00Z', 'delivered', 999, 0 FROM subscriptions WHERE member_id > 50
                RETURNING 1)
            SELECT count(*) FROM d
            """)
        #expect(try fixture.run("bundles", at: "2026-03-01T00:00:00Z").status == 0)
        #expect(try fixture.int("SELECT count(*) FROM bundle_deliveries WHERE period = 1") == 60)
        #expect(try fixture.int("SELECT count(*) FROM bundle_deliveries WHERE period = 2") == 60)
        #expect(try fixture.int("SELECT count(*) FROM bundle_deliveries") == 120)
    }
}
