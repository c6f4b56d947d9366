import Foundation
import Testing

@testable import CouponKit

@Suite("Templates and plans")
struct DefinitionTemplateTests {
    struct TypeCase: CustomTestStringConvertible, Sendable {
        let yaml: String
        let expected: CouponValue
        let faceValueFen: Int64
        var testDescription: String { "\(expected.type)" }
    }

    static let typeCases: [TypeCase] = [
        .init(yaml: "type: cash\n    off_fen: 1000", expected: .cash(offFen: 1000), faceValueFen: 1000),
        .init(
            yaml:
                "type: threshold\n    tiers: [{min_spend_fen: 10000, off_fen: 2000}, {min_spend_fen: 20000, off_fen: 5000}]",
            expected: .threshold(tiers: [
                ThresholdTier(minSpendFen: 10000, offFen: 2000), ThresholdTier(minSpendFen: 20000, offFen: 5000),
            ]),
            faceValueFen: 5000),
        .init(
            yaml: "type: discount\n    percent_off: 20\n    max_off_fen: 5000\n    min_spend_fen: 10000",
            expected: .discount(percentOff: 20, maxOffFen: 5000, minSpendFen: 10000), faceValueFen: 5000),
        .init(
            yaml: "type: discount\n    percent_off: 99",
            expected: .discount(percentOff: 99, maxOffFen: nil, minSpendFen: nil),
            faceValueFen: 0),
        .init(
            yaml: "type: gift\n    sku: 123\n    value_fen: 3000", expected: .gift(sku: "123", valueFen: 3000),
            faceValueFen: 3000),
        .init(
            yaml: "type: punch\n    uses: 10\n    value_fen: 2500", expected: .punch(uses: 10, valueFen: 2500),
            faceValueFen: 25000),
        .init(
            yaml: """
                type: blindbox
                    choices: [{off_fen: 500, weight: 70}, {off_fen: 2000, weight: 25}, {off_fen: 10000, weight: 5}]
                    min_spend_fen: 20000
                """,
            expected: .blindbox(
                choices: [
                    BlindBoxChoice(offFen: 500, weight: 70), BlindBoxChoice(offFen: 2000, weight: 25),
                    BlindBoxChoice(offFen: 10000, weight: 5),
                ], minSpendFen: 20000),
            faceValueFen: 10000),
    ]

    @Test(arguments: typeCases)
    func everyCouponTypeLoadsWithItsFaceValue(_ testCase: TypeCase) throws {
        let fixture = try DefinitionFixture([
            "templates.yaml": """
            templates:
              - key: t
                \(testCase.yaml)
                validity: {days: 3}

            """
        ])
        let template = try #require(try fixture.load().templates["t"])
        #expect(template.kind == testCase.expected)
        #expect(template.type == testCase.expected.type)
        #expect(template.faceValueFen == testCase.faceValueFen)
    }

