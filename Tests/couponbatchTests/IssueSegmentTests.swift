import Foundation
import Postgres
import TestSupport
import Testing

/// Issuance with real segments: only segment members get coupons, stock and arms count only
/// them, and a resumed run issues to the segment the run started with.
@Suite struct IssueSegmentTests {
    /// Members 1…n with attributes cycling by id: tier id % 4, `blocked` every 7th, spend varying,
    /// every 5th never ordered.
    static func addVariedMembers(_ fixture: IssueFixture, count: Int) throws {
        _ = try fixture.int(
            """
            WITH inserted AS (
                INSERT INTO members (id, tier, tags, registered_at, last_order_at, order_count, total_spend_fen)
                SELECT g, (ARRAY['standard', 'silver', 'gold', 'platinum'])[g % 4 + 1],
                       CASE WHEN g % 7 = 0 THEN ARRAY['blocked'] ELSE ARRAY[]::text[] END,
                       '2025-01-01T00:00:00Z',
                       CASE WHEN g % 5 = 0 THEN NULL ELSE '2026-11-01T00:00:00Z'::timestamptz - make_interval(days => g % 200) END,
                       CASE WHEN g % 5 = 0 THEN 0 ELSE 1 + g % 9 END,
                       CASE WHEN g % 5 = 0 THEN 0 ELSE (g * 7919) % 200000 END
                FROM generate_series(1, $1::int) g
                RETURNING 1
            )
            SELECT count(*) FROM inserted
            """, [Int64(count)])
    }

    static let vipSegment =
        "{all: [{tier: [gold, platinum]}, {total_spend_fen: {min: 50000}}, {not: {tags_any: [blocked]}}]}"
    /// The same members, by SQL written independently of the segment compiler.
    static let vipMembers =
        "SELECT id FROM members WHERE tier IN ('gold', 'platinum') AND total_spend_fen >= 50000 AND NOT tags @> ARRAY['blocked'] ORDER BY id"

