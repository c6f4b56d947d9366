import CouponKit
import Foundation
import Testing

/// The rules of 核销 per coupon type, without a database.
struct RedemptionRulesTests {
    static let shanghai = TimeZone(identifier: "Asia/Shanghai")!
    /// Valid from 2026-12-01 00:00 to 2026-12-08 00:00, Shanghai time.
    static let validFrom = Date(timeIntervalSince1970: 1_796_054_400)  // 2026-11-30T16:00:00Z
    static let expiresAt = validFrom.addingTimeInterval(7 * 86_400)
    static let midway = validFrom.addingTimeInterval(86_400)

    static func coupon(
        _ value: CouponValue, status: CouponStatus = .active, face: Int64? = nil, usesLeft: Int? = nil,
        stores: [String] = []
    ) -> RedeemableCoupon {
        RedeemableCoupon(
            id: 7, templateKey: "t", status: status, validFrom: validFrom, expiresAt: expiresAt,
            faceValueFen: face ?? value.faceValueFen, usesLeft: usesLeft, redeemedAt: nil, value: value, stores: stores,
            timeZone: shanghai)
    }

    static func request(_ amountFen: Int64, at: Date = midway, store: String = "SH-001") -> RedemptionRequest {
        RedemptionRequest(store: store, amountFen: amountFen, at: at)
    }

    struct DiscountCase: Sendable, CustomTestStringConvertible {
        let name: String
        let value: CouponValue
        let amountFen: Int64
        let discountFen: Int64
        var testDescription: String { name }
    }

    static let tiers = [
        ThresholdTier(minSpendFen: 10_000, offFen: 2_000), ThresholdTier(minSpendFen: 20_000, offFen: 5_000),
    ]

    @Test(arguments: [
        DiscountCase(name: "cash below the order", value: .cash(offFen: 1_000), amountFen: 5_000, discountFen: 1_000),
        DiscountCase(name: "cash never above the order", value: .cash(offFen: 1_000), amountFen: 600, discountFen: 600),
        DiscountCase(name: "threshold: the lower tier", value: .threshold(tiers: tiers), amountFen: 19_999, discountFen: 2_000),
        DiscountCase(name: "threshold: the best tier met", value: .threshold(tiers: tiers), amountFen: 20_000, discountFen: 5_000),
        DiscountCase(name: "threshold: exactly the minimum", value: .threshold(tiers: tiers), amountFen: 10_000, discountFen: 2_000),
        DiscountCase(
            name: "discount: percent, rounded down", value: .discount(percentOff: 15, maxOffFen: nil, minSpendFen: nil),
            amountFen: 10_001, discountFen: 1_500),
        DiscountCase(
            name: "discount: capped", value: .discount(percentOff: 15, maxOffFen: 3_000, minSpendFen: nil), amountFen: 50_000,
            discountFen: 3_000),
        DiscountCase(
            name: "discount: under the cap", value: .discount(percentOff: 15, maxOffFen: 3_000, minSpendFen: 5_000),
            amountFen: 10_000, discountFen: 1_500),
        DiscountCase(name: "gift: its value", value: .gift(sku: "COFFEE", valueFen: 2_800), amountFen: 0, discountFen: 2_800),
        DiscountCase(name: "punch: one use's value", value: .punch(uses: 5, valueFen: 3_000), amountFen: 0, discountFen: 3_000),
    ])
    func discountFollowsTheCouponType(_ c: DiscountCase) throws {
        let decision = try RedemptionRules.decide(Self.coupon(c.value), Self.request(c.amountFen)).get()
        #expect(decision.discountFen == c.discountFen)
    }

    @Test func blindBoxGivesItsDrawnValueNeverAboveTheOrder() throws {
        let box = CouponValue.blindbox(
            choices: [BlindBoxChoice(offFen: 500, weight: 1), BlindBoxChoice(offFen: 10_000, weight: 1)], minSpendFen: nil)
        #expect(try RedemptionRules.decide(Self.coupon(box, face: 500), Self.request(3_000)).get().discountFen == 500)
        #expect(try RedemptionRules.decide(Self.coupon(box, face: 10_000), Self.request(3_000)).get().discountFen == 3_000)
    }

