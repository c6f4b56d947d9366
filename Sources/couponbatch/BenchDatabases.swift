import CouponKit
import Foundation
import Postgres

/// The databases `bench` works in, all on the server of the URL it was given: that database
/// (migrated, holding the members) is the template each measurement clones, so every figure is
/// taken on a fresh database whose `coupons` table was never analyzed.
struct BenchDatabases {
    let templateURL: String
    let templateName: String
    let admin: Connection

    init(templateURL: String) throws {
        self.templateURL = templateURL
        let check = try Connection.connect(url: templateURL)
        templateName = try check.query("SELECT current_database()").row(0).decode(0, as: String.self)
        guard templateName.contains("bench") else {
            throw ConfigurationError("bench writes, clones and drops databases; give it one whose name contains \"bench\"")
        }
        admin = try Connection.connect(url: Self.url(templateURL, database: "postgres"))
    }

    /// `url` with its database name replaced.
    static func url(_ url: String, database: String) -> String {
        let query = url.firstIndex(of: "?").map { String(url[$0...]) } ?? ""
        let base = url.firstIndex(of: "?").map { String(url[..<$0]) } ?? url
        guard let slash = base.lastIndex(of: "/"), base[..<slash].hasSuffix("/") == false else { return url }
        return base[..<slash] + "/" + database + query
    }

    func url(_ database: String) -> String { Self.url(templateURL, database: database) }

    /// The settings that decide durability and plans, for the table's heading.
    func settings() throws -> String {
        try admin.query(
            """
            SELECT format('PostgreSQL %s; fsync=%s, synchronous_commit=%s, full_page_writes=%s, shared_buffers=%s, jit=%s, max_wal_size=%s',
                          current_setting('server_version'), current_setting('fsync'), current_setting('synchronous_commit'),
                          current_setting('full_page_writes'), current_setting('shared_buffers'), current_setting('jit'),
                          current_setting('max_wal_size'))
            """
        ).row(0).decode(0, as: String.self)
    }

    /// Grows or shrinks the template's `members` to `count` (and analyzes them, as a merchant's
    /// members table is), and empties what an earlier bench left in it: the sweep, bundle and
    /// merchant figures write their coupons into the template itself, and issuance figures start
    /// from an empty `coupons` (a second `make bench` failed on the first one's expiry coupons).
    func prepareMembers(_ count: Int) throws {
        let connection = try Connection.connect(url: templateURL)
        try Couponbatch.Bench.reset(connection)
        try Couponbatch.Bench.prepareMembers(count, url: templateURL, connection)
        try connection.execute("CHECKPOINT")
    }

    /// Drops `name` and clones it afresh from the template; returns its URL.
    @discardableResult
    func fresh(_ name: String) throws -> String {
        try admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        for attempt in 1...20 {
            do {
                try admin.execute("CREATE DATABASE \(name) TEMPLATE \(templateName)")
                break
            } catch {
                // Autovacuum may be visiting the template; it leaves within moments.
                let inUse = error.code == .objectInUse
                guard inUse, attempt < 20 else { throw error }
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
        try admin.execute("CHECKPOINT")
        return url(name)
    }

    /// A clone whose `coupons` holds `earlierRuns` earlier runs to every member, vacuumed and
    /// analyzed as autovacuum would leave it. Returns its URL.
    func makeBigDatabase(earlierRuns: Int) throws -> String {
        let bigURL = try fresh(Self.bigName)
        let connection = try Connection.connect(url: bigURL)
        let started = Date()
        try connection.execute(IssuanceBenchmark.earlierRunsSQL(runs: earlierRuns))
        try connection.execute("VACUUM ANALYZE coupons")
        try connection.execute("CHECKPOINT")
        print(String(format: "  (earlier runs written and vacuumed in %.0f s)", Date().timeIntervalSince(started)))
        return bigURL
    }

    static let freshName = "couponbatch_bench_run"
    static let bigName = "couponbatch_bench_big"

    /// Leaves the big database's `coupons` as it was before a measurement. ANALYZE too: the
    /// statistics come out as before (the same earlier rows), and the counters that wake
    /// autovacuum start from zero, so an autoanalyze of the 10M rows (due after about 1M rows
    /// changed) never lands inside one measurement and not the other.
    func resetBig() throws {
        let connection = try Connection.connect(url: url(Self.bigName))
        for statement in IssuanceBenchmark.resetSQL { try connection.execute(statement) }
        try connection.execute("VACUUM (ANALYZE) coupons")
        try connection.execute("CHECKPOINT")
    }

    func dropScratch() throws {
        for name in [Self.freshName, Self.bigName] { try admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
    }
}
