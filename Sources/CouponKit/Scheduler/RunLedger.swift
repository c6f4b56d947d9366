import Foundation
import Postgres

/// The `job_runs` ledger's leases and fencing: taking runs (and taking them over), heartbeats,
/// fenced chunk commits, and finishing. Every statement that changes a run a runner holds checks
/// (id, attempt). Which slots exist at all is `SlotLedger`'s business.
public struct RunLedger: Sendable {
    public let owner: String
    public let leaseSeconds: Int

    public init(owner: String, leaseSeconds: Int) {
        self.owner = owner
        self.leaseSeconds = leaseSeconds
    }

    /// The run was taken over (or finished) by someone else: this runner must stop writing.
    public struct LeaseLost: CategorizedError {
        public let runID: Int64
        public let attempt: Int
        public var category: FailureCategory { .temporary }
        public var description: String { "run \(runID) attempt \(attempt) lost its lease; another runner owns it now" }
    }

    static let columns = "id, job, slot, trigger, attempt, failures, started_at, checkpoint::text AS checkpoint"

    // MARK: - Taking runs

    /// Takes the next startable run among `jobs`: a pending one whose time has come (and whose
    /// job is not paused, unless it was started by hand), or a running one whose lease lapsed
    /// (its runner died). The attempt goes up by one; that is the new fencing token. For jobs in
    /// `forbidOverlap`, a run starts only when no other run of the job is running, oldest slot first.
    public func takeNext(jobs: [String], forbidOverlap: [String], onlyRun: Int64? = nil, _ connection: Connection)
        throws -> ClaimedRun?
    {
        try connection.transaction { tx in
            let candidates = try tx.query(
                """
                SELECT id, job, status FROM job_runs r
                WHERE r.job = ANY($1::text[])
                  AND ($2::bigint IS NULL OR r.id = $2)
                  AND ((r.status = 'running' AND r.lease_until < now())
                    OR (r.status = 'pending' AND coalesce(r.not_before, '-infinity') <= now()))
                  -- A paused job starts none of its scheduled runs (retries, queued catch-ups).
                  AND NOT (r.status = 'pending' AND r.trigger <> 'manual'
                    AND EXISTS (SELECT 1 FROM job_state s WHERE s.job = r.job AND s.paused))
                  -- Of a forbid job only the oldest open run may start; the rest of its queue must
                  -- not fill the window and hide other jobs' runs that can start now.
                  AND NOT (r.job = ANY($3::text[]) AND EXISTS (
                    SELECT 1 FROM job_runs o
                    WHERE o.job = r.job AND o.status IN ('pending', 'running') AND o.slot < r.slot))
                ORDER BY r.slot, r.id
                LIMIT 16
                FOR UPDATE SKIP LOCKED
                """, [jobs, onlyRun, forbidOverlap])
            // The job locks of every forbid job among the candidates, in one global order: taken
            // one by one in slot order, two runners could each hold one and wait for the other's.
            let forbidJobs = Set(try candidates.rows.map { try $0.decode("job", as: String.self) })
                .filter(forbidOverlap.contains)
            for key in forbidJobs.map(Self.lockKey).sorted() {
                try tx.advisoryTransactionLock(key)
            }
            for candidate in candidates.rows {
                let id: Int64 = try candidate.decode("id")
                let job: String = try candidate.decode("job")
                if forbidOverlap.contains(job) {
                    let blocked = try tx.query(
                        """
                        SELECT 1 FROM job_runs o
                        WHERE o.job = $1 AND o.id <> $2
                          AND ((o.status = 'running' AND o.lease_until >= now())
                            OR (o.status IN ('pending', 'running') AND o.slot < (SELECT slot FROM job_runs WHERE id = $2)))
                        LIMIT 1
                        """, [job, id])
                    if !blocked.isEmpty { continue }
                }
                let taken = try tx.query(
                    """
                    UPDATE job_runs
                    SET attempt = attempt + 1, status = 'running', owner = $2,
                        lease_until = now() + make_interval(secs => $3), heartbeat_at = now(),
                        started_at = coalesce(started_at, now()), not_before = NULL
                    WHERE id = $1
                    RETURNING \(Self.columns)
                    """, [id, owner, leaseSeconds])
                if try candidate.decode("status", as: String.self) == RunStatus.running.rawValue {
                    CouponMetrics.leaseTakenOver(job: job)
                }
                return try ClaimedRun(row: taken.row(0))
            }
            return nil
        }
    }

