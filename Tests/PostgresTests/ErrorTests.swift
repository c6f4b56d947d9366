import Foundation
import Postgres
import TestSupport
import Testing

@Suite struct ErrorTests {
    @Test func aUniqueViolationIsToldApartBySQLSTATE() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute("CREATE TABLE t (id bigint CONSTRAINT t_pkey PRIMARY KEY)")
        try c.execute("INSERT INTO t VALUES (1)")
        let error = #expect(throws: PostgresError.self) { try c.execute("INSERT INTO t VALUES ($1)", [Int64(1)]) }
        #expect(error?.kind == .server)
        #expect(error?.code == .uniqueViolation)
        #expect(error?.constraint == "t_pkey")
        #expect(error?.table == "t")
        #expect(error?.isTransient == false)
        // Not confused with a serialization failure or a lost connection.
        #expect(error?.code != .serializationFailure)
    }

    @Test func aSerializationFailureIsTransient() throws {
        let db = try TestDatabase()
        let a = try db.connect()
        let b = try db.connect()
        try a.execute("CREATE TABLE t (id int PRIMARY KEY, v int)")
        try a.execute("INSERT INTO t VALUES (1, 0)")
        try a.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        _ = try a.query("SELECT v FROM t WHERE id = 1")
        try b.execute("UPDATE t SET v = 1 WHERE id = 1")
        let error = #expect(throws: PostgresError.self) { try a.execute("UPDATE t SET v = 2 WHERE id = 1") }
        #expect(error?.code == .serializationFailure)
        #expect(error?.isTransient == true)
        try a.execute("ROLLBACK")
    }

    @Test func aKilledBackendSurfacesAsALostConnection() throws {
        let db = try TestDatabase()
        let victim = try db.connect()
        let killer = try db.connect()
        #expect(victim.isOpen)
        let terminated = try killer.query("SELECT pg_terminate_backend($1)", [victim.backendPID]).row(0)
        #expect(try terminated.decode(0, as: Bool.self))
        let error = #expect(throws: PostgresError.self) { try victim.query("SELECT 1") }
        #expect(error?.kind == .connectionLost)
        #expect(error?.isTransient == true)
        #expect(!victim.isOpen)
    }

    @Test func anUnreachableServerNamesHostPortAndDatabaseButNotThePassword() throws {
        let error = #expect(throws: PostgresError.self) {
            try Connection.connect(url: "postgresql://alice:hunter2-secret@127.0.0.1:1/shop")
        }
        #expect(error?.kind == .connectionFailed)
        let text = error?.description ?? ""
        #expect(text.contains("127.0.0.1:1"))
        #expect(text.contains("\"shop\""))
        #expect(!text.contains("hunter2"))
        #expect(!text.contains("\n"))
    }

    @Test func transactionsCommitOnReturnAndRollBackOnThrow() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute("CREATE TABLE t (v int)")
        try c.transaction { tx in try tx.execute("INSERT INTO t VALUES (1)") }
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try c.transaction { tx in
                try tx.execute("INSERT INTO t VALUES (2)")
                throw Boom()
            }
        }
        #expect(!c.inTransaction)
        let values = try c.query("SELECT v FROM t ORDER BY v").rows.map { try $0.decode(0, as: Int.self) }
        #expect(values == [1])
    }

    @Test func aSavepointRollsBackOnlyItsOwnWork() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute("CREATE TABLE t (id int PRIMARY KEY)")
        try c.transaction { tx in
            try tx.execute("INSERT INTO t VALUES (1)")
            let duplicate = #expect(throws: PostgresError.self) {
                try tx.savepoint { sp in try sp.execute("INSERT INTO t VALUES (1)") }
            }
            #expect(duplicate?.code == .uniqueViolation)
            try tx.execute("INSERT INTO t VALUES (2)")
        }
        #expect(try c.query("SELECT count(*) FROM t").row(0).decode(0, as: Int.self) == 2)
    }

    @Test func anAdvisoryLockIsHeldByOneSessionAtATime() throws {
        let db = try TestDatabase()
        let a = try db.connect()
        let b = try db.connect()
        #expect(try a.tryAdvisoryLock(42))
        #expect(try !b.tryAdvisoryLock(42))
        try a.advisoryUnlock(42)
        #expect(try b.tryAdvisoryLock(42))
        let ran = try b.withAdvisoryLock(7) { true }
        #expect(ran)
        #expect(try a.tryAdvisoryLock(7))
    }
}

@Suite struct ConnectionStringRedactionTests {
    @Test(arguments: [
        "postgresql://alice:pa%zzword-77@127.0.0.1:1/shop",
        "postgresql://alice:two words-77@127.0.0.1:1/shop",
        "host=127.0.0.1 port=1 password=pw-77 oops",
        "postgresql://alice:bracket-77@[::1:5/shop",
    ])
    func aMalformedConnectionStringNeverEchoesThePassword(_ url: String) throws {
        let error = #expect(throws: PostgresError.self) { try Connection.connect(url: url) }
        #expect(error?.kind == .connectionFailed)
        let text = error?.description ?? ""
        #expect(!text.isEmpty)
        #expect(!text.contains("-77"), "\(text)")
    }
}
