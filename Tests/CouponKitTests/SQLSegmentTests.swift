import CouponKit
import Foundation
import Postgres
import TestSupport
import Testing

@Suite struct SQLSegmentTests {
    @Test func sqlReturningIdsIsSnapshottedOnce() throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        // Gold members are 3 and 5.
        let resolved = try SegmentFixtures.resolve(.sql("SELECT id FROM members WHERE tier = 'gold'"), c)
        #expect(try SegmentFixtures.matchingIDs(resolved, c) == [3, 5])
        // Evaluated once: a member who becomes gold later is not in this run's segment.
        try c.execute("UPDATE members SET tier = 'gold' WHERE id = 1")
        #expect(try SegmentFixtures.matchingIDs(resolved, c) == [3, 5])
        #expect(resolved.snapshots.first?.kind == .sql)
    }

    @Test func duplicatesNullsAndIdsThatAreNoMembersAreHandled() throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        let resolved = try SegmentFixtures.resolve(.sql("VALUES (1), (1), (3), (77), (NULL::int)"), c)
        #expect(resolved.snapshots.map(\.memberCount) == [3])
        #expect(try SegmentFixtures.matchingIDs(resolved, c) == [1, 3])
    }

    @Test(arguments: [
        "SELECT id FROM members WHERE order_count >= 3;\n",
        "  select id, tier from members where order_count >= 3 -- extra columns are ignored",
        "/* ids */ (SELECT id::smallint FROM members WHERE order_count >= 3)",
        "WITH busy AS (SELECT id FROM members WHERE order_count >= 3) TABLE busy",
    ])
    func sqlInTheUsualShapesIsAccepted(_ sql: String) throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        // order_count >= 3: members 2 (5), 3 (12), 7 (3).
        let resolved = try SegmentFixtures.resolve(.sql(sql), c)
        #expect(try SegmentFixtures.matchingIDs(resolved, c) == [2, 3, 7])
    }

    @Test func theSameAnswerReusesItsSnapshot() throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        let first = try SegmentFixtures.resolve(.sql("SELECT id FROM members WHERE id < 3"), c)
        let second = try SegmentFixtures.resolve(.sql("VALUES (2), (1)"), c)
        #expect(first.snapshots.map(\.id) == second.snapshots.map(\.id))
        #expect(try SegmentFixtures.count("segment_snapshot_sources", c) == 1)
    }

    @Test(arguments: [
        "DELETE FROM members RETURNING id",
        "delete from members",
        "UPDATE members SET tier = 'gold' RETURNING id",
        "INSERT INTO members (id, registered_at) VALUES (100, now()) RETURNING id",
        "/* looks harmless */ (DELETE FROM members RETURNING id)",
        "WITH gone AS (DELETE FROM members RETURNING id) SELECT id FROM gone",
        "WITH moved AS (UPDATE members SET tier = 'gold' RETURNING id) SELECT id FROM moved",
        "SELECT id FROM members FOR UPDATE",
        "SELECT nextval('segment_snapshot_sources_id_seq')",
        "SELECT id FROM wipe_members()",
        "TRUNCATE members",
    ])
    func sqlThatTriesToWriteIsRefusedAndChangesNothing(_ sql: String) throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        try c.execute(
            """
            CREATE FUNCTION wipe_members() RETURNS TABLE (id bigint) LANGUAGE sql
            AS $$ DELETE FROM members RETURNING id $$
            """)
        let before = try SegmentFixtures.membersDigest(c)
        let error = #expect(throws: SegmentError.self) {
            try SegmentFixtures.resolve(.any([.everyone, .sql(sql)]), c)
        }
        #expect(error?.reason == .sqlWriteRefused)
        #expect(error?.field == "segment.any[1].sql")
        #expect(error?.category == .configuration)
        #expect(error?.description.contains("must only read") == true)
        #expect(try SegmentFixtures.membersDigest(c) == before)
        #expect(try SegmentFixtures.count("members", c) == 7)
        #expect(try SegmentFixtures.count("segment_snapshot_sources", c) == 0)
        #expect(!c.inTransaction)
    }

    @Test func aSecondStatementAfterASemicolonIsRefused() throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        let before = try SegmentFixtures.membersDigest(c)
        let error = #expect(throws: SegmentError.self) {
            try SegmentFixtures.resolve(.sql("SELECT 1; DELETE FROM members"), c)
        }
        #expect(error?.reason == .sqlRejected)
        #expect(try SegmentFixtures.membersDigest(c) == before)
    }

    @Test(arguments: [
        ("SELECT 'abc'::text", "text"),
        ("SELECT tier FROM members WHERE false", "text"),
        ("SELECT 1.5", "numeric"),
        ("SELECT 2.0", "numeric"),
        ("SELECT now()", "timestamp with time zone"),
    ])
    func aFirstColumnThatIsNotAnIntegerIdIsRefusedEvenWithoutRows(_ sql: String, _ type: String) throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        let error = #expect(throws: SegmentError.self) { try SegmentFixtures.resolve(.sql(sql), c) }
        #expect(error?.reason == .sqlNotMemberIDs)
        #expect(error?.message.contains("not \(type);") == true)
    }

    @Test func sqlRunningLongerThanItsTimeoutIsStoppedAndTheSessionKeepsItsOwnTimeout() throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        let options = SegmentResolver.Options(sqlStatementTimeout: .milliseconds(200))
        let started = Date()
        let error = #expect(throws: SegmentError.self) {
            try SegmentFixtures.resolve(.sql("SELECT id FROM members, pg_sleep(5)"), c, options: options)
        }
        #expect(Date().timeIntervalSince(started) < 3)
        #expect(error?.reason == .sqlTimedOut)
        #expect(error?.category == .jobFailed)
        #expect(error?.message.contains("200 ms") == true)
        #expect(try c.query("SHOW statement_timeout").row(0).decode(0, as: String.self) == "0")
    }

    @Test(arguments: ["SELEC id FROM members", "SELECT no_such_column FROM members", "   ;  "])
    func sqlThatPostgreSQLCannotRunIsRejectedWithItsReason(_ sql: String) throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        let error = #expect(throws: SegmentError.self) { try SegmentFixtures.resolve(.sql(sql), c) }
        #expect(error?.reason == .sqlRejected)
        #expect(error?.field == "segment.sql")
    }
}
