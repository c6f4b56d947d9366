import Foundation
import Postgres

/// The ledger's slots and scheduling cursors: which (job, slot) runs exist, and up to when each
/// job's schedule has been considered. Any number of runners may plan the same job at once;
/// `UNIQUE (job, slot)` and the job's advisory lock make the result one row per slot.
public struct SlotLedger: Sendable {
    public init() {}

    /// Records the decisions for one job's due slots and advances its cursor, in one
    /// transaction under the job's advisory lock. Slots already in the ledger are left alone,
    /// so any number of runners can plan the same job at once.
    public func record(
        job: String, decisions: [SlotDecision], through now: Date, forbidOverlap: Bool, _ connection: Connection
    ) throws -> [SlotDecision] {
        try connection.transaction { tx in
            try tx.advisoryTransactionLock(RunLedger.lockKey(job))
            var earlierOpen = false
            if forbidOverlap {
                earlierOpen = try !tx.query(
                    "SELECT 1 FROM job_runs WHERE job = $1 AND status IN ('pending', 'running') LIMIT 1", [job]
                ).isEmpty
            }
            let final = decisions.map { decision -> SlotDecision in
                if case .run(let slot, _) = decision, earlierOpen {
                    return .skip(slot: slot, reason: "an earlier run of the job is still running (concurrency: forbid)")
                }
                return decision
            }
            // One statement for all the slots; those already in the ledger are left alone.
            var slots: [String] = []
            var triggers: [String] = []
            var statuses: [String] = []
            var reasons: [String] = []
            for decision in final {
                slots.append(decision.slot.postgresText ?? "")
                switch decision {
                case .run(_, let trigger):
                    triggers.append(trigger.rawValue)
                    statuses.append(RunStatus.pending.rawValue)
                    reasons.append("")
                case .skip(_, let reason):
                    triggers.append(RunTrigger.schedule.rawValue)
                    statuses.append(RunStatus.skipped.rawValue)
                    reasons.append(reason)
                }
            }
            let inserted = try tx.query(
                """
                INSERT INTO job_runs (job, slot, trigger, status, error, not_before, finished_at)
                SELECT $1, d.slot, d.trigger, d.status, nullif(d.reason, ''),
                       CASE WHEN d.status = 'pending' THEN now() END,
                       CASE WHEN d.status = 'skipped' THEN now() END
                FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[]) AS d(slot, trigger, status, reason)
                ON CONFLICT (job, slot) DO NOTHING
                RETURNING slot
                """, [job, slots, triggers, statuses, reasons])
            let insertedSlots = Set(try inserted.rows.map { try $0.decode("slot", as: Date.self) })
            let recorded = final.filter { insertedSlots.contains($0.slot) }
            try advanceCursor(job: job, to: now, tx)
            return recorded
        }
    }

    /// Marks slots up to `now` as considered (never moves the cursor back).
    public func advanceCursor(job: String, to now: Date, _ connection: Connection) throws {
        try connection.execute(
            "UPDATE job_state SET scheduled_through = greatest(scheduled_through, $2) WHERE job = $1", [job, now])
    }

    /// The job's scheduling cursor and pause flag; a job seen for the first time starts one
    /// minute before `now`, so the slot of the current minute is due.
    public func state(job: String, now: Date, _ connection: Connection) throws -> (cursor: Date, paused: Bool) {
        try connection.execute(
            """
            INSERT INTO job_state (job, scheduled_through) VALUES ($1, $2::timestamptz - interval '1 minute')
            ON CONFLICT (job) DO NOTHING
            """, [job, now])
        let row = try connection.query("SELECT scheduled_through, paused FROM job_state WHERE job = $1", [job]).row(0)
        return (try row.decode("scheduled_through"), try row.decode("paused"))
    }

    /// Inserts a manual run for (job, slot) unless that slot exists; returns the run's id and
    /// whether this call created it. Without a slot the run's slot is the database's now
    /// (to the millisecond), the clock every runner shares.
    public func recordManual(job: String, slot: Date?, _ connection: Connection) throws -> (
        id: Int64, created: Bool, slot: Date
    ) {
        let inserted = try connection.query(
            """
            INSERT INTO job_runs (job, slot, trigger, status, not_before)
            VALUES ($1, coalesce($2::timestamptz, date_trunc('milliseconds', now())), 'manual', 'pending', now())
            ON CONFLICT (job, slot) DO NOTHING
            RETURNING id, slot
            """, [job, slot])
        if let row = inserted.first { return (try row.decode("id"), true, try row.decode("slot")) }
        let existing = try connection.query(
            "SELECT id, slot FROM job_runs WHERE job = $1 AND slot = $2", [job, slot]
        ).row(0)
        return (try existing.decode("id"), false, try existing.decode("slot"))
    }

    /// Pauses or resumes a job (state in the database, so every runner sees it). Resuming moves
    /// the scheduling cursor to now (the database's, unless `now` drives time in tests), so the
    /// slots of the pause are never caught up: a paused job piles up nothing, whether or not a
    /// runner ticked during the pause.
    public func setPaused(job: String, _ paused: Bool, now: Date? = nil, _ connection: Connection) throws {
        try connection.execute(
            """
            INSERT INTO job_state (job, paused, paused_at, scheduled_through)
            VALUES ($1, $2, CASE WHEN $2 THEN now() END, coalesce($3::timestamptz, now()))
            ON CONFLICT (job) DO UPDATE SET paused = $2, paused_at = CASE WHEN $2 THEN now() END,
                scheduled_through = CASE WHEN $2 THEN job_state.scheduled_through
                                         ELSE greatest(job_state.scheduled_through, coalesce($3::timestamptz, now())) END
            """, [job, paused, now])
    }

    /// The database server's clock: the one clock every runner agrees on, whatever its host's
    /// own clock says.
    public static func databaseNow(_ connection: Connection) throws -> Date {
        try connection.query("SELECT date_trunc('milliseconds', clock_timestamp())").row(0).decode(0, as: Date.self)
    }
}
