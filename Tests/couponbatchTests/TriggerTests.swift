import Foundation
import Postgres
import Testing
import TestSupport

@Suite("Event-triggered issuance")
struct TriggerTests {
    static let templates = """
        templates:
          - {key: thanks-5, type: cash, off_fen: 500, validity: {days: 7}}
          - {key: repurchase-50-10, type: threshold, tiers: [{min_spend_fen: 5000, off_fen: 1000}], validity: {days: 7},
             per_member: 1, stock: 3}
        """

    @Test func eachEventIssuesExactlyOnceWithThreeSchedulersRacing() throws {
        let fixture = try IssueFixture(
            templates: Self.templates, jobs: [triggerJob("thanks", "coupons: [{template: thanks-5, quantity: 2}]")])
        try fixture.addMembers(1...200)
        // Two payments per member before the schedulers start, one more each while they run.
        try fixture.addPayments(Array(1...200), prefix: "a")
        try fixture.addPayments(Array(1...200), prefix: "b")
        let schedulers = try (0..<3).map { _ in try fixture.startScheduler(["--event-batch-size", "50"]) }
        try fixture.addPayments(Array(1...200), prefix: "c")
        let drained = try fixture.waitUntil(seconds: 90) { try fixture.unconsumed(job: "thanks") == 0 }
        for scheduler in schedulers { scheduler.signal(SIGTERM) }
        let results = schedulers.map { $0.wait() }
        #expect(drained)
        #expect(results.map(\.status) == [0, 0, 0])
        #expect(try fixture.int("SELECT count(*) FROM trigger_outcomes WHERE job = 'thanks'") == 600)
        #expect(try fixture.int("SELECT count(*) FROM trigger_outcomes WHERE outcome <> 'issued'") == 0)
        // Two coupons per event, each recording its event, none twice.
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 1_200)
        #expect(try fixture.int("SELECT count(DISTINCT event_id) FROM coupons") == 600)
        #expect(try fixture.int("SELECT count(*) FROM (SELECT event_id FROM coupons GROUP BY event_id HAVING count(*) <> 2) x") == 0)
        #expect(try fixture.couponsPerMember(template: "thanks-5").values.allSatisfy { $0 == 6 })
        // Every batch is a succeeded run of the job, and the runs' counts add up to the coupons.
        #expect(try fixture.int("SELECT count(*) FROM job_runs WHERE job = 'thanks' AND (trigger <> 'event' OR status <> 'succeeded')") == 0)
        #expect(try fixture.int("SELECT sum((counts->>'coupons_issued')::bigint) FROM job_runs WHERE job = 'thanks'") == 1_200)
    }

    @Test func filtersSegmentLimitsAndStockAreSharedWithAScheduledJob() throws {
        let fixture = try IssueFixture(
            templates: Self.templates,
            jobs: [
                issueJob("scheduled", segment: "{tags_any: [early]}", "coupons: [{template: repurchase-50-10}]"),
                triggerJob(
                    "repurchase", filter: "{amount_fen: {min: 10000}}", segment: "{not: {tags_any: [blocked]}}",
                    "coupons: [{template: repurchase-50-10}]"),
            ])
        try fixture.addMembers(1...7)
        let setup = try fixture.db.connect()
        try setup.execute("UPDATE members SET tags = '{blocked}' WHERE id = 4")
        try setup.execute("UPDATE members SET tags = '{early}' WHERE id IN (1, 2)")
        // The scheduled run gives members 1 and 2 the template (per_member: 1): one of stock 3 is left.
        #expect(try fixture.run("scheduled").status == 0)
        try fixture.addEvents([
            ("m1", 1, "payment", 20_000, 0),  // already has it from the scheduled run
            ("m3", 3, "payment", 20_000, 0),  // takes the last of the stock
            ("m4", 4, "payment", 20_000, 0),  // blocked
            ("m5", 5, "payment", 50, 0),  // below the filter
            ("m6", 6, "payment", 20_000, 0),  // stock is gone
            ("m7", 7, "payment", 20_000, 7_200),  // happened 2 h ago, within is 1 h
            ("x1", 3, "level_change", nil, 0),  // another type: not this job's
        ])
        let scheduler = try fixture.startScheduler()
        let drained = try fixture.waitUntil(seconds: 30) { try fixture.outcomes(job: "repurchase").count == 6 }
        scheduler.signal(SIGTERM)
        #expect(scheduler.wait().status == 0)
        #expect(drained)
        #expect(
            try fixture.outcomes(job: "repurchase") == [
                "m1": "limit_reached", "m3": "issued", "m4": "not_in_segment", "m5": "filtered", "m6": "stock_out",
                "m7": "too_old",
            ])
        #expect(try fixture.int("SELECT issued FROM template_stock WHERE key = 'repurchase-50-10'") == 3)
        #expect(try fixture.couponsPerMember(template: "repurchase-50-10") == [1: 1, 2: 1, 3: 1])
        #expect(try fixture.int("SELECT count(*) FROM coupons c JOIN member_events e ON e.id = c.event_id WHERE e.external_id = 'm3'") == 1)
        // The list shows the outcomes the way an operator reads them.
        let listed = try fixture.command(["events", "list", "--status", "stock_out"])
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("m6") && !listed.stdout.contains("m3 "))
    }

    @Test func aNotificationThatNeverArrivesIsCaughtByThePoll() throws {
        let fixture = try IssueFixture(templates: Self.templates, jobs: [triggerJob("thanks", "coupons: [{template: thanks-5}]")])
        try fixture.addMembers(1...2)
        let scheduler = try fixture.startScheduler()
        defer { scheduler.signal(SIGTERM) }
        try fixture.addPayments([1])
        #expect(try fixture.waitUntil(seconds: 20) { try fixture.outcomes(job: "thanks").count == 1 })
        // The insert trigger that notifies is off: the second event sends no notification at all.
        try fixture.db.connect().execute("ALTER TABLE member_events DISABLE TRIGGER member_events_notify")
        try fixture.addPayments([2], prefix: "silent")
        #expect(try fixture.waitUntil(seconds: 10) { try fixture.outcomes(job: "thanks")["silent-2"] == "issued" })
    }

    @Test func aTriggerJobsSQLSegmentRunsInTheReadOnlySandbox() throws {
        let fixture = try IssueFixture(templates: Self.templates, jobs: [])
        try fixture.addMembers(1...4)
        // A bystander session of the application role, as another runner would be.
        let bystander = try fixture.db.connect()
        let pid = bystander.backendPID
        try fixture.addJob(
            triggerJob(
                "hostile", segment: "{sql: \"SELECT id FROM members WHERE pg_terminate_backend(\(pid))\"}",
                "coupons: [{template: thanks-5}]"))
        let scheduler = try fixture.startScheduler()
        try fixture.addPayments([1, 2])
        // The batch is refused by the server each time the loop looks; give it several looks.
        _ = try fixture.waitUntil(seconds: 4) { try fixture.outcomes(job: "hostile").count > 0 }
        scheduler.signal(SIGTERM)
        let result = scheduler.wait()
        #expect(try bystander.query("SELECT 1").row(0).decode(0, as: Int.self) == 1, "the bystander was terminated")
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 0)
        #expect(result.stderr.contains("permission denied") || result.stderr.contains("must be a"), "\(result.stderr)")
    }

    @Test func aBatchKilledBeforeItCommitsLeavesNothingAndIsRedoneOnce() throws {
        let fixture = try IssueFixture(templates: Self.templates, jobs: [triggerJob("thanks", "coupons: [{template: thanks-5}]")])
        try fixture.addMembers(1...50)
        try fixture.addPayments(Array(1...50))
        // Hold the outcomes table so the batch stops after inserting its coupons, before recording them.
        let holder = try fixture.db.connect()
        try holder.execute("BEGIN")
        try holder.execute("LOCK TABLE trigger_outcomes IN SHARE ROW EXCLUSIVE MODE")
        let doomed = try fixture.startScheduler()
        let blocked = try fixture.waitUntil(seconds: 20) {
            try fixture.int(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%trigger_outcomes%'"
            ) == 1
        }
        #expect(blocked)
        doomed.signal(SIGKILL)
        _ = doomed.wait()
        try holder.execute("COMMIT")
        let scheduler = try fixture.startScheduler()
        let drained = try fixture.waitUntil(seconds: 30) { try fixture.unconsumed(job: "thanks") == 0 }
        scheduler.signal(SIGTERM)
        #expect(scheduler.wait().status == 0)
        #expect(drained)
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 50)
        #expect(try fixture.int("SELECT count(DISTINCT event_id) FROM coupons") == 50)
        #expect(try fixture.int("SELECT count(*) FROM job_runs WHERE status <> 'succeeded'") == 0)
    }

    @Test func eventsAddIsIdempotentByExternalID() throws {
        let fixture = try IssueFixture(templates: Self.templates)
        let first = try fixture.command(["events", "add", "--type", "payment", "--member", "9", "--amount-fen", "100", "--external-id", "ord-1"])
        let again = try fixture.command(["events", "add", "--type", "payment", "--member", "9", "--amount-fen", "100", "--external-id", "ord-1"])
        #expect(first.status == 0 && first.stdout.hasPrefix("recorded event"))
        #expect(again.status == 0 && again.stdout.contains("already recorded"))
        #expect(try fixture.int("SELECT count(*) FROM member_events") == 1)
        let bad = try fixture.command(["events", "add", "--type", "Pay ment", "--member", "9"])
        #expect(bad.status == 64)
    }

    @Test func eventsImportAppliesGoodRowsReportsBadOnesByLineAndIsIdempotent() throws {
        let fixture = try IssueFixture(templates: Self.templates)
        let file = fixture.jobsDir + "/events.csv"
        try """
            external_id,member_id,type,amount_fen,occurred_at
            pos-1,7,payment,12000,2026-11-23T09:00:00+08:00
            pos-2,x7,payment,12000,2026-11-23T09:00:00+08:00
            pos-3,8,level_change,,2026-11-23T01:00:00Z
            pos-4,9,payment,-5,2026-11-23T01:00:00Z
            pos-1,7,payment,12000,2026-11-23T09:00:00+08:00
            pos-5,9,payment,300,yesterday

            """.write(toFile: file, atomically: true, encoding: .utf8)
        let first = try fixture.command(["events", "import", file])
        #expect(first.status == 65)
        #expect(first.stdout.contains("6 rows, 2 recorded, 0 already recorded, 4 refused"))
        for expected in [
            "events.csv:3: member_id:", "events.csv:5: amount_fen:", "events.csv:6: external_id: \"pos-1\" is already on line 2",
            "events.csv:7: occurred_at:",
        ] {
            #expect(first.stderr.contains(expected), "\(expected)")
        }
        let again = try fixture.command(["events", "import", file])
        #expect(again.stdout.contains("0 recorded, 2 already recorded, 4 refused"))
        #expect(try fixture.int("SELECT count(*) FROM member_events") == 2)
        #expect(try fixture.int("SELECT amount_fen FROM member_events WHERE external_id = 'pos-1'") == 12_000)
        #expect(try fixture.int("SELECT count(*) FROM member_events WHERE external_id = 'pos-3' AND amount_fen IS NULL AND type = 'level_change'") == 1)
        #expect(try fixture.text("SELECT occurred_at::text FROM member_events WHERE external_id = 'pos-1'") == "2026-11-23 01:00:00+00")
    }

    @Test func aTriggerJobIsNotRunByHand() throws {
        let fixture = try IssueFixture(templates: Self.templates, jobs: [triggerJob("thanks", "coupons: [{template: thanks-5}]")])
        let result = try fixture.run("thanks")
        #expect(result.status == 78)
        #expect(result.stderr.contains("events add"))
    }
}
