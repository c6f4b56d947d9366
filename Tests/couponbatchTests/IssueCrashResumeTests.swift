import Foundation
import Postgres
import TestSupport
import Testing

/// A run killed with SIGKILL at any moment and resumed (`run JOB --at SAME` once the lease has
/// lapsed) issues each member's coupons exactly once, reserves stock for exactly what it wrote,
/// and draws the same blind box values as a run that was never interrupted.
@Suite(.serialized) struct IssueCrashResumeTests {
    struct Scenario: Sendable, CustomTestStringConvertible {
        let name: String
        let members: Int
        let templates: String
        let offer: String
        let packSize: Int64
        /// Members served when stock runs out (nil: everyone).
        let served: Int64?
        var testDescription: String { name }
    }

    static let scenarios = [
        Scenario(
            name: "50k members on two workers in parallel, a pack of four",
            members: 50_000,
            templates: """
                templates:
                  - {key: cash, type: cash, off_fen: 1000, validity: {days: 7}, per_member: 5}
                  - {key: box, type: blindbox, choices: [{off_fen: 500, weight: 70}, {off_fen: 2000, weight: 25}, {off_fen: 10000, weight: 5}], validity: {days: 3}}
                  - {key: punch, type: punch, uses: 5, value_fen: 3000, validity: {days: 90}}
                """,
            offer: "coupons:\n  - {template: cash, quantity: 2}\n  - {template: box}\n  - {template: punch}",
            packSize: 4, served: nil),
        Scenario(
            name: "stock running out mid-run, served lowest id first",
            members: 30_000,
            templates: """
                templates:
                  - {key: scarce, type: cash, off_fen: 1000, validity: {days: 7}, stock: 17345}
                  - {key: box, type: blindbox, choices: [{off_fen: 500, weight: 1}, {off_fen: 2000, weight: 1}], validity: {days: 3}}
                """,
            offer: "coupons:\n  - {template: scarce}\n  - {template: box}",
            packSize: 2, served: 17_345),
    ]

    static let killPoints: [KillPoint] = [
        .afterSeconds(0.02), .afterSeconds(0.12), .afterChunks(3), .afterSeconds(0.3), .afterChunks(9),
        .afterChunks(14), .afterSeconds(0.6), .afterChunks(20), .afterChunks(26),
    ]

    static let arguments = ["--workers", "2", "--lease-seconds", "1"]

    /// Checked after every kill: only whole packs, and stock and counts match the rows exactly.
    static func checkConsistent(_ fixture: IssueFixture, _ s: Scenario, _ context: String) throws {
        #expect(
            try fixture.int(
                "SELECT count(*) FROM (SELECT member_id FROM coupons GROUP BY 1 HAVING count(*) <> $1) p", [s.packSize])
                == 0, "partial packs \(context)")
        #expect(
            try fixture.int(
                """
                SELECT count(*) FROM template_stock s
                WHERE s.issued + (SELECT coalesce(sum(coupons), 0) FROM template_issued_chunks t WHERE t.template_key = s.key)
                    <> (SELECT count(*) FROM coupons c WHERE c.template_key = s.key)
                    + (SELECT coalesce(sum(reserved), 0) FROM issue_stock_reservations r WHERE r.template_key = s.key)
                """) == 0, "stock (with what chunks counted on their own) differs from rows and what the run set aside \(context)")
        let coupons = try fixture.int("SELECT count(*) FROM coupons")
        if let run = try fixture.runRecord("crash") {
            #expect(run.counts["coupons_issued"] ?? 0 == coupons, "counts differ from rows \(context)")
        }
        if let served = s.served {
            // Chunks run in parallel on the stock allotted to them at planning: mid-run a later
            // chunk may have committed before an earlier one, but none serves past the stock.
            #expect(try fixture.int("SELECT coalesce(max(member_id), 0) FROM coupons") <= served, "past stock \(context)")
        }
    }

    @Test(arguments: scenarios)
    func aRunKilledAtAnyPointAndResumedIssuesEachPackExactlyOnce(_ s: Scenario) throws {
        let fixture = try IssueFixture(templates: s.templates, jobs: [issueJob("crash", chunkSize: 1000, s.offer)])
        try fixture.addMembers(1...s.members)
        let (kills, _) = try fixture.killAndResume(
            at: Self.killPoints, start: { try fixture.start("crash", Self.arguments) },
            afterKill: { try Self.checkConsistent(fixture, s, $0) })
        // Late kill points may find the run already done; the early ones always interrupt it.
        #expect(kills >= 3)
        try Self.checkConsistent(fixture, s, "at the end")

        let run = try #require(try fixture.runRecord("crash"))
        #expect(run.status == "succeeded")
        let served = s.served ?? Int64(s.members)
        #expect(try fixture.int("SELECT count(*) FROM coupons") == served * s.packSize)
        #expect(try fixture.int("SELECT count(DISTINCT member_id) FROM coupons") == served)
        #expect(try fixture.int("SELECT max(member_id) FROM coupons") == served)
        #expect(
            try fixture.int(
                "SELECT count(*) FROM (SELECT member_id FROM coupons GROUP BY 1 HAVING array_agg(seq::int ORDER BY seq) <> $1::int[]) p",
                [Array(1...Int32(s.packSize))]) == 0)
        #expect(run.counts["members_issued"] == served)
        #expect(run.counts["coupons_issued"] == served * s.packSize)
        #expect(run.counts["stock_exhausted"] ?? 0 == Int64(s.members) - served)
        // The run was really interrupted and resumed: its chunks were committed by several attempts.
        #expect(try fixture.int("SELECT count(DISTINCT attempt) FROM run_chunks WHERE run_id = $1", [run.id]) >= 2)
        #expect(
            try fixture.int("SELECT count(*) FROM run_chunks WHERE run_id = $1", [run.id])
                == Int64((s.members + 999) / 1000))

        // Blind box draws (and everything else) match a run that was never interrupted.
        let reference = try IssueFixture(templates: s.templates, jobs: [issueJob("crash", chunkSize: 1000, s.offer)])
        try reference.addMembers(1...s.members)
        let uninterrupted = try reference.run("crash", Self.arguments)
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")
        try #require(try reference.runRecord("crash")?.id == run.id)
        let digest = """
            SELECT md5(string_agg(concat_ws(':', member_id, seq, template_key, face_value_fen, uses_left, expires_at), ','
                                  ORDER BY member_id, seq))
            FROM coupons
            """
        #expect(try fixture.text(digest) == reference.text(digest))
    }

    @Test func theSameSlotKickedThreeTimesAtOnceIsOneRunAndOnePackPerMember() throws {
        let s = Self.scenarios[0]
        let fixture = try IssueFixture(templates: s.templates, jobs: [issueJob("crash", chunkSize: 1000, s.offer)])
        try fixture.addMembers(1...20_000)
        let processes = try (0..<3).map { _ in try fixture.start("crash", ["--workers", "2"]) }
        let results = processes.map { $0.wait() }
        // One ran it; the others found it running (75) or done (0).
        #expect(results.filter { $0.stdout.contains("attempt 1: succeeded") }.count == 1, "\(results.map(\.stdout))")
        #expect(results.allSatisfy { $0.status == 0 || $0.status == 75 })
        #expect(try fixture.int("SELECT count(*) FROM job_runs") == 1)
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 20_000 * s.packSize)
        #expect(try fixture.int("SELECT count(DISTINCT member_id) FROM coupons") == 20_000)
    }
}
