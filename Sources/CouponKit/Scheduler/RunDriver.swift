import Foundation
import Logging
import Postgres
import Synchronization

/// Drives one claimed run to its end: plans it (or reads the plan back after a takeover), runs
/// the chunks not yet committed on up to `--workers` connections, keeps the lease alive, and
/// finishes it. Every chunk is one transaction whose commit is fenced by (run id, attempt).
struct RunDriver: Sendable {
    let ledger: RunLedger
    let connect: @Sendable () throws -> Connection
    let tokens: WorkerTokens
    let stop: StopSignal
    let logger: Logger
    let progress: ProgressHandler?
    var chunkRetry = RetryStrategy.chunk

    /// Shared by the worker threads of one run.
    private struct SharedState: Sendable {
        var todo: [Int]
        var done = 0
        var counts: RunCounts = [:]
        var failure: String?
        var lost = false
        var timedOut = false
    }

    /// The shared state in a class, so escaping worker closures can hold it.
    private final class Shared: Sendable {
        let mutex: Mutex<SharedState>
        init(_ state: SharedState) { mutex = Mutex(state) }
        func withLock<R: Sendable>(_ body: (inout SharedState) -> R) -> R { mutex.withLock { body(&$0) } }
    }

    /// Drives `run`; the caller holds one worker token for it.
    func drive(_ run: ClaimedRun, job: JobDefinition, deployment: Deployment, executor: any JobExecutor) -> RunReport {
        let started = Date()
        var runLogger = logger
        runLogger[metadataKey: "job.name"] = "\(job.name)"
        runLogger[metadataKey: "run.id"] = "\(run.id)"
        runLogger[metadataKey: "run.attempt"] = "\(run.attempt)"
        let context = RunContext(run: run, job: job, deployment: deployment, logger: runLogger)
        func report(_ outcome: RunReport.Outcome, counts: RunCounts = [:], note: String? = nil, error: String? = nil)
            -> RunReport
        {
            let seconds = Date().timeIntervalSince(started)
            if outcome == .succeeded || outcome == .failed || outcome == .retrying {
                CouponMetrics.runEnded(job: run.job, succeeded: outcome == .succeeded, seconds: seconds)
            }
            return RunReport(
                runID: run.id, job: run.job, slot: run.slot, attempt: run.attempt, outcome: outcome, counts: counts,
                note: note, error: error, seconds: seconds)
        }
        // Lag is measured by the database's clock (started_at is its now() at the claim).
        let lag = run.attempt == 1 && run.trigger != .manual ? run.startedAt.timeIntervalSince(run.slot) : nil
        CouponMetrics.runStarted(job: run.job, lagSeconds: lag)

        let connection: Connection
        do {
            connection = try connect()
        } catch {
            runLogger.info("cannot connect for the run; its lease will lapse and it will be retried")
            return report(.released, error: "\(error)")
        }

        // The lease is kept alive from here on: planning a large run (resolving its segment) may
        // take longer than the lease, and must not invite a takeover.
        let state = Shared(SharedState(todo: []))
        let finished = DispatchSemaphore(value: 0)
        let heartbeat = startHeartbeat(run, state: state, finished: finished, logger: runLogger)
        func stopHeartbeat() {
            finished.signal()
            heartbeat.wait()
        }

        // The plan: made once per run, read back on every later attempt.
        let plan: RunPlan
        let done: Set<Int>
        do {
            if let saved = try Self.savedPlan(run) {
                plan = saved
            } else {
                plan = try PlanningLock.whilePlanning(connection) {
                    let fresh = try executor.plan(context, connection)
                    try ledger.savePlan(run, planJSON: String(decoding: try JSONEncoder().encode(fresh), as: UTF8.self), connection)
                    return fresh
                }
            }
            done = try ledger.committedChunks(run, connection)
        } catch let lost as RunLedger.LeaseLost {
            stopHeartbeat()
            return report(.leaseLost, error: lost.description)
        } catch {
            stopHeartbeat()
            return fail(run, job: job, message: "\(error)", connection: connection, logger: runLogger, report: report)
        }

        if run.attempt > 1 {
            runLogger.info(
                "resuming run", metadata: ["chunks.done": "\(done.count)", "chunks.total": "\(plan.chunks.count)"])
        }
        // Chunks committed by earlier attempts count as done; the rest are taken lowest first.
        state.withLock { shared in
            shared.todo = plan.chunks.indices.filter { !done.contains($0) }.reversed()
            shared.done = done.count
        }

        // This thread is one worker; borrow idle tokens for more, up to one per remaining chunk.
        let remaining = state.withLock { $0.todo.count }
        let group = DispatchGroup()
        var helpers = 0
        while plan.parallel, helpers + 1 < min(remaining, tokens.count), tokens.tryAcquire() {
            helpers += 1
            group.enter()
            WorkerThread.start {
                defer {
                    tokens.release()
                    group.leave()
                }
                guard let own = try? connect() else { return }
                work(run, plan: plan, context: context, executor: executor, connection: own, state: state, started: started)
            }
        }
        work(run, plan: plan, context: context, executor: executor, connection: connection, state: state, started: started)
        group.wait()
        stopHeartbeat()

        let final = state.withLock { $0 }
        if final.lost {
            runLogger.info("lost the lease; another runner owns the run now")
            return report(.leaseLost, counts: final.counts, error: "lease lost")
        }
        if let failure = final.failure {
            return fail(run, job: job, message: failure, connection: connection, logger: runLogger, report: report)
        }
        if final.timedOut {
            let limit = DurationText.format(seconds: job.timeoutSeconds ?? 0)
            return fail(run, job: job, message: "timed out after \(limit)", connection: connection, logger: runLogger, report: report)
        }
        if !final.todo.isEmpty {
            // Stopping: give the lease up so another runner resumes after the last chunk.
            try? ledger.release(run, connection)
            runLogger.info("stopped between chunks; lease released", metadata: ["chunks.left": "\(final.todo.count)"])
            return report(.released, counts: final.counts)
        }
        do {
            let totals = try Self.totals(run, connection)
            let note = try executor.finish(plan, counts: totals, context, connection)
            try ledger.finish(run, status: .succeeded, error: nil, note: note, retryAfterSeconds: nil, connection)
            runLogger.info("run succeeded", metadata: Self.metadata(totals))
            return report(.succeeded, counts: totals, note: note)
        } catch let lost as RunLedger.LeaseLost {
            return report(.leaseLost, error: lost.description)
        } catch {
            return fail(run, job: job, message: "\(error)", connection: connection, logger: runLogger, report: report)
        }
    }

