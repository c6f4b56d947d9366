import Foundation
import Postgres

/// Finite stock, allotted to a run's chunks when it is planned, so the chunks run in parallel and
/// members are still served lowest id first.
///
/// Planning bounds each chunk's members (by its id range when stock covers that, else by the
/// segment alone; the exact eligible count, with the per-member checks, only when that bound
/// exceeds the stock left), gives the
/// stock to chunks in id order, and takes it from `template_stock` at once into the run's
/// `issue_stock_reservations` rows (one per template and chunk), in one transaction. A chunk
/// serves at most its allotment and draws what it issued from its own row in its own transaction
/// (rows of their own, so chunks never wait for each other's COMMIT); the run returns the rest
/// when it finishes. Another run issuing the same template meanwhile sees only what is not set aside, so
/// it can neither take a lower chunk's stock nor push the total past stock.
enum StockAllotment {
    /// Sets stock aside for `plan`'s chunks and records the allotments in it. Also returns what
    /// ended runs (and an earlier, abandoned plan of this run) still held of the same templates.
    static func reserve(
        _ plan: inout IssuePlan, runID: Int64, chunks: [RunPlan.Chunk], chunkSize: Int64, _ connection: Connection
    ) throws {
        let keys = Set(plan.arms.flatMap(\.lines).filter(\.finiteStock).map(\.templateKey)).sorted()
        guard !keys.isEmpty, let lower = chunks.first?.lower, let upper = chunks.last?.upper else { return }
        let issuePlan = plan
        let (allotments, eligible) = try connection.transaction { tx -> ([[Int64]?], [[Int64]?]?) in
            try IssueChunkStatement.prepare(tx)
            // Row locks in key order: planners of runs sharing templates take turns, without deadlock.
            _ = try tx.query("SELECT key FROM template_stock WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE", [keys])
            try tx.execute(
                """
                WITH returned AS (
                    DELETE FROM issue_stock_reservations r
                    WHERE r.template_key = ANY($1::text[])
                      AND (r.run_id = $2 OR NOT EXISTS (
                          SELECT 1 FROM job_runs j WHERE j.id = r.run_id AND j.status IN ('pending', 'running')))
                    RETURNING r.template_key, r.reserved)
                UPDATE template_stock s SET issued = s.issued - t.reserved
                FROM (SELECT template_key, sum(reserved) AS reserved FROM returned GROUP BY 1) AS t
                WHERE s.key = t.template_key
                """, [keys, runID])
            var left: [String: Int64] = [:]
            for row in try tx.query("SELECT key, stock - issued AS left FROM template_stock WHERE key = ANY($1::text[])", [keys])
                .rows
            {
                left[try row.decode("key", as: String.self)] = try row.decodeIfPresent("left", as: Int64.self)
            }
            func counts(limits: Bool) throws -> [[Int64]?] {
                try issuePlan.arms.map { arm -> [Int64]? in
                    guard arm.lines.contains(where: \.finiteStock) else { return nil }
                    let statement = IssueChunkStatement(plan: issuePlan, arm: arm, runID: runID)
                    let query = statement.countPerChunk(lower: lower, upper: upper, size: chunkSize, limits: limits)
                    var perChunk = [Int64](repeating: 0, count: chunks.count)
                    for row in try tx.query(query.sql, query.parameters).rows {
                        perChunk[try row.decode("chunk", as: Int.self)] = try row.decode("members", as: Int64.self)
                    }
                    return perChunk
                }
            }
            func covered(_ members: [[Int64]?]) -> Bool {
                var needed: [String: Int64] = [:]
                for (arm, members) in zip(issuePlan.arms, members) {
                    let total = members?.reduce(0, +) ?? 0
                    for line in arm.lines where line.finiteStock { needed[line.templateKey, default: 0] += total * Int64(line.quantity) }
                }
                return needed.allSatisfy { key, coupons in (left[key] ?? Int64.max) >= coupons }
            }
            // Each chunk's id range bounds who is eligible; when stock covers that (as when it is
            // well above demand), no member is counted and each chunk may serve its whole range.
            // Otherwise the segment alone bounds it; when stock covers that, no member needs to
            // be probed twice.
            let ranges = issuePlan.arms.map { arm in
                arm.lines.contains(where: \.finiteStock) ? chunks.map { $0.upper - $0.lower } : nil
            }
            var bound = ranges
            var eligible: [[Int64]?]?
            if !covered(ranges) {
                bound = try counts(limits: false)
                eligible = covered(bound) ? nil : try counts(limits: true)
            }
            let allotments = allot(issuePlan.arms, eligible ?? bound, left: &left)
            // Coupons per template and chunk. Every chunk of a template gets its row, an allotment
            // of 0 too: a chunk without one takes from the template's stock as it goes.
            var reserved: [String: [Int64]] = [:]
            for (arm, perChunk) in zip(issuePlan.arms, allotments) {
                guard let perChunk else { continue }
                for line in arm.lines where line.finiteStock {
                    var coupons = reserved[line.templateKey] ?? [Int64](repeating: 0, count: chunks.count)
                    for (chunk, members) in perChunk.enumerated() { coupons[chunk] += members * Int64(line.quantity) }
                    reserved[line.templateKey] = coupons
                }
            }
            for (key, coupons) in reserved.sorted(by: { $0.key < $1.key }) where coupons.reduce(0, +) > 0 {
                try tx.execute("UPDATE template_stock SET issued = issued + $2 WHERE key = $1", [key, coupons.reduce(0, +)])
                try tx.execute(
                    """
                    INSERT INTO issue_stock_reservations (run_id, template_key, chunk, reserved)
                    SELECT $1, $2, c.chunk - 1, c.reserved FROM unnest($3::bigint[]) WITH ORDINALITY AS c(reserved, chunk)
                    """, [runID, key, coupons])
            }
            return (allotments, eligible)
        }
        plan.allotments = allotments
        plan.eligibleWhenPlanned = eligible
    }

    /// Gives each chunk, in id order, and within a chunk each arm in order, as many of its
    /// members as the stock left allows: what running the chunks one after another would serve.
    static func allot(_ arms: [IssuePlan.Arm], _ members: [[Int64]?], left: inout [String: Int64]) -> [[Int64]?] {
        var allotments: [[Int64]?] = members.map { $0.map { [Int64](repeating: 0, count: $0.count) } }
        let chunkCount = members.compactMap { $0?.count }.max() ?? 0
        for chunk in 0..<chunkCount {
            for (index, arm) in arms.enumerated() {
                guard let wanted = members[index]?[chunk] else { continue }
                var allowed = wanted
                for line in arm.lines where line.finiteStock {
                    allowed = min(allowed, max(0, left[line.templateKey] ?? Int64.max) / Int64(line.quantity))
                }
                for line in arm.lines where line.finiteStock { left[line.templateKey, default: 0] -= allowed * Int64(line.quantity) }
                allotments[index]?[chunk] = allowed
            }
        }
        return allotments
    }

    /// Returns what the run set aside and did not issue. One statement, so finishing twice (a crash
    /// between this and the run's end) returns it once.
    static func release(runID: Int64, _ connection: Connection) throws {
        try connection.execute(
            """
            WITH returned AS (
                DELETE FROM issue_stock_reservations WHERE run_id = $1 RETURNING template_key, reserved)
            UPDATE template_stock s SET issued = s.issued - r.reserved
            FROM (SELECT template_key, sum(reserved) AS reserved FROM returned GROUP BY 1) AS r
            WHERE s.key = r.template_key
            """, [runID])
    }
}
