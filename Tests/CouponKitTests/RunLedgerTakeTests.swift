import Foundation
import Postgres
import Synchronization
import TestSupport
import Testing

@testable import CouponKit

/// Taking runs from the ledger while other runners do the same.
@Suite("Taking runs")
struct RunLedgerTakeTests {
    final class Taken: Sendable {
        let result = Mutex<Result<ClaimedRun?, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
    }

    /// Two jobs with concurrency: forbid, named so that `first`'s lock key sorts after `second`'s.
    static func forbidJobs() -> (first: String, second: String) {
        let a = "alpha", b = "bravo"
        return RunLedger.lockKey(a) > RunLedger.lockKey(b) ? (a, b) : (b, a)
    }

    /// A forbid job's queue of catch-ups waits behind its running run; it must not hide a run of
    /// another job that is due now.
    @Test func aLongQueueOfAForbidJobDoesNotStarveOtherJobs() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute(
            """
            INSERT INTO job_runs (job, slot, trigger, status, attempt, owner, lease_until, started_at)
            VALUES ('queued', '2026-01-05T00:00:00Z', 'schedule', 'running', 1, 'busy', now() + interval '1 hour', now())
            """)
        try c.execute(
            """
            INSERT INTO job_runs (job, slot, trigger, status)
            SELECT 'queued', '2026-01-05T00:00:00Z'::timestamptz + n * interval '1 minute', 'catch_up', 'pending'
            FROM generate_series(1, 40) AS n
            """)
        try c.execute(
            "INSERT INTO job_runs (job, slot, trigger, status) VALUES ('other', '2026-01-05T01:00:00Z', 'schedule', 'pending')"
        )
        let ledger = RunLedger(owner: "runner", leaseSeconds: 30)
        let taken = try ledger.takeNext(jobs: ["queued", "other"], forbidOverlap: ["queued", "other"], c)
        #expect(taken?.job == "other")
        #expect(try ledger.takeNext(jobs: ["queued", "other"], forbidOverlap: ["queued", "other"], c) == nil)
        // Once the running run ends, the queue goes on in slot order.
        try c.execute(
            "UPDATE job_runs SET status = 'succeeded', lease_until = NULL WHERE job = 'queued' AND status = 'running'")
        let next = try ledger.takeNext(jobs: ["queued", "other"], forbidOverlap: ["queued", "other"], c)
        #expect(next?.job == "queued")
        #expect(next?.slot == Date(timeIntervalSince1970: 1_767_571_260))
    }

    /// Runner A finds a blocked run of one forbid job before a startable run of another, while
    /// runner B (doing the same in the other order) holds the second job's lock and then asks for
    /// the first's. Job locks taken in slot order deadlocked here (SQLSTATE 40P01); taken in one
    /// global order, one runner waits for the other and both go on.
    @Test func runnersTakingRunsOfTwoForbidJobsDoNotDeadlock() throws {
        let db = try TestDatabase()
        let (first, second) = Self.forbidJobs()
        let setup = try db.connect()
        try setup.execute(
            """
            INSERT INTO job_runs (job, slot, trigger, status, attempt, owner, lease_until, started_at) VALUES
                ($1, '2026-01-05T00:00:00Z', 'schedule', 'running', 1, 'busy', now() + interval '1 hour', now()),
                ($1, '2026-01-05T00:01:00Z', 'schedule', 'pending', 0, NULL, NULL, NULL),
                ($2, '2026-01-05T00:02:00Z', 'schedule', 'pending', 0, NULL, NULL, NULL)
            """, [first, second])

        // Runner B holds the second job's lock.
        let other = try db.connect()
        try other.execute("SET lock_timeout = '20s'")
        try other.execute("BEGIN")
        try other.advisoryTransactionLock(RunLedger.lockKey(second))

        // Runner A takes the next run.
        let url = db.url
        let taken = Taken()
        Thread.detachNewThread {
            let result = Result { () throws -> ClaimedRun? in
                let connection = try Connection.connect(url: url)
                return try RunLedger(owner: "runner-a", leaseSeconds: 30).takeNext(
                    jobs: [first, second], forbidOverlap: [first, second], connection)
            }
            taken.result.withLock { $0 = result }
            taken.done.signal()
        }
        let waiting = try eventually(within: 20) {
            try setup.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").count == 1
        }
        try #require(waiting, "runner A never waited for a job lock")

        // Runner B now asks for the first job's lock, then finishes its transaction.
        do {
            try other.advisoryTransactionLock(RunLedger.lockKey(first))
            try other.execute("COMMIT")
        } catch {
            Issue.record("runner B failed: \(error)")
        }

        try #require(taken.done.wait(timeout: .now() + 30) == .success, "runner A is stuck")
        let claimed = try #require(taken.result.withLock { $0 })
        switch claimed {
        case .success(let run):
            #expect(run?.job == second, "A takes the startable run of the second job")
            #expect(run?.attempt == 1)
        case .failure(let error):
            Issue.record("runner A failed to take a run: \(error)")
        }
    }
}

/// Polls `condition` every 50 ms for at most `seconds`; true as soon as it holds.
func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    repeat {
        if try condition() { return true }
        usleep(50_000)
    } while Date() < deadline
    return try condition()
}
