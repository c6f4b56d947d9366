import CouponKit
import Foundation
import Postgres
import TestSupport
import Testing

/// `kind: expire`: active coupons past their validity become `expired` in short chunks.
@Suite struct ExpireTests {
    static func job(_ name: String, _ extra: String = "") -> String {
        "name: \(name)\nkind: expire\nmanual_only: true\ntimezone: Asia/Shanghai\n\(extra)\n"
    }

    @Test func onlyActiveCouponsExpiredAtOrBeforeTheSlotExpireAndPunchCardsKeepTheirUses() throws {
        let sink = FileManager.default.temporaryDirectory.appendingPathComponent("cbt-\(UUID().uuidString).ndjson").path
        defer { try? FileManager.default.removeItem(atPath: sink) }
        let fixture = try IssueFixture(
            templates: "templates: []\n", jobs: [Self.job("expire", "notify: true\nsink: out\nchunk_size: 100")])
        try fixture.writeSinks("sinks:\n  - {name: out, type: file, path: \(sink)}\n")
        try fixture.addMembers(1...1_000)
        try fixture.addCoupons(1...1_000, template: "cash", expiresAt: "2026-11-23T02:00:00Z", faceValueFen: 500)  // at the slot
        try fixture.addCoupons(1...300, template: "punch", expiresAt: "2026-11-20T00:00:00Z", usesLeft: 3)
        try fixture.addCoupons(1...1_000, template: "future", expiresAt: "2026-11-23T02:00:01Z")
        try fixture.addCoupons(1...100, template: "done", expiresAt: "2026-11-01T00:00:00Z", status: "redeemed")

        let result = try fixture.run("expire", ["--workers", "2"], environment: IssueFixture.sweepEnvironment)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let run = try #require(try fixture.runRecord("expire"))
        #expect(run.counts["coupons_expired"] == 1_300)
        #expect(run.counts["template.cash"] == 1_000)
        #expect(run.counts["template.punch"] == 300)
        let expectedFaceValue: Int64 = 1_000 * 500 + 300 * 1_000
        #expect(run.counts["face_value_fen_expired"] == expectedFaceValue)
        #expect(run.counts["notifications"] == 1_000)
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE status = 'expired'") == 1_300)
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE template_key = 'future' AND status = 'active'") == 1_000)
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE template_key = 'done' AND status = 'redeemed'") == 100)
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE template_key = 'punch' AND uses_left = 3") == 300)
        // Small chunks: about 100 coupons each, so many transactions, none holding the whole sweep.
        #expect(try fixture.int("SELECT count(*) FROM run_chunks WHERE run_id = $1", [run.id]) >= 10)
        // One "expired" message per member, listing exactly what expired.
        let messages = try fixture.fileSinkMessages(sink)
        #expect(messages.count == 1_000)
        #expect(Set(messages.map(\.memberID)).count == 1_000)
        #expect(messages.allSatisfy { $0.kind == "expired" })
        #expect(messages.reduce(0) { $0 + $1.coupons.count } == 1_300)
        // Run again at a later slot: nothing left to expire but the newer coupons.
        #expect(try fixture.run("expire", at: "2026-11-23T02:00:01Z", environment: IssueFixture.sweepEnvironment).status == 0)
        #expect(try fixture.runRecord("expire", at: "2026-11-23T02:00:01Z")?.counts["coupons_expired"] == 1_000)
    }

    @Test func aCouponRedeemedWhileTheSweepWaitsStaysRedeemedAndAnExpiredOneCannotBeRedeemed() throws {
        let fixture = try IssueFixture(templates: "templates: []\n", jobs: [Self.job("expire")])
        try fixture.addMembers(1...200)
        try fixture.addCoupons(1...200, template: "cash", expiresAt: "2026-11-22T00:00:00Z")
        let target = try fixture.int("SELECT min(id) FROM coupons WHERE member_id = 100")
        // A redemption (UPDATE … WHERE status = 'active', as `redeem` does) holds the row, uncommitted.
        let till = try fixture.db.connect()
        try till.execute("BEGIN")
        #expect(try till.execute("UPDATE coupons SET status = 'redeemed', redeemed_at = now() WHERE id = $1 AND status = 'active'", [target]) == 1)
        let sweep = try fixture.start("expire")
        // The sweep reaches the row and waits for the redemption's outcome.
        var waited = false
        for _ in 0..<500 where !waited {
            waited = try fixture.int(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()") > 0
            if !waited { usleep(10_000) }
        }
        #expect(waited, "the sweep never waited for the redemption's row lock")
        try till.execute("COMMIT")
        let result = sweep.wait()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try fixture.text("SELECT status FROM coupons WHERE id = $1", [target]) == "redeemed")
        #expect(try fixture.runRecord("expire")?.counts["coupons_expired"] == 199)
        // The other direction: a redemption after the sweep finds no active coupon.
        let other = try fixture.int("SELECT min(id) FROM coupons WHERE member_id = 101")
        #expect(try till.execute("UPDATE coupons SET status = 'redeemed' WHERE id = $1 AND status = 'active'", [other]) == 0)
    }
}
