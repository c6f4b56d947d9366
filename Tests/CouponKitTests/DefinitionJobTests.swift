import Foundation
import Testing

@testable import CouponKit

@Suite("Job files")
struct DefinitionJobTests {
    @Test func issueJobWithEveryFieldLoadsAsWritten() throws {
        let fixture = try DefinitionFixture([
            "vip.yaml": """
            name: vip-monthly
            description: "VIP 月度券"
            kind: issue
            schedule: "0 9 1 * *"
            manual_only: false
            timezone: Europe/Berlin
            concurrency: allow
            catch_up: all
            starting_deadline: 1h30m
            max_catch_up: 3
            retry: {attempts: 3, backoff: 2m}
            timeout: 2h
            segment:
              all:
                - tier: [gold, platinum]
                - total_spend_fen: {min: 50000}
                - not: {tags_any: [blocked]}
            coupons:
              - {template: vip-2000-300, quantity: 2}
              - {template: recall-7d}
            chunk_size: 1000
            """
        ])
        let deployment = try fixture.load()
        let expected = JobDefinition(
            name: "vip-monthly",
            summary: "VIP 月度券",
            action: .issue(
                IssueAction(
                    segment: .all([
                        .tier([.gold, .platinum]),
                        .totalSpendFen(BoundedRange(min: 50000)),
                        .not(.tagsAny(["blocked"])),
                    ]),
                    offer: .coupons([
                        CouponGrant(templateKey: "vip-2000-300", quantity: 2),
                        CouponGrant(templateKey: "recall-7d", quantity: 1),
                    ]),
                    chunkSize: 1000)),
            schedule: try CronExpression("0 9 1 * *"),
            manualOnly: false,
            timeZone: try #require(TimeZone(identifier: "Europe/Berlin")),
            concurrency: .allow,
            catchUp: .all,
            startingDeadlineSeconds: 5400,
            maxCatchUp: 3,
            retry: JobRetry(attempts: 3, backoffSeconds: 120),
            timeoutSeconds: 7200,
            sourceFile: fixture.path("vip.yaml")
        )
        #expect(deployment.jobs == [expected])
        #expect(deployment.job(named: "vip-monthly")?.kind == .issue)
    }

