import Foundation
import Testing

@testable import CouponKit

/// Job files that load but could never do what they say are refused when validated.
@Suite("Impossible job files")
struct DefinitionImpossibleTests {
    @Test func aScheduleThatNeverFiresIsRefusedWithItsLineAndColumn() throws {
        let fixture = try DefinitionFixture([
            "feb.yaml": """
            name: feb
            kind: noop
            schedule: "0 0 30 2 *"
            """
        ])
        #expect(fixture.loadErrors() == ["jobs/feb.yaml:3:11: schedule: \(JobDefinitionParser.neverFires)"])
    }

    @Test(arguments: ["0 0 29 2 *", "0 0 30 2 1", "0 0 31 1,2 *", "0 0 L 2 *"])
    func aScheduleThatFiresRarelyStillLoads(_ expression: String) throws {
        let fixture = try DefinitionFixture(["rare.yaml": "name: rare\nkind: noop\nschedule: \"\(expression)\"\n"])
        #expect(fixture.loadErrors() == [])
    }

    @Test func aGrantAbovePerMemberIsRefusedAndOneAtTheLimitLoads() throws {
        let templates = """
            templates:
              - key: once
                type: cash
                off_fen: 1000
                validity: {days: 7}
                per_member: 2

            """
        func job(_ quantity: Int) -> String {
            "name: j\nkind: issue\nschedule: \"0 9 * * *\"\nsegment: {tier: [gold]}\ncoupons:\n  - {template: once, quantity: \(quantity)}\n"
        }
        let over = try DefinitionFixture(["templates.yaml": templates, "j.yaml": job(3)])
        #expect(
            over.loadErrors() == [
                "jobs/j.yaml:6:32: coupons[0].quantity: quantity 3 exceeds template \"once\"'s per_member 2; "
                    + "no member could ever get them all"
            ])
        let atLimit = try DefinitionFixture(["templates.yaml": templates, "j.yaml": job(2)])
        #expect(atLimit.loadErrors() == [])
    }
}