    /// One worker: takes chunks until none are left or the run must stop.
    private func work(
        _ run: ClaimedRun, plan: RunPlan, context: RunContext, executor: any JobExecutor, connection: Connection,
        state: Shared, started: Date
    ) {
        var connection = connection
        while true {
            let next: Int? = state.withLock { shared in
                if shared.failure != nil || shared.lost || shared.timedOut || stop.isRequested { return nil }
                // The timeout bounds each attempt: a retry (after its backoff) or a takeover gets
                // the whole of it again, rather than failing at once for time spent before it.
                if let limit = context.job.timeoutSeconds, Date().timeIntervalSince(started) > Double(limit) {
                    shared.timedOut = true
                    return nil
                }
                return shared.todo.popLast()
            }
            guard let chunk = next else { return }
            var attempt = 1
            while true {
                do {
                    let chunkStarted = Date()
                    let counts = try connection.transaction { tx in
                        let counts = try executor.execute(chunk: chunk, of: plan, context, in: tx)
                        try ledger.commitChunk(run, chunk: chunk, counts: counts, in: tx)
                        return counts
                    }
                    CouponMetrics.chunkCommitted(
                        job: run.job, seconds: Date().timeIntervalSince(chunkStarted), counts: counts)
                    let snapshot = state.withLock { shared in
                        shared.done += 1
                        shared.counts.add(counts)
                        return (shared.done, shared.counts)
                    }
                    progress?(
                        RunProgress(
                            runID: run.id, job: run.job, chunksDone: snapshot.0,
                            chunksTotal: plan.chunks.count, counts: snapshot.1,
                            elapsedSeconds: Date().timeIntervalSince(started)))
                    break
                } catch is RunLedger.LeaseLost {
                    state.withLock { $0.lost = true }
                    return
                } catch {
                    if chunkRetry.shouldRetry(error, attempt: attempt) {
                        context.logger.info(
                            "chunk failed; retrying", metadata: ["chunk": "\(chunk)", "error": "\(error)"])
                        Thread.sleep(forTimeInterval: chunkRetry.delay(attempt: attempt))
                        attempt += 1
                        if !connection.isOpen, let fresh = try? connect() {
                            connection = fresh
                            CouponMetrics.databaseReconnected()
                        }
                        continue
                    }
                    state.withLock { $0.failure = "chunk \(chunk): \(error)" }
                    return
                }
            }
        }
    }