    /// The earliest moment a pending run becomes startable (retries with backoff), if any.
    public func nextPendingTime(jobs: [String], _ connection: Connection) throws -> Date? {
        try connection.query(
            """
            SELECT min(coalesce(not_before, now())) FROM job_runs
            WHERE job = ANY($1::text[]) AND status = 'pending'
            """, [jobs]
        ).row(0).decodeIfPresent(0, as: Date.self)
    }

    // MARK: - While a run runs

    /// Extends the lease; false when the run is no longer this runner's (attempt moved on).
    public func heartbeat(_ run: ClaimedRun, _ connection: Connection) throws -> Bool {
        try connection.execute(
            """
            UPDATE job_runs SET lease_until = now() + make_interval(secs => $3), heartbeat_at = now()
            WHERE id = $1 AND attempt = $2 AND status = 'running' AND owner = $4
            """, [run.id, run.attempt, leaseSeconds, owner]) == 1
    }

    /// Stores the plan in the checkpoint, fenced.
    public func savePlan(_ run: ClaimedRun, planJSON: String, _ connection: Connection) throws {
        let updated = try connection.execute(
            """
            UPDATE job_runs SET checkpoint = jsonb_set(checkpoint, '{plan}', $3::jsonb)
            WHERE id = $1 AND attempt = $2 AND status = 'running'
            """, [run.id, run.attempt, planJSON])
        guard updated == 1 else { throw LeaseLost(runID: run.id, attempt: run.attempt) }
    }

    /// Chunks already committed by any attempt of the run.
    public func committedChunks(_ run: ClaimedRun, _ connection: Connection) throws -> Set<Int> {
        Set(
            try connection.query("SELECT chunk FROM run_chunks WHERE run_id = $1", [run.id]).rows.map {
                try $0.decode("chunk", as: Int.self)
            })
    }

    /// A chunk's counts if it has committed (by any attempt), else nil: asked before redoing a
    /// chunk whose COMMIT reply was lost with the connection.
    public func committedChunk(_ run: ClaimedRun, chunk: Int, _ connection: Connection) throws -> RunCounts? {
        try connection.query("SELECT counts::text FROM run_chunks WHERE run_id = $1 AND chunk = $2", [run.id, chunk])
            .first?.decode(0, as: PostgresJSON<RunCounts>.self).value
    }

    /// Records a chunk with its counts, inside the chunk's own transaction. Throws
    /// `LeaseLost` when (id, attempt) is no longer current, so the whole chunk rolls back.
    public func commitChunk(_ run: ClaimedRun, chunk: Int, counts: RunCounts, in transaction: Connection) throws {
        do {
            try transaction.execute(Self.recordChunk, [run.id, run.attempt, chunk, PostgresJSON(counts)])
        } catch {
            if Self.isLeaseLost(error) { throw LeaseLost(runID: run.id, attempt: run.attempt) }
            throw error
        }
    }

    /// Records a chunk like `commitChunk`, sent with the transaction's COMMIT in one round trip
    /// (the transaction must be `pipelined`). When (id, attempt) is no longer current the COMMIT
    /// throws an error for which `isLeaseLost` is true, and the chunk rolls back.
    public func recordChunkWithCommit(_ run: ClaimedRun, chunk: Int, counts: RunCounts, in transaction: Connection) {
        transaction.sendWithNext(Self.recordChunk, [run.id, run.attempt, chunk, PostgresJSON(counts)])
    }

    /// True for the error the chunk fence raises when the run is no longer this attempt's.
    public static func isLeaseLost(_ error: any Error) -> Bool {
        (error as? PostgresError)?.code == leaseLostCode
    }

