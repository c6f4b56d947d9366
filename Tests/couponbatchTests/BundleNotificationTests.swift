import CouponKit
import Foundation
import Postgres
import TestSupport
import Testing

/// A bundle job with a `sink:` tells each member of the periods it delivered: one `bundle`
/// notification per member per (job, slot) in the outbox, committed with the coupons, sent by the
/// deliverer with the plan's title and label and every coupon's code, title, face value and expiry.
@Suite struct BundleNotificationTests {
    /// Three monthly periods (Jan 31, Feb 28, Mar 31) are due by this slot, and one quarterly (Feb 1).
    static let slot = "2026-04-01T00:00:00Z"

    /// Members 1…4 hold the monthly plan, 1…2 also the quarterly one; member 5 holds none.
    func fixture(sinks: String) throws -> IssueFixture {
        let fixture = try IssueFixture.bundles(jobs: [IssueFixture.bundleJob(sink: "out")])
        try fixture.writeSinks(sinks)
        try fixture.addMembers(1...5, openid: "o-test")
        try fixture.addSubscriptions(1...4, started: "2026-01-31T10:00:00+08:00", paidThrough: "2027-01-30")
        try fixture.addSubscriptions(
            1...2, plan: "quarterly", started: "2026-01-15T10:00:00+08:00", paidThrough: "2027-01-14", prefix: "Q")
        return fixture
    }

    /// Members whose notification of `run` does not list exactly their coupons of that run, in
    /// coupon number order; 0 when every delivered member has one notification and it is right.
    static func mismatchedNotifications(_ fixture: IssueFixture, run: Int64) throws -> Int64 {
        try fixture.int(
            """
            SELECT count(*) FROM (
                SELECT member_id, array_agg(id ORDER BY seq) AS ids FROM coupons WHERE run_id = $1 GROUP BY member_id
            ) c FULL JOIN (SELECT member_id, coupon_ids FROM notifications WHERE run_id = $1) n USING (member_id)
            WHERE c.ids IS DISTINCT FROM n.coupon_ids
            """, [run])
    }

    @Test func aBundleRunWritesOneNotificationPerMemberAndSendsItWithThePlanAndEveryCoupon() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cbt-bundle-\(UUID().uuidString).ndjson").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fixture = try fixture(sinks: "sinks:\n  - {name: out, type: file, path: \"\(path)\"}\n")
        let result = try fixture.run("bundles", at: Self.slot, environment: ["COUPONBATCH_CODE_SECRET": IssueFixture.secret])
        #expect(result.status == 0, "\(result.stderr)")
        let run = try #require(try fixture.runRecord("bundles", at: Self.slot))
        #expect(run.counts["notifications"] == 4)
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE kind = 'bundle' AND job = 'bundles'") == 4)
        #expect(try Self.mismatchedNotifications(fixture, run: run.id) == 0)

