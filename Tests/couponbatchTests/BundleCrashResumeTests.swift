import Foundation
import Postgres
import TestSupport
import Testing

/// A bundle run killed with SIGKILL at any moment and resumed delivers each period exactly once,
/// never a partial bundle, reserves stock for exactly what it wrote, writes each member's
/// notification once with exactly its coupons, and ends where a run that was never interrupted
/// ends (same coupons, same numbers, same blind box draws, same notifications).
///
/// Sized for `make test` (about 10 s): a few thousand subscribers in chunks of 200, three kills.
/// A longer soak (more members, kills at random moments, several runners) belongs to `make chaos`.
@Suite(.serialized) struct BundleCrashResumeTests {
    struct Scenario: Sendable, CustomTestStringConvertible {
        let name: String
        let subscribers: Int
        let templates: String
        /// Periods delivered in all, when the run has finished.
        let delivered: Int64
        var testDescription: String { name }
    }

    static let scenarios = [
        Scenario(
            name: "2k subscribers three months behind, on two workers in parallel",
            subscribers: 2_000, templates: IssueFixture.bundleTemplates, delivered: 6_000 + 1_000),
        Scenario(
            name: "the welcome gift's stock running out mid-run: the rest wait, whole",
            subscribers: 1_600,
            templates: IssueFixture.bundleTemplates.replacingOccurrences(of: "stock: 1000000", with: "stock: 987"),
            delivered: 987 * 3 + 800),
        // Without finite stock each chunk's successor is read ahead on a second connection
        // (`BundlePrefetch`) while it writes: a kill may land with reads ahead in flight.
        Scenario(
            name: "no finite stock, chunks read ahead, on two workers in parallel",
            subscribers: 2_000, templates: IssueFixture.bundleTemplates.replacingOccurrences(of: ", stock: 1000000", with: ""),
            delivered: 6_000 + 1_000),
    ]

    static let arguments = ["--workers", "2", "--lease-seconds", "1"]
    static let slot = "2026-04-01T00:00:00Z"

    /// A member's coupons are exactly those of its delivered periods; stock matches the rows.
    static func checkConsistent(_ fixture: IssueFixture, _ context: String) throws {
        #expect(
            try fixture.int(
                """
                SELECT count(*) FROM (
                    SELECT d.member_id, sum(d.coupons) AS expected FROM bundle_deliveries d WHERE d.status = 'delivered' GROUP BY 1
                ) d FULL JOIN (SELECT member_id, count(*) AS written FROM coupons GROUP BY 1) c USING (member_id)
                WHERE d.expected IS DISTINCT FROM c.written
                """) == 0, "partial or extra bundles \(context)")
        #expect(
            try fixture.int(
                """
                SELECT count(*) FROM template_stock s
                WHERE s.issued <> (SELECT count(*) FROM coupons c WHERE c.template_key = s.key)
                """) == 0, "stock differs from rows \(context)")
        // Periods settle in order: no delivered period after one that is not.
        #expect(
            try fixture.int(
                """
                SELECT count(*) FROM bundle_deliveries d
                WHERE d.period > 1 AND NOT EXISTS (
                    SELECT 1 FROM bundle_deliveries e WHERE e.subscription_id = d.subscription_id AND e.period = d.period - 1
                      AND e.status = 'delivered')
                  AND d.status = 'delivered'
                """) == 0, "out of order \(context)")
        if let run = try fixture.runRecord("bundles", at: slot) {
            #expect(run.counts["coupons_issued"] ?? 0 == (try fixture.int("SELECT count(*) FROM coupons")), "counts \(context)")
            // One notification per member who got coupons, listing exactly them, committed with them.
            #expect(try BundleNotificationTests.mismatchedNotifications(fixture, run: run.id) == 0, "outbox \(context)")
        }
    }

    static func prepare(_ s: Scenario) throws -> IssueFixture {
        let fixture = try IssueFixture.bundles(
            templates: s.templates, jobs: [IssueFixture.bundleJob(chunkSize: 200, sink: "out")])
        // Written, not sent: no code secret reaches the run, so delivery after it waits.
        try fixture.writeSinks("sinks:\n  - {name: out, type: file, path: /dev/null}\n")
        try fixture.addMembers(1...s.subscribers)
        // Periods due by the slot: Jan 31, Feb 28 and Mar 31.
        try fixture.addSubscriptions(1...s.subscribers, started: "2026-01-31T10:00:00+08:00", paidThrough: "2027-01-30")
        // Half of them also hold a quarterly plan of blind boxes (due Feb 1): two subscriptions
        // share a member's coupon numbers, and the draws must replay identically.
        try fixture.addSubscriptions(
            1...(s.subscribers / 2), plan: "quarterly", started: "2026-01-15T10:00:00+08:00", paidThrough: "2027-01-14",
            prefix: "Q")
        return fixture
    }

    @Test(arguments: scenarios)
    func aBundleRunKilledAtAnyPointAndResumedDeliversEachPeriodExactlyOnce(_ s: Scenario) throws {
        let fixture = try Self.prepare(s)
        let (kills, _) = try fixture.killAndResume(
            at: [.afterChunks(2), .afterChunks(4), .afterChunks(7)],
            start: { try fixture.start("bundles", at: Self.slot, Self.arguments) },
            afterKill: { try Self.checkConsistent(fixture, $0) })
        #expect(kills >= 3)
        try Self.checkConsistent(fixture, "at the end")
        let run = try #require(try fixture.runRecord("bundles", at: Self.slot))
        #expect(run.status == "succeeded")
        #expect(try fixture.int("SELECT count(*) FROM bundle_deliveries WHERE status = 'delivered'") == s.delivered)
        #expect(run.counts["periods_delivered"] == s.delivered)
        #expect(try fixture.int("SELECT count(DISTINCT attempt) FROM run_chunks WHERE run_id = $1", [run.id]) >= 2)

        let reference = try Self.prepare(s)
        let uninterrupted = try reference.run("bundles", at: Self.slot, Self.arguments)
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")
        let digest = """
            SELECT md5(string_agg(concat_ws(':', member_id, seq, template_key, face_value_fen, expires_at), ','
                                  ORDER BY member_id, seq))
            FROM coupons
            """
        #expect(try fixture.text(digest) == reference.text(digest))
        let periods = "SELECT md5(string_agg(concat_ws(':', subscription_id, period, status, coupons), ',' ORDER BY subscription_id, period)) FROM bundle_deliveries"
        #expect(try fixture.text(periods) == reference.text(periods))
        let notifications = "SELECT md5(string_agg(concat_ws(':', member_id, cardinality(coupon_ids), payload), ',' ORDER BY member_id)) FROM notifications"
        #expect(try fixture.text(notifications) == reference.text(notifications))
        #expect(try fixture.int("SELECT count(*) FROM notifications") == (try fixture.int("SELECT count(DISTINCT member_id) FROM coupons")))
    }
}
