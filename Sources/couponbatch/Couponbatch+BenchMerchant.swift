import CouponKit
import Foundation
import Postgres

/// `make bench` for the merchant's data in and out: member import, redemption back-fill and the
/// report, each beside a plain-SQL floor measured in the same run on the same data.
extension Couponbatch.Bench {
    static let benchSecret = "bench-secret-0123456789abcdef"

    static func merchantBenchmarks(importRows: Int, backfillRows: Int, reportCoupons: Int, _ connection: Connection) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("couponbatch-bench-io-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }

        if importRows > 0 {
            print("== members import: \(importRows) CSV rows upserted; floor = COPY of the same file into a table")
            let path = "\(dir)/members.csv"
            try writeMembersCSV(rows: importRows, to: path)
            let floor = try timed {
                try connection.execute("DROP TABLE IF EXISTS bench_members_floor")
                try connection.execute(
                    """
                    CREATE UNLOGGED TABLE bench_members_floor (id bigint, tier text, tags text, registered_at timestamptz,
                        last_order_at timestamptz, order_count int, total_spend_fen bigint, home_store text, openid text)
                    """)
                try copyFile(path, into: "bench_members_floor", connection)
            }
            try connection.execute("DROP TABLE bench_members_floor")
            for pass in ["first run", "again (unchanged)"] {
                let (seconds, usage) = try timedChild(["members", "import", path])
                guard usage.status == 0 else { throw ConfigurationError("members import failed with exit \(usage.status)") }
                print(
                    String(
                        format: "  %@ %6.2f s  (%.0f rows/s)   floor %.2f s   ratio %.2f   peak RSS %.1f MB",
                        pass.padding(toLength: 18, withPad: " ", startingAt: 0), seconds, Double(importRows) / seconds, floor, seconds / max(floor, 0.001),
                        Double(usage.maxRSSKilobytes) / 1024))
            }
        }

        if reportCoupons > 0 {
            print("== report over \(reportCoupons) coupons (30 days, 25% redeemed); floor = one grouped count over the same coupons")
            let started = Date()
            try makeReportFixture(coupons: reportCoupons, connection)
            print(String(format: "  fixture: %d coupons and their redemptions written in %.1f s", reportCoupons, Date().timeIntervalSince(started)))
            let floor = try timed {
                try connection.execute(
                    """
                    SELECT template_key, count(*), count(*) FILTER (WHERE redeemed_at IS NOT NULL) FROM coupons
                    WHERE issued_at >= '2026-11-01T00:00:00+08' AND issued_at < '2026-12-01T00:00:00+08' GROUP BY 1
                    """)
            }
            for by in ReportDimension.allCases.map(\.rawValue) {
                let (seconds, usage) = try timedChild(
                    ["report", "--by", by, "--format", "json", "--from", "2026-11-01", "--to", "2026-11-30", "--at", "2026-12-01T00:00:00Z"])
                guard usage.status == 0 else { throw ConfigurationError("report failed with exit \(usage.status)") }
                print(
                    String(
                        format: "  report --by %@ %6.2f s   floor %.2f s   ratio %.2f   peak RSS %.1f MB",
                        by.padding(toLength: 8, withPad: " ", startingAt: 0), seconds, floor,
                        seconds / max(floor, 0.001), Double(usage.maxRSSKilobytes) / 1024))
            }
        }

        if backfillRows > 0, reportCoupons >= backfillRows * 2 {
            print("== redemptions import: \(backfillRows) offline rows; floor = COPY of the rows and one INSERT … SELECT into redemptions")
            let path = "\(dir)/offline.csv"
            try writeBackfillCSV(rows: backfillRows, to: path, connection)
            let floor = try timed {
                try connection.transaction { tx in
                    try tx.execute(
                        "CREATE TEMP TABLE bench_backfill (code text, store text, amount_fen bigint, at timestamptz, request_id text) ON COMMIT DROP")
                    try copyFile(path, into: "bench_backfill", tx)
                    try tx.execute(
                        """
                        INSERT INTO redemptions (coupon_id, request_id, store, amount_fen, discount_fen, at, source, template_key,
                                                 coupon_run_id, member_id, coupon_issued_at)
                        SELECT row_number() OVER (), 'floor-' || request_id, store, amount_fen, 0, at, 'import', 'floor', 0, 0, at
                        FROM bench_backfill
                        """)
                    throw FloorRollback()
                }
            }
            let (seconds, usage) = try timedChild(["redemptions", "import", path])
            guard usage.status == 0 else { throw ConfigurationError("redemptions import failed with exit \(usage.status)") }
            print(
                String(
                    format: "  redemptions import %6.2f s  (%.0f rows/s)   floor %.2f s   ratio %.2f   peak RSS %.1f MB", seconds,
                    Double(backfillRows) / seconds, floor, seconds / max(floor, 0.001), Double(usage.maxRSSKilobytes) / 1024))
        }
    }

    /// The floor's transaction is rolled back: it only has to be timed.
    struct FloorRollback: Error {}

    static func timed(_ body: () throws -> Void) throws -> Double {
        let started = Date()
        do { try body() } catch is FloorRollback {}
        return Date().timeIntervalSince(started)
    }

    static func timedChild(_ arguments: [String]) throws -> (Double, ChildProcess.Usage) {
        setenv(CodeSecret.secretVariable, benchSecret, 1)
        let started = Date()
        let usage = try ChildProcess.run(CommandLine.arguments[0], arguments)
        return (Date().timeIntervalSince(started), usage)
    }