        // Delivered after the run to the file sink: one line per member, with everything a member reads.
        let messages = try fixture.fileSinkMessages(path)
        #expect(messages.count == 4)
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE status = 'delivered'") == 4)
        let first = try #require(messages.first { $0.memberID == 1 })
        #expect(first.kind == "bundle" && first.openid == "o-test")
        let bundles = try #require(first.bundles)
        #expect(bundles.map { "\($0.plan):\($0.period):\($0.coupons)" } == ["monthly:1:4", "monthly:2:3", "monthly:3:3", "quarterly:1:2"])
        #expect(bundles[0].title == "美妆月卡" && bundles[0].exclusiveLabel == "会员专享")
        #expect(bundles[3].title == nil && bundles[3].exclusiveLabel == nil)
        #expect(bundles.map(\.dueAt) == [
            "2026-01-31T09:00:00+08:00", "2026-02-28T09:00:00+08:00", "2026-03-31T09:00:00+08:00", "2026-02-01T10:00:00+08:00",
        ])
        #expect(first.coupons.count == 12)
        #expect(first.coupons.prefix(10).allSatisfy { $0.label == "会员专享" })
        #expect(first.coupons.suffix(2).allSatisfy { $0.label == nil && $0.template == "m-box" })

        // Every coupon as the database has it: title, face value, expiry in the plan's zone, and its code.
        let codec = CouponCodec(keyring: try CodeKeyring(secret: try CodeSecret(Array(IssueFixture.secret.utf8))))
        let stored = try fixture.rows(
            """
            SELECT c.id, coalesce(t.spec->>'title', c.template_key) AS title, c.face_value_fen,
                   to_char(c.expires_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS') || '+08:00' AS expires_at
            FROM coupons c JOIN coupon_templates t ON t.key = c.template_key AND t.version = c.template_version
            """)
        let byID = Dictionary(uniqueKeysWithValues: stored.map { (Int64($0["id"] ?? "") ?? 0, $0) })
        var checked = 0
        for message in messages {
            #expect(message.coupons.count == (message.bundles ?? []).reduce(0) { $0 + $1.coupons })
            for coupon in message.coupons {
                let row = try #require(byID[coupon.couponID])
                #expect(coupon.title == row["title"] && "\(coupon.faceValueFen)" == row["face_value_fen"])
                #expect(coupon.expiresAt == row["expires_at"])
                #expect(coupon.code == (try codec.code(for: coupon.couponID)))
                checked += 1
            }
        }
        #expect(checked == 12 * 2 + 10 * 2)
        #expect(Int64(checked) == (try fixture.int("SELECT count(*) FROM coupons")))

        // The same slot again writes nothing; the next period (Apr 30) is one more message per monthly member.
        let again = try fixture.run("bundles", at: Self.slot, environment: ["COUPONBATCH_CODE_SECRET": IssueFixture.secret])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try fixture.int("SELECT count(*) FROM notifications") == 4)
        #expect(try fixture.fileSinkMessages(path).count == 4)
        let may = try fixture.run("bundles", at: "2026-05-01T00:00:00Z", environment: ["COUPONBATCH_CODE_SECRET": IssueFixture.secret])
        #expect(may.status == 0, "\(may.stderr)")
        let next = try #require(try fixture.runRecord("bundles", at: "2026-05-01T00:00:00Z"))
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE run_id = $1", [next.id]) == 4)
        #expect(try Self.mismatchedNotifications(fixture, run: next.id) == 0)
        #expect(try fixture.fileSinkMessages(path).filter { $0.slot.hasPrefix("2026-05-01T08:00:00") }.count == 4)
    }

    @Test func bundleNotificationsReachAWebhookThatChecksEverySignature() throws {
        let receiver = try WebhookReceiver(script: ["500"], then: "200")
        let fixture = try fixture(
            sinks: """
                sinks:
                  - {name: out, type: webhook, url: "\(receiver.url)", secret_env: COUPONBATCH_WEBHOOK_SECRET, batch_size: 3, backoff: 0s}
                """)
        // Built and sent in the run (the first batch is refused with a 500), the rest by `notifications deliver`.
        let result = try fixture.run("bundles", at: Self.slot, environment: IssueFixture.sweepEnvironment)
        #expect(result.status == 0, "\(result.stderr)")
        let delivered = try fixture.command(["notifications", "deliver", "--wait", "30"], environment: IssueFixture.sweepEnvironment)
        #expect(delivered.status == 0, "\(delivered.stdout)\(delivered.stderr)")
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE kind = 'bundle' AND status = 'delivered'") == 4)
        #expect(receiver.requests.allSatisfy { $0.signature_ok })
        #expect(receiver.requests.first?.answer == "500")
        let acknowledged = receiver.acknowledged
        #expect(Set(acknowledged.keys) == Set(try fixture.ints("SELECT id FROM notifications")))
        #expect(acknowledged.values.allSatisfy { $0 == 1 })
    }

    @Test func aBundleJobWithAnUnknownSinkIsRefusedWithItsPlaceAndExit78() throws {
        let fixture = try IssueFixture.bundles(jobs: [IssueFixture.bundleJob(sink: "crn")])
        try fixture.writeSinks("sinks:\n  - {name: crm, type: file, path: var/n.ndjson}\n")
        let result = try fixture.run("bundles", at: Self.slot)
        #expect(result.status == 78)
        #expect(result.stderr.contains("bundles.yaml:6:7: sink: unknown sink \"crn\" (did you mean \"crm\"?)"), "\(result.stderr)")
        #expect(try fixture.int("SELECT count(*) FROM job_runs") == 0)
    }
}
