import CouponKit
import Foundation
import Postgres
import TestSupport
import Testing

/// Delivery to a real HTTP receiver on 127.0.0.1 that checks every signature.
@Suite struct WebhookDeliveryTests {
    /// 25 members with expiring coupons, their reminders in the outbox, nothing sent yet.
    func outbox(_ receiver: WebhookReceiver, members: Int = 25, sink: String) throws -> IssueFixture {
        let fixture = try IssueFixture(templates: "templates: []\n", jobs: [remindJob("remind", sink: "crm")])
        try fixture.writeSinks(
            """
            sinks:
              - {name: crm, type: webhook, url: "\(receiver.url)", secret_env: COUPONBATCH_WEBHOOK_SECRET, \(sink)}
            """)
        try fixture.addMembers(1...members)
        try fixture.addCoupons(1...members, expiresAt: "2026-11-24T00:00:00Z", perMember: 2)
        // Building the outbox delivers at once; without the webhook secret it only writes.
        let built = try fixture.run("remind", environment: ["COUPONBATCH_CODE_SECRET": IssueFixture.secret])
        #expect(built.status == 0, "\(built.stderr)")
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE status = 'pending'") == Int64(members))
        return fixture
    }

    func deliver(_ fixture: IssueFixture, _ extra: [String] = []) throws -> CommandResult {
        try fixture.command(["notifications", "deliver"] + extra, environment: IssueFixture.sweepEnvironment)
    }

    @Test func everyNotificationIsDeliveredOnceThroughErrorsTimeoutsAndDroppedConnections() throws {
        let receiver = try WebhookReceiver(script: ["500", "429:1", "hang:3", "drop", "503:1", "408"])
        let fixture = try outbox(receiver, sink: "batch_size: 10, timeout: 1s, backoff: 0s, max_attempts: 10")
        let result = try deliver(fixture, ["--wait", "60"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE status = 'delivered'") == 25)
        let requests = receiver.requests
        #expect(requests.allSatisfy { $0.signature_ok })
        #expect(Array(requests.prefix(6).map(\.answer)) == ["500", "429:1", "hang:3", "drop", "503:1", "408"])
        // Every notification acknowledged exactly once, whatever came before.
        let acknowledged = receiver.acknowledged
        #expect(acknowledged.count == 25)
        #expect(acknowledged.values.allSatisfy { $0 == 1 })
        let ids = Set(try fixture.ints("SELECT id FROM notifications"))
        #expect(Set(acknowledged.keys) == ids)
        // Retry-After was honoured: the notifications of a 429/503 were sent again a second later at the earliest.
        for (index, request) in requests.enumerated() where request.answer.hasSuffix(":1") {
            let id = try #require(request.ids?.first)
            let again = try #require(requests[(index + 1)...].first { $0.ids?.contains(id) == true })
            #expect(again.t - request.t >= 0.95, "\(request.answer) then \(again.t - request.t) s")
        }
        // Every send was counted as an attempt, and nothing was sent that was not counted.
        #expect(try fixture.int("SELECT sum(attempts) FROM notifications") == requests.flatMap { $0.ids ?? [] }.count)
        #expect(try fixture.int("SELECT max(attempts) FROM notifications") >= 2)
        #expect(!result.stdout.contains(IssueFixture.webhookSecret) && !result.stderr.contains(IssueFixture.webhookSecret))
    }

    @Test func afterMaxAttemptsNotificationsAreDeadAndRetryDeadSendsThemAgain() throws {
        let failing = try WebhookReceiver(then: "500")
        let fixture = try outbox(failing, members: 12, sink: "batch_size: 5, timeout: 2s, backoff: 0s, max_attempts: 3")
        let result = try deliver(fixture, ["--wait", "30"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE status = 'dead' AND attempts = 3 AND last_error = 'HTTP 500'") == 12)
        #expect(failing.requests.flatMap { $0.ids ?? [] }.count == 12 * 3)
        #expect(failing.acknowledged.isEmpty)

        let listed = try fixture.command(["notifications", "list", "--status", "dead", "--json"])
        #expect(listed.stdout.split(separator: "\n").count == 12)

        // The receiver is fixed (same address, now answering 200): re-drive the dead letters.
        let healthy = try WebhookReceiver(secret: IssueFixture.webhookSecret)
        try fixture.writeSinks(
            """
            sinks:
              - {name: crm, type: webhook, url: "\(healthy.url)", secret_env: COUPONBATCH_WEBHOOK_SECRET, batch_size: 5}
            """)
        let retried = try fixture.command(["notifications", "retry", "--dead"])
        #expect(retried.stdout.contains("12 notifications pending again"))
        #expect(try deliver(fixture).status == 0)
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE status = 'delivered'") == 12)
        #expect(healthy.acknowledged.count == 12)
        #expect(healthy.acknowledged.values.allSatisfy { $0 == 1 })
    }

    @Test func aRefusalOtherThan408Or429IsNotRetriedAndAWrongSecretIsRefusedByTheReceiver() throws {
        let receiver = try WebhookReceiver(script: ["400"])
        let fixture = try outbox(receiver, members: 4, sink: "batch_size: 2, backoff: 0s")
        #expect(try deliver(fixture).status == 0)
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE status = 'dead' AND attempts = 1 AND last_error = 'HTTP 400'") == 2)
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE status = 'delivered'") == 2)

        // Signed with another secret: the receiver answers 401, which is not retried either.
        let strict = try WebhookReceiver(secret: "another-secret-entirely-0123456789")
        let other = try outbox(strict, members: 3, sink: "batch_size: 10")
        #expect(try deliver(other).status == 0)
        #expect(strict.requests.count == 1)
        #expect(strict.requests.allSatisfy { !$0.signature_ok })
        #expect(try other.int("SELECT count(*) FROM notifications WHERE status = 'dead' AND last_error = 'HTTP 401'") == 3)
    }

    @Test func twoDeliverersAtOnceNeverSendTheSameNotification() throws {
        let receiver = try WebhookReceiver()
        let fixture = try outbox(receiver, members: 600, sink: "batch_size: 20")
        let a = try Couponbatch.start(["notifications", "deliver"] + fixture.baseArguments, environment: IssueFixture.sweepEnvironment)
        let b = try Couponbatch.start(["notifications", "deliver"] + fixture.baseArguments, environment: IssueFixture.sweepEnvironment)
        #expect(a.wait().status == 0)
        #expect(b.wait().status == 0)
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE status = 'delivered' AND attempts = 1") == 600)
        let sent = receiver.requests.flatMap { $0.ids ?? [] }
        #expect(sent.count == 600)
        #expect(Set(sent).count == 600)
    }

    @Test func deliverersSideBySideInOneProcessNeverSendTheSameNotification() throws {
        let receiver = try WebhookReceiver()
        let fixture = try outbox(receiver, members: 600, sink: "batch_size: 20")
        let result = try deliver(fixture, ["--workers", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("delivered 600,"))
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE status = 'delivered' AND attempts = 1") == 600)
        let sent = receiver.requests.flatMap { $0.ids ?? [] }
        #expect(sent.count == 600)
        #expect(Set(sent).count == 600)
    }
}