    @Test func onlySegmentMembersGetCouponsAndStockShortageCountsOnlyThem() throws {
        let fixture = try IssueFixture(
            templates: "templates:\n  - {key: vip, type: cash, off_fen: 30000, validity: {days: 7}, stock: 400}",
            jobs: [issueJob("vip", segment: Self.vipSegment, "coupons:\n  - {template: vip}")])
        try Self.addVariedMembers(fixture, count: 3000)
        let eligible = try fixture.ints(Self.vipMembers)
        try #require(eligible.count > 400)
        let result = try fixture.run("vip", ["--workers", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        // The 400 lowest eligible ids, nobody else.
        #expect(try fixture.ints("SELECT member_id FROM coupons ORDER BY 1") == Array(eligible.prefix(400)))
        let run = try #require(try fixture.runRecord("vip"))
        #expect(run.counts["stock_exhausted"] == Int64(eligible.count - 400))
        #expect(run.counts["members_scanned"] == 3000)
    }

    @Test func armsAndHoldoutsCoverExactlyTheSegment() throws {
        let fixture = try IssueFixture(
            templates:
                "templates:\n  - {key: a, type: cash, off_fen: 100, validity: {days: 7}}\n  - {key: b, type: cash, off_fen: 200, validity: {days: 7}}",
            jobs: [
                issueJob(
                    "ab", segment: Self.vipSegment,
                    """
                    variants:
                      - {name: a, weight: 2, coupons: [{template: a}]}
                      - {name: b, weight: 2, coupons: [{template: b}]}
                      - {name: control, weight: 1, holdout: true}
                    """)
            ])
        try Self.addVariedMembers(fixture, count: 4000)
        #expect(try fixture.run("ab").status == 0)
        let covered = try fixture.ints(
            "SELECT member_id FROM coupons UNION ALL SELECT member_id FROM issue_holdouts ORDER BY 1")
        #expect(covered == (try fixture.ints(Self.vipMembers)))
    }

    @Test func aDryRunCountsAndSamplesSegmentMembers() throws {
        let fixture = try IssueFixture(
            templates: "templates:\n  - {key: vip, type: cash, off_fen: 30000, validity: {days: 7}, stock: 100}",
            jobs: [issueJob("vip", segment: Self.vipSegment, "coupons:\n  - {template: vip}")])
        try Self.addVariedMembers(fixture, count: 2000)
        let eligible = try fixture.ints(Self.vipMembers)
        let result = try fixture.run("vip", ["--dry-run"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\(eligible.count) coupons to \(eligible.count) members"))
        #expect(result.stdout.contains("stock 100 is SHORT by \(eligible.count - 100)"))
        #expect(result.stdout.contains(eligible.prefix(5).map(String.init).joined(separator: ", ")))
        #expect(try fixture.int("SELECT count(*) FROM job_runs") == 0)
    }

    @Test func relativeDayRulesCountFromTheSlotNotTheClock() throws {
        let fixture = try IssueFixture(
            templates: "templates:\n  - {key: recall, type: cash, off_fen: 500, validity: {days: 7}}",
            jobs: [issueJob("recall", segment: "{dormant_days: 90}", "coupons:\n  - {template: recall}")])
        try Self.addVariedMembers(fixture, count: 1000)
        let slot = "2026-11-01T00:00:00Z"
        #expect(try fixture.run("recall", at: slot).status == 0)
        let dormant = try fixture.ints(
            """
            SELECT id FROM members
            WHERE coalesce(last_order_at, registered_at) < $1::timestamptz - interval '90 days' ORDER BY id
            """, [slot])
        try #require(!dormant.isEmpty)
        #expect(try fixture.ints("SELECT member_id FROM coupons ORDER BY 1") == dormant)
    }

    /// A `sql:` segment is evaluated once, when the run starts: a run killed mid-way and resumed
    /// after the data changed still issues to the members the SQL returned at the start.
    @Test func aResumedRunIssuesToTheSegmentItStartedWith() throws {
        let fixture = try IssueFixture(
            templates: "templates:\n  - {key: t, type: cash, off_fen: 500, validity: {days: 7}}",
            jobs: [
                issueJob(
                    "tagged", segment: "{sql: \"SELECT id FROM members WHERE 'vip' = ANY(tags)\"}", chunkSize: 1000,
                    "coupons:\n  - {template: t}")
            ])
        try fixture.addMembers(1...40_000)
        _ = try fixture.int(
            "WITH u AS (UPDATE members SET tags = ARRAY['vip'] WHERE id % 3 = 0 RETURNING 1) SELECT count(*) FROM u")
        let original = try fixture.ints("SELECT id FROM members WHERE 'vip' = ANY(tags) ORDER BY id")
        let arguments = ["--workers", "1", "--lease-seconds", "1"]

        let first = try fixture.start("tagged", arguments)
        while first.process.isRunning, try fixture.int("SELECT count(*) FROM run_chunks") < 5 { usleep(2_000) }
        first.signal(SIGKILL)
        _ = first.wait()
        let done = try fixture.int("SELECT count(*) FROM run_chunks")
        try #require(done >= 5 && done < 40, "the run was not interrupted mid-way")

        // Now everyone else is the "vip".
        _ = try fixture.int(
            "WITH u AS (UPDATE members SET tags = CASE WHEN id % 3 = 0 THEN ARRAY[]::text[] ELSE ARRAY['vip'] END RETURNING 1) SELECT count(*) FROM u"
        )
        var resumed: CommandResult?
        for _ in 0..<40 where resumed?.status != 0 {
            usleep(300_000)
            resumed = try fixture.run("tagged", arguments)
        }
        let outcome = try #require(resumed)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(try fixture.ints("SELECT member_id FROM coupons ORDER BY 1") == original)
    }

    @Test func aResumedRunWhoseSegmentSnapshotWasDeletedFailsInsteadOfIssuingToNobody() throws {
        let fixture = try IssueFixture(
            templates: "templates:\n  - {key: t, type: cash, off_fen: 500, validity: {days: 7}}",
            jobs: [
                issueJob(
                    "tagged", segment: "{sql: \"SELECT id FROM members WHERE id % 2 = 0\"}", chunkSize: 1000,
                    "coupons:\n  - {template: t}")
            ])
        try fixture.addMembers(1...40_000)
        let arguments = ["--workers", "1", "--lease-seconds", "1"]
        let first = try fixture.start("tagged", arguments)
        while first.process.isRunning, try fixture.int("SELECT count(*) FROM run_chunks") < 5 { usleep(2_000) }
        first.signal(SIGKILL)
        _ = first.wait()
        let issuedBefore = try fixture.int("SELECT count(*) FROM coupons")
        try #require(try fixture.int("SELECT count(*) FROM run_chunks") < 40, "the run was not interrupted mid-way")

        _ = try fixture.int("WITH d AS (DELETE FROM segment_snapshot_sources RETURNING 1) SELECT count(*) FROM d")
        var resumed: CommandResult?
        for _ in 0..<40 where resumed == nil || resumed?.status == 75 {
            usleep(300_000)
            resumed = try fixture.run("tagged", arguments)
        }
        let outcome = try #require(resumed)
        #expect(outcome.status != 0, "\(outcome.stdout)")
        #expect(outcome.stdout.contains("no longer stored"), "\(outcome.stdout) \(outcome.stderr)")
        #expect(try fixture.int("SELECT count(*) FROM coupons") == issuedBefore)
        #expect(try fixture.runRecord("tagged")?.status != "succeeded")
    }
}
