import CouponKit
import Foundation
import Logging
import Postgres
import TestSupport
import Testing

@Suite struct MigrationTests {
    static let sqlDirectory = Couponbatch.projectRoot + "/sql"

    @Test func migrationsLoadInVersionOrderWithStableChecksums() throws {
        let migrations = try Migration.load(directory: Self.sqlDirectory)
        #expect(migrations.first?.version == 1)
        #expect(migrations.map(\.version) == migrations.map(\.version).sorted())
        #expect(Set(migrations.map(\.version)).count == migrations.count)
        #expect(migrations.allSatisfy { $0.checksum.count == 64 })
    }

    @Test func migratingAnEmptyDatabaseAppliesEveryFileOnceAndAgainIsANoOp() throws {
        let db = try TestDatabase(empty: true)
        let c = try db.connect()
        let migrations = try Migration.load(directory: Self.sqlDirectory)
        let migrator = Migrator(migrations: migrations, logger: Logger(label: "test"))
        let first = try migrator.migrate(c)
        #expect(first.applied == migrations.map(\.version))
        let second = try migrator.migrate(c)
        #expect(second.applied.isEmpty)
        #expect(second.alreadyApplied == migrations.map(\.version))
        #expect(try c.query("SELECT count(*) FROM schema_migrations").row(0).decode(0, as: Int.self) == migrations.count)
    }

    @Test func aFailingMigrationLeavesNoTraceAndStopsTheRest() throws {
        let db = try TestDatabase(empty: true)
        let c = try db.connect()
        let migrations = [
            Migration(version: 1, name: "good", sql: "CREATE TABLE a (id int);"),
            Migration(version: 2, name: "bad", sql: "CREATE TABLE b (id int); SELECT * FROM no_such_table;"),
            Migration(version: 3, name: "later", sql: "CREATE TABLE c (id int);"),
        ]
        let error = #expect(throws: PostgresError.self) {
            try Migrator(migrations: migrations, logger: Logger(label: "test")).migrate(c)
        }
        #expect(error?.code == .undefinedTable)
        let tables = try c.query("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'")
            .row(0).decode(0, as: String.self)
        #expect(tables == "a,schema_migrations")
        #expect(try c.query("SELECT max(version) FROM schema_migrations").row(0).decode(0, as: Int.self) == 1)
    }
}
