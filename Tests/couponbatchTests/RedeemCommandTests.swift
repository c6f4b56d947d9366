import CouponKit
import Foundation
import Postgres
import TestSupport
import Testing

/// `couponbatch redeem`, run as a till runs it: the binary against a database of its own.
@Suite struct RedeemCommandTests {
    struct TypeCase: Sendable, CustomTestStringConvertible {
        let template: String
        let amountFen: Int64
        let discountFen: Int64
        let status: String
        var testDescription: String { template }
    }

    /// Each type's rule applied to the spec as stored at issue (not the file): the discount, and
    /// the state the coupon is left in.
    @Test func eachTypeRedeemsByItsStoredSpec() throws {
        let f = try RedemptionFixture(members: 1...2)
        let cases = [
            TypeCase(template: "cash", amountFen: 800, discountFen: 800, status: "redeemed"),
            TypeCase(template: "threshold", amountFen: 25_000, discountFen: 5_000, status: "redeemed"),
            TypeCase(template: "discount", amountFen: 12_000, discountFen: 1_800, status: "redeemed"),
            TypeCase(template: "gift", amountFen: 0, discountFen: 2_800, status: "redeemed"),
            TypeCase(template: "punch", amountFen: 0, discountFen: 3_000, status: "active"),
        ]
        for c in cases {
            let result = try f.redeem(try f.code(c.template, member: 1), amountFen: c.amountFen, requestID: "r-\(c.template)")
            #expect(result.status == 0, "\(c.template): \(result.transcript)")
            let json = RedemptionFixture.json(result)
            #expect(json["outcome"] as? String == "redeemed", "\(c.template)")
            #expect(json["coupon_status"] as? String == c.status, "\(c.template)")
            #expect(RedemptionFixture.redemption(result)["discount_fen"] as? Int == Int(c.discountFen), "\(c.template)")
            let stored = try f.issue.int(
                "SELECT discount_fen FROM redemptions WHERE request_id = $1 AND amount_fen = $2 AND source = 'till'",
                ["r-\(c.template)", c.amountFen])
            #expect(stored == c.discountFen, "\(c.template)")
        }
        #expect(RedemptionFixture.redemption(try f.redeem(try f.code("gift", member: 2), amountFen: 0, requestID: "g2"))["gift_sku"] as? String == "COFFEE-LATTE-M")
        // The blind box gives the value drawn at issue.
        let drawn = try f.issue.int("SELECT face_value_fen FROM coupons WHERE id = $1", [try f.couponID("box", member: 1)])
        let box = try f.redeem(try f.code("box", member: 1), amountFen: 10_000, requestID: "r-box")
        #expect(RedemptionFixture.redemption(box)["discount_fen"] as? Int == Int(drawn))
        #expect([500, 700].contains(drawn))
    }

    @Test func theSameRequestAgainReturnsTheFirstResultAndChangesNothing() throws {
        let f = try RedemptionFixture(members: 1...1)
        let code = try f.code("threshold", member: 1)
        let first = try f.redeem(code, amountFen: 25_000, requestID: "till-7:0001")
        #expect(first.status == 0, "\(first.transcript)")
        // A retry with a different amount (a till resending garbled data) still gets the first result.
        let again = try f.redeem(code, amountFen: 99_999, requestID: "till-7:0001", at: nil)
        #expect(again.status == 0, "\(again.transcript)")
        #expect(RedemptionFixture.json(again)["outcome"] as? String == "replayed")
        #expect(RedemptionFixture.redemption(again)["discount_fen"] as? Int == 5_000)
        #expect(RedemptionFixture.redemption(again)["amount_fen"] as? Int == 25_000)
        #expect(try f.issue.int("SELECT count(*) FROM redemptions") == 1)
        // Another request on the redeemed coupon: refused, exit 65.
        let other = try f.redeem(code, amountFen: 25_000, requestID: "till-7:0002")
        #expect(other.status == 65)
        #expect(other.stderr.contains("already redeemed"))
        #expect(RedemptionFixture.json(other)["reason"] as? String == "already_redeemed")
        // The request id on another coupon: refused, nothing written.
        let reused = try f.redeem(try f.code("cash", member: 1), amountFen: 5_000, requestID: "till-7:0001")
        #expect(reused.status == 65)
        #expect(reused.stderr.contains("already used to redeem another coupon"))
        #expect(try f.issue.int("SELECT count(*) FROM redemptions") == 1)
        #expect(try f.issue.text("SELECT status FROM coupons WHERE id = $1", [try f.couponID("cash", member: 1)]) == "active")
    }

