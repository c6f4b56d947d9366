import Foundation
import Logging
import Postgres

/// How a run this runner drove ends, and what the ledger records for it: the failure policy.
///
/// - A chunk failed for good, or the job's timeout passed: the run fails, and is tried again
///   after the job's backoff while `retry.attempts` lasts.
/// - The database stayed away past the outage budget, or the run stopped making progress: the
///   lease is given up (when the database lets us) and the next runner resumes the run. This is
///   not a failure: nothing the run did was wrong.
/// - Another runner took the run over: nothing more is written.
struct RunEnding {
    let ledger: RunLedger
    let run: ClaimedRun
    let job: JobDefinition
    let logger: Logger
    let started: Date

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

    func succeeded(totals: RunCounts, note: String?, link: ReconnectingConnection) throws -> RunReport {
        _ = try link.run { try ledger.finish(run, status: .succeeded, error: nil, note: note, retryAfterSeconds: nil, $0) }
        logger.info("run succeeded", metadata: Self.metadata(totals))
        return report(.succeeded, counts: totals, note: note)
    }

    func leaseLost(counts: RunCounts) -> RunReport {
        logger.info("lost the lease; another runner owns the run now")
        return report(.leaseLost, counts: counts, error: "lease lost")
    }

    /// Gives the lease up so that another runner resumes the run after its last committed chunk.
    func leftForAnotherRunner(_ reason: String, counts: RunCounts, connect: () throws -> Connection) -> RunReport {
        // One try, bounded: the database may still be away (the lease then lapses by itself).
        if let connection = try? connect() { try? ledger.release(run, connection) }
        logger.info("run left for another runner", metadata: ["error": "\(reason)"])
        return report(.released, counts: counts, error: reason)
    }

    func stopped(chunksLeft: Int, counts: RunCounts, link: ReconnectingConnection) -> RunReport {
        try? link.run { try ledger.release(run, $0) }
        logger.info("stopped between chunks; lease released", metadata: ["chunks.left": "\(chunksLeft)"])
        return report(.released, counts: counts)
    }

    /// Sorts an error thrown outside the chunk workers into the endings above.
    func afterError(_ error: any Error, link: ReconnectingConnection) -> RunReport {
        if let lost = error as? RunLedger.LeaseLost { return report(.leaseLost, error: lost.description) }
        if let outage = error as? DatabaseOutage {
            return leftForAnotherRunner(outage.description, counts: [:], connect: { try link.open() })
        }
        return failed("\(error)", link: link)
    }

    func failed(_ message: String, link: ReconnectingConnection) -> RunReport {
        let retryLeft = run.failures + 1 < job.retry.attempts
        let backoff = RetryStrategy.runRetry(backoffSeconds: job.retry.backoffSeconds).backoff(attempt: run.failures + 1)
        do {
            let (status, counts) = try link.run { connection in
                let status = try ledger.finish(
                    run, status: .failed, error: message, note: nil, retryAfterSeconds: retryLeft ? Int(backoff) : nil,
                    connection)
                return (status, try RunQueries.counts(runID: run.id, connection))
            }
            logger.info("run failed", metadata: ["error": "\(message)", "run.status": "\(status.rawValue)"])
            return report(status == .pending ? .retrying : .failed, counts: counts, error: message)
        } catch is RunLedger.LeaseLost {
            return report(.leaseLost, error: message)
        } catch let outage as DatabaseOutage {
            // The failure could not be recorded: the lease lapses and the next runner redoes it.
            return report(.released, error: "\(message); \(outage.description)")
        } catch {
            return report(.failed, error: message)
        }
    }

    static func metadata(_ counts: RunCounts) -> Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        for (key, value) in counts { metadata["run.\(key)"] = "\(value)" }
        return metadata
    }
}
