import CouponKit
import Foundation
import Postgres

/// `make bench`'s expiry sweep over a table holding history: as many expired coupons (expiring
/// over the past year, written first, as a year of issuance writes them) as live ones. The same
/// sweep unbounded (no earlier sweep of the job, as the first sweep runs) and bounded by an
/// earlier sweep (`ExpirySweepBound`), in alternating pairs.
extension SweepBench {
    /// History coupons carry this run id, so that resets leave them expired.
    static let historyRunID: Int64 = -1

    static func expiryHistory(coupons: Int, members: Int, repeats: Int, jobsDir: String, _ connection: Connection) throws {
        print("== expiry sweep with \(coupons) history coupons (expired over the past year) before \(coupons) live ones, \(repeats) alternating pairs")
        try seedHistory(coupons, members: members, connection)
        let after = "2026-11-26T02:00:01Z"
        // The bound an earlier sweep at the seed's slot leaves (every run since has that slot).
        let bound = ISO8601DateFormatter().string(from: (ISO8601DateFormatter().date(from: slot) ?? Date()).addingTimeInterval(-86_400))
        let open = try scanCost(through: after, after: nil, coupons: coupons, connection)
        let closed = try scanCost(through: after, after: bound, coupons: coupons, connection)
        print(
            String(
                format: "  the chunks' scans (EXPLAIN ANALYZE, summed): unbounded %d buffers, %.0f ms; bounded (after %@) %d buffers, %.0f ms = %.2fx / %.2fx",
                open.buffers, open.ms, bound, closed.buffers, closed.ms, Double(closed.buffers) / Double(max(open.buffers, 1)),
                closed.ms / max(open.ms, 0.001)))
        /// Both sides alike: live coupons active again, an earlier sweep at the seed's slot (it
        /// expires nothing live), then the measured sweep with one worker; unbounded with that
        /// earlier sweep marked failed. Besides the wall time: the median chunk (a chunk's
        /// transaction lasts until the next one starts).
        func measure(bounded: Bool) throws -> (seconds: Double, chunkMs: Double) {
            try connection.execute("UPDATE coupons SET status = 'active' WHERE run_id <> $1 AND status <> 'active'", [historyRunID])
            try connection.execute("TRUNCATE run_chunks, job_runs, job_state")
            try connection.execute("VACUUM ANALYZE coupons")
            try unsummarize(connection)
            try sweep(at: slot)
            if !bounded { try connection.execute("UPDATE job_runs SET status = 'failed' WHERE job = 'bench-expire'") }
            try connection.execute("CHECKPOINT")
            let started = Date()
            try sweep(at: after, ["--workers", "1"])
            let seconds = Date().timeIntervalSince(started)
            try expect("SELECT count(*) FROM coupons WHERE status = 'active'", 0, connection)
            let run = try connection.query(
                """
                SELECT (counts->>'coupons_expired')::bigint, (checkpoint->'plan'->>'payload')::jsonb->'window' ? 'afterMicros',
                       (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) * 1000 FROM (
                            SELECT extract(epoch FROM lead(c.committed_at) OVER (ORDER BY c.committed_at) - c.committed_at) AS seconds
                            FROM run_chunks c WHERE c.run_id = r.id) AS chunk_times)::float8
                FROM job_runs r WHERE job = 'bench-expire' AND slot = $1::timestamptz
                """, [after]
            ).row(0)
            guard try run.decode(0, as: Int64.self) == Int64(coupons), try run.decode(1, as: Bool.self) == bounded else {
                throw ConfigurationError("the \(bounded ? "bounded" : "unbounded") sweep did not sweep as planned")
            }
            return (seconds, try run.decodeIfPresent(2, as: Double.self) ?? 0)
        }
        func sweep(at slot: String, _ extra: [String] = []) throws {
            let usage = try ChildProcess.run(
                CommandLine.arguments[0], ["run", "bench-expire", "--jobs-dir", jobsDir, "--at", slot] + extra)
            guard usage.status == 0 else { throw ConfigurationError("bench-expire failed with exit \(usage.status)") }
        }
        // Not counted: the first sweep after seeding ran slower on either side in every trial.
        _ = try measure(bounded: false)
        var ratios: [Double] = []
        var chunkRatios: [Double] = []
        try alternatingPairs(repeats, measure: measure(bounded:)) { pair, boundedFirst, bounded, unbounded in
            ratios.append(bounded.seconds / unbounded.seconds)
            print(
                String(
                    format: "  pair %d (%@ first): unbounded %.2f s (median chunk %.0f ms) vs bounded %.2f s (median chunk %.0f ms) = %.2fx",
                    pair + 1, boundedFirst ? "bounded" : "unbounded", unbounded.seconds, unbounded.chunkMs, bounded.seconds,
                    bounded.chunkMs, bounded.seconds / unbounded.seconds))
            chunkRatios.append(bounded.chunkMs / max(unbounded.chunkMs, 0.001))
        }
        print(
            String(
                format: "  median over %d pairs, bounded / unbounded (1 worker): run %.2fx, median chunk %.2fx",
                ratios.count, median(ratios), median(chunkRatios)))
    }

