import Foundation
import Logging
import Postgres
import Synchronization
import TestSupport
import Testing

@testable import CouponKit

/// With synchronous_commit off on the server (or the database, or the role), a crash can take away
/// a chunk the runner already counted. A run must not end succeeded with such a hole: its end
/// finds the chunk missing from `run_chunks` and does it again.
@Suite struct LostChunkTests {
    /// Three chunks; while doing the last one for the first time, chunk 0's row disappears from
    /// `run_chunks`, as a crash that lost its unflushed COMMIT leaves the run's ledger.
    struct LosingExecutor: JobExecutor {
        let url: String
        let executed: Executions

        func plan(_ context: RunContext, _ connection: Connection) throws -> RunPlan {
            RunPlan(chunks: (0..<3).map { RunPlan.Chunk(lower: Int64($0), upper: Int64($0 + 1)) })
        }

        func execute(chunk: Int, of plan: RunPlan, _ context: RunContext, in transaction: Connection) throws
            -> RunCounts
        {
            if executed.record(chunk) == 1 && chunk == 2 {
                let other = try Connection.connect(url: url)
                try other.execute("DELETE FROM run_chunks WHERE run_id = $1 AND chunk = 0", [context.run.id])
            }
            return ["chunks": 1]
        }

        func dryRun(_ context: RunContext, _ connection: Connection) throws -> DryRunReport { DryRunReport(lines: []) }
    }

    final class Executions: Sendable {
        private let counts = Mutex<[Int: Int]>([:])
        /// How many times `chunk` has run, this one included.
        func record(_ chunk: Int) -> Int { counts.withLock { $0[chunk, default: 0] += 1; return $0[chunk] ?? 0 } }
        var all: [Int: Int] { counts.withLock { $0 } }
    }

    @Test func aChunkLostAfterItCommittedIsDoneAgainBeforeTheRunSucceeds() throws {
        let db = try TestDatabase()
        let url = db.url
        let executed = Executions()
        let runner = Runner(
            options: .init(workers: 1, leaseSeconds: 30), connect: { try Connection.connect(url: url) },
            resolver: { _ in LosingExecutor(url: url, executed: executed) },
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let job = JobDefinition(
            name: "losing", action: .noop(NoopAction()), schedule: nil, manualOnly: true, concurrency: .forbid)
        let result = try runner.runManually(
            job, slot: Date(timeIntervalSince1970: 1_795_000_000), deployment: Deployment(jobs: [job]))
        guard case .ran(let report) = result else {
            Issue.record("the run did not run: \(result)")
            return
        }
        #expect(report.outcome == .succeeded)
        #expect(executed.all == [0: 2, 1: 1, 2: 1])
        let c = try db.connect()
        let chunks = try c.query("SELECT chunk FROM run_chunks WHERE run_id = $1 ORDER BY chunk", [report.runID]).rows.map {
            try $0.decode(0, as: Int.self)
        }
        #expect(chunks == [0, 1, 2])
        #expect(try c.query("SELECT (counts->>'chunks')::int FROM job_runs WHERE id = $1", [report.runID]).row(0).decode(0, as: Int.self) == 3)
    }
}
