import Foundation
import Logging
import Postgres
import Synchronization
import TestSupport
import Testing

@testable import CouponKit

/// `drain` (a tick's work) ends only when nothing is left that could start.
@Suite("Draining runs")
struct RunnerDrainTests {
    /// Holds each job's chunks until the test opens that job's gate.
    final class Gates: Sendable {
        private let open = Mutex<Set<String>>([])
        private let reached = Mutex<Set<String>>([])

        func pass(_ job: String) {
            reached.withLock { _ = $0.insert(job) }
            while !open.withLock({ $0.contains(job) }) { usleep(5_000) }
        }

        func hasReached(_ job: String) -> Bool { reached.withLock { $0.contains(job) } }
        func open(_ job: String) { open.withLock { _ = $0.insert(job) } }
    }

    struct GatedExecutor: JobExecutor {
        let gates: Gates

        func plan(_ context: RunContext, _ connection: Connection) throws -> RunPlan {
            RunPlan(chunks: [RunPlan.Chunk(lower: 0, upper: 1)])
        }

        func execute(chunk: Int, of plan: RunPlan, _ context: RunContext, in transaction: Connection) throws
            -> RunCounts
        {
            gates.pass(context.job.name)
            return ["chunks": 1]
        }

        func dryRun(_ context: RunContext, _ connection: Connection) throws -> DryRunReport {
            DryRunReport(lines: [])
        }
    }

    final class Drained: Sendable {
        let reports = Mutex<Result<[RunReport], any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
    }

    static func job(_ name: String, _ concurrency: ConcurrencyPolicy) -> JobDefinition {
        JobDefinition(
            name: name, action: .noop(NoopAction()), schedule: nil, manualOnly: true, concurrency: concurrency)
    }

    /// The queue's next run becomes startable when its predecessor ends — which here happens
    /// while the drain loop is looking for work (held up by another job's lock). The loop must
    /// look again rather than end the tick with the queue's next run left pending.
    @Test func aRunUnblockedWhileTheLoopLooksIsStillRunBeforeTheDrainEnds() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try c.execute(
            """
            INSERT INTO job_runs (job, slot, trigger, status, attempt, owner, lease_until, started_at) VALUES
                ('queue', '2026-01-05T00:00:00Z', 'manual', 'pending', 0, NULL, NULL, NULL),
                ('quick', '2026-01-05T00:01:00Z', 'manual', 'pending', 0, NULL, NULL, NULL),
                ('queue', '2026-01-05T00:03:00Z', 'manual', 'pending', 0, NULL, NULL, NULL),
                ('held', '2026-01-05T00:10:00Z', 'manual', 'running', 1, 'elsewhere', now() + interval '1 hour', now())
            """)
        let gates = Gates()
        let url = db.url
        let runner = Runner(
            options: .init(workers: 3, leaseSeconds: 30), connect: { try Connection.connect(url: url) },
            resolver: { _ in GatedExecutor(gates: gates) },
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let deployment = Deployment(jobs: [
            Self.job("queue", .forbid), Self.job("quick", .allow), Self.job("held", .forbid),
        ])
        let drained = Drained()
        Thread.detachNewThread {
            let result = Result { try runner.drain(deployment) }
            drained.reports.withLock { $0 = result }
            drained.done.signal()
        }
        try #require(eventually(within: 20) { gates.hasReached("queue") && gates.hasReached("quick") })

        // Another runner holds the lock of job `held`, which now has a run the loop will look at.
        let other = try db.connect()
        try other.execute("BEGIN")
        try other.advisoryTransactionLock(RunLedger.lockKey("held"))
        try c.execute(
            "INSERT INTO job_runs (job, slot, trigger, status) VALUES ('held', '2026-01-05T00:02:00Z', 'manual', 'pending')"
        )
        // `quick` ends: the loop looks again and waits for the lock of `held`.
        gates.open("quick")
        let looking = try eventually(within: 20) {
            try c.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").count == 1
        }
        try #require(looking, "the drain loop never waited for the job lock")
        // Meanwhile the queue's first run ends, unblocking its second.
        gates.open("queue")
        let firstDone = try eventually(within: 20) {
            try c.query("SELECT 1 FROM job_runs WHERE job = 'queue' AND status = 'succeeded'").count == 1
        }
        try #require(firstDone)
        Thread.sleep(forTimeInterval: 0.3)
        try other.execute("COMMIT")

        try #require(drained.done.wait(timeout: .now() + 30) == .success, "the drain did not end")
        let reports = try #require(try drained.reports.withLock { $0 }?.get())
        #expect(reports.filter { $0.job == "queue" }.map(\.outcome) == [.succeeded, .succeeded])
        let statuses = try c.query("SELECT job || ' ' || status FROM job_runs ORDER BY slot").rows.map {
            try $0.decode(0, as: String.self)
        }
        #expect(
            statuses == ["queue succeeded", "quick succeeded", "held pending", "queue succeeded", "held running"])
    }
}
