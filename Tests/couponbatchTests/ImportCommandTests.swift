import CouponKit
import Foundation
import Postgres
import TestSupport
import Testing

/// `members import` and `redemptions import`: good rows applied, bad rows reported by line,
/// each file imported twice.
@Suite struct ImportCommandTests {
    static func write(_ text: String, name: String = "input.csv") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cbt-import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The `redemptions-import` runs as `runs --json` lists them.
    static func importRuns(_ f: RedemptionFixture) throws -> [[String: Any]] {
        let runs = try f.issue.command(["runs", "--job", "redemptions-import", "--json"])
        return runs.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static let members = """
        id,tier,tags,registered_at,last_order_at,order_count,total_spend_fen,home_store,openid
        1,gold,wechat-pay|family,2025-03-01T10:00:00+08:00,2026-11-20T19:30:00+08:00,12,250000,SH-001,o-1
        2,standard,,2025-04-01T00:00:00Z,,0,0,,
        3,glod,,2025-04-01T00:00:00Z,,0,0,,
        4,silver,"vip|with,comma",2025-05-01 09:00:00+08,2026-10-01T09:00:00+08:00,3,30000,BJ-001,o-4
        5,silver,,2025-05-01T09:00:00,,0,0,,
        6,silver,,2025-05-01T09:00:00Z,,-1,0,,
        1,platinum,,2025-03-01T10:00:00+08:00,,0,0,,
        7,standard,,2025-02-30T00:00:00Z,,0,0,,
        8,standard,,2025-02-01T00:00:00Z,,0,0

        9,platinum,a|b|a,2024-12-31T23:59:59.5+08:00,2026-11-30T23:00:00+08:00,40,900000,SZ-004,o-9
        """

    @Test func memberImportAppliesGoodRowsReportsBadOnesByLineAndIsSafeToRepeat() throws {
        let db = try TestDatabase()
        let path = try Self.write(Self.members)
        // Member 2 exists already with other data: the import updates it.
        try db.connect().execute("INSERT INTO members (id, tier, registered_at) VALUES (2, 'gold', '2020-01-01Z')")
        let first = try Couponbatch.run(["members", "import", path, "--database-url", db.url])
        #expect(first.status == 65, "\(first.transcript)")
        #expect(first.stdout.contains("10 rows, 3 new, 1 updated, 0 unchanged, 6 refused"), "\(first.stdout)")
        for expected in [
            "input.csv:4: tier: unknown tier \"glod\" (did you mean \"gold\"?)",
            "input.csv:6: registered_at: \"2025-05-01T09:00:00\" is not a valid time: use ISO 8601 with a zone offset",
            "input.csv:7: order_count: -1 is outside 0…2147483647",
            "input.csv:8: id: member 1 is already on line 2",
            "input.csv:9: registered_at: \"2025-02-30T00:00:00Z\"",
            "input.csv:10: expected 9 fields, found 7",
        ] {
            #expect(first.stderr.contains(expected), "missing \(expected) in\n\(first.stderr)")
        }
        let connection = try db.connect()
        func snapshot() throws -> [String] {
            try connection.query(
                "SELECT id, tier, tags::text, registered_at, last_order_at, order_count, total_spend_fen, home_store, openid FROM members ORDER BY id"
            ).rows.map { row in (0..<9).map { row.text($0) ?? "NULL" }.joined(separator: "|") }
        }
        let after = try snapshot()
        #expect(after.count == 4)
        #expect(after[0] == "1|gold|{wechat-pay,family}|2025-03-01 02:00:00+00|2026-11-20 11:30:00+00|12|250000|SH-001|o-1")
        #expect(after[1] == "2|standard|{}|2025-04-01 00:00:00+00|NULL|0|0|NULL|NULL")
        #expect(after[2] == "4|silver|{vip,\"with,comma\"}|2025-05-01 01:00:00+00|2026-10-01 01:00:00+00|3|30000|BJ-001|o-4")
        #expect(after[3] == "9|platinum|{a,b}|2024-12-31 15:59:59.5+00|2026-11-30 15:00:00+00|40|900000|SZ-004|o-9")

        let second = try Couponbatch.run(["members", "import", path, "--database-url", db.url])
        #expect(second.status == 65)
        #expect(second.stdout.contains("10 rows, 0 new, 0 updated, 4 unchanged, 6 refused"), "\(second.stdout)")
        #expect(try snapshot() == after)
    }

    @Test func aWrongHeaderChangesNothing() throws {
        let db = try TestDatabase()
        let path = try Self.write("id,tier,tags\n1,gold,\n")
        let result = try Couponbatch.run(["members", "import", path, "--database-url", db.url, "--json"])
        #expect(result.status == 65)
        #expect(result.stderr.contains("input.csv:1: the header must be id,tier,tags,registered_at"))
        #expect(try db.connect().query("SELECT count(*) FROM members").row(0).decode(0, as: Int64.self) == 0)
    }

    @Test func redemptionImportBackFillsGoodRowsRejectsConflictsAndIsSafeToRepeat() throws {
        let f = try RedemptionFixture(members: 1...6)
        // Member 2's cash coupon was redeemed at a till already, by another request.
        #expect(try f.redeem(try f.code("cash", member: 2), amountFen: 5_000, requestID: "till-live").status == 0)
        var forged = Array(try f.code("cash", member: 5))
        forged[3] = forged[3] == "A" ? "B" : "A"
        let rows = [
            "code,store,amount_fen,redeemed_at,request_id",
            "\(try f.code("cash", member: 1)),SH-009,5000,2026-11-24T12:00:00+08:00,off-1",
            "\(try f.code("cash", member: 2)),SH-009,5000,2026-11-24T12:05:00+08:00,off-2",
            "\(String(forged)),SH-009,5000,2026-11-24T12:10:00+08:00,off-3",
            "\(try f.code("cash", member: 3)),SH-009,5000,2026-11-30T00:00:00+08:00,off-4",
            "\(try f.code("bound", member: 1)),GZ-001,5000,2026-11-24T12:20:00+08:00,off-5",
            "\(try f.code("threshold", member: 1)),SH-009,9999,2026-11-24T12:25:00+08:00,off-6",
            "\(try f.code("punch", member: 1)),SH-009,0,2026-11-24T13:00:00+08:00,off-7",
            "\(try f.code("punch", member: 1)),SH-009,0,2026-11-25T13:00:00+08:00,off-8",
            "\(try f.code("threshold", member: 4)),SH-009,25000,2026-11-24T12:30:00+08:00,off-9",
            "\(try f.code("cash", member: 6)),SH-009,abc,2026-11-24T12:30:00+08:00,off-10",
        ]
        let path = try Self.write(rows.joined(separator: "\n") + "\n", name: "offline.csv")
        let first = try f.issue.command(["redemptions", "import", path])
        #expect(first.status == 65, "\(first.transcript)")
        #expect(first.stdout.contains("10 rows, 4 redeemed, 0 already recorded, 6 refused"), "\(first.stdout)")
        for expected in [
            "offline.csv:3: coupon", "already redeemed", "offline.csv:4: code: forged code",
            "offline.csv:5: coupon", "has expired", "offline.csv:6: coupon", "cannot be redeemed at store GZ-001",
            "offline.csv:7: coupon", "needs a spend of at least 10000 fen", "offline.csv:11: amount_fen: \"abc\" is not a whole number",
        ] {
            #expect(first.stderr.contains(expected), "missing \(expected) in\n\(first.stderr)")
        }
        let reader = try CSVReader(
            path: URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("offline.rejects.csv").path)
        var rejects: [[String]] = []
        while let record = try reader.next() { rejects.append(record.fields) }
        #expect(rejects.first == ["code", "store", "amount_fen", "redeemed_at", "request_id", "line", "reason"])
        #expect(rejects.dropFirst().map { $0[5] } == ["3", "4", "5", "6", "7", "11"])
        #expect(rejects.dropFirst().map { $0[4] } == ["off-2", "off-3", "off-4", "off-5", "off-6", "off-10"])
        #expect(try f.issue.int("SELECT count(*) FROM redemptions WHERE source = 'import'") == 4)
        #expect(try f.issue.text("SELECT status FROM coupons WHERE id = $1", [try f.couponID("punch", member: 1)]) == "used_up")
        #expect(try f.issue.text("SELECT redeemed_at::text FROM coupons WHERE id = $1", [try f.couponID("punch", member: 1)]) == "2026-11-24 05:00:00+00")
        #expect(try f.issue.int("SELECT discount_fen FROM redemptions WHERE request_id = 'off-9'") == 5_000)

        let second = try f.issue.command(["redemptions", "import", path])
        #expect(second.status == 65)
        #expect(second.stdout.contains("10 rows, 0 redeemed, 4 already recorded, 6 refused"), "\(second.stdout)")
        #expect(try f.issue.int("SELECT count(*) FROM redemptions") == 5)
        // Each import is a run in the ledger, visible in `runs`.
        let listed = try Self.importRuns(f)
        #expect(listed.count == 2, "\(listed)")
        #expect(listed.allSatisfy { $0["status"] as? String == "succeeded" })
        #expect(listed.compactMap { ($0["counts"] as? [String: Any])?["redeemed"] as? Int }.sorted() == [0, 4])
        // The ledger counts what the command printed: the row refused while reading (line 11) too.
        for run in listed {
            let counts = run["counts"] as? [String: Any]
            #expect(counts?["rows"] as? Int == 10, "\(run)")
            #expect(counts?["rejected"] as? Int == 6, "\(run)")
        }
    }

    @Test func aRedemptionImportWhoseRowsAreAllRefusedWhileReadingCountsThemInItsRun() throws {
        let f = try RedemptionFixture(members: 1...2)
        let rows = [
            "code,store,amount_fen,redeemed_at,request_id",
            "NOT-A-CODE,SH-009,5000,2026-11-24T12:00:00+08:00,off-1",
            "\(try f.code("cash", member: 1)),SH-009,-5,2026-11-24T12:05:00+08:00,off-2",
            "\(try f.code("cash", member: 2)),SH-009,5000",
        ]
        let path = try Self.write(rows.joined(separator: "\n") + "\n", name: "unreadable.csv")
        let result = try f.issue.command(["redemptions", "import", path])
        #expect(result.status == 65, "\(result.transcript)")
        #expect(result.stdout.contains("3 rows, 0 redeemed, 0 already recorded, 3 refused"), "\(result.stdout)")
        let listed = try Self.importRuns(f)
        #expect(listed.count == 1, "\(listed)")
        let counts = listed.first?["counts"] as? [String: Any]
        #expect(counts?["rows"] as? Int == 3, "\(listed)")
        #expect(counts?["rejected"] as? Int == 3, "\(listed)")
        #expect(counts?["redeemed"] as? Int == 0, "\(listed)")
        #expect(try f.issue.int("SELECT count(*) FROM redemptions") == 0)
    }

    @Test func aMemberImportInIdOrderInsertsUpdatesAndLeavesUnchangedRows() throws {
        let db = try TestDatabase()
        let connection = try db.connect()
        // Member 2 differs from its row in the file; member 3 matches it exactly.
        try connection.execute("INSERT INTO members (id, tier, registered_at) VALUES (2, 'gold', '2020-01-01Z')")
        try connection.execute(
            "INSERT INTO members (id, tier, tags, registered_at, order_count, total_spend_fen) VALUES (3, 'silver', '{a}', '2025-01-01Z', 2, 700)")
        let path = try Self.write(
            """
            id,tier,tags,registered_at,last_order_at,order_count,total_spend_fen,home_store,openid
            1,standard,,2025-01-01T00:00:00Z,,0,0,,
            2,platinum,vip,2020-01-01T00:00:00Z,,5,9000,SH-001,o-2
            3,silver,a,2025-01-01T08:00:00+08:00,,2,700,,
            """ + "\n")
        let result = try Couponbatch.run(["members", "import", path, "--database-url", db.url])
        #expect(result.status == 0, "\(result.transcript)")
        #expect(result.stdout.contains("3 rows, 1 new, 1 updated, 1 unchanged, 0 refused"), "\(result.stdout)")
        let rows = try connection.query("SELECT id, tier, tags::text, order_count, home_store FROM members ORDER BY id").rows.map {
            row in (0..<5).map { row.text($0) ?? "NULL" }.joined(separator: "|")
        }
        #expect(rows == ["1|standard|{}|0|NULL", "2|platinum|{vip}|5|SH-001", "3|silver|{a}|2|NULL"])
        let again = try Couponbatch.run(["members", "import", path, "--database-url", db.url])
        #expect(again.stdout.contains("3 rows, 0 new, 0 updated, 3 unchanged, 0 refused"), "\(again.stdout)")
    }

    /// A member inserted by something other than an import (`seed members`, a CRM hook) while
    /// the import runs makes its plain INSERT collide; the import then falls back to the
    /// upsert and still applies every row. The other writer holds its insert uncommitted until
    /// the import waits on it, so the collision happens on every run, however the two are timed.
    @Test func aMemberInsertedWhileTheImportRunsIsUpdatedThroughTheFallbackUpsert() throws {
        let db = try TestDatabase()
        let path = try Self.write(
            """
            id,tier,tags,registered_at,last_order_at,order_count,total_spend_fen,home_store,openid
            1,standard,,2025-01-01T00:00:00Z,,0,0,,
            2,platinum,vip,2020-01-01T00:00:00Z,,5,9000,SH-001,o-2
            3,silver,a,2025-01-01T00:00:00Z,,2,700,,
            """ + "\n")
        let other = try db.connect()
        try other.execute("BEGIN")
        try other.execute("INSERT INTO members (id, tier, registered_at) VALUES (2, 'gold', '2020-01-01Z')")
        let running = try Couponbatch.start(["members", "import", path, "--database-url", db.url])
        let watcher = try db.connect()
        let waiting = eventually(within: 30) {
            (try? watcher.query(
                """
                SELECT 1 FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO members%'
                """
            ).count) == 1
        }
        try other.execute("COMMIT")
        let result = running.wait()
        #expect(waiting, "the import never waited on the uncommitted member")
        #expect(result.status == 0, "\(result.transcript)")
        #expect(result.stdout.contains("3 rows, 2 new, 1 updated, 0 unchanged, 0 refused"), "\(result.stdout)")
        let rows = try watcher.query("SELECT id, tier, tags::text, order_count, home_store FROM members ORDER BY id").rows.map {
            row in (0..<5).map { row.text($0) ?? "NULL" }.joined(separator: "|")
        }
        #expect(rows == ["1|standard|{}|0|NULL", "2|platinum|{vip}|5|SH-001", "3|silver|{a}|2|NULL"])
        let again = try Couponbatch.run(["members", "import", path, "--database-url", db.url])
        #expect(again.stdout.contains("3 rows, 0 new, 0 updated, 3 unchanged, 0 refused"), "\(again.stdout)")
    }
}
