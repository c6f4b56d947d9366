import CouponKit
import Foundation
import Postgres
import TestSupport
import Testing

/// `kind: remind`: one notification per member per sweep, each coupon reminded once per job.
@Suite struct RemindTests {
    /// Slot 2026-11-23T02:00Z = 10:00 in Shanghai; a 3-day window ends 2026-11-26T02:00Z.
    static let slot = IssueFixture.slot

    func fixture(_ jobs: [String], sinkPath: String) throws -> IssueFixture {
        let fixture = try IssueFixture(templates: "templates: []\n", jobs: jobs)
        try fixture.writeSinks("sinks:\n  - {name: out, type: file, path: \(sinkPath), batch_size: 3}\n")
        return fixture
    }

    @Test func aMemberWithFiveExpiringCouponsGetsOneMessageListingAllFive() throws {
        let sink = FileManager.default.temporaryDirectory.appendingPathComponent("cbt-\(UUID().uuidString).ndjson").path
        defer { try? FileManager.default.removeItem(atPath: sink) }
        let fixture = try fixture([remindJob("remind")], sinkPath: sink)
        try fixture.addMembers(1...4, openid: "o-test")
        try fixture.addCoupons(1...1, template: "cash", title: "满100减20", expiresAt: "2026-11-24T15:59:59Z", perMember: 5)
        try fixture.addCoupons(2...3, template: "gift", expiresAt: "2026-11-26T02:00:00Z")  // the window's last instant
        try fixture.addCoupons(1...3, template: "late", expiresAt: "2026-11-26T02:00:01Z")  // just after it
        try fixture.addCoupons(4...4, template: "past", expiresAt: "2026-11-23T01:59:59Z")  // already lapsed
        try fixture.addCoupons(4...4, template: "used", expiresAt: "2026-11-24T00:00:00Z", status: "redeemed")

        let result = try fixture.run("remind", environment: IssueFixture.sweepEnvironment)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let run = try #require(try fixture.runRecord("remind"))
        #expect(run.counts["notifications"] == 3)
        #expect(run.counts["coupons_reminded"] == 7)
        #expect(try fixture.int("SELECT count(*) FROM notifications") == 3)
        #expect(try fixture.int("SELECT cardinality(coupon_ids) FROM notifications WHERE member_id = 1") == 5)

        // Delivered to the file sink after the run: one line per member, codes that decode to the coupons.
        let messages = try fixture.fileSinkMessages(sink).sorted { $0.memberID < $1.memberID }
        #expect(messages.map(\.memberID) == [1, 2, 3])
        #expect(Set(messages.map(\.id)).count == 3)
        let first = try #require(messages.first)
        #expect(first.kind == "remind")
        #expect(first.job == "remind")
        #expect(first.openid == "o-test")
        #expect(first.slot == "2026-11-23T10:00:00+08:00")
        #expect(first.coupons.count == 5)
        #expect(first.coupons.allSatisfy { $0.title == "满100减20" && $0.faceValueFen == 1000 })
        #expect(first.coupons.allSatisfy { $0.expiresAt == "2026-11-24T23:59:59+08:00" })
        let codec = CouponCodec(keyring: try CodeSecret.fromEnvironment(["COUPONBATCH_CODE_SECRET": IssueFixture.secret]))
        for coupon in messages.flatMap(\.coupons) {
            guard case .valid(let id, _) = codec.verify(try #require(coupon.code)) else {
                Issue.record("code of coupon \(coupon.couponID) does not verify")
                continue
            }
            #expect(id == coupon.couponID)
        }
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE status = 'delivered'") == 3)
        // Nothing outside the window, nothing not active.
        #expect(messages.flatMap(\.coupons).allSatisfy { ["cash", "gift"].contains($0.template) })
    }