    /// The scans that find the sweep's coupons, one per chunk of about 20,000 (as `run` splits
    /// it), EXPLAIN (ANALYZE, BUFFERS) as counts: buffers hit or read, and milliseconds, summed
    /// over the chunks. Exact where wall times are noisy: the load does not move a buffer count.
    static func scanCost(through: String, after: String?, coupons: Int, _ connection: Connection) throws -> (buffers: Int, ms: Double) {
        try connection.execute("VACUUM ANALYZE coupons")
        let bounds = try connection.query("SELECT min(member_id), max(member_id) FROM coupons WHERE run_id = 0").row(0)
        let (lo, hi) = (try bounds.decode(0, as: Int64.self), try bounds.decode(1, as: Int64.self))
        let chunks = Int64(max(1, coupons / 20_000))
        let width = (hi - lo + chunks) / chunks
        var total = (buffers: 0, ms: 0.0)
        for lower in stride(from: lo, through: hi, by: Int(width)) {
            var parameters: [any PostgresBindable] = [lower, lower + width, through]
            if let after { parameters.append(after) }
            let explain: String = try connection.query(
                """
                EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)
                SELECT count(*) FROM coupons c
                WHERE c.status = 'active' AND c.member_id >= $1 AND c.member_id < $2 AND c.expires_at <= $3::timestamptz
                \(after == nil ? "" : "AND c.expires_at > $4::timestamptz")
                """, parameters
            ).row(0).decode(0)
            guard
                let first = (try JSONSerialization.jsonObject(with: Data(explain.utf8)) as? [[String: Any]])?.first,
                let top = first["Plan"] as? [String: Any], let hit = top["Shared Hit Blocks"] as? Int,
                let read = top["Shared Read Blocks"] as? Int, let ms = first["Execution Time"] as? Double
            else { throw ConfigurationError("EXPLAIN gave no buffer counts") }
            total.buffers += hit + read
            total.ms += ms
        }
        return total
    }

    /// The sweep seed's live coupons, after as many expired ones of the past year in member order
    /// per issuance day (as daily runs append them).
    static func seedHistory(_ count: Int, members: Int, _ connection: Connection) throws {
        try connection.execute("TRUNCATE coupons")
        try connection.execute(
            """
            INSERT INTO coupons (template_key, template_version, member_id, run_id, seq, status, face_value_fen, issued_at,
                                 valid_from, expires_at)
            SELECT 'bench-cash', 1, 1 + (g % $2), $4, (g / $2)::int + 1, 'expired', 1000, e - interval '7 days', e - interval '7 days', e
            FROM generate_series(0::bigint, $1 - 1) g
            CROSS JOIN LATERAL (SELECT $3::timestamptz - make_interval(days => 365 - (g * 360 / $1)::int) AS e) AS expiry
            """, [Int64(count), Int64(members), slot, historyRunID])
        try insertLiveCoupons(count, members: members, connection)
    }
}
