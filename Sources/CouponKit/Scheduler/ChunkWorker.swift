import Foundation
import Logging
import Postgres

/// One worker of a run: takes chunks until none is left or the run must stop. Each chunk is one
/// transaction, fenced by (run id, attempt) and bounded by a statement timeout.
///
/// When the connection breaks (a restart, a failover, a lost COMMIT reply) the worker
/// reconnects with the one backoff (`RetryStrategy`), first asks whether the chunk committed
/// after all (its `run_chunks` row), and only redoes it when it did not. Past the outage budget
/// it stops and the run is left for the next runner.
struct ChunkWorker: Sendable {
    let ledger: RunLedger
    let retry: RetryStrategy
    let stop: StopSignal
    let progress: ProgressHandler?
    /// `statement_timeout` of every statement of a chunk, in milliseconds.
    let statementTimeoutMilliseconds: Int

    func work(
        worker: Int, _ run: ClaimedRun, plan: RunPlan, context: RunContext, executor: any JobExecutor,
        link: ReconnectingConnection, state: RunState, started: Date
    ) {
        while let chunk = nextChunk(context: context, state: state, started: started) {
            guard doChunk(chunk, worker: worker, run, plan: plan, context: context, executor: executor, link: link, state: state, started: started)
            else { return }
        }
    }

    private func nextChunk(context: RunContext, state: RunState, started: Date) -> Int? {
        state.withLock { shared in
            if shared.mustStop || stop.isRequested { return nil }
            // The timeout bounds each attempt: a retry (after its backoff) or a takeover gets
            // the whole of it again, rather than failing at once for time spent before it.
            if let limit = context.job.timeoutSeconds, Date().timeIntervalSince(started) > Double(limit) {
                shared.timedOut = true
                return nil
            }
            return shared.todo.popLast()
        }
    }

    /// Commits `chunk` (or finds it committed); false when the run must stop.
    private func doChunk(
        _ chunk: Int, worker: Int, _ run: ClaimedRun, plan: RunPlan, context: RunContext, executor: any JobExecutor,
        link: ReconnectingConnection, state: RunState, started: Date
    ) -> Bool {
        var transactionTries = 1
        var reconnects = 0
        var outageSince: Date?
        while true {
            do {
                let connection = try link.open()
                state.begin(worker: worker, breaker: connection.socketBreaker)
                defer { state.end(worker: worker) }
                // After a broken connection the COMMIT may have landed with its reply lost.
                if reconnects > 0, let counts = try ledger.committedChunk(run, chunk: chunk, connection) {
                    context.logger.info("chunk had committed before the connection broke", metadata: ["chunk": "\(chunk)"])
                    record(counts, run: run, plan: plan, state: state, started: started)
                    return true
                }
                let chunkStarted = Date()
                // Pipelined: BEGIN and the timeout go with the kind's first statement, the fence and
                // checkpoint with COMMIT, so a chunk of one statement costs two round trips.
                let counts = try connection.transaction(pipelined: true) { tx in
                    tx.sendWithNext("SELECT set_config('statement_timeout', $1, true)", [String(statementTimeoutMilliseconds)])
                    let counts = try executor.execute(chunk: chunk, of: plan, context, in: tx)
                    ledger.recordChunkWithCommit(run, chunk: chunk, counts: counts, in: tx)
                    return counts
                }
                CouponMetrics.chunkCommitted(job: run.job, seconds: Date().timeIntervalSince(chunkStarted), counts: counts)
                record(counts, run: run, plan: plan, state: state, started: started)
                return true
            } catch {
                if error is RunLedger.LeaseLost || RunLedger.isLeaseLost(error) {
                    state.withLock { $0.lost = true }
                    return false
                }
                // The watchdog cut the socket: the run is being left to another runner.
                if state.withLock({ $0.stalled != nil || $0.lost }) { return false }
                let verdict = RetryStrategy.verdict(for: error)
                let tries: Int
                if verdict == .reconnect {
                    outageSince = outageSince ?? Date()
                    reconnects += 1
                    link.drop()
                    tries = reconnects
                } else {
                    tries = transactionTries
                    transactionTries += 1
                }
                let stopping = stop.isRequested && verdict == .reconnect
                guard !stopping, retry.shouldRetry(error, attempt: tries, outageSince: outageSince) else {
                    if verdict == .reconnect {
                        let outage = DatabaseOutage(
                            seconds: Date().timeIntervalSince(outageSince ?? Date()), lastError: "\(error)")
                        state.withLock { $0.outage = outage.description }
                    } else {
                        state.withLock { $0.failure = "chunk \(chunk): \(error)" }
                    }
                    return false
                }
                let wait = retry.delay(attempt: tries)
                context.logger.info(
                    "chunk failed; trying again",
                    metadata: ["chunk": "\(chunk)", "error": "\(error)", "retry.in_seconds": "\(String(format: "%.2f", wait))"])
                stop.sleep(seconds: wait)
            }
        }
    }

    private func record(_ counts: RunCounts, run: ClaimedRun, plan: RunPlan, state: RunState, started: Date) {
        let snapshot = state.withLock { shared in
            shared.done += 1
            shared.counts.add(counts)
            return (shared.done, shared.counts)
        }
        progress?(
            RunProgress(
                runID: run.id, job: run.job, chunksDone: snapshot.0, chunksTotal: plan.chunks.count, counts: snapshot.1,
                elapsedSeconds: Date().timeIntervalSince(started)))
    }
}
