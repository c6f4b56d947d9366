import CouponKit
import Foundation
import Testing

/// `kind: remind`, `kind: expire` and `sinks.yaml`, as job files declare them.
@Suite struct DefinitionSweepTests {
    static let sinks = """
        sinks:
          - name: crm
            type: webhook
            url: http://127.0.0.1:8080/coupon-events
            secret_env: COUPONBATCH_WEBHOOK_SECRET
            batch_size: 500
            timeout: 10s
            max_attempts: 10
          - {name: local-file, type: file, path: var/notifications.ndjson}
          - {name: console, type: stdout}
        """

    @Test func theIssueExampleLoads() throws {
        let fixture = try DefinitionFixture([
            "sinks.yaml": Self.sinks,
            "reminder.yaml": """
                name: expiry-reminder
                kind: remind
                schedule: "0 10 * * *"
                timezone: Asia/Shanghai
                remind:
                  before: 3d
                  templates: [recall-7d]
                  segment: {tier: [gold]}
                quiet_hours: "22:00-08:00"
                sink: crm
                """,
            "expire.yaml": "name: expire\nkind: expire\nschedule: \"5 0 * * *\"\nnotify: true\nsink: local-file\n",
        ])
        let deployment = try fixture.load()
        guard case .remind(let remind) = deployment.job(named: "expiry-reminder")?.action else {
            Issue.record("not a remind job")
            return
        }
        #expect(remind.beforeSeconds == 3 * 86_400)
        #expect(remind.templateKeys == ["recall-7d"])
        #expect(remind.segment != nil)
        #expect(remind.sink == "crm")
        #expect(remind.quietHours == QuietHours(fromMinute: 22 * 60, untilMinute: 8 * 60))
        guard case .expire(let expire) = deployment.job(named: "expire")?.action else {
            Issue.record("not an expire job")
            return
        }
        #expect(expire.notifySink == "local-file")
        #expect(expire.templateKeys.isEmpty)
        #expect(deployment.sinks.count == 3)
        let crm = try #require(deployment.sinks["crm"])
        #expect(crm.destination == .webhook(url: try #require(URL(string: "http://127.0.0.1:8080/coupon-events")), secret: .environment("COUPONBATCH_WEBHOOK_SECRET"), timeoutSeconds: 10))
        #expect(crm.batchSize == 500 && crm.maxAttempts == 10)
        // sinks.yaml is not a job file.
        #expect(deployment.jobs.count == 2)
    }

    @Test func mistakesAreReportedByFileLineAndField() throws {
        let fixture = try DefinitionFixture([
            "sinks.yaml": """
                sinks:
                  - {name: crm, type: webhook, url: "ftp://x", secret_env: S}
                  - {name: hook, type: webhook, url: "http://127.0.0.1/x"}
                  - {name: f, type: file, path: a.ndjson, url: "http://x"}
                """,
            "a.yaml": "name: a\nkind: remind\nmanual_only: true\nremind: {before: 0s}\nsink: crn\nquiet_hours: \"22-08\"\nconcurrency: allow\n",
            "b.yaml": "name: b\nkind: expire\nmanual_only: true\nnotify: true\ntemplates: [recall-7x]\n",
        ])
        #expect(
            fixture.loadErrors() == [
                "jobs/a.yaml:4:18: remind.before: must be longer than zero",
                "jobs/a.yaml:5:7: sink: unknown sink \"crn\" (did you mean \"crm\"?)",
                "jobs/a.yaml:6:14: quiet_hours: invalid quiet hours \"22-08\" (use HH:MM-HH:MM in the job's zone, e.g. \"22:00-08:00\")",
                "jobs/a.yaml:7:14: concurrency: a remind job runs one sweep at a time; remove concurrency: allow",
                "jobs/b.yaml:1:1: sink: required field is missing (notify: true sends through a sink)",
                "jobs/b.yaml:5:13: templates[0]: unknown template \"recall-7x\" (did you mean \"recall-7d\"?)",
                "jobs/sinks.yaml:2:37: sinks[0].url: invalid URL \"ftp://x\" (use http:// or https:// with a host)",
                "jobs/sinks.yaml:3:5: sinks[1].secret_env: required field is missing (or secret_file): webhooks are always signed",
                "jobs/sinks.yaml:4:43: sinks[2].url: url is not a field of a file sink",
            ])
    }
}
