import Foundation
import Postgres
import TestSupport
import Testing

/// `sendWithNext` and pipelined transactions: queued statements run in order with the next one,
/// their errors surface there, and the connection is usable afterwards.
@Suite struct PipelineTests {
    @Test func queuedStatementsRunInOrderBeforeTheStatementTheyGoWith() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        let committed = try c.transaction(pipelined: true) { tx -> Int in
            tx.sendWithNext("INSERT INTO t VALUES ($1, $2)", [Int32(1), "a"])
            tx.sendWithNext("UPDATE t SET v = v || $1", ["b"])
            return try tx.query("SELECT v FROM t WHERE id = 1").row(0).decode(0, as: String.self) == "ab" ? 1 : 0
        }
        #expect(committed == 1)
        #expect(!c.inTransaction)
        #expect(try c.query("SELECT count(*) FROM t").row(0).decode(0, as: Int.self) == 1)
    }

    @Test func aQueuedStatementThatFailsAtCommitRollsTheWholeTransactionBack() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute("CREATE TABLE t (id int CONSTRAINT t_pkey PRIMARY KEY)")
        try c.execute("INSERT INTO t VALUES (1)")
        let error = #expect(throws: PostgresError.self) {
            try c.transaction(pipelined: true) { tx in
                try tx.execute("INSERT INTO t VALUES ($1)", [Int32(2)])
                // Goes with COMMIT: its failure must keep the COMMIT from running.
                tx.sendWithNext("INSERT INTO t VALUES ($1)", [Int32(1)])
            }
        }
        #expect(error?.code == .uniqueViolation)
        #expect(error?.constraint == "t_pkey")
        #expect(!c.inTransaction)
        // Row 2 was rolled back with the transaction, and the connection takes statements again.
        #expect(try c.query("SELECT array_agg(id ORDER BY id)::text FROM t").row(0).decode(0, as: String.self) == "{1}")
    }

    @Test func statementsQueuedByATransactionThatThrewAreNeverSent() throws {
        struct Abandon: Error {}
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute("CREATE TABLE t (id int)")
        #expect(throws: Abandon.self) {
            try c.transaction(pipelined: true) { tx in
                tx.sendWithNext("INSERT INTO t VALUES (1)")
                throw Abandon()
            }
        }
        try c.execute("INSERT INTO t VALUES (2)")
        #expect(try c.query("SELECT array_agg(id)::text FROM t").row(0).decode(0, as: String.self) == "{2}")
    }

    @Test func aNulByteInAQueuedParameterIsRefusedBeforeAnythingIsSent() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute("CREATE TABLE t (v text)")
        c.sendWithNext("INSERT INTO t VALUES ($1)", ["ok"])
        c.sendWithNext("INSERT INTO t VALUES ($1)", ["bad\u{0}"])
        let error = #expect(throws: PostgresError.self) { try c.query("SELECT 1") }
        #expect(error?.kind == .client)
        #expect(try c.query("SELECT count(*) FROM t").row(0).decode(0, as: Int.self) == 0)
    }

    @Test func aScriptSendsTheQueueFirst() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute("CREATE TABLE t (v int)")
        c.sendWithNext("INSERT INTO t VALUES ($1)", [Int32(1)])
        try c.executeScript("INSERT INTO t SELECT max(v) + 1 FROM t")
        #expect(try c.query("SELECT array_agg(v ORDER BY v)::text FROM t").row(0).decode(0, as: String.self) == "{1,2}")
    }
}
