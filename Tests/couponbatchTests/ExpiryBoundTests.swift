import Foundation
import Postgres
import TestSupport
import Testing

/// An expiry sweep's window starts after the bound that the job's previous covering sweep, and
/// the runs since, left (`ExpirySweepBound`), and still expires everything due.
@Suite struct ExpiryBoundTests {
    static let templates = """
        templates:
          - {key: cash, type: cash, off_fen: 100, validity: {days: 1}}
          - {key: short, type: cash, off_fen: 100, validity: {days: 1}}
          - {key: catchup, type: cash, off_fen: 100, validity: {days: 3}}
        """
    static let day: TimeInterval = 86_400

    /// The exclusive lower end of the window `job`'s run at `slot` froze in its plan (nil: unbounded).
    static func windowAfter(_ fixture: IssueFixture, _ job: String, _ slot: String) throws -> Date? {
        let micros = try fixture.text(
            "SELECT (checkpoint->'plan'->>'payload')::jsonb->'window'->>'afterMicros' FROM job_runs WHERE job = $1 AND slot = $2::timestamptz",
            [job, slot])
        return micros.flatMap(Int64.init).map { Date(timeIntervalSince1970: Double($0) / 1_000_000) }
    }

    static func date(_ text: String) throws -> Date { try #require(ISO8601DateFormatter().date(from: text)) }

    @Test func aBoundedSweepStillExpiresCouponsIssuedSinceIncludingACatchUpRunForAnOldSlot() throws {
        let fixture = try IssueFixture(
            templates: Self.templates,
            jobs: [
                ExpireTests.job("expire", "chunk_size: 100"),
                issueJob("issue-short", "coupons:\n  - {template: short}"),
                issueJob("issue-catchup", "coupons:\n  - {template: catchup}"),
            ])
        try fixture.addMembers(1...300)
        try fixture.addCoupons(1...300, template: "due", expiresAt: "2026-11-20T00:00:00Z")
        let first = "2026-11-21T00:00:00Z"
        #expect(try fixture.run("expire", at: first).status == 0)
        #expect(try fixture.runRecord("expire", at: first)?.counts["coupons_expired"] == 300)
        #expect(try Self.windowAfter(fixture, "expire", first) == nil, "the job's first sweep has nothing to start after")

        // Between the sweeps: a 1-day coupon (expires 2026-11-21T16:00Z), and a catch-up run for a
        // slot weeks back whose 3-day coupons expired long before the first sweep ran.
        #expect(try fixture.run("issue-short", at: "2026-11-21T01:00:00Z").status == 0)
        let catchUpSlot = "2026-10-01T02:00:00Z"
        #expect(try fixture.run("issue-catchup", at: catchUpSlot).status == 0)
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE status = 'active' AND expires_at < '2026-10-05T00:00:00Z'") == 300)
        try fixture.addCoupons(1...300, template: "later", expiresAt: "2026-11-24T00:00:00Z")

        let second = "2026-11-23T00:00:00Z"
        #expect(try fixture.run("expire", at: second).status == 0)
        // Bounded below by the oldest slot of a run since the first sweep, less the day's margin.
        #expect(try Self.windowAfter(fixture, "expire", second) == Self.date(catchUpSlot).addingTimeInterval(-Self.day))
        let counts = try #require(try fixture.runRecord("expire", at: second)?.counts)
        #expect(counts["coupons_expired"] == 600)
        #expect(counts["template.short"] == 300)
        #expect(counts["template.catchup"] == 300)
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE status = 'active' AND expires_at <= $1::timestamptz", [second]) == 0)
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE template_key = 'later' AND status = 'active'") == 300)

        let third = "2026-11-25T00:00:00Z"
        #expect(try fixture.run("expire", at: third).status == 0)
        #expect(try Self.windowAfter(fixture, "expire", third) != nil)
        #expect(try fixture.runRecord("expire", at: third)?.counts["coupons_expired"] == 300)
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE status = 'active'") == 0)
    }

    @Test func onlyAnEarlierSucceededSweepOfTheSameJobCoveringItsTemplatesBoundsASweep() throws {
        let fixture = try IssueFixture(templates: Self.templates, jobs: [ExpireTests.job("exp", "templates: [cash]")])
        try fixture.addMembers(1...100)
        try fixture.addCoupons(1...100, template: "cash", expiresAt: "2026-11-20T00:00:00Z")
        try fixture.addCoupons(1...100, template: "short", expiresAt: "2026-11-20T00:00:00Z")
        let slots = (1...6).map { "2026-11-2\($0)T00:00:00Z" }
        func sweep(_ index: Int) throws -> Date? {
            let result = try fixture.run("exp", at: slots[index])
            #expect(result.status == 0, "\(result.stderr)")
            return try Self.windowAfter(fixture, "exp", slots[index])
        }
        #expect(try sweep(0) == nil)
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE template_key = 'short' AND status = 'active'") == 100)
        #expect(try sweep(1) == Self.date(slots[0]).addingTimeInterval(-Self.day))
        // Widened to every template: the earlier sweeps of `cash` alone cover nothing of `short`.
        try fixture.addJob(ExpireTests.job("exp"))
        #expect(try sweep(2) == nil)
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE status = 'active'") == 0)
        #expect(try sweep(3) == Self.date(slots[0]).addingTimeInterval(-Self.day))
        // Failed sweeps count for nothing: with the every-template ones failed, none covers.
        _ = try fixture.int("UPDATE job_runs SET status = 'failed' WHERE job = 'exp' AND slot >= $1::timestamptz RETURNING 1", [slots[2]])
        #expect(try sweep(4) == nil)
        // Narrowed again: any earlier sweep including `cash` covers it.
        try fixture.addJob(ExpireTests.job("exp", "templates: [cash]"))
        #expect(try sweep(5) != nil)
        // A renamed job starts over.
        try fixture.addJob(ExpireTests.job("exp-renamed", "templates: [cash]"))
        #expect(try fixture.run("exp-renamed", at: slots[5]).status == 0)
        #expect(try Self.windowAfter(fixture, "exp-renamed", slots[5]) == nil)
    }
}
