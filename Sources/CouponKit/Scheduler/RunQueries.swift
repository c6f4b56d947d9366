import Foundation
import Postgres

/// One row of the ledger as `runs` and `runs show` present it.
public struct RunSummary: Sendable, Equatable, Codable {
    public let id: Int64
    public let job: String
    public let slot: Date
    public let trigger: String
    public let status: String
    public let attempt: Int
    public let failures: Int
    public let owner: String?
    public let leaseUntil: Date?
    public let counts: RunCounts
    public let chunksDone: Int
    public let chunksTotal: Int?
    public let note: String?
    public let error: String?
    public let createdAt: Date
    public let startedAt: Date?
    public let finishedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, job, slot, trigger, status, attempt, failures, owner, counts, note, error
        case leaseUntil = "lease_until"
        case chunksDone = "chunks_done"
        case chunksTotal = "chunks_total"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }

    init(row: Row) throws {
        id = try row.decode("id")
        job = try row.decode("job")
        slot = try row.decode("slot")
        trigger = try row.decode("trigger")
        status = try row.decode("status")
        attempt = try row.decode("attempt")
        failures = try row.decode("failures")
        owner = try row.decodeIfPresent("owner")
        leaseUntil = try row.decodeIfPresent("lease_until")
        counts = try row.decode("counts", as: PostgresJSON<RunCounts>.self).value
        chunksDone = try row.decode("chunks_done")
        chunksTotal = try row.decodeIfPresent("chunks_total")
        note = try row.decodeIfPresent("note")
        error = try row.decodeIfPresent("error")
        createdAt = try row.decode("created_at")
        startedAt = try row.decodeIfPresent("started_at")
        finishedAt = try row.decodeIfPresent("finished_at")
    }

    /// Writes every key, `null` when a value is absent: scripts read `runs --json` by fixed field
    /// names, whatever the run's status.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(job, forKey: .job)
        try container.encode(slot, forKey: .slot)
        try container.encode(trigger, forKey: .trigger)
        try container.encode(status, forKey: .status)
        try container.encode(attempt, forKey: .attempt)
        try container.encode(failures, forKey: .failures)
        try container.encode(owner, forKey: .owner)
        try container.encode(leaseUntil, forKey: .leaseUntil)
        try container.encode(counts, forKey: .counts)
        try container.encode(chunksDone, forKey: .chunksDone)
        try container.encode(chunksTotal, forKey: .chunksTotal)
        try container.encode(note, forKey: .note)
        try container.encode(error, forKey: .error)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(finishedAt, forKey: .finishedAt)
    }

    /// Wall time from first start to finish (or until now while running).
    public var seconds: Double? {
        guard let startedAt else { return nil }
        return (finishedAt ?? Date()).timeIntervalSince(startedAt)
    }
}

/// Read-only queries over the ledger for the CLI.
public enum RunQueries {
    static let select = """
        SELECT id, job, slot, trigger, status, attempt, failures, owner, lease_until,
               -- An open run's counts are its committed chunks'; an ended run's were folded in.
               (CASE WHEN r.status IN ('pending', 'running') THEN run_chunk_counts(r.id) ELSE r.counts END)::text AS counts,
               -- A pruned run (couponbatch prune) keeps both numbers in its checkpoint.
               coalesce(nullif((SELECT count(*) FROM run_chunks c WHERE c.run_id = r.id)::int, 0),
                        (r.checkpoint->>'chunks_done')::int, 0) AS chunks_done,
               coalesce(jsonb_array_length(r.checkpoint->'plan'->'chunks'), (r.checkpoint->>'chunks_total')::int)
                   AS chunks_total,
               r.checkpoint->>'note' AS note, error, created_at, started_at, finished_at
        FROM job_runs r
        """

    public static func list(job: String?, status: String?, limit: Int, _ connection: Connection) throws -> [RunSummary] {
        try connection.query(
            """
            \(select)
            WHERE ($1::text IS NULL OR r.job = $1) AND ($2::text IS NULL OR r.status = $2)
            ORDER BY r.slot DESC, r.id DESC
            LIMIT $3
            """, [job, status, limit]
        ).rows.map(RunSummary.init)
    }

    public static func summary(id: Int64, _ connection: Connection) throws -> RunSummary {
        guard let row = try connection.query("\(select) WHERE r.id = $1", [id]).first else {
            throw InputError("no run with id \(id)")
        }
        return try RunSummary(row: row)
    }

    /// The latest run of each job, for `jobs list`.
    public static func latestByJob(_ connection: Connection) throws -> [String: RunSummary] {
        let rows = try connection.query(
            """
            \(select)
            WHERE r.id IN (SELECT DISTINCT ON (job) id FROM job_runs WHERE status <> 'skipped' ORDER BY job, slot DESC, id DESC)
            """
        ).rows.map(RunSummary.init)
        return Dictionary(rows.map { ($0.job, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// A run's counts, summed over its committed chunks.
    public static func counts(runID: Int64, _ connection: Connection) throws -> RunCounts {
        try connection.query(
            """
            SELECT (CASE WHEN EXISTS (SELECT 1 FROM run_chunks c WHERE c.run_id = r.id) THEN run_chunk_counts(r.id)
                         ELSE r.counts END)::text
            FROM job_runs r WHERE r.id = $1
            """, [runID]
        ).row(0)
            .decode(0, as: PostgresJSON<RunCounts>.self).value
    }

    /// Paused jobs, for `jobs list`.
    public static func pausedJobs(_ connection: Connection) throws -> Set<String> {
        Set(try connection.query("SELECT job FROM job_state WHERE paused").rows.map { try $0.decode("job", as: String.self) })
    }
}

/// One committed chunk of a run, as the console's run page lists it.
public struct RunChunkSummary: Sendable, Equatable {
    public let chunk: Int
    public let attempt: Int
    public let counts: RunCounts
    public let committedAt: Date
}

extension RunQueries {
    /// The chunks a run has committed, in chunk order (a run has at most a few thousand).
    public static func chunks(runID: Int64, _ connection: Connection) throws -> [RunChunkSummary] {
        try connection.query(
            "SELECT chunk, attempt, counts::text AS counts, committed_at FROM run_chunks WHERE run_id = $1 ORDER BY chunk",
            [runID]
        ).rows.map {
            RunChunkSummary(
                chunk: try $0.decode("chunk"), attempt: try $0.decode("attempt"),
                counts: try $0.decode("counts", as: PostgresJSON<RunCounts>.self).value,
                committedAt: try $0.decode("committed_at"))
        }
    }
}
