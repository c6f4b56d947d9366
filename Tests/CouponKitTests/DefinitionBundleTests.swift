import Foundation
import Testing

@testable import CouponKit

/// Plans with their schedules, and `kind: bundle` jobs, as the loader reads and refuses them.
@Suite("Plans and bundle jobs")
struct DefinitionBundleTests {
    static let plans = """
        plans:
          - key: beauty-yearly
            title: 美妆会员年卡
            price_fen: 29900
            term_months: 12
            every_months: 3
            delivery: 15
            at: "21:30"
            timezone: America/New_York
            welcome: [{template: recall-15d}]
            coupons: [{template: recall-7d, quantity: 2}]
            exclusive_label: 会员专享
          - {key: basic, price_fen: 100, coupons: [{template: recall-7d}]}

        """

    static let templates = """
        templates:
          - {key: recall-7d, type: cash, off_fen: 1000, validity: {days: 7}}
          - {key: recall-15d, type: cash, off_fen: 1000, validity: {days: 15}}
          - {key: capped, type: cash, off_fen: 1000, validity: {days: 7}, per_member: 1}

        """

    @Test func aPlanLoadsItsScheduleWelcomeAndLabelAndDefaultsTheRest() throws {
        let plans = try DefinitionFixture(["templates.yaml": Self.templates, "plans.yaml": Self.plans]).load().plans
        let plan = try #require(plans["beauty-yearly"])
        #expect(plan.schedule == BundleSchedule(everyMonths: 3, deliveryDay: .day(15), atMinutes: 21 * 60 + 30, timeZone: TimeZone(identifier: "America/New_York") ?? .gmt))
        #expect(plan.welcome == [CouponGrant(templateKey: "recall-15d")])
        #expect(plan.exclusiveLabel == "会员专享")
        #expect(plan.termMonths == 12)
        let basic = try #require(plans["basic"])
        #expect(basic.schedule == BundleSchedule())  // monthly, anniversary, 09:00, Asia/Shanghai
        #expect(basic.welcome.isEmpty)
        #expect(basic.exclusiveLabel == nil)
    }

    @Test func badPlanFieldsAreReportedAtTheirPlace() throws {
        let plans = """
            plans:
              - {key: p, price_fen: 1, every_months: 13, delivery: 29, at: "9:00", timezone: Asia/Shanghia, coupons: [{template: capped}]}
              - {key: q, price_fen: 1, delivery: monthly, coupons: [{template: recall-7d}], welcome: []}

            """
        let errors = try DefinitionFixture(["templates.yaml": Self.templates, "plans.yaml": plans]).loadErrors()
        #expect(errors.contains("jobs/plans.yaml:2:42: plans[0].every_months: must be between 1 and 12, got 13"), "\(errors)")
        #expect(errors.contains("jobs/plans.yaml:2:56: plans[0].delivery: must be between 1 and 28, got 29"), "\(errors)")
        #expect(errors.contains("jobs/plans.yaml:2:64: plans[0].at: expected a local time HH:MM (24-hour), got \"9:00\""), "\(errors)")
        #expect(errors.contains { $0.hasPrefix("jobs/plans.yaml:2:82: plans[0].timezone: unknown time zone \"Asia/Shanghia\"") }, "\(errors)")
        #expect(errors.contains { $0.hasPrefix("jobs/plans.yaml:2:106: plans[0].coupons: template \"capped\" has per_member") }, "\(errors)")
        #expect(errors.contains("jobs/plans.yaml:3:38: plans[1].delivery: expected anniversary or a day of the month 1-28, got \"monthly\""), "\(errors)")
        #expect(errors.contains("jobs/plans.yaml:3:90: plans[1].welcome: must not be empty"), "\(errors)")
        #expect(errors.count == 7, "\(errors)")
    }

    @Test func aBundleJobNamesKnownPlansAndTakesNoSegment() throws {
        let good = try DefinitionFixture([
            "templates.yaml": Self.templates, "plans.yaml": Self.plans,
            "b.yaml": "name: b\nkind: bundle\nschedule: \"0 * * * *\"\nplans: [basic]\nchunk_size: 2000\n",
            "all.yaml": "name: all\nkind: bundle\nschedule: \"0 * * * *\"\n",
        ]).load()
        #expect(good.job(named: "b")?.action == .bundle(BundleAction(plans: ["basic"], chunkSize: 2000)))
        #expect(good.job(named: "all")?.action == .bundle(BundleAction()))
        if case .bundle(let action) = good.job(named: "all")?.action {
            #expect(action.planKeys(in: good) == ["basic", "beauty-yearly"])
        }
        let errors = try DefinitionFixture([
            "templates.yaml": Self.templates, "plans.yaml": Self.plans,
            "b.yaml": "name: b\nkind: bundle\nschedule: \"0 * * * *\"\nplans: [basik, basic, basic]\nsegment: everyone\n",
        ]).loadErrors()
        #expect(
            errors == [
                "jobs/b.yaml:4:9: plans[0]: unknown plan \"basik\" (did you mean \"basic\"?)",
                "jobs/b.yaml:4:23: plans[2]: plan \"basic\" is listed twice",
                "jobs/b.yaml:5:1: segment: segment is not a field of a bundle job",
            ], "\(errors)")
    }

    @Test func aBundleJobMaySendThroughASinkOfSinksYamlAndAnUnknownOneIsRefusedAtItsPlace() throws {
        let sinks = "sinks:\n  - {name: crm, type: webhook, url: \"http://127.0.0.1:8080/x\", secret_env: S}\n  - {name: local-file, type: file, path: var/n.ndjson}\n"
        let good = try DefinitionFixture([
            "templates.yaml": Self.templates, "plans.yaml": Self.plans, "sinks.yaml": sinks,
            "b.yaml": "name: b\nkind: bundle\nschedule: \"0 * * * *\"\nsink: local-file\n",
        ]).load()
        #expect(good.job(named: "b")?.action == .bundle(BundleAction(sink: "local-file")))
        let errors = try DefinitionFixture([
            "templates.yaml": Self.templates, "plans.yaml": Self.plans, "sinks.yaml": sinks,
            "b.yaml": "name: b\nkind: bundle\nschedule: \"0 * * * *\"\nplans: [basic]\nsink: local-fil\n",
        ]).loadErrors()
        #expect(errors == ["jobs/b.yaml:5:7: sink: unknown sink \"local-fil\" (did you mean \"local-file\"?)"], "\(errors)")
    }
}
