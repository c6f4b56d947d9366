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
        /// Both sides alike: live coupons active again, an earlier sweep at the seed's slot (it
        /// expires nothing live), then the measured sweep; unbounded with that sweep marked failed.
        func measure(bounded: Bool) throws -> (seconds: Double, chunks: Int64) {
            try connection.execute("UPDATE coupons SET status = 'active' WHERE run_id <> $1 AND status <> 'active'", [historyRunID])
            try connection.execute("TRUNCATE run_chunks, job_runs, job_state")
            try connection.execute("VACUUM ANALYZE coupons")
            try unsummarize(connection)
            try sweep(at: slot)
            if !bounded { try connection.execute("UPDATE job_runs SET status = 'failed' WHERE job = 'bench-expire'") }
            try connection.execute("CHECKPOINT")
            let started = Date()
            try sweep(at: after)
            let seconds = Date().timeIntervalSince(started)
            try expect("SELECT count(*) FROM coupons WHERE status = 'active'", 0, connection)
            let run = try connection.query(
                """
                SELECT (counts->>'coupons_expired')::bigint, (SELECT count(*) FROM run_chunks c WHERE c.run_id = r.id)::bigint,
                       (checkpoint->'plan'->>'payload')::jsonb->'window' ? 'afterMicros'
                FROM job_runs r WHERE job = 'bench-expire' AND slot = $1::timestamptz
                """, [after]
            ).row(0)
            guard try run.decode(0, as: Int64.self) == Int64(coupons), try run.decode(2, as: Bool.self) == bounded else {
                throw ConfigurationError("the \(bounded ? "bounded" : "unbounded") sweep did not sweep as planned")
            }
            return (seconds, try run.decode(1, as: Int64.self))
        }
        func sweep(at slot: String) throws {
            let usage = try ChildProcess.run(CommandLine.arguments[0], ["run", "bench-expire", "--jobs-dir", jobsDir, "--at", slot])
            guard usage.status == 0 else { throw ConfigurationError("bench-expire failed with exit \(usage.status)") }
        }
        var ratios: [Double] = []
        try alternatingPairs(repeats, measure: measure(bounded:)) { pair, boundedFirst, bounded, unbounded in
            ratios.append(bounded.seconds / unbounded.seconds)
            print(
                String(
                    format: "  pair %d (%@ first): unbounded %.2f s (%lld chunks) vs bounded %.2f s (%lld chunks) = %.2fx",
                    pair + 1, boundedFirst ? "bounded" : "unbounded", unbounded.seconds, unbounded.chunks, bounded.seconds,
                    bounded.chunks, bounded.seconds / unbounded.seconds))
        }
        print(String(format: "  median over %d pairs: bounded sweep = %.2fx the unbounded one", ratios.count, median(ratios)))
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