    static func copyFile(_ path: String, into table: String, _ connection: Connection) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ConfigurationError("cannot read \(path)") }
        defer { try? handle.close() }
        try connection.copyIn("COPY \(table) FROM STDIN WITH (FORMAT csv, HEADER true)") { writer in
            while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty { try writer.write(block) }
        }
    }

    static func writeMembersCSV(rows: Int, to path: String) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        guard let out = FileHandle(forWritingAtPath: path) else { throw ConfigurationError("cannot write \(path)") }
        defer { try? out.close() }
        var buffer = "id,tier,tags,registered_at,last_order_at,order_count,total_spend_fen,home_store,openid\n"
        let tiers = ["standard", "silver", "gold", "platinum"]
        for id in 1...rows {
            let orders = id % 17
            buffer += "\(id),\(tiers[id % 4]),wechat-pay|family,2025-0\(1 + id % 9)-1\(id % 10)T10:00:00+08:00,"
            buffer += orders == 0 ? "," : "2026-11-1\(id % 10)T19:30:00+08:00,"
            buffer += "\(orders),\(orders * 12_345),SH-00\(1 + id % 9),o-\(id)\n"
            if buffer.utf8.count > 1 << 20 {
                out.write(Data(buffer.utf8))
                buffer.removeAll(keepingCapacity: true)
            }
        }
        out.write(Data(buffer.utf8))
    }

    /// Coupons over 30 days of November (Shanghai), 8 templates, runs of 1M, a quarter redeemed
    /// (with a redemption row each), a tenth expired; one job with two arms and a holdout.
    static func makeReportFixture(coupons: Int, _ connection: Connection) throws {
        try reset(connection)
        try connection.execute("TRUNCATE redemptions")
        let members = try connection.query("SELECT greatest(count(*), 1) FROM members").row(0).decode(0, as: Int64.self)
        try connection.execute(
            """
            INSERT INTO job_runs (id, job, slot, trigger, status)
            SELECT r, CASE WHEN r % 3 = 0 THEN 'bench-ab' ELSE 'bench-' || r END,
                   '2026-11-01T02:00:00Z'::timestamptz + make_interval(days => ((r * 7) % 30)::int, mins => (r % 600)::int), 'manual', 'succeeded'
            FROM generate_series(1, ($1::bigint + $2 - 1) / $2) AS r
            """, [Int64(coupons), members])
        try connection.execute(
            """
            INSERT INTO coupon_templates (key, version, fingerprint, type, spec, face_value_fen)
            SELECT 'bench-t' || t, 1, 'bench' || t, 'cash', jsonb_build_object('type', 'cash', 'off_fen', 500 * (t + 1)), 500 * (t + 1)
            FROM generate_series(0, 7) AS t
            """)
        try connection.execute(
            """
            INSERT INTO coupons (template_key, template_version, member_id, run_id, seq, arm, status, face_value_fen,
                                 issued_at, valid_from, expires_at, redeemed_at)
            SELECT 'bench-t' || (g % 8), 1, m, r, 1,
                   CASE WHEN r % 3 = 0 THEN CASE WHEN m % 2 = 0 THEN 'd7' ELSE 'd15' END END,
                   CASE WHEN h < 25 THEN 'redeemed' WHEN h < 35 THEN 'expired' ELSE 'active' END,
                   500 * (g % 8 + 1), s, s, s + interval '7 days',
                   CASE WHEN h < 25 THEN s + make_interval(hours => (1 + (g * 7) % 160)::int) END
            FROM (
                SELECT x.*, j.slot + make_interval(secs => x.g % 36000) AS s
                FROM (SELECT g, 1 + g % $2 AS m, 1 + g / $2 AS r, (g * 37) % 100 AS h
                      FROM generate_series(0, $1::bigint - 1) AS g) AS x
                JOIN job_runs j ON j.id = x.r
            ) AS y
            WHERE y.m % 10 <> 0 OR y.r % 3 <> 0
            """, [Int64(coupons), members])
        try connection.execute(
            """
            INSERT INTO issue_holdouts (run_id, member_id, arm)
            SELECT r.id, m.id, 'holdout' FROM job_runs r JOIN members m ON m.id % 10 = 0 WHERE r.job = 'bench-ab'
            """)
        try connection.execute(
            """
            INSERT INTO redemptions (coupon_id, request_id, store, amount_fen, discount_fen, at, source, template_key,
                                     coupon_run_id, member_id, coupon_issued_at)
            SELECT id, 'bench-' || id, 'SH-00' || (1 + id % 9), 5000 + id % 10000, face_value_fen, redeemed_at, 'till',
                   template_key, run_id, member_id, issued_at
            FROM coupons WHERE redeemed_at IS NOT NULL
            """)
        try connection.execute("SELECT setval(pg_get_serial_sequence('job_runs', 'id'), (SELECT max(id) FROM job_runs))")
        try connection.execute("VACUUM ANALYZE coupons")
        try connection.execute("VACUUM ANALYZE redemptions")
    }

    /// Offline rows on active coupons of the report fixture (still valid on the 29th).
    static func writeBackfillCSV(rows: Int, to path: String, _ connection: Connection) throws {
        let codec = CouponCodec(keyring: try CodeKeyring(secret: try CodeSecret(Array(benchSecret.utf8))))
        var text = "code,store,amount_fen,redeemed_at,request_id\n"
        try connection.forEachRow(
            """
            SELECT id, greatest(issued_at, expires_at - interval '1 hour') AS at FROM coupons
            WHERE status = 'active' ORDER BY id LIMIT $1
            """, [Int64(rows)]
        ) { row in
            let id: Int64 = try row.decode("id")
            let at: Date = try row.decode("at")
            text += "\(try codec.code(for: id)),SH-00\(1 + id % 9),\(5000 + id % 10000),\(at.formatted(.iso8601)),bench-off-\(id)\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