    @Test func aForgedCodeIsRefusedBeforeAnyDatabaseRead() throws {
        let f = try RedemptionFixture(members: 1...1)
        var code = Array(try f.code("cash", member: 1))
        code[code.count - 1] = code[code.count - 1] == "X" ? "Y" : "X"
        // No server listens on port 1: reaching for the database would exit 69, not 65.
        let result = try Couponbatch.run(
            [
                "redeem", String(code), "--store", "SH-001", "--amount-fen", "5000", "--request-id", "f1",
                "--database-url", "postgresql://nobody@127.0.0.1:1/none",
            ],
            environment: ["COUPONBATCH_CODE_SECRET": IssueFixture.secret])
        #expect(result.status == 65, "\(result.transcript)")
        #expect(result.stderr.contains("forged"))
        #expect(!result.stderr.contains(IssueFixture.secret))
        let malformed = try f.redeem("NOT-A-CODE", amountFen: 5_000, requestID: "f2")
        #expect(malformed.status == 65)
        #expect(try f.issue.int("SELECT count(*) FROM redemptions") == 0)
    }

    @Test func theLastSecondOfValidityCountsInTheTemplatesZone() throws {
        let f = try RedemptionFixture(members: 1...4)
        // Shanghai, 7 days from 2026-11-23: valid through 2026-11-29 23:59:59 +08:00.
        #expect(try f.redeem(try f.code("cash", member: 1), amountFen: 5_000, requestID: "a", at: "2026-11-29T23:59:59+08:00").status == 0)
        let late = try f.redeem(try f.code("cash", member: 2), amountFen: 5_000, requestID: "b", at: "2026-11-30T00:00:00+08:00")
        #expect(late.status == 65)
        #expect(late.stderr.contains("expired"))
        #expect(late.stderr.contains("2026-11-30T00:00:00+08:00 Asia/Shanghai"))
        // New York, until 2026-11-25: valid through 23:59:59 -05:00, which is 04:59:59 UTC the next day.
        #expect(try f.redeem(try f.code("ny", member: 1), amountFen: 5_000, requestID: "c", at: "2026-11-26T04:59:59Z").status == 0)
        let nyLate = try f.redeem(try f.code("ny", member: 2), amountFen: 5_000, requestID: "d", at: "2026-11-26T05:00:00Z")
        #expect(nyLate.status == 65)
        #expect(nyLate.stderr.contains("America/New_York"))
        // Before issue: not valid yet.
        let early = try f.redeem(try f.code("cash", member: 3), amountFen: 5_000, requestID: "e", at: "2026-11-23T01:59:59Z")
        #expect(early.status == 65)
        #expect(early.stderr.contains("not valid yet"))
        #expect(try f.issue.int("SELECT count(*) FROM redemptions") == 2)
    }

    @Test func aBoundCouponIsRedeemedOnlyAtItsStores() throws {
        let f = try RedemptionFixture(members: 1...1)
        let code = try f.code("bound", member: 1)
        let elsewhere = try f.redeem(code, store: "GZ-001", amountFen: 5_000, requestID: "s1")
        #expect(elsewhere.status == 65)
        #expect(elsewhere.stderr.contains("cannot be redeemed at store GZ-001"))
        #expect(try f.redeem(code, store: "BJ-001", amountFen: 5_000, requestID: "s2").status == 0)
    }

    @Test func belowTheMinimumSpendIsRefused() throws {
        let f = try RedemptionFixture(members: 1...1)
        let result = try f.redeem(try f.code("discount", member: 1), amountFen: 4_999, requestID: "m1")
        #expect(result.status == 65)
        #expect(RedemptionFixture.json(result)["reason"] as? String == "below_minimum_spend")
        #expect(try f.issue.text("SELECT status FROM coupons WHERE id = $1", [try f.couponID("discount", member: 1)]) == "active")
    }

    @Test func aPunchCardIsUsedUpAndAReversalGivesOneUseBack() throws {
        let f = try RedemptionFixture(members: 1...1)
        let code = try f.code("punch", member: 1)
        let id = try f.couponID("punch", member: 1)
        #expect(try f.redeem(code, amountFen: 0, requestID: "p1").status == 0)
        let second = try f.redeem(code, amountFen: 0, requestID: "p2")
        #expect(RedemptionFixture.json(second)["coupon_status"] as? String == "used_up")
        #expect(try f.redeem(code, amountFen: 0, requestID: "p3").status == 65)
        let reversed = try f.issue.command(["redeem", "--reverse", "p2", "--json"])
        #expect(reversed.status == 0, "\(reversed.transcript)")
        #expect(RedemptionFixture.json(reversed)["outcome"] as? String == "reversed")
        // The refund comes after the window closed (the machine's clock is past 2026-11-30), so
        // the card cannot be used again: expired, with its use counted back.
        let state = try f.issue.rows("SELECT status, uses_left FROM coupons WHERE id = $1", [id])[0]
        #expect(state["uses_left"] == "1")
        #expect(state["status"] == (Date() < Instant.parse("2026-11-29T16:00:00Z") ? "active" : "expired"))
        let twice = try f.issue.command(["redeem", "--reverse", "p2", "--json"])
        #expect(twice.status == 0)
        #expect(RedemptionFixture.json(twice)["outcome"] as? String == "already_reversed")
        #expect(try f.issue.int("SELECT uses_left FROM coupons WHERE id = $1", [id]) == 1)
        #expect(try f.issue.int("SELECT count(*) FROM redemptions WHERE reversed_at IS NOT NULL") == 1)
        #expect(try f.issue.command(["redeem", "--reverse", "nope"]).status == 65)
    }

