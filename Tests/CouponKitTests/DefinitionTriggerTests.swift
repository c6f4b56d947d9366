import Foundation
import Testing

@testable import CouponKit

@Suite("Trigger job files")
struct DefinitionTriggerTests {
    static func job(_ lines: String) -> String {
        """
        name: repurchase-7d
        kind: issue
        \(lines)
        segment: {not: {tags_any: [blocked]}}
        coupons: [{template: recall-7d}]
        """
    }

    @Test func triggerJobLoadsWithFilterAndWindow() throws {
        let fixture = try DefinitionFixture([
            "r.yaml": Self.job(
                """
                trigger:
                  event: payment
                  where: {amount_fen: {min: 10000}}
                  within: 1h
                """)
        ])
        let job = try #require(try fixture.load().jobs.first)
        #expect(job.trigger == EventTrigger(eventType: "payment", amountFen: BoundedRange(min: 10000), withinSeconds: 3_600))
        #expect(job.schedule == nil)
        #expect(!job.manualOnly)
    }

    @Test func withinDefaultsToADay() throws {
        let fixture = try DefinitionFixture(["r.yaml": Self.job("trigger: {event: level_change}")])
        let job = try #require(try fixture.load().jobs.first)
        #expect(job.trigger == EventTrigger(eventType: "level_change", amountFen: nil, withinSeconds: 86_400))
    }

    @Test(arguments: [
        (
            "schedule: \"0 9 * * *\"\ntrigger: {event: payment}",
            "jobs/r.yaml:4:10: trigger: a job has a schedule or a trigger, never both; remove one of them"
        ),
        (
            "trigger: {event: Payment!}",
            "jobs/r.yaml:3:18: trigger.event: event type \"Payment!\" must be lowercase letters, digits, - or _ (e.g. payment)"
        ),
        (
            "trigger: {event: payment, where: {amount: {min: 1}}}",
            "jobs/r.yaml:3:35: trigger.where.amount: unknown field \"amount\" (did you mean \"amount_fen\"?)"
        ),
        (
            "trigger: {event: payment, within: soon}",
            "jobs/r.yaml:3:35: trigger.within: invalid duration \"soon\" (use e.g. 90s, 15m, 1h, 2d or 1h30m)"
        ),
        (
            "trigger: {event: payment, where: {amount_fen: {min: 5, max: 1}}}",
            "jobs/r.yaml:3:47: trigger.where.amount_fen: min (5) is greater than max (1)"
        ),
    ])
    func badTriggersAreRefusedWithFileLineAndField(lines: String, expected: String) throws {
        let fixture = try DefinitionFixture(["r.yaml": Self.job(lines)])
        #expect(fixture.loadErrors() == [expected])
    }

    @Test func aNoopJobCannotHaveATrigger() throws {
        let fixture = try DefinitionFixture([
            "n.yaml": "name: beat\nkind: noop\ntrigger: {event: payment}\n"
        ])
        #expect(fixture.loadErrors() == ["jobs/n.yaml:3:10: trigger: only an issue job can have a trigger"])
    }

    @Test func aTriggerJobGivesCouponsNotVariants() throws {
        let fixture = try DefinitionFixture([
            "v.yaml": """
            name: ab
            kind: issue
            trigger: {event: payment}
            segment: everyone
            variants:
              - {name: a, weight: 1, coupons: [{template: recall-7d}]}
              - {name: b, weight: 1, coupons: [{template: recall-15d}]}
            """
        ])
        #expect(
            fixture.loadErrors() == [
                "jobs/v.yaml:3:10: trigger: a trigger job gives coupons, not variants (A/B tests are for scheduled jobs)"
            ])
    }
}
