import Foundation
import Postgres
import TestSupport
import Testing

/// `subscriptions import`: bad rows reported by line with the reason, good rows applied, exit 65
/// when any row was refused, and safe to run again.
@Suite struct SubscriptionImportTests {
    static let header = "external_id,member_id,plan,started_at,paid_through\n"

    @Test func badRowsAreReportedByLineAndTheGoodRowsApplied() throws {
        let fixture = try IssueFixture.bundles()
        try fixture.addMembers(1...10)
        let csv =
            Self.header + """
            A-1,1,monthly,2026-01-31T10:00:00+08:00,2027-01-30
            A-2,99,monthly,2026-01-31T10:00:00+08:00,2027-01-30
            A-3,2,yearly,2026-01-31T10:00:00+08:00,2027-01-30
            A-4,3,monthly,2026-02-30T10:00:00+08:00,2027-01-30
            A-5,4,monthly,2026-03-01T10:00:00+08:00,2026-02-28
            A-6,5,monthly,2026-03-01T10:00:00,2027-02-28
            A-7,6,monthly,2026-03-01,2027-02-28
            A-7,7,monthly,2026-03-02,2027-02-28
            A-8,8,quarterly,2026-04-15T00:30:00+08:00,2027-04-14
            A-9,9,monthly,2026-03-01,31/12/2026

            """
        let result = try fixture.importSubscriptions(csv)
        #expect(result.status == 65, "\(result.stdout) \(result.stderr)")
        let errors = result.stderr.split(separator: "\n").map(String.init).filter { $0.contains(".csv:") }
        func error(line: Int) -> String? { errors.first { $0.contains(".csv:\(line): ") } }
        #expect(error(line: 3)?.contains("member_id: unknown member 99") == true, "\(errors)")
        #expect(error(line: 4)?.contains("plan: unknown plan \"yearly\"") == true, "\(errors)")
        #expect(error(line: 5)?.contains("started_at:") == true, "\(errors)")
        #expect(error(line: 6)?.contains("paid_through: paid_through 2026-02-28 is before started_at") == true, "\(errors)")
        #expect(error(line: 7)?.contains("started_at:") == true, "\(errors)")  // no zone offset
        #expect(error(line: 8)?.contains("external_id: external_id \"A-7\" is on 2 lines") == true, "\(errors)")
        #expect(error(line: 9)?.contains("external_id \"A-7\"") == true, "\(errors)")
        #expect(error(line: 11)?.contains("paid_through:") == true, "\(errors)")
        #expect(errors.count == 8, "\(errors)")
        #expect(result.stdout.contains("read 10 rows: 2 new, 0 updated, 0 unchanged, 8 refused"), "\(result.stdout)")
        #expect(try fixture.ints("SELECT member_id FROM subscriptions ORDER BY member_id") == [1, 8])
        // The anniversary day is read in the plan's zone; a date alone starts at midnight there.
        #expect(try fixture.int("SELECT anchor_day FROM subscriptions WHERE external_id = 'A-1'") == 31)
        #expect(
            try fixture.text("SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM subscriptions WHERE external_id = 'A-8'")
                == "2026-04-14 16:30")
        #expect(try fixture.int("SELECT anchor_day FROM subscriptions WHERE external_id = 'A-8'") == 15)
        #expect(try fixture.ints("SELECT count(*) FROM subscription_events WHERE action = 'imported'") == [2])
    }

    @Test func runningTheSameFileAgainChangesNothingAndANewPaidThroughIsAnUpdate() throws {
        let fixture = try IssueFixture.bundles()
        try fixture.addMembers(1...3)
        let csv = Self.header + "B-1,1,monthly,2026-03-01,2027-02-28\nB-2,2,quarterly,2026-03-05T09:00:00Z,2027-03-04\n"
        let first = try fixture.importSubscriptions(csv)
        #expect(first.status == 0, "\(first.stderr)")
        let again = try fixture.importSubscriptions(csv)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("read 2 rows: 0 new, 0 updated, 2 unchanged, 0 refused"), "\(again.stdout)")
        let renewed = try fixture.importSubscriptions(Self.header + "B-1,1,monthly,2026-03-01,2028-02-29\n")
        #expect(renewed.stdout.contains("0 new, 1 updated"), "\(renewed.stdout)")
        #expect(try fixture.text("SELECT paid_through::text FROM subscriptions WHERE external_id = 'B-1'") == "2028-02-29")
        #expect(try fixture.int("SELECT count(*) FROM subscription_events") == 3)
        // Changing who or what a stored subscription is would orphan its deliveries: refused.
        let moved = try fixture.importSubscriptions(Self.header + "B-1,3,monthly,2026-03-01,2028-02-29\n")
        #expect(moved.status == 65)
        #expect(moved.stderr.contains(".csv:2: subscription"), "\(moved.stderr)")
        #expect(try fixture.int("SELECT member_id FROM subscriptions WHERE external_id = 'B-1'") == 1)
    }

    @Test func aFileWithTheWrongHeaderChangesNothing() throws {
        let fixture = try IssueFixture.bundles()
        try fixture.addMembers(1...3)
        let result = try fixture.importSubscriptions("external_id,member,plan,started_at,paid_through\nC-1,1,monthly,2026-03-01,2027-02-28\n")
        #expect(result.status == 65)
        #expect(result.stderr.contains(":1: the header must be external_id,member_id,plan,started_at,paid_through"), "\(result.stderr)")
        #expect(try fixture.int("SELECT count(*) FROM subscriptions") == 0)
    }
}