    @Test func eachCouponIsRemindedOncePerJobAcrossOverlappingSweepsAndOncePerOtherJob() throws {
        let sink = FileManager.default.temporaryDirectory.appendingPathComponent("cbt-\(UUID().uuidString).ndjson").path
        defer { try? FileManager.default.removeItem(atPath: sink) }
        let fixture = try fixture([remindJob("three-days"), remindJob("one-day", before: "24h")], sinkPath: sink)
        try fixture.addMembers(1...50)
        try fixture.addCoupons(1...50, template: "soon", expiresAt: "2026-11-23T20:00:00Z")  // within 24 h
        try fixture.addCoupons(1...50, template: "later", expiresAt: "2026-11-25T20:00:00Z")  // within 3 d

        // Day 1: the 3-day job covers both; the 1-day job only "soon".
        #expect(try fixture.run("three-days", environment: IssueFixture.sweepEnvironment).status == 0)
        #expect(try fixture.run("one-day", environment: IssueFixture.sweepEnvironment).status == 0)
        #expect(try fixture.runRecord("three-days")?.counts["coupons_reminded"] == 100)
        #expect(try fixture.runRecord("one-day")?.counts["coupons_reminded"] == 50)
        // Day 2 (windows overlap): the 3-day job reminds only the coupons issued since; the 1-day job
        // now reminds "later" (the fresh ones expire beyond its 24 hours).
        let day2 = "2026-11-24T22:00:00Z"
        try fixture.addCoupons(1...10, template: "fresh", expiresAt: "2026-11-26T00:00:00Z")  // issued since
        #expect(try fixture.run("three-days", at: day2, environment: IssueFixture.sweepEnvironment).status == 0)
        #expect(try fixture.run("one-day", at: day2, environment: IssueFixture.sweepEnvironment).status == 0)
        #expect(try fixture.runRecord("three-days", at: day2)?.counts["coupons_reminded"] == 10)
        #expect(try fixture.runRecord("one-day", at: day2)?.counts["coupons_reminded"] == 50)
        // The same slot again is the same run: nothing more.
        #expect(try fixture.run("three-days", at: day2, environment: IssueFixture.sweepEnvironment).status == 0)

        let perJob = """
            SELECT count(*) FROM (SELECT n.job, u.id FROM notifications n, unnest(n.coupon_ids) AS u(id)
                                  GROUP BY 1, 2 HAVING count(*) > 1) twice
            """
        #expect(try fixture.int(perJob) == 0)
        #expect(try fixture.int("SELECT count(*) FROM notifications n, unnest(n.coupon_ids) u WHERE job = 'three-days'") == 110)
        #expect(try fixture.int("SELECT count(*) FROM notifications n, unnest(n.coupon_ids) u WHERE job = 'one-day'") == 100)
        #expect(try fixture.fileSinkMessages(sink).count == 50 + 50 + 10 + 50)
    }

    @Test func templatesAndSegmentNarrowTheSweep() throws {
        let sink = FileManager.default.temporaryDirectory.appendingPathComponent("cbt-\(UUID().uuidString).ndjson").path
        defer { try? FileManager.default.removeItem(atPath: sink) }
        let job = remindJob("narrow", remind: "templates: [cash]\nsegment: {tier: [gold]}")
        let fixture = try IssueFixture(templates: "templates:\n  - {key: cash, type: cash, off_fen: 1000, validity: {days: 7}}\n", jobs: [job])
        try fixture.writeSinks("sinks:\n  - {name: out, type: file, path: \(sink)}\n")
        try fixture.addMembers(1...10, tier: "gold")
        try fixture.addMembers(11...20, tier: "silver")
        try fixture.addCoupons(1...20, template: "cash", expiresAt: "2026-11-24T00:00:00Z")
        try fixture.addCoupons(1...20, template: "other", expiresAt: "2026-11-24T00:00:00Z")
        let result = try fixture.run("narrow", environment: IssueFixture.sweepEnvironment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try fixture.ints("SELECT member_id FROM notifications ORDER BY 1") == Array(1...10))
        #expect(try fixture.runRecord("narrow")?.counts["coupons_reminded"] == 10)
    }
}
