import CouponKit
import Foundation
import Postgres
import TestSupport
import Testing

/// The sweeps read coupons through their BRIN (`SweepIndex`), not through a scan of the table or
/// of every coupon of a chunk's members, in a table whose history is many times a window's coupons.
@Suite struct SweepIndexTests {
    @Test func aReminderPlanSummarizesNewRangesAndEachChunkReadsThroughTheSweepIndex() throws {
        let sink = FileManager.default.temporaryDirectory.appendingPathComponent("cbt-\(UUID().uuidString).ndjson").path
        defer { try? FileManager.default.removeItem(atPath: sink) }
        let fixture = try IssueFixture(templates: "templates: []\n", jobs: [remindJob("remind", extra: "chunk_size: 500")])
        try fixture.writeSinks("sinks:\n  - {name: out, type: file, path: \(sink)}\n")
        try fixture.addMembers(1...2_000)
        // History: 20 coupons a member, long expired or redeemed; then the window's, appended last.
        try fixture.addCoupons(1...2_000, template: "old", expiresAt: "2026-06-30T16:00:00Z", perMember: 10, status: "expired")
        try fixture.addCoupons(1...2_000, template: "used", expiresAt: "2026-09-30T16:00:00Z", perMember: 10, status: "redeemed")
        try fixture.addCoupons(1...2_000, template: "due", expiresAt: "2026-11-24T16:00:00Z")
        let connection = try fixture.db.connect()
        try connection.execute("ANALYZE coupons")
        let scans = "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = '\(SweepIndex.name)'"
        let before = try fixture.int(scans)

        let result = try fixture.run("remind", ["--workers", "1"], environment: IssueFixture.sweepEnvironment)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let run = try #require(try fixture.runRecord("remind"))
        #expect(run.counts["coupons_reminded"] == 2_000)
        let chunks = try fixture.int("SELECT count(*) FROM run_chunks WHERE run_id = $1", [run.id])
        #expect(chunks >= 4)
        // The plan left no block range unsummarized (else every chunk would read it) …
        #expect(try fixture.int("SELECT brin_summarize_new_values($1::regclass)", [SweepIndex.name]) == 0)
        // … and every chunk found its coupons through the index (the run's process has exited, so
        // its statistics are flushed).
        #expect(try fixture.int(scans) - before >= chunks)
    }
}
