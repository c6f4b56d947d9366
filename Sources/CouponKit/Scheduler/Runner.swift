import Foundation
import Logging
import Postgres
import Synchronization

/// The engine: finds due slots, claims them, and drives runs on a bounded pool of workers.
///
/// Runners coordinate only through PostgreSQL (unique (job, slot), leases taken with
/// `FOR UPDATE SKIP LOCKED`, fencing by attempt), so any number of them — ticks from cron,
/// schedulers, manual runs, on any hosts — can work against one database.
public final class Runner: Sendable {
    public struct Options: Sendable {
        public var workers: Int
        public var leaseSeconds: Int
        public var identity: RunnerIdentity
        /// How long the database may stay unreachable before this runner gives its runs up
        /// (`--db-outage-seconds`); within it, restarts and failovers only delay a run.
        public var outageSeconds: Double
        /// `statement_timeout` of chunk work (`--statement-timeout-seconds`).
        public var statementTimeoutSeconds: Int

        public init(
            workers: Int = Options.defaultWorkers, leaseSeconds: Int = 60, identity: RunnerIdentity = RunnerIdentity(),
            outageSeconds: Double = RetryStrategy.defaultOutageSeconds, statementTimeoutSeconds: Int = 60
        ) {
            self.workers = workers
            self.leaseSeconds = leaseSeconds
            self.identity = identity
            self.outageSeconds = outageSeconds
            self.statementTimeoutSeconds = statementTimeoutSeconds
        }

        /// Workers when none are asked for: this machine's processors, at least 2 and at most 16.
        /// Each worker keeps one PostgreSQL backend busy, and the backends of one run contend for
        /// one WAL stream and one table's last pages: on 2 cores with PostgreSQL beside the runner,
        /// 4 workers took 1.3–1.46× the time of 2 for a capped template with stock (durable
        /// cluster, 1,000,000 members) and were no faster for an unlimited one. A runner whose
        /// database has more cores than it does raises `--workers`.
        public static var defaultWorkers: Int { defaultWorkers(processors: ProcessInfo.processInfo.activeProcessorCount) }

        /// The default for a machine with `processors`: at least 2, so that a scheduler on one
        /// core still runs a second due job beside a long one; at most 16 connections.
        public static func defaultWorkers(processors: Int) -> Int { min(max(processors, 2), 16) }

        /// The database settings of a runner's connections: keepalives, and an idle-in-transaction
        /// limit so that a transaction whose runner went silent ends and frees its locks. Not
        /// shorter than 30 s, so a kind that works between statements (a webhook call) is not cut.
        public var connectionSettings: ConnectionSettings {
            ConnectionSettings(idleInTransactionTimeoutSeconds: max(leaseSeconds, 30))
        }
    }

    public let options: Options
    let connect: @Sendable () throws -> Connection
    let resolver: ExecutorResolver
    let logger: Logger
    public let stop: StopSignal
    let progress: ProgressHandler?
    let tokens: WorkerTokens
    let ledger: RunLedger
    let slotLedger = SlotLedger()
    let segmentSandbox: SegmentSandbox?
    let retry: RetryStrategy

    public init(
        options: Options, connect: @escaping @Sendable () throws -> Connection, resolver: @escaping ExecutorResolver,
        logger: Logger, stop: StopSignal = StopSignal(), progress: ProgressHandler? = nil,
        segmentSandbox: SegmentSandbox? = nil
    ) {
        self.segmentSandbox = segmentSandbox
        self.options = options
        self.connect = connect
        self.resolver = resolver
        self.logger = logger
        self.stop = stop
        self.progress = progress
        self.tokens = WorkerTokens(count: options.workers)
        self.ledger = RunLedger(owner: options.identity.owner, leaseSeconds: options.leaseSeconds)
        self.retry = RetryStrategy.database.withOutage(seconds: options.outageSeconds)
    }

    var driver: RunDriver {
        RunDriver(
            ledger: ledger, connect: connect, tokens: tokens, stop: stop, logger: logger, progress: progress,
            retry: retry, statementTimeoutSeconds: options.statementTimeoutSeconds, segmentSandbox: segmentSandbox)
    }

    /// A connection for this thread that comes back after an outage (within the budget).
    func reconnecting() -> ReconnectingConnection {
        ReconnectingConnection(connect: connect, retry: retry, logger: logger, stop: stop)
    }