    @Test func giftNamesItsSKU() throws {
        let decision = try RedemptionRules.decide(Self.coupon(.gift(sku: "COFFEE", valueFen: 2_800)), Self.request(0)).get()
        #expect(decision.giftSKU == "COFFEE")
        #expect(decision.newStatus == .redeemed)
    }

    @Test(arguments: [
        (CouponValue.threshold(tiers: tiers), Int64(9_999), Int64(10_000)),
        (CouponValue.discount(percentOff: 10, maxOffFen: nil, minSpendFen: 5_000), Int64(4_999), Int64(5_000)),
        (CouponValue.blindbox(choices: [BlindBoxChoice(offFen: 500, weight: 1)], minSpendFen: 3_000), Int64(2_999), Int64(3_000)),
    ])
    func minimumSpendIsEnforced(_ value: CouponValue, _ amountFen: Int64, _ minimumFen: Int64) {
        let outcome = RedemptionRules.decide(Self.coupon(value), Self.request(amountFen))
        #expect(outcome == .failure(.belowMinimumSpend(couponID: 7, amountFen: amountFen, minimumFen: minimumFen)))
    }

    @Test func punchCardUsesOneAndIsUsedUpAtZero() throws {
        let card = CouponValue.punch(uses: 2, valueFen: 3_000)
        let first = try RedemptionRules.decide(Self.coupon(card, usesLeft: 2), Self.request(0)).get()
        #expect(first.newUsesLeft == 1)
        #expect(first.newStatus == .active)
        let last = try RedemptionRules.decide(Self.coupon(card, usesLeft: 1), Self.request(0)).get()
        #expect(last.newUsesLeft == 0)
        #expect(last.newStatus == .usedUp)
        #expect(RedemptionRules.decide(Self.coupon(card, status: .usedUp, usesLeft: 0), Self.request(0)) == .failure(.usedUp(couponID: 7)))
    }

    @Test func theWindowIsClosedAtItsEndAndOpenAtItsStart() throws {
        let cash = CouponValue.cash(offFen: 100)
        let lastSecond = Self.expiresAt.addingTimeInterval(-1)
        #expect(try RedemptionRules.decide(Self.coupon(cash), Self.request(500, at: lastSecond)).get().discountFen == 100)
        #expect(
            RedemptionRules.decide(Self.coupon(cash), Self.request(500, at: Self.expiresAt))
                == .failure(.expired(couponID: 7, expiresAt: Self.expiresAt, zone: Self.shanghai)))
        #expect(try RedemptionRules.decide(Self.coupon(cash), Self.request(500, at: Self.validFrom)).get().discountFen == 100)
        #expect(
            RedemptionRules.decide(Self.coupon(cash), Self.request(500, at: Self.validFrom.addingTimeInterval(-1)))
                == .failure(.notYetValid(couponID: 7, validFrom: Self.validFrom, zone: Self.shanghai)))
    }

    @Test func expiryMessageSaysTheEndInTheTemplatesZone() {
        let refusal = RedemptionRefusal.expired(couponID: 7, expiresAt: Self.expiresAt, zone: Self.shanghai)
        #expect(refusal.description.contains("2026-12-08T00:00:00+08:00 Asia/Shanghai"))
    }

    @Test func aBoundCouponIsRedeemedOnlyAtItsStores() throws {
        let bound = Self.coupon(.cash(offFen: 100), stores: ["SH-001", "BJ-001"])
        #expect(try RedemptionRules.decide(bound, Self.request(500, store: "BJ-001")).get().discountFen == 100)
        #expect(
            RedemptionRules.decide(bound, Self.request(500, store: "GZ-001"))
                == .failure(.wrongStore(couponID: 7, store: "GZ-001", stores: ["SH-001", "BJ-001"])))
    }

    @Test(arguments: [CouponStatus.redeemed, .expired, .usedUp])
    func onlyAnActiveCouponIsRedeemed(_ status: CouponStatus) {
        let outcome = RedemptionRules.decide(Self.coupon(.cash(offFen: 100), status: status), Self.request(500))
        #expect((try? outcome.get()) == nil)
    }
}
