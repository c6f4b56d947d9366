import Foundation
import Postgres
import TestSupport
import Testing

/// `sql:` segments from a job file run as the read-only role on a connection of their own:
/// the attacks of issue 8 are refused, or have no effect on the run or on other sessions.
@Suite(.serialized) struct SegmentSandboxTests {
    static let templates = """
        templates:
          - {key: cash, type: cash, off_fen: 1000, validity: {days: 7}}
        """

    static func job(_ name: String, _ sql: String) -> String {
        issueJob(name, segment: "{sql: \"\(sql)\"}", chunkSize: 100, "coupons:\n  - {template: cash}")
    }

    @Test func terminatingAnotherSessionIsRefusedAndTheSessionLives() throws {
        let fixture = try IssueFixture(templates: Self.templates)
        try fixture.addMembers(1...50)
        let bystander = try fixture.db.connect()
        let pid = bystander.backendPID
        try fixture.addJob(Self.job("kill", "SELECT id FROM members WHERE pg_terminate_backend(\(pid))"))
        let result = try fixture.run("kill")
        #expect(result.status == 1, "exit \(result.status)")
        #expect((result.stdout + result.stderr).contains("permission denied") || (result.stdout + result.stderr).contains("must be a member"), "\(result.stdout)\(result.stderr)")
        #expect(try bystander.query("SELECT 1").row(0).decode(0, as: Int.self) == 1)
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 0)
    }

    @Test func readingServerFilesIsRefused() throws {
        let fixture = try IssueFixture(templates: Self.templates)
        try fixture.addMembers(1...50)
        try fixture.addJob(Self.job("readfile", "SELECT id FROM members WHERE length(pg_read_file('PG_VERSION')) > 0"))
        let result = try fixture.run("readfile")
        #expect(result.status == 1)
        #expect((result.stdout + result.stderr).contains("permission denied"), "\(result.stdout)\(result.stderr)")
    }

    @Test func sessionSettingsAndLocksOfASegmentDoNotReachTheRunsConnection() throws {
        let fixture = try IssueFixture(templates: Self.templates)
        try fixture.addMembers(1...300)
        // On the run's own connection these would break timestamp decoding for the rest of the
        // run, and leave a session advisory lock behind.
        let sql =
            "SELECT id FROM members WHERE set_config('DateStyle', 'SQL, DMY', false) IS NOT NULL "
            + "AND set_config('search_path', 'pg_catalog', false) IS NOT NULL AND pg_try_advisory_lock(8) AND id % 3 = 0"
        try fixture.addJob(Self.job("settings", sql))
        let result = try fixture.run("settings")
        #expect(result.status == 0, "exit \(result.status): \(result.stderr)")
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 100)
        #expect(try fixture.int("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 8") == 0)
    }

    @Test func theApplicationRoleAndTheReaderAreNoSuperusers() throws {
        let fixture = try IssueFixture(templates: Self.templates)
        #expect(try fixture.int("SELECT count(*) FROM pg_roles WHERE rolname = current_user AND rolsuper") == 0)
        #expect(try fixture.int("SELECT count(*) FROM pg_roles WHERE rolname = 'couponbatch_segment_reader' AND NOT rolsuper") == 1)
        #expect(
            try fixture.int(
                "SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = 'couponbatch_segment_reader' AND privilege_type <> 'SELECT'"
            ) == 0)
    }
}
