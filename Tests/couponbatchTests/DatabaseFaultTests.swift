import Foundation
import Postgres
import TestSupport
import Testing

/// The short database fault scenarios of `make chaos`, kept in `make test`: they disturb only
/// this test's own database (its backends, its rows), never the shared server.
@Suite(.serialized) struct DatabaseFaultTests {
    static let templates = """
        templates:
          - {key: cash, type: cash, off_fen: 1000, validity: {days: 7}, stock: 1000000}
        """

    /// Ends every backend of the run's database but the test's own, the way a failover or an
    /// administrator's pg_terminate_backend does (SQLSTATE 57P01 on the run's connections).
    static func terminateRunBackends(_ fixture: IssueFixture) throws -> Int64 {
        try fixture.int(
            """
            SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'couponbatch'
            """)
    }

    @Test func aRunWhoseConnectionsAreKilledThreeTimesFinishesWithExitZeroAndExactCounts() throws {
        let fixture = try IssueFixture(templates: Self.templates, jobs: [issueJob("blip", chunkSize: 500, "coupons:\n  - {template: cash}")])
        try fixture.addMembers(1...40_000)
        let process = try fixture.start("blip", ["--workers", "2", "--lease-seconds", "5"])
        var kills: Int64 = 0
        var rounds = 0
        while rounds < 3, process.process.isRunning {
            // Mid-run: after some chunks committed and before the last.
            let done = try fixture.int("SELECT count(*) FROM run_chunks")
            if done >= Int64(10 + rounds * 15) {
                kills += try Self.terminateRunBackends(fixture)
                rounds += 1
            }
            usleep(20_000)
        }
        let result = process.wait()
        #expect(result.status == 0, "run exited \(result.status): \(result.stderr)")
        #expect(kills > 0, "no connection was killed mid-run")
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 40_000)
        #expect(try fixture.int("SELECT count(DISTINCT member_id) FROM coupons") == 40_000)
        #expect(try fixture.int("SELECT issued FROM template_stock WHERE key = 'cash'") == 40_000)
        #expect(try fixture.int("SELECT count(*) FROM job_runs WHERE status <> 'succeeded'") == 0)
        #expect(result.stdout.contains("succeeded"))
    }

    @Test func aChunkPastItsStatementTimeoutRollsBackAndTheRunFailsClearly() throws {
        let fixture = try IssueFixture(templates: Self.templates, jobs: [issueJob("slow", chunkSize: 1000, "coupons:\n  - {template: cash}")])
        try fixture.addMembers(1...5_000)
        // Another session blocks inserts into coupons (not planning, which only reads them), so
        // the first chunk waits past its statement timeout.
        let holder = try fixture.db.connect()
        try holder.execute("BEGIN")
        try holder.execute("LOCK TABLE coupons IN SHARE MODE")
        let result = try fixture.run("slow", ["--statement-timeout-seconds", "1", "--workers", "1"])
        try holder.execute("ROLLBACK")
        #expect(result.status == 1, "exit \(result.status): \(result.stderr)")
        #expect((result.stdout + result.stderr).contains("statement timeout"), "\(result.stdout)\(result.stderr)")
        // Nothing half-written: no coupon, no stock counted beyond what the failed run still holds
        // (returned when the template's next run plans), no chunk recorded.
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 0)
        #expect(
            try fixture.int(
                "SELECT coalesce(sum(issued), 0) - (SELECT coalesce(sum(reserved), 0) FROM issue_stock_reservations) FROM template_stock"
            ) == 0)
        #expect(try fixture.int("SELECT count(*) FROM run_chunks") == 0)
        #expect(try fixture.int("SELECT count(*) FROM job_runs WHERE status = 'failed'") == 1)
    }

    @Test func resumingAPausedJobMovesItsCursorToTheDatabasesNow() throws {
        let fixture = try IssueFixture(templates: Self.templates)
        try fixture.addJob(
            """
            name: hourly
            kind: issue
            schedule: "0 * * * *"
            timezone: Asia/Shanghai
            segment: everyone
            coupons:
              - {template: cash}
            """)
        #expect(try fixture.command(["jobs", "pause", "hourly"]).status == 0)
        // A cursor left far behind, as when no runner ticked during a long pause.
        try fixture.db.connect().execute("UPDATE job_state SET scheduled_through = '2020-01-01T00:00:00Z'")
        #expect(try fixture.command(["jobs", "resume", "hourly"]).status == 0)
        #expect(try fixture.int("SELECT count(*) FROM job_state WHERE job = 'hourly' AND scheduled_through > now() - interval '1 minute'") == 1)
        let tick = try fixture.command(["tick"])
        #expect(tick.status == 0, "\(tick.stderr)")
        #expect(try fixture.int("SELECT count(*) FROM job_runs WHERE job = 'hourly'") <= 1, "the pause's slots were caught up")
    }
}