    @Test func templateWithEveryCommonFieldLoadsAsWritten() throws {
        let fixture = try DefinitionFixture([
            "templates.yaml": """
            templates:
              - key: xmas-cash
                title: "圣诞 代金券 ¥10"
                type: cash
                off_fen: 1000
                validity: {from: 2026-12-01, until: "2026-12-31"}
                start_delay_days: 2
                timezone: America/New_York
                stock: 100000
                per_member: 3
                reissue_after_days: 30
                stores: [SH-001, SH-002]
                transferable: true
                member_exclusive: true

            """
        ])
        let template = try #require(try fixture.load().templates["xmas-cash"])
        let expected = CouponTemplate(
            key: "xmas-cash",
            title: "圣诞 代金券 ¥10",
            kind: .cash(offFen: 1000),
            validity: .window(
                from: try #require(CalendarDay(year: 2026, month: 12, day: 1)),
                until: try #require(CalendarDay(year: 2026, month: 12, day: 31))),
            startDelayDays: 2,
            timeZone: try #require(TimeZone(identifier: "America/New_York")),
            stock: 100000,
            perMemberLimit: 3,
            reissueAfterDays: 30,
            stores: ["SH-001", "SH-002"],
            transferable: true,
            memberExclusive: true)
        #expect(template == expected)
    }

    @Test func omittedTemplateFieldsTakeTheirDefaults() throws {
        let fixture = try DefinitionFixture([
            "templates.yaml": "templates:\n  - {key: c, type: cash, off_fen: 1, validity: {days: 1}, stores: []}\n"
        ])
        let template = try #require(try fixture.load().templates["c"])
        #expect(template.title == nil)
        #expect(template.startDelayDays == 0)
        #expect(template.timeZone.identifier == "Asia/Shanghai")
        #expect(template.stock == nil)
        #expect(template.perMemberLimit == nil)
        #expect(template.reissueAfterDays == nil)
        #expect(template.stores == [])
        #expect(template.transferable == false)
        #expect(template.memberExclusive == false)
        #expect(template.validity == .days(1))
    }

    @Test func fingerprintIsStableAndFollowsContent() throws {
        let base = CouponTemplate(key: "c", kind: .cash(offFen: 1000), validity: .days(7))
        let same = CouponTemplate(key: "c", kind: .cash(offFen: 1000), validity: .days(7))
        let changed = CouponTemplate(key: "c", kind: .cash(offFen: 1001), validity: .days(7))
        let restricted = CouponTemplate(key: "c", kind: .cash(offFen: 1000), validity: .days(7), stores: ["SH-001"])
        #expect(base.fingerprint == same.fingerprint)
        #expect(base.fingerprint != changed.fingerprint)
        #expect(base.fingerprint != restricted.fingerprint)
        #expect(base.fingerprint.count == 16)
        #expect(base.fingerprint.allSatisfy { $0.isHexDigit && !$0.isUppercase })
    }

    @Test func fingerprintIsFNV1aOfTheSortedKeyJSON() throws {
        let template = CouponTemplate(key: "c", kind: .cash(offFen: 1000), validity: .days(7))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = try encoder.encode(template)
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in json {
            hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211
        }
        #expect(template.fingerprint == String(format: "%016llx", hash))
    }

    @Test func encodingUsesTheFilesFieldNames() throws {
        let template = CouponTemplate(
            key: "tiered",
            title: "满减",
            kind: .threshold(tiers: [ThresholdTier(minSpendFen: 10000, offFen: 2000)]),
            validity: .window(
                from: try #require(CalendarDay("2026-12-01")), until: try #require(CalendarDay("2026-12-31"))),
            stock: 5,
            perMemberLimit: 1)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(template), as: UTF8.self)
        #expect(
            json
                == #"{"key":"tiered","member_exclusive":false,"per_member":1,"start_delay_days":0,"stock":5,"stores":[],"#
                + #""tiers":[{"min_spend_fen":10000,"off_fen":2000}],"timezone":"Asia/Shanghai","title":"满减","#
                + #""transferable":false,"type":"threshold","validity":{"from":"2026-12-01","until":"2026-12-31"}}"#)
    }

    @Test(arguments: [
        (
            CouponValue.discount(percentOff: 10, maxOffFen: nil, minSpendFen: 100),
            #""min_spend_fen":100,"percent_off":10"#
        ),
        (CouponValue.gift(sku: "SKU-1", valueFen: 3), #""sku":"SKU-1""#),
        (CouponValue.punch(uses: 3, valueFen: 7), #""uses":3,"validity""#),
        (
            CouponValue.blindbox(choices: [BlindBoxChoice(offFen: 1, weight: 2)], minSpendFen: nil),
            #""choices":[{"off_fen":1,"weight":2}]"#
        ),
    ])
    func encodingCarriesEachTypesFields(value: CouponValue, fragment: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let template = CouponTemplate(key: "k", kind: value, validity: .days(1))
        let json = String(decoding: try encoder.encode(template), as: UTF8.self)
        #expect(json.contains(fragment))
        #expect(json.contains(#""type":"\#(value.type.rawValue)""#))
    }

    @Test func punchFaceValueSaturatesInsteadOfOverflowing() {
        #expect(CouponValue.punch(uses: 10, valueFen: Int64.max / 2).faceValueFen == Int64.max)
    }

    @Test func plansLoadWithTheirCoupons() throws {
        let fixture = try DefinitionFixture([
            "plans.yaml": """
            plans:
              - key: beauty-yearly
                title: 美丽年卡
                price_fen: 36500
                coupons:
                  - {template: recall-7d, quantity: 2}
                  - {template: vip-2000-300}
              - {key: free, price_fen: 0, coupons: [{template: recall-15d}]}

            """
        ])
        let plans = try fixture.load().plans
        #expect(
            plans["beauty-yearly"]
                == BundlePlan(
                    key: "beauty-yearly", title: "美丽年卡", priceFen: 36500,
                    coupons: [
                        CouponGrant(templateKey: "recall-7d", quantity: 2), CouponGrant(templateKey: "vip-2000-300"),
                    ]))
        #expect(plans["free"]?.priceFen == 0)
        #expect(plans.count == 2)
    }

    @Test func emptyTemplatesAndPlansFilesAreAllowed() throws {
        let fixture = try DefinitionFixture([
            "templates.yaml": "# nothing yet\n",
            "plans.yaml": "plans: []\n",
        ])
        let deployment = try fixture.load()
        #expect(deployment.templates.isEmpty)
        #expect(deployment.plans.isEmpty)
        #expect(deployment.jobs.isEmpty)
    }
}