    // MARK: - Planning

    /// Records every scheduled job's slots due by `now` (runs as pending, missed ones as
    /// skipped per the job's catch-up policy). Returns what this call recorded. Without `now`
    /// the database server's clock decides, so runners on hosts whose clocks disagree agree.
    @discardableResult
    public func planDueSlots(_ deployment: Deployment, now given: Date? = nil, _ connection: Connection) throws
        -> [String: [SlotDecision]]
    {
        let now = try given ?? SlotLedger.databaseNow(connection)
        var recorded: [String: [SlotDecision]] = [:]
        for job in deployment.jobs {
            guard let schedule = job.schedule else { continue }
            let state = try slotLedger.state(job: job.name, now: now, connection)
            if state.paused {
                // A paused job does not pile up missed slots to catch up on when resumed.
                try slotLedger.advanceCursor(job: job.name, to: now, connection)
                continue
            }
            guard state.cursor < now else { continue }
            let slots = Self.dueSlots(schedule, zone: job.timeZone, after: state.cursor, through: now, keep: job.maxCatchUp + 100)
            let decisions = SlotPlanner.decide(
                slots: slots, now: now, catchUp: job.catchUp, startingDeadlineSeconds: job.startingDeadlineSeconds,
                maxCatchUp: job.maxCatchUp)
            let done = try slotLedger.record(
                job: job.name, decisions: decisions, through: now, forbidOverlap: job.concurrency == .forbid, connection)
            if !done.isEmpty { recorded[job.name] = done }
        }
        return recorded
    }

    /// The newest `keep` firings in (after, through], enumerated in bounded memory.
    static func dueSlots(_ schedule: CronExpression, zone: TimeZone, after: Date, through: Date, keep: Int) -> [Date] {
        var window: [Date] = []
        var from = after
        while true {
            let batch = schedule.firings(after: from, through: through, in: zone, limit: 1000)
            window.append(contentsOf: batch)
            if window.count > keep { window.removeFirst(window.count - keep) }
            guard batch.count == 1000, let last = batch.last else { break }
            from = last
        }
        return window
    }

    // MARK: - Running

    /// Takes and drives startable runs until none is left (a tick's work), or only `runID`.
    public func drain(_ deployment: Deployment, onlyRun runID: Int64? = nil) throws -> [RunReport] {
        let control = reconnecting()
        let jobs = deployment.jobs.map(\.name)
        let forbid = deployment.jobs.filter { $0.concurrency == .forbid }.map(\.name)
        let reports = Mutex<[RunReport]>([])
        let inFlight = Atomic<Int>(0)
        let completed = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        while !stop.isRequested {
            tokens.acquire()
            // A stop may come while waiting for a worker: take nothing more (not even the run
            // just released by that stop, which would be taken over only to be released again).
            if stop.isRequested {
                tokens.release()
                break
            }
            // Read before looking: a run that ends while takeNext looks may unblock the next one
            // (forbid) after takeNext's snapshot; then the count read here is not zero, so the
            // loop waits for that run's signal and looks again instead of ending.
            let busy = inFlight.load(ordering: .acquiring)
            let next: ClaimedRun?
            do {
                // A claim whose COMMIT reply was lost is not repeated here: that run's lease
                // lapses and it is taken over like any other.
                next = try control.run { try ledger.takeNext(jobs: jobs, forbidOverlap: forbid, onlyRun: runID, $0) }
            } catch {
                tokens.release()
                group.wait()
                throw error
            }
            guard let run = next else {
                tokens.release()
                if busy == 0 { break }
                completed.wait()
                continue
            }
            inFlight.add(1, ordering: .acquiringAndReleasing)
            group.enter()
            WorkerThread.start { [self] in
                let report = self.execute(run, deployment)
                reports.withLock { $0.append(report) }
                inFlight.subtract(1, ordering: .acquiringAndReleasing)
                tokens.release()
                completed.signal()
                stop.poke()
                group.leave()
            }
        }
        group.wait()
        return reports.withLock { $0 }.sorted { ($0.slot, $0.runID) < ($1.slot, $1.runID) }
    }