    /// The fence and checkpoint (migrations 0041, 0042): raises `leaseLostCode` instead of
    /// updating no row, so that a COMMIT sent with it in one pipeline is skipped. It locks the
    /// run's row FOR KEY SHARE, which a run's chunks share (they commit side by side) and which a
    /// takeover or ending waits for; the run's counts are summed from `run_chunks` (see `finish`).
    static let recordChunk = "SELECT record_run_chunk($1, $2, $3, $4::jsonb)"
    static let leaseLostCode = PostgresError.Code("CBL01")

    // MARK: - Ending a run

    /// Marks the run finished (succeeded or failed), or schedules a retry after a failure. Its
    /// chunks' counts are summed into `counts` here: chunks do not touch the run's row, and
    /// `prune` may later delete them.
    ///
    /// Safe to repeat after a lost COMMIT reply: when the run already ended at this attempt
    /// (only this runner can end its own attempt), that ending is returned instead of `LeaseLost`.
    @discardableResult
    public func finish(
        _ run: ClaimedRun, status: RunStatus, error: String?, note: String?, retryAfterSeconds: Int?,
        _ connection: Connection
    ) throws -> RunStatus {
        let finalStatus: RunStatus = (status == .failed && retryAfterSeconds != nil) ? .pending : status
        let updated = try connection.execute(
            """
            UPDATE job_runs
            SET status = $3, error = $4, lease_until = NULL,
                failures = failures + CASE WHEN $3 IN ('failed', 'pending') THEN 1 ELSE 0 END,
                not_before = CASE WHEN $3 = 'pending' THEN now() + make_interval(secs => $5) END,
                finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE now() END,
                checkpoint = CASE WHEN $6::text IS NULL THEN checkpoint ELSE jsonb_set(checkpoint, '{note}', to_jsonb($6::text)) END,
                counts = CASE WHEN EXISTS (SELECT 1 FROM run_chunks c WHERE c.run_id = $1) THEN run_chunk_counts($1) ELSE counts END
            WHERE id = $1 AND attempt = $2 AND status = 'running'
            """, [run.id, run.attempt, finalStatus.rawValue, error, retryAfterSeconds ?? 0, note])
        if updated == 1 { return finalStatus }
        let ended = try connection.query(
            "SELECT status FROM job_runs WHERE id = $1 AND attempt = $2 AND status <> 'running'", [run.id, run.attempt])
        if let row = ended.first, let status = RunStatus(rawValue: try row.decode("status")), status == finalStatus {
            return status
        }
        throw LeaseLost(runID: run.id, attempt: run.attempt)
    }

    /// Gives the lease up at once (graceful shutdown): the run stays `running` with a lapsed
    /// lease, so the next runner takes it over and resumes after the last committed chunk.
    ///
    /// Waits at most two seconds for the run's row: a stuck transaction of this very run may hold
    /// it, and then the lease lapses by itself.
    public func release(_ run: ClaimedRun, _ connection: Connection) throws {
        try connection.transaction { tx in
            try tx.execute("SELECT set_config('lock_timeout', '2000', true)")
            try tx.execute(
                """
                UPDATE job_runs SET lease_until = now() - interval '1 millisecond', owner = NULL
                WHERE id = $1 AND attempt = $2 AND status = 'running'
                """, [run.id, run.attempt])
        }
    }

    /// Releases every lease this runner still holds (shutdown after the grace period ran out),
    /// so other runners take the runs over at once instead of waiting for the leases to lapse.
    /// A chunk still committing is fenced out by the attempt check when its run is taken over.
    public func releaseAll(_ connection: Connection) throws {
        try connection.execute(
            """
            UPDATE job_runs SET lease_until = now() - interval '1 millisecond', owner = NULL
            WHERE owner = $1 AND status = 'running'
            """, [owner])
    }

    static func lockKey(_ job: String) -> Int64 {
        // FNV-1a: a stable 64-bit key per job name for advisory locks.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "job:\(job)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }
}
