import CouponKit
import Foundation
import Postgres
import TestSupport
import Testing

/// Notifications of a job with quiet hours wait for them to end; nothing is dropped.
@Suite struct QuietHoursDeliveryTests {
    @Test func remindersBuiltInTheEveningGoOutAtEightTheNextMorning() throws {
        let sink = FileManager.default.temporaryDirectory.appendingPathComponent("cbt-\(UUID().uuidString).ndjson").path
        defer { try? FileManager.default.removeItem(atPath: sink) }
        let fixture = try IssueFixture(
            templates: "templates: []\n", jobs: [remindJob("evening", extra: "quiet_hours: \"22:00-08:00\"")])
        try fixture.writeSinks("sinks:\n  - {name: out, type: file, path: \(sink)}\n")
        try fixture.addMembers(1...30)
        try fixture.addCoupons(1...30, expiresAt: "2026-11-25T00:00:00Z")
        // 21:00 in Shanghai. Without the code secret the run only builds the outbox.
        let slot = "2026-11-23T13:00:00Z"
        #expect(try fixture.run("evening", at: slot).status == 0)
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE status = 'pending'") == 30)

        func deliver(at now: String) throws -> CommandResult {
            try fixture.command(["notifications", "deliver", "--now", now], environment: IssueFixture.sweepEnvironment)
        }
        // 22:30: quiet. Nothing goes out; each waits for 08:00, no attempt used.
        #expect(try deliver(at: "2026-11-23T14:30:00Z").status == 0)
        #expect(try fixture.fileSinkMessages(sink).isEmpty)
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE status = 'pending' AND attempts = 0 AND next_try_at = '2026-11-24T00:00:00Z'") == 30)
        // 07:59: still quiet.
        #expect(try deliver(at: "2026-11-23T23:59:00Z").status == 0)
        #expect(try fixture.fileSinkMessages(sink).isEmpty)
        // 08:00: all of them, once.
        #expect(try deliver(at: "2026-11-24T00:00:00Z").status == 0)
        #expect(try fixture.fileSinkMessages(sink).count == 30)
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE status = 'delivered' AND attempts = 1") == 30)
    }
}

/// The scheduler delivers pending notifications in the background: retries, quiet hours ending,
/// a sink coming back.
@Suite struct SchedulerDeliveryTests {
    @Test func theSchedulerDeliversPendingNotificationsAndStopsCleanly() throws {
        let sink = FileManager.default.temporaryDirectory.appendingPathComponent("cbt-\(UUID().uuidString).ndjson").path
        defer { try? FileManager.default.removeItem(atPath: sink) }
        let fixture = try IssueFixture(templates: "templates: []\n", jobs: [remindJob("remind")])
        try fixture.writeSinks("sinks:\n  - {name: out, type: file, path: \(sink), batch_size: 7}\n")
        try fixture.addMembers(1...40)
        try fixture.addCoupons(1...40, expiresAt: "2026-11-24T00:00:00Z")
        // Without the code secret the run only writes the outbox.
        #expect(try fixture.run("remind").status == 0)
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE status = 'pending'") == 40)
        let scheduler = try Couponbatch.start(
            ["scheduler", "--poll-seconds", "0.3"] + fixture.baseArguments, environment: IssueFixture.sweepEnvironment)
        var delivered: Int64 = 0
        for _ in 0..<300 where delivered < 40 {
            usleep(50_000)
            delivered = try fixture.int("SELECT count(*) FROM notifications WHERE status = 'delivered'")
        }
        scheduler.signal(SIGTERM)
        let stopped = scheduler.wait(seconds: 30)
        #expect(delivered == 40)
        #expect(try fixture.fileSinkMessages(sink).count == 40)
        #expect(stopped?.status == 0, "\(stopped?.stderr ?? "still running")")
    }
}
