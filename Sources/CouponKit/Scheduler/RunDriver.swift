import Foundation
import Logging
import Postgres

/// Drives one claimed run to its end: plans it (or reads the plan back after a takeover), hands
/// the chunks not yet committed to up to `--workers` `ChunkWorker`s, keeps the lease alive with
/// a `LeaseKeeper`, and ends the run by the failure policy (`RunEnding`).
///
/// Every database step goes through a `ReconnectingConnection`: a restart or a failover within
/// the outage budget delays the run but never fails it.
struct RunDriver: Sendable {
    let ledger: RunLedger
    let connect: @Sendable () throws -> Connection
    let tokens: WorkerTokens
    let stop: StopSignal
    let logger: Logger
    let progress: ProgressHandler?
    let retry: RetryStrategy
    let statementTimeoutSeconds: Int
    let segmentSandbox: SegmentSandbox?

    /// Drives `run`; the caller holds one worker token for it.
    func drive(_ run: ClaimedRun, job: JobDefinition, deployment: Deployment, executor: any JobExecutor) -> RunReport {
        let started = Date()
        var runLogger = logger
        runLogger[metadataKey: "job.name"] = "\(job.name)"
        runLogger[metadataKey: "run.id"] = "\(run.id)"
        runLogger[metadataKey: "run.attempt"] = "\(run.attempt)"
        let context = RunContext(
            run: run, job: job, deployment: deployment, logger: runLogger, segmentSandbox: segmentSandbox,
            connect: connect)
        let ending = RunEnding(ledger: ledger, run: run, job: job, logger: runLogger, started: started)
        // Lag is measured by the database's clock (started_at is its now() at the claim).
        let lag = run.attempt == 1 && run.trigger != .manual ? run.startedAt.timeIntervalSince(run.slot) : nil
        CouponMetrics.runStarted(job: run.job, lagSeconds: lag)
        let link = ReconnectingConnection(connect: connect, retry: retry, logger: runLogger, stop: stop)

        // The lease is kept alive from here on: planning a large run (resolving its segment) may
        // take longer than the lease, and must not invite a takeover.
        let state = RunState()
        let keeper = LeaseKeeper(ledger: ledger, connect: connect, logger: runLogger).start(run, state: state)

        // The plan: made once per run, read back on every later attempt. Planning again after a
        // lost connection is harmless: nothing of the run has committed before its plan has.
        let plan: RunPlan
        do {
            plan = try link.run { connection in
                if let saved = try Self.savedPlan(run) { return saved }
                let plan = try executor.plan(context, connection)
                try ledger.savePlan(run, planJSON: String(decoding: try JSONEncoder().encode(plan), as: UTF8.self), connection)
                return plan
            }
            let done = try link.run { try ledger.committedChunks(run, $0) }
            if run.attempt > 1 {
                runLogger.info(
                    "resuming run", metadata: ["chunks.done": "\(done.count)", "chunks.total": "\(plan.chunks.count)"])
            }
            // Chunks committed by earlier attempts count as done; the rest are taken lowest first.
            state.withLock { shared in
                shared.todo = plan.chunks.indices.filter { !done.contains($0) }.reversed()
                shared.done = done.count
            }
        } catch {
            keeper.stop()
            return ending.afterError(error, link: link)
        }

        // This thread is one worker; borrow idle tokens for more, up to one per remaining chunk.
        let worker = ChunkWorker(
            ledger: ledger, retry: retry, stop: stop, progress: progress,
            statementTimeoutMilliseconds: statementTimeoutSeconds * 1000)
        func workChunks() {
            let remaining = state.withLock { $0.todo.count }
            let group = DispatchGroup()
            var helpers = 0
            while plan.parallel, helpers + 1 < min(remaining, tokens.count), tokens.tryAcquire() {
                helpers += 1
                group.enter()
                let number = helpers
                WorkerThread.start { [connect, retry, stop, runLogger] in
                    defer {
                        tokens.release()
                        group.leave()
                    }
                    let own = ReconnectingConnection(connect: connect, retry: retry, logger: runLogger, stop: stop)
                    worker.work(
                        worker: number, run, plan: plan, context: context, executor: executor, link: own, state: state,
                        started: started)
                }
            }
            worker.work(
                worker: 0, run, plan: plan, context: context, executor: executor, link: link, state: state, started: started)
            group.wait()
        }
        workChunks()
        // On a server (or database, or role) with synchronous_commit off, a chunk's COMMIT returns
        // before its WAL is written, and a crash can take away chunks this runner already counted
        // (chaos scenario 09: 1–3 of 60 chunks). Before the run ends, every chunk must be in
        // `run_chunks`; any that is not is done again. WAL is lost only from its end, so once the
        // ending's own COMMIT is on disk, so is every chunk before it.
        var lostChunks = 0
        var uncheckedBecause: (any Error)?
        for pass in 0...Self.lostChunkPasses {
            let final = state.snapshot
            guard !final.lost, final.stalled == nil, final.outage == nil, final.failure == nil, !final.timedOut,
                final.todo.isEmpty
            else { break }
            // A check that could not be made is no check: the run must not end succeeded then
            // (a crash at this moment is just when chunks go missing).
            let done: Set<Int>
            do {
                done = try link.run { try ledger.committedChunks(run, $0) }
            } catch {
                uncheckedBecause = error
                break
            }
            let missing = plan.chunks.indices.filter { !done.contains($0) }
            lostChunks = missing.count
            if missing.isEmpty || pass == Self.lostChunkPasses { break }
            runLogger.info("chunks lost after they committed; doing them again", metadata: ["chunks.lost": "\(missing.count)"])
            state.withLock { shared in
                shared.todo = missing.reversed()
                shared.done = done.count
            }
            workChunks()
        }
        keeper.stop()

        let final = state.snapshot
        if final.lost { return ending.leaseLost(counts: final.counts) }
        if let reason = final.stalled ?? final.outage { return ending.leftForAnotherRunner(reason, counts: final.counts, connect: connect) }
        if let failure = final.failure { return ending.failed(failure, link: link) }
        if final.timedOut {
            return ending.failed("timed out after \(DurationText.format(seconds: job.timeoutSeconds ?? 0))", link: link)
        }
        if !final.todo.isEmpty { return ending.stopped(chunksLeft: final.todo.count, counts: final.counts, link: link) }
        if let error = uncheckedBecause { return ending.afterError(error, link: link) }
        if lostChunks > 0 {
            return ending.leftForAnotherRunner(
                "\(lostChunks) chunks were lost after they committed, again and again", counts: final.counts, connect: connect)
        }
        do {
            let (totals, note) = try link.run { connection in
                let totals = try RunQueries.counts(runID: run.id, connection)
                return (totals, try executor.finish(plan, counts: totals, context, connection))
            }
            return try ending.succeeded(totals: totals, note: note, link: link)
        } catch {
            return ending.afterError(error, link: link)
        }
    }

    /// Passes over chunks lost after they committed (each follows a server crash) before the run
    /// is left for another runner (which resumes it after its committed chunks).
    static let lostChunkPasses = 3

    static func savedPlan(_ run: ClaimedRun) throws -> RunPlan? {
        struct Checkpoint: Decodable { var plan: RunPlan? }
        return try JSONDecoder().decode(Checkpoint.self, from: Data(run.checkpointJSON.utf8)).plan
    }
}