    /// Starts startable runs without waiting for workers (the scheduler's loop); returns at once.
    func startAvailable(_ deployment: Deployment, group: DispatchGroup, reports: @escaping @Sendable (RunReport) -> Void)
        throws
    {
        let control = try connect()
        let jobs = deployment.jobs.map(\.name)
        let forbid = deployment.jobs.filter { $0.concurrency == .forbid }.map(\.name)
        while !stop.isRequested, tokens.tryAcquire() {
            let next: ClaimedRun?
            do {
                next = try ledger.takeNext(jobs: jobs, forbidOverlap: forbid, control)
            } catch {
                tokens.release()
                throw error
            }
            guard let run = next else {
                tokens.release()
                return
            }
            group.enter()
            WorkerThread.start { [self] in
                reports(self.execute(run, deployment))
                tokens.release()
                stop.poke()
                group.leave()
            }
        }
    }

    func execute(_ run: ClaimedRun, _ deployment: Deployment) -> RunReport {
        guard let job = deployment.job(named: run.job), let executor = resolver(job) else {
            // The job file is gone or its kind unknown to this build: give the lease back.
            try? reconnecting().run { try ledger.release(run, $0) }
            return RunReport(
                runID: run.id, job: run.job, slot: run.slot, attempt: run.attempt, outcome: .released, counts: [:],
                note: nil, error: "no executor for job \(run.job)", seconds: 0)
        }
        return driver.drive(run, job: job, deployment: deployment, executor: executor)
    }

    /// `tick`: plan what is due by `now` (default: the database's clock), run it all in
    /// parallel, wait, return the reports.
    public func tick(_ deployment: Deployment, now: Date? = nil) throws -> [RunReport] {
        try reconnecting().run { try planDueSlots(deployment, now: now, $0) }
        return try drain(deployment)
    }

    // MARK: - Manual runs

    public enum ManualResult: Sendable {
        /// The run was executed by this call.
        case ran(RunReport)
        /// The slot already had a run; its state is shown instead (the same kick twice is one run).
        case existing(RunSummary)
    }

    /// `run JOB --at SLOT`: one run for (job, slot), whoever asks how often. Without a slot,
    /// the database's now.
    public func runManually(_ job: JobDefinition, slot given: Date?, deployment: Deployment) throws -> ManualResult {
        if let trigger = job.trigger {
            throw ConfigurationError(
                "job \(job.name) issues on \(trigger.eventType) events, not by hand: record one with `couponbatch events add`")
        }
        let control = reconnecting()
        // The slot is fixed before the insert, so repeating the insert after a lost reply finds
        // the row the first one made instead of making a second run.
        let slot = try given ?? control.run { try SlotLedger.databaseNow($0) }
        if job.concurrency == .forbid {
            let busy = try control.run { connection in
                try connection.query(
                    """
                    SELECT id FROM job_runs
                    WHERE job = $1 AND status = 'running' AND lease_until >= now()
                      AND ($2::timestamptz IS NULL OR slot <> $2) LIMIT 1
                    """, [job.name, slot]
                ).first.map { try $0.decode("id", as: Int64.self) }
            }
            if let busy { throw BusyJob(job: job.name, runID: busy) }
        }
        let id = try control.run { try slotLedger.recordManual(job: job.name, slot: slot, $0).id }
        let reports = try drain(deployment, onlyRun: id)
        if let mine = reports.first(where: { $0.runID == id }) { return .ran(mine) }
        return .existing(try control.run { try RunQueries.summary(id: id, $0) })
    }

    public struct BusyJob: CategorizedError {
        public let job: String
        public let runID: Int64
        public var category: FailureCategory { .temporary }
        public var description: String {
            "job \(job) is running now (run \(runID)) and has concurrency: forbid; try again when it ends"
        }
    }

    /// `run JOB --dry-run`: what a run would do, writing nothing.
    public func dryRun(_ job: JobDefinition, slot given: Date?, deployment: Deployment) throws -> DryRunReport {
        guard let executor = resolver(job) else { throw ConfigurationError("job \(job.name): no executor for its kind") }
        let connection = try connect()
        let slot = try given ?? SlotLedger.databaseNow(connection)
        let run = ClaimedRun(id: 0, job: job.name, slot: slot, trigger: .manual, attempt: 0)
        let context = RunContext(
            run: run, job: job, deployment: deployment, logger: logger, segmentSandbox: segmentSandbox)
        // Kinds write nothing in a dry run; segment snapshots they resolve are caches keyed by content.
        return try executor.dryRun(context, connection)
    }
}
