import Foundation
import Postgres
import TestSupport
import Testing

@Suite struct MigrateCommandTests {
    @Test func migrateWithTheServerDownPrintsOneLineAndExits69() throws {
        let result = try Couponbatch.run(["migrate", "--database-url", "postgresql://couponbatch:pw-secret@127.0.0.1:1/shop"])
        #expect(result.status == 69)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(result.stderr.contains("127.0.0.1:1"))
        #expect(result.stderr.contains("shop"))
        #expect(!result.stderr.contains("pw-secret"))
    }

    @Test func anEditedAppliedMigrationIsRefusedWithExit78() throws {
        let db = try TestDatabase(empty: true)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sql-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: Couponbatch.projectRoot + "/sql", toPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try Couponbatch.run(["migrate", "--sql-dir", dir, "--database-url", db.url])
        #expect(first.status == 0, "\(first.stderr)")
        let file = dir + "/0001_members.sql"
        let original = try String(contentsOfFile: file, encoding: .utf8)
        try (original + "\n-- an innocent-looking edit\n").write(toFile: file, atomically: true, encoding: .utf8)
        let second = try Couponbatch.run(["migrate", "--sql-dir", dir, "--database-url", db.url])
        #expect(second.status == 78)
        #expect(second.stderr.contains("0001_members.sql was changed after it was applied"))
    }

    @Test func twoConcurrentMigrationsLeaveOneAppliedSet() throws {
        let db = try TestDatabase(empty: true)
        let runs = try (0..<3).map { _ in try Couponbatch.start(["migrate", "--database-url", db.url]) }
        let results = runs.map { $0.wait() }
        #expect(results.allSatisfy { $0.status == 0 }, "\(results.map(\.stderr))")
        let c = try db.connect()
        let files = try FileManager.default.contentsOfDirectory(atPath: Couponbatch.projectRoot + "/sql")
            .filter { $0.hasSuffix(".sql") }
        let recorded = try c.query("SELECT count(*), count(DISTINCT version) FROM schema_migrations").row(0)
        #expect(try recorded.decode(0, as: Int.self) == files.count)
        #expect(try recorded.decode(1, as: Int.self) == files.count)
        #expect(results.filter { $0.stdout.contains("applied 1") }.count == 1)
    }

    @Test func seedingIsDeterministicAndNeverDuplicates() throws {
        let a = try TestDatabase()
        let b = try TestDatabase()
        for db in [a, b] {
            let r = try Couponbatch.run(["seed", "members", "--count", "3000", "--seed", "7", "--as-of", "2026-11-01", "--database-url", db.url])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let again = try Couponbatch.run(["seed", "members", "--count", "3000", "--seed", "7", "--as-of", "2026-11-01", "--database-url", a.url])
        #expect(again.stdout.contains("wrote 0"))
        let digest = "SELECT count(*)::text || ':' || md5(string_agg(m::text, '|' ORDER BY id)) FROM members m"
        let left = try a.connect().query(digest).row(0).decode(0, as: String.self)
        let right = try b.connect().query(digest).row(0).decode(0, as: String.self)
        #expect(left == right)
        #expect(left.hasPrefix("3000:"))
        // A gap is filled without touching the others.
        let c = try a.connect()
        try c.execute("DELETE FROM members WHERE id IN (10, 20)")
        let refill = try Couponbatch.run(["seed", "members", "--count", "3000", "--seed", "7", "--as-of", "2026-11-01", "--database-url", a.url])
        #expect(refill.stdout.contains("wrote 2"))
        #expect(try c.query(digest).row(0).decode(0, as: String.self) == right)
    }

    @Test func seededMembersLookLikeAMerchantsBase() throws {
        let db = try TestDatabase()
        let r = try Couponbatch.run(["seed", "members", "--count", "20000", "--seed", "1", "--as-of", "2026-11-01", "--database-url", db.url])
        #expect(r.status == 0)
        let row = try db.connect().query(
            """
            SELECT count(*) FILTER (WHERE tier = 'platinum') AS platinum,
                   count(*) FILTER (WHERE tier = 'standard') AS standard,
                   count(*) FILTER (WHERE order_count = 0) AS never_ordered,
                   count(*) FILTER (WHERE last_order_at < '2026-11-01'::timestamptz - interval '90 days') AS dormant,
                   count(*) FILTER (WHERE registered_at >= '2026-11-01'::timestamptz) AS future,
                   count(*) FILTER (WHERE last_order_at < registered_at) AS impossible,
                   count(DISTINCT home_store) AS stores
            FROM members
            """
        ).row(0)
        #expect(try row.decode("platinum", as: Int.self) > 20)
        #expect(try row.decode("standard", as: Int.self) > 10_000)
        #expect(try row.decode("never_ordered", as: Int.self) > 2000)
        #expect(try row.decode("dormant", as: Int.self) > 1000)
        #expect(try row.decode("future", as: Int.self) == 0)
        #expect(try row.decode("impossible", as: Int.self) == 0)
        #expect(try row.decode("stores", as: Int.self) == 30)
    }
}
