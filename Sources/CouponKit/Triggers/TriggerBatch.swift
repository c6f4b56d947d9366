import Foundation
import Logging
import Postgres

/// One batch of a trigger job, in one transaction: take the job's unconsumed events (one per
/// member), issue the job's coupons to the eligible ones with one INSERT … SELECT (the issue
/// kind's statement, so caps, reissue intervals, stock and segment hold as for scheduled runs),
/// record every event's outcome, and advance the job's horizon. The batch is a run of its job
/// (trigger `event`) that commits already finished, or not at all.
///
/// Exactly once per (job, event): batches of one job are serialized by a transaction-level
/// advisory lock, so the next batch's statements see the previous batch's outcomes, and the
/// outcome's primary key refuses a second one whatever happens. A batch killed at any point
/// rolls back whole, its events still unconsumed.
public struct TriggerBatch {
    public let job: JobDefinition
    public let trigger: EventTrigger
    public let action: IssueAction
    public let deployment: Deployment
    /// Written as the batch run's owner.
    public let owner: String
    /// Events taken per batch at most.
    public let size: Int
    let logger: Logger
    /// Where the job's `sql:` segment rules run (the read-only role), as for scheduled runs.
    let segmentSandbox: SegmentSandbox?

    public static let defaultSize = 500

    public init?(
        job: JobDefinition, deployment: Deployment, owner: String, size: Int = defaultSize, logger: Logger,
        segmentSandbox: SegmentSandbox? = nil
    ) {
        guard let trigger = job.trigger, case .issue(let action) = job.action else { return nil }
        self.job = job
        self.trigger = trigger
        self.action = action
        self.deployment = deployment
        self.owner = owner
        self.size = size
        self.logger = logger
        self.segmentSandbox = segmentSandbox
    }

    /// What one batch did.
    public struct Result: Sendable, Equatable {
        /// nil when no event was waiting (no run recorded), or another runner held the job.
        public var runID: Int64?
        /// Events that got an outcome.
        public var consumed: Int
        /// Outcomes by name (`issued`, `filtered`, …).
        public var outcomes: [String: Int]
        /// The run's counts (`coupons_issued`, …).
        public var counts: RunCounts
        /// Another runner was running a batch of this job: nothing was done.
        public var busy: Bool
    }

    /// The outcomes an event can have, as stored in `trigger_outcomes.outcome`.
    public static let outcomeNames = ["issued", "filtered", "not_in_segment", "limit_reached", "stock_out", "too_old"]

    /// Runs one batch on `connection` (which must not be in a transaction).
    public func run(_ connection: Connection) throws -> Result {
        // The plan (template versions, validity from the issue time, the segment as of it) is
        // made first: it registers templates and resolves segments in transactions of its own.
        let issuedAt = try connection.query("SELECT clock_timestamp()").row(0).decode(0, as: Date.self)
        let executor = IssueExecutor(action: action)
        let planning = RunContext(
            run: ClaimedRun(id: 0, job: job.name, slot: issuedAt, trigger: .event, attempt: 0), job: job,
            deployment: deployment, logger: logger, segmentSandbox: segmentSandbox)
        let plan = try executor.makeIssuePlan(planning, connection)
        return try connection.transaction { tx in
            let locked = try tx.query(
                "SELECT pg_try_advisory_xact_lock($1)", [RunLedger.lockKey("trigger:\(job.name)")]
            ).row(0).decode(0, as: Bool.self)
            guard locked else { return Result(runID: nil, consumed: 0, outcomes: [:], counts: [:], busy: true) }
            // Short statements run often: compiling them would cost more than it saves.
            try IssueChunkStatement.prepare(tx)
            let events = try candidates(tx)
            guard !events.isEmpty else {
                try advanceHorizon(tx)
                return Result(runID: nil, consumed: 0, outcomes: [:], counts: [:], busy: false)
            }
            let run = try ClaimedRun(
                row: try tx.query(
                    """
                    INSERT INTO job_runs (job, slot, trigger, status, attempt, owner, started_at, heartbeat_at)
                    VALUES ($1, $3, 'event', 'running', 1, $2, now(), now())
                    RETURNING \(RunLedger.columns)
                    """, [job.name, owner, issuedAt]
                ).row(0))
            let pending = events.filter { $0.preOutcome.isEmpty }
            var counts: RunCounts = ["events": Int64(events.count)]
            if !pending.isEmpty {
                counts.add(
                    try executor.issue(
                        plan, to: .events(ids: pending.map(\.id), memberIDs: pending.map(\.memberID)),
                        atMost: Int64(pending.count), runID: run.id, tx))
            }
            let outcomes = try recordOutcomes(events, plan: plan, runID: run.id, tx)
            for (name, count) in outcomes { counts["outcome.\(name)"] = Int64(count) }
            try advanceHorizon(tx)
            let finished = try tx.execute(
                """
                UPDATE job_runs SET status = 'succeeded', counts = $3::jsonb, finished_at = clock_timestamp()
                WHERE id = $1 AND attempt = $2 AND status = 'running'
                """, [run.id, run.attempt, String(decoding: try JSONEncoder().encode(counts), as: UTF8.self)])
            guard finished == 1 else { throw RunLedger.LeaseLost(runID: run.id, attempt: run.attempt) }
            return Result(runID: run.id, consumed: events.count, outcomes: outcomes, counts: counts, busy: false)
        }
    }