    @Test func aReversedCouponStillValidIsActiveAgain() throws {
        // A window open until 2099, so the refund comes while the coupon is still valid.
        let f = try IssueFixture(
            templates: "templates:\n  - {key: far, type: cash, off_fen: 1000, validity: {from: 2026-11-01, until: 2099-12-31}}",
            jobs: [issueJob("far", "coupons:\n  - {template: far}")])
        try f.addMembers(1...1)
        #expect(try f.run("far").status == 0)
        let codec = CouponCodec(keyring: try CodeKeyring(secret: try CodeSecret(Array(IssueFixture.secret.utf8))))
        let id = try f.int("SELECT id FROM coupons")
        let redeem = try f.command(["redeem", try codec.code(for: id), "--store", "SH-001", "--amount-fen", "5000", "--request-id", "x"])
        #expect(redeem.status == 0, "\(redeem.transcript)")
        #expect(try f.text("SELECT status FROM coupons") == "redeemed")
        #expect(try f.command(["redeem", "--reverse", "x"]).status == 0)
        #expect(try f.text("SELECT status FROM coupons") == "active")
        #expect(try f.text("SELECT redeemed_at::text FROM coupons") == nil)
        // Redeemable again, with a new request id.
        #expect(try f.command(["redeem", try codec.code(for: id), "--store", "SH-001", "--amount-fen", "5000", "--request-id", "y"]).status == 0)
    }

    /// Six tills (processes) redeem one coupon at the same moment: exactly one wins.
    @Test func twoTillsRedeemingOneCouponAtOnceExactlyOneWins() throws {
        let f = try RedemptionFixture(members: 1...1)
        let code = try f.code("cash", member: 1)
        let tills = try (1...6).map { try f.startRedeem(code, amountFen: 5_000, requestID: "till-\($0)") }
        let results = tills.map { $0.wait() }
        #expect(results.filter { $0.status == 0 }.count == 1, "\(results.map(\.transcript))")
        #expect(results.filter { $0.status == 65 && $0.stderr.contains("already redeemed") }.count == 5)
        #expect(try f.issue.int("SELECT count(*) FROM redemptions") == 1)
    }

    /// The expiry sweep's `UPDATE … WHERE status = 'active'` racing redemptions of the same
    /// coupons: each coupon ends redeemed (with one redemption) or expired (with none).
    @Test func racingTheExpirySweepACouponIsRedeemedOrExpiredNeverBoth() throws {
        let f = try RedemptionFixture(members: 1...12)
        let ids = try f.issue.ints("SELECT id FROM coupons WHERE template_key = 'cash' ORDER BY id")
        let tills = try ids.enumerated().map { index, id in
            try f.startRedeem(try f.codec.code(for: id), amountFen: 5_000, requestID: "race-\(index)")
        }
        let sweep = try f.issue.db.connect()
        var swept = 0
        for id in ids.reversed() {
            swept += try sweep.execute("UPDATE coupons SET status = 'expired' WHERE id = $1 AND status = 'active'", [id])
            usleep(10_000)
        }
        let results = tills.map { $0.wait() }
        let redeemed = results.filter { $0.status == 0 }.count
        #expect(redeemed + swept == ids.count, "\(results.map(\.transcript))")
        #expect(results.allSatisfy { $0.status == 0 || $0.status == 65 })
        let states = try f.issue.rows(
            """
            SELECT c.status, count(r.id) AS uses FROM coupons c LEFT JOIN redemptions r ON r.coupon_id = c.id
            WHERE c.template_key = 'cash' GROUP BY c.id, c.status
            """)
        for state in states {
            #expect((state["status"] == "redeemed" && state["uses"] == "1") || (state["status"] == "expired" && state["uses"] == "0"))
        }
        #expect(try f.issue.int("SELECT count(*) FROM redemptions") == Int64(redeemed))
    }

    /// A redemption waiting on the coupon's row lock while a sweep expires it is refused.
    @Test func aRedemptionQueuedBehindTheSweepSeesTheCouponExpired() throws {
        let f = try RedemptionFixture(members: 1...1)
        let id = try f.couponID("cash", member: 1)
        let sweep = try f.issue.db.connect()
        try sweep.execute("BEGIN")
        #expect(try sweep.execute("UPDATE coupons SET status = 'expired' WHERE id = $1 AND status = 'active'", [id]) == 1)
        let till = try f.startRedeem(try f.codec.code(for: id), amountFen: 5_000, requestID: "late")
        let watcher = try f.issue.db.connect()
        let waiting = eventually(within: 10) {
            (try? watcher.query(
                "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).count) == 1
        }
        #expect(waiting)
        try sweep.execute("COMMIT")
        let result = till.wait()
        #expect(result.status == 65, "\(result.transcript)")
        #expect(RedemptionFixture.json(result)["reason"] as? String == "expired")
        #expect(try f.issue.int("SELECT count(*) FROM redemptions") == 0)
    }
}
