import Foundation
import Testing

@testable import CouponKit

@Suite("Segments")
struct DefinitionSegmentTests {
    struct SegmentCase: CustomTestStringConvertible, Sendable {
        let yaml: String
        let expected: Segment
        var testDescription: String { yaml.split(separator: "\n").first.map(String.init) ?? yaml }
    }

    static let cases: [SegmentCase] = [
        .init(yaml: "  tier: gold", expected: .tier([.gold])),
        .init(
            yaml: "  tier: [standard, silver, gold, platinum, gold]",
            expected: .tier([.standard, .silver, .gold, .platinum])),
        .init(yaml: "  tags_any: [new, 'say \"hi\"', it's]", expected: .tagsAny(["new", "say \"hi\"", "it's"])),
        .init(yaml: "  tags_all: [a, b]", expected: .tagsAll(["a", "b"])),
        .init(yaml: "  tags_all: vip", expected: .tagsAll(["vip"])),
        .init(
            yaml: "  total_spend_fen: {min: 0, max: 100000}",
            expected: .totalSpendFen(BoundedRange(min: 0, max: 100000))),
        .init(yaml: "  total_spend_fen: {max: 5}", expected: .totalSpendFen(BoundedRange(max: 5))),
        .init(yaml: "  order_count: {min: 3, max: 3}", expected: .orderCount(BoundedRange(min: 3, max: 3))),
        .init(yaml: "  last_order_within_days: 30", expected: .lastOrderWithinDays(30)),
        .init(yaml: "  dormant_days: 90", expected: .dormantDays(90)),
        .init(yaml: "  registered_within_days: 7", expected: .registeredWithinDays(7)),
        .init(yaml: "  home_store: SH-001", expected: .homeStore(["SH-001"])),
        .init(yaml: "  home_store: [SH-001, '002']", expected: .homeStore(["SH-001", "002"])),
        .init(
            yaml: "  rfm: {recency: [5, 4, 4], frequency: {min: 3}, monetary: 5}",
            expected: .rfm(RFMFilter(recency: [4, 5], frequency: [3, 4, 5], monetary: [5]))),
        .init(yaml: "  rfm: {monetary: {min: 2, max: 3}}", expected: .rfm(RFMFilter(monetary: [2, 3]))),
        .init(yaml: "  rfm: {frequency: {max: 2}}", expected: .rfm(RFMFilter(frequency: [1, 2]))),
        .init(
            yaml: "  sql: \"select id from members where home_store like 'SH-%'\"",
            expected: .sql("select id from members where home_store like 'SH-%'")),
        .init(yaml: "  any: [{tier: gold}, {dormant_days: 30}]", expected: .any([.tier([.gold]), .dormantDays(30)])),
        .init(yaml: "  not: {tier: standard}", expected: .not(.tier([.standard]))),
        .init(yaml: "  not: everyone", expected: .not(.everyone)),
        .init(
            yaml: """
                  all:
                    - any:
                        - tier: platinum
                        - all: [{order_count: {min: 10}}, {not: {tags_all: [blocked]}}]
                    - registered_within_days: 365
                """,
            expected: .all([
                .any([.tier([.platinum]), .all([.orderCount(BoundedRange(min: 10)), .not(.tagsAll(["blocked"]))])]),
                .registeredWithinDays(365),
            ])),
        .init(
            yaml: "  tier: gold\n  tags_any: [vip]\n  dormant_days: 30",
            expected: .all([.tier([.gold]), .tagsAny(["vip"]), .dormantDays(30)])),
    ]

    @Test(arguments: cases)
    func everyOperatorReadsIntoItsCase(_ testCase: SegmentCase) throws {
        let fixture = try DefinitionFixture(["job.yaml": JobYAML.segment(testCase.yaml)])
        let job = try #require(try fixture.load().job(named: "vip-monthly"))
        guard case .issue(let action) = job.action else {
            Issue.record("expected an issue job")
            return
        }
        #expect(action.segment == testCase.expected)
    }

    @Test func everyoneIsTheScalarSegment() throws {
        let fixture = try DefinitionFixture([
            "job.yaml": JobYAML.issue("segment: everyone\ncoupons: [{template: recall-7d}]")
        ])
        let job = try #require(try fixture.load().job(named: "vip-monthly"))
        #expect(
            job.action
                == .issue(IssueAction(segment: .everyone, offer: .coupons([CouponGrant(templateKey: "recall-7d")]))))
    }

    @Test func listPathsResolveAgainstTheJobFilesDirectory() throws {
        let fixture = try DefinitionFixture([
            "job.yaml": JobYAML.segment("  any: [{list: members.csv}, {list: ./lists/../lists/vip.csv}]"),
            "members.csv": "1\n2\n",
            "lists/vip.csv": "3\n",
        ])
        let job = try #require(try fixture.load().job(named: "vip-monthly"))
        guard case .issue(let action) = job.action else {
            Issue.record("expected an issue job")
            return
        }
        let expected = Segment.any([
            .list(path: fixture.jobs + "/members.csv"), .list(path: fixture.jobs + "/lists/vip.csv"),
        ])
        #expect(action.segment == expected)
    }

    @Test func boundedRangeContainsItsBoundsInclusive() {
        let range = BoundedRange(min: 10, max: 20)
        #expect(range.contains(10) && range.contains(20))
        #expect(!range.contains(9) && !range.contains(21))
        #expect(BoundedRange(min: 5).contains(Int64.max))
        #expect(!BoundedRange(max: 5).contains(6))
    }
}
