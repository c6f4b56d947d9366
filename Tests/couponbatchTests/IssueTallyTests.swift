import Foundation
import Postgres
import TestSupport
import Testing

/// Chunks of a template without stock count their coupons in rows of their own
/// (`template_issued_chunks`, migration 0043), not in the template's stock row, which they only
/// hold FOR KEY SHARE: so they never wait for each other's COMMIT. Giving the template a stock
/// waits for such chunks and folds their rows into `issued` first, so stock is never oversold.
@Suite struct IssueTallyTests {
    static let unlimited = "templates:\n  - {key: u, type: cash, off_fen: 500, validity: {days: 3}}"
    static let limited = "templates:\n  - {key: u, type: cash, off_fen: 500, validity: {days: 3}, stock: 300}"

    @Test func chunksOfATemplateWithoutStockAreCountedInIssuedOnceTheRunFinishes() throws {
        let fixture = try IssueFixture(templates: Self.unlimited, jobs: [issueJob("daily", "coupons:\n  - {template: u}")])
        try fixture.addMembers(1...1000)
        let result = try fixture.run("daily", ["--workers", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try fixture.rows("SELECT coalesce(stock::text, 'none') AS stock, issued FROM template_stock").first == ["stock": "none", "issued": "1000"])
        #expect(try fixture.int("SELECT count(*) FROM template_issued_chunks") == 0)
    }

    /// While a chunk's statement runs, another transaction may update the template's stock row
    /// (as a trigger batch or a bundle chunk issuing the same template does): the chunk does not
    /// wait for it, as it waited before for every other chunk's COMMIT.
    @Test func aChunkWithoutStockDoesNotWaitForAnUpdateOfTheStockRow() throws {
        let fixture = try IssueFixture(templates: Self.unlimited, jobs: [issueJob("daily", "coupons:\n  - {template: u}")])
        try fixture.addMembers(1...300)
        // A first run registers the template.
        #expect(try fixture.run("daily", at: "2026-11-20T02:00:00Z").status == 0)
        // The run's chunks are held at their first write (a lock on coupons) while another
        // transaction takes the stock row: registering the template and folding at the end
        // update that row too, so they must come before and after it.
        let gate = try fixture.db.connect()
        try gate.execute("BEGIN")
        try gate.execute("LOCK TABLE coupons IN SHARE MODE")
        let running = try fixture.start("daily", ["--workers", "2"])
        var held = false
        for _ in 0..<300 {
            held = try fixture.int(
                """
                SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%coupons_written%'
                """) > 0
            if held { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(held, "no chunk reached the gate")
        let holder = try fixture.db.connect()
        try holder.execute("BEGIN")
        try holder.execute("UPDATE template_stock SET issued = issued WHERE key = 'u'")
        try gate.execute("COMMIT")
        var chunks: Int64 = 0
        for _ in 0..<300 {
            chunks = try fixture.int(
                "SELECT count(*) FROM run_chunks c JOIN job_runs r ON r.id = c.run_id WHERE r.slot = $1::timestamptz",
                [IssueFixture.slot])
            if chunks == 3 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        try holder.execute("COMMIT")
        let result = running.wait()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(chunks == 3, "the chunks waited for the transaction holding the stock row")
        #expect(try fixture.int("SELECT issued FROM template_stock WHERE key = 'u'") == 600)
    }

    /// What chunks counted while the template had no stock (here: of a run that ended without
    /// finishing) is part of what was issued when a stock is set.
    @Test func givingATemplateStockCountsWhatChunksIssuedWithoutIt() throws {
        let fixture = try IssueFixture(templates: Self.limited, jobs: [issueJob("daily", "coupons:\n  - {template: u}")])
        try fixture.addMembers(1...200)
        _ = try fixture.ints(
            """
            WITH tallied AS (INSERT INTO template_issued_chunks (template_key, run_id, chunk, coupons)
                             VALUES ('u', 424242, 0, 100), ('u', 424242, 3, 50) RETURNING 1)
            INSERT INTO template_stock (key, stock, issued) SELECT 'u', NULL, 0 FROM (SELECT count(*) FROM tallied) AS t RETURNING issued
            """)
        let result = try fixture.run("daily")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try IssueStockTests.servedMembers(fixture, run: try #require(try fixture.runRecord("daily")).id) == Array(1...150))
        #expect(try fixture.rows("SELECT stock, issued FROM template_stock").first == ["stock": "300", "issued": "300"])
        #expect(try fixture.int("SELECT count(*) FROM template_issued_chunks") == 0)
    }

    /// A chunk that found the template without stock and has not committed yet: setting a stock
    /// waits for it, then counts its coupons, so the run that set it issues only what is left.
    @Test func settingAStockWaitsForAChunkStillCountingWithoutIt() throws {
        let fixture = try IssueFixture(templates: Self.limited, jobs: [issueJob("daily", "coupons:\n  - {template: u}")])
        try fixture.addMembers(1...200)
        try fixture.db.connect().execute("INSERT INTO template_stock (key, stock, issued) VALUES ('u', NULL, 0)")
        // The open chunk, as its statement leaves it: its row counted, the stock row held.
        let chunk = try fixture.db.connect()
        try chunk.execute("BEGIN")
        _ = try chunk.query("SELECT key FROM template_stock WHERE key = 'u' AND stock IS NULL FOR KEY SHARE")
        try chunk.execute("INSERT INTO template_issued_chunks (template_key, run_id, chunk, coupons) VALUES ('u', 424242, 0, 120)")
        let running = try fixture.start("daily")
        var waiting = false
        for _ in 0..<300 {
            waiting =
                try fixture.int(
                    """
                    SELECT count(*) FROM pg_stat_activity
                    WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE%'
                    """) > 0
            if waiting { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        try chunk.execute("COMMIT")
        let result = running.wait()
        #expect(waiting, "setting the stock did not wait for the open chunk")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 180)
        #expect(try fixture.rows("SELECT stock, issued FROM template_stock").first == ["stock": "300", "issued": "300"])
        #expect(try fixture.runRecord("daily")?.counts["stock_exhausted"] == 20)
    }
}