    private func startHeartbeat(
        _ run: ClaimedRun, state: Shared, finished: DispatchSemaphore, logger: Logger
    ) -> DispatchSemaphore {
        let stopped = DispatchSemaphore(value: 0)
        let interval = max(0.2, Double(ledger.leaseSeconds) / 3)
        let ledger = ledger
        let connect = connect
        WorkerThread.start {
            defer { stopped.signal() }
            var connection = try? connect()
            while finished.wait(timeout: .now() + .milliseconds(Int(interval * 1000))) == .timedOut {
                do {
                    if connection == nil || connection?.isOpen == false {
                        connection = try connect()
                        CouponMetrics.databaseReconnected()
                    }
                    guard let live = connection else { continue }
                    if try !ledger.heartbeat(run, live) {
                        state.withLock { $0.lost = true }
                        return
                    }
                } catch {
                    logger.info("heartbeat failed; will retry", metadata: ["error": "\(error)"])
                    connection = nil
                }
            }
        }
        return stopped
    }

    private func fail(
        _ run: ClaimedRun, job: JobDefinition, message: String, connection: Connection, logger: Logger,
        report: (RunReport.Outcome, RunCounts, String?, String?) -> RunReport
    ) -> RunReport {
        let retryLeft = run.failures + 1 < job.retry.attempts
        let backoff = job.retry.backoffSeconds * (1 << min(run.failures, 10))
        var live = connection
        if !live.isOpen, let fresh = try? connect() { live = fresh }
        do {
            let status = try ledger.finish(
                run, status: .failed, error: message, note: nil, retryAfterSeconds: retryLeft ? backoff : nil, live)
            logger.info("run failed", metadata: ["error": "\(message)", "run.status": "\(status.rawValue)"])
            let counts = (try? Self.totals(run, live)) ?? [:]
            return report(status == .pending ? .retrying : .failed, counts, nil, message)
        } catch is RunLedger.LeaseLost {
            return report(.leaseLost, [:], nil, message)
        } catch {
            return report(.failed, [:], nil, message)
        }
    }

    static func savedPlan(_ run: ClaimedRun) throws -> RunPlan? {
        struct Checkpoint: Decodable { var plan: RunPlan? }
        return try JSONDecoder().decode(Checkpoint.self, from: Data(run.checkpointJSON.utf8)).plan
    }

    static func totals(_ run: ClaimedRun, _ connection: Connection) throws -> RunCounts {
        try connection.query("SELECT counts::text FROM job_runs WHERE id = $1", [run.id]).row(0)
            .decode(0, as: PostgresJSON<RunCounts>.self).value
    }

    static func metadata(_ counts: RunCounts) -> Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        for (key, value) in counts { metadata["run.\(key)"] = "\(value)" }
        return metadata
    }
}