    /// An event the batch takes, and what it already is without issuance (`too_old`, `filtered`).
    struct Candidate {
        let id: Int64
        let memberID: Int64
        /// Empty when the event is to be issued for.
        let preOutcome: String
    }

    /// The job's oldest unconsumed events at or above its horizon, the first of each member only:
    /// a member's second event waits for the next batch, whose cap checks see the first's coupons.
    private func candidates(_ tx: Connection) throws -> [Candidate] {
        let amount = trigger.amountFen
        let rows = try tx.query(
            """
            SELECT c.id, c.member_id,
                   CASE WHEN c.occurred_at < now() - make_interval(secs => $3) THEN 'too_old'
                        WHEN $5 AND NOT coalesce(c.amount_fen >= coalesce($6::bigint, c.amount_fen)
                                                 AND c.amount_fen <= coalesce($7::bigint, c.amount_fen), false)
                        THEN 'filtered'
                        ELSE '' END AS pre
            FROM (
                SELECT DISTINCT ON (e.member_id) e.id, e.member_id, e.amount_fen, e.occurred_at
                FROM member_events e
                WHERE e.type = $1
                  AND e.xact >= coalesce((SELECT horizon FROM trigger_cursors WHERE job = $2), '0'::xid8)
                  AND NOT EXISTS (SELECT 1 FROM trigger_outcomes o WHERE o.event_id = e.id AND o.job = $2)
                ORDER BY e.member_id, e.id
            ) AS c
            ORDER BY c.id
            LIMIT $4
            """,
            [trigger.eventType, job.name, Int64(trigger.withinSeconds), Int64(size), amount != nil, amount?.min, amount?.max])
        return try rows.rows.map {
            Candidate(id: try $0.decode(0), memberID: try $0.decode(1), preOutcome: try $0.decode(2))
        }
    }

    /// One outcome row per event, decided in one statement: issued when the batch gave the
    /// member coupons; otherwise why not, in the order the checks apply.
    private func recordOutcomes(_ events: [Candidate], plan: IssuePlan, runID: Int64, _ tx: Connection) throws
        -> [String: Int]
    {
        let p = SQLParameters()
        let ids = p.add(events.map(\.id))
        let members = p.add(events.map(\.memberID))
        let pre = p.add(events.map(\.preOutcome))
        let jobName = p.add(job.name)
        let run = p.add(runID)
        let segment = plan.segment.predicate(alias: "m", firstParameter: p.values.count + 1)
        p.values.append(contentsOf: segment.parameters)
        // Members still eligible after the insert were left out by stock alone.
        let pending = events.filter { $0.preOutcome.isEmpty }
        var stillEligible = "SELECT NULL::bigint WHERE false"
        if let arm = plan.arms.first {
            let statement = IssueChunkStatement(plan: plan, arm: arm, runID: runID)
            let eligible = statement.eligibility(.events(ids: pending.map(\.id), memberIDs: pending.map(\.memberID)), p)
            stillEligible = "SELECT \(eligible.id) \(eligible.from)"
        }
        let rows = try tx.query(
            """
            WITH decided AS (
                INSERT INTO trigger_outcomes (event_id, job, outcome, run_id)
                SELECT x.id, \(jobName),
                       CASE WHEN x.pre <> '' THEN x.pre
                            WHEN EXISTS (SELECT 1 FROM coupons c WHERE c.member_id = x.member_id AND c.run_id = \(run))
                                THEN 'issued'
                            WHEN NOT EXISTS (SELECT 1 FROM members m WHERE m.id = x.member_id AND \(segment.sql))
                                THEN 'not_in_segment'
                            WHEN x.member_id IN (\(stillEligible)) THEN 'stock_out'
                            ELSE 'limit_reached' END,
                       \(run)
                FROM unnest(\(ids)::bigint[], \(members)::bigint[], \(pre)::text[]) AS x(id, member_id, pre)
                RETURNING outcome
            )
            SELECT outcome, count(*)::bigint FROM decided GROUP BY outcome
            """, p.values)
        var outcomes: [String: Int] = [:]
        for row in rows.rows { outcomes[try row.decode(0, as: String.self)] = Int(try row.decode(1, as: Int64.self)) }
        return outcomes
    }

    /// Moves the job's horizon up to the oldest transaction that may still add events (the
    /// snapshot's xmin) or the oldest event of the type the job has not consumed, whichever is
    /// lower, in one statement so both come from one snapshot. Every event of a transaction below
    /// the new horizon is committed, visible and consumed, so later batches need not look below it.
    private func advanceHorizon(_ tx: Connection) throws {
        try tx.execute(
            """
            INSERT INTO trigger_cursors (job, horizon)
            SELECT $1, least(s.h, coalesce((
                SELECT min(e.xact) FROM member_events e
                WHERE e.type = $2
                  AND e.xact >= coalesce((SELECT horizon FROM trigger_cursors WHERE job = $1), '0'::xid8)
                  AND NOT EXISTS (SELECT 1 FROM trigger_outcomes o WHERE o.event_id = e.id AND o.job = $1)), s.h))
            FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS h) AS s
            ON CONFLICT (job) DO UPDATE SET horizon = EXCLUDED.horizon
            WHERE trigger_cursors.horizon < EXCLUDED.horizon
            """, [job.name, trigger.eventType])
    }
}