    @Test func omittedFieldsTakeTheirDefaults() throws {
        let fixture = try DefinitionFixture([
            "recall.yaml": JobYAML.issue("segment: everyone\ncoupons: [{template: recall-7d}]", name: "recall")
        ])
        let job = try #require(try fixture.load().job(named: "recall"))
        #expect(job.summary == nil)
        #expect(job.manualOnly == false)
        #expect(job.timeZone.identifier == "Asia/Shanghai")
        #expect(job.concurrency == .forbid)
        #expect(job.catchUp == .latest)
        #expect(job.startingDeadlineSeconds == 3600)
        #expect(job.maxCatchUp == 24)
        #expect(job.retry == JobRetry(attempts: 1, backoffSeconds: 60))
        #expect(job.timeoutSeconds == nil)
        #expect(
            job.action
                == .issue(
                    IssueAction(
                        segment: .everyone, offer: .coupons([CouponGrant(templateKey: "recall-7d")]), chunkSize: 20_000)))
    }

    @Test func retryWithoutBackoffWaitsOneMinute() throws {
        let fixture = try DefinitionFixture([
            "a.yaml": JobYAML.issue(
                "segment: everyone\ncoupons: [{template: recall-7d}]\nretry: {attempts: 5}", name: "a")
        ])
        #expect(try fixture.load().job(named: "a")?.retry == JobRetry(attempts: 5, backoffSeconds: 60))
    }

    @Test func noopJobWithEveryFieldLoads() throws {
        let fixture = try DefinitionFixture([
            "heartbeat.yml": """
            name: heartbeat
            kind: noop
            schedule: "@hourly"
            sleep_ms: 250
            chunks: 4
            fail: true
            retry: {attempts: 2, backoff: 0}
            """
        ])
        let job = try #require(try fixture.load().job(named: "heartbeat"))
        #expect(job.action == .noop(NoopAction(sleepMilliseconds: 250, chunks: 4, fail: true)))
        #expect(job.schedule?.description == "@hourly")
        #expect(job.retry == JobRetry(attempts: 2, backoffSeconds: 0))
        #expect(job.kind == .noop)
    }

    @Test func manualOnlyJobNeedsNoSchedule() throws {
        let fixture = try DefinitionFixture([
            "once.yaml": """
            name: once
            kind: noop
            manual_only: true
            """
        ])
        let job = try #require(try fixture.load().job(named: "once"))
        #expect(job.manualOnly)
        #expect(job.schedule == nil)
        #expect(job.action == .noop(NoopAction()))
    }

    @Test func variantsWithAHoldoutLoadInOrder() throws {
        let fixture = try DefinitionFixture([
            "recall.yaml": JobYAML.issue(
                """
                segment: {dormant_days: 60}
                variants:
                  - {name: d7, weight: 50, coupons: [{template: recall-7d}]}
                  - {name: d15, weight: 50, coupons: [{template: recall-15d, quantity: 2}]}
                  - {name: holdout, weight: 10, holdout: true}
                """, name: "recall")
        ])
        let job = try #require(try fixture.load().job(named: "recall"))
        let expected = IssueOffer.variants([
            IssueVariant(name: "d7", weight: 50, coupons: [CouponGrant(templateKey: "recall-7d")]),
            IssueVariant(name: "d15", weight: 50, coupons: [CouponGrant(templateKey: "recall-15d", quantity: 2)]),
            IssueVariant(name: "holdout", weight: 10, holdout: true),
        ])
        guard case .issue(let action) = job.action else {
            Issue.record("expected an issue job, got \(job.action)")
            return
        }
        #expect(action.offer == expected)
        #expect(action.offer.templateKeys == ["recall-7d", "recall-15d"])
        #expect(action.segment == .dormantDays(60))
    }

    @Test func jobsAreSortedByNameWhateverTheirFileNames() throws {
        let fixture = try DefinitionFixture([
            "1.yaml": JobYAML.issue("segment: everyone\ncoupons: [{template: recall-7d}]", name: "zeta"),
            "2.yaml": JobYAML.issue("segment: everyone\ncoupons: [{template: recall-7d}]", name: "alpha"),
            "3.yml": "name: mid\nkind: noop\nmanual_only: true\n",
            "notes.txt": "not a job",
            ".hidden.yaml": "garbage: [",
        ])
        let deployment = try fixture.load()
        #expect(deployment.jobs.map(\.name) == ["alpha", "mid", "zeta"])
        #expect(deployment.job(named: "zeta")?.sourceFile == fixture.path("1.yaml"))
        #expect(deployment.job(named: "missing") == nil)
        #expect(deployment.templates.keys.sorted() == ["recall-15d", "recall-7d", "vip-2000-300"])
    }

    @Test(arguments: [
        ("90s", 90), ("15m", 900), ("1h", 3600), ("2d", 172_800), ("1h30m", 5400), ("1d2h3m4s", 93784), ("45", 45),
    ])
    func startingDeadlineAcceptsEveryDurationForm(text: String, seconds: Int) throws {
        let fixture = try DefinitionFixture([
            "a.yaml": "name: a\nkind: noop\nmanual_only: true\nstarting_deadline: \(text)\n"
        ])
        #expect(try fixture.load().job(named: "a")?.startingDeadlineSeconds == seconds)
    }

    @Test(arguments: ["@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight", "*/5 * * * *"])
    func scheduleAcceptsMacrosAndFiveFields(schedule: String) throws {
        let fixture = try DefinitionFixture(["a.yaml": "name: a\nkind: noop\nschedule: \"\(schedule)\"\n"])
        #expect(try fixture.load().job(named: "a")?.schedule == (try CronExpression(schedule)))
    }

    @Test func aJobNameMayBeSixtyThreeCharactersLong() throws {
        let name = String(repeating: "a", count: 62) + "1"
        let fixture = try DefinitionFixture(["a.yaml": "name: \(name)\nkind: noop\nmanual_only: true\n"])
        #expect(try fixture.load().job(named: name) != nil)
        let tooLong = try DefinitionFixture(["a.yaml": "name: a\(name)\nkind: noop\nmanual_only: true\n"])
        #expect(tooLong.loadErrors() == ["jobs/a.yaml:1:7: name: job name \"a\(name)\" is longer than 63 characters"])
    }
}
