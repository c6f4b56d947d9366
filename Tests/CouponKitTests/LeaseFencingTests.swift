import CouponKit
import Foundation
import Logging
import Postgres
import Synchronization
import TestSupport
import Testing

/// A runner whose lease was taken over (its attempt is no longer the run's) commits nothing more:
/// not a chunk, not a write of its executor, not the run's end.
@Suite("Fencing by attempt")
struct LeaseFencingTests {
    /// Holds chunks from `chunk` on (and `finish`, when asked) until the test opens it.
    final class Gate: Sendable {
        let chunk: Int
        let holdsFinish: Bool
        private let isOpen = Atomic<Bool>(false)
        private let reached = DispatchSemaphore(value: 0)

        init(chunk: Int, holdsFinish: Bool = false) {
            self.chunk = chunk
            self.holdsFinish = holdsFinish
        }

        func pass() {
            reached.signal()
            while !isOpen.load(ordering: .acquiring) { usleep(10_000) }
        }

        /// True once some chunk (or finish) is held at the gate.
        func waitUntilReached(seconds: Double) -> Bool {
            reached.wait(timeout: .now() + .milliseconds(Int(seconds * 1000))) == .success
        }

        func open() { isOpen.store(true, ordering: .releasing) }
    }

    /// Writes a row of its own in every chunk's transaction, so writes the fence rolled back show.
    struct RecordingExecutor: JobExecutor {
        let chunks: Int
        let gate: Gate

        func plan(_ context: RunContext, _ connection: Connection) throws -> RunPlan {
            RunPlan(chunks: (0..<Int64(chunks)).map { RunPlan.Chunk(lower: $0, upper: $0 + 1) })
        }

        func execute(chunk: Int, of plan: RunPlan, _ context: RunContext, in transaction: Connection) throws
            -> RunCounts
        {
            try transaction.execute(
                "INSERT INTO executor_writes (chunk, attempt) VALUES ($1, $2)", [chunk, context.run.attempt])
            if chunk >= gate.chunk { gate.pass() }
            return ["chunks": 1]
        }

        func finish(_ plan: RunPlan, counts: RunCounts, _ context: RunContext, _ connection: Connection) throws
            -> String?
        {
            if gate.holdsFinish { gate.pass() }
            return "finished by attempt \(context.run.attempt)"
        }

        func dryRun(_ context: RunContext, _ connection: Connection) throws -> DryRunReport {
            DryRunReport(lines: [])
        }
    }

    /// The outcome of a run driven on a thread of its own.
    final class Outcome: Sendable {
        let result = Mutex<Result<Runner.ManualResult, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
    }

    static let job = JobDefinition(name: "fenced", action: .noop(NoopAction()), schedule: nil, manualOnly: true)
    static let slot = Date(timeIntervalSince1970: 1_767_571_200)

    /// Starts a manual run of `fenced` on its own thread.
    static func startRun(_ db: TestDatabase, executor: RecordingExecutor, workers: Int) -> Outcome {
        let url = db.url
        let runner = Runner(
            options: .init(workers: workers, leaseSeconds: 3), connect: { try Connection.connect(url: url) },
            resolver: { _ in executor }, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let outcome = Outcome()
        Thread.detachNewThread {
            let result = Result { try runner.runManually(job, slot: slot, deployment: Deployment(jobs: [job])) }
            outcome.result.withLock { $0 = result }
            outcome.done.signal()
        }
        return outcome
    }

    static func prepare(_ db: TestDatabase) throws -> Connection {
        let c = try db.connect()
        try c.execute("CREATE TABLE executor_writes (chunk int NOT NULL, attempt int NOT NULL)")
        return c
    }

    /// Another runner takes the run over: the attempt (fencing token) moves on.
    static func steal(_ c: Connection) throws {
        let stolen = try c.execute(
            """
            UPDATE job_runs SET attempt = attempt + 1, owner = 'thief', lease_until = now() + interval '1 hour'
            WHERE job = 'fenced' AND status = 'running'
            """)
        #expect(stolen == 1)
    }

    static func pairs(_ c: Connection, _ table: String) throws -> [String] {
        try c.query("SELECT chunk, attempt FROM \(table) ORDER BY chunk, attempt").rows.map {
            "\(try $0.decode("chunk", as: Int.self))@\(try $0.decode("attempt", as: Int.self))"
        }
    }

    static func report(_ outcome: Outcome) throws -> RunReport {
        try #require(outcome.done.wait(timeout: .now() + 60) == .success, "the run did not end")
        let result = try #require(outcome.result.withLock { $0 })
        guard case .ran(let report) = try result.get() else {
            Issue.record("the run was not driven by this call")
            throw TestSetupError("no report")
        }
        return report
    }

    @Test("A runner whose lease was stolen mid-chunk commits nothing more", arguments: [1, 4])
    func aRunnerWhoseLeaseWasStolenMidChunkCommitsNothingMore(workers: Int) throws {
        let db = try TestDatabase()
        let c = try Self.prepare(db)
        let gate = Gate(chunk: 2)
        let outcome = Self.startRun(db, executor: RecordingExecutor(chunks: 8, gate: gate), workers: workers)
        try #require(gate.waitUntilReached(seconds: 30), "no chunk reached the gate")

        try Self.steal(c)
        let chunksAtSteal = try Self.pairs(c, "run_chunks")
        let writesAtSteal = try Self.pairs(c, "executor_writes")
        gate.open()
        let report = try Self.report(outcome)

        #expect(report.outcome == .leaseLost)
        #expect(report.attempt == 1)
        // Nothing committed after the steal: no chunk, no executor write, all by attempt 1.
        #expect(try Self.pairs(c, "run_chunks") == chunksAtSteal)
        #expect(try Self.pairs(c, "executor_writes") == writesAtSteal)
        #expect(writesAtSteal == chunksAtSteal, "an executor write committed without its chunk (or the reverse)")
        #expect(chunksAtSteal.allSatisfy { $0.hasSuffix("@1") })
        #expect(chunksAtSteal.count < 8)
        if workers == 1 { #expect(chunksAtSteal == ["0@1", "1@1"]) }
        // And the run is the thief's: not finished, failed or released by the old runner.
        let row = try c.query(
            "SELECT status, attempt, owner, (run_chunk_counts(id)->>'chunks')::int AS chunks, lease_until > now() AS live FROM job_runs"
        ).row(0)
        #expect(try row.decode("status", as: String.self) == "running")
        #expect(try row.decode("attempt", as: Int.self) == 2)
        #expect(try row.decode("owner", as: String.self) == "thief")
        #expect(try row.decode("live", as: Bool.self))
        #expect(try row.decodeIfPresent("chunks", as: Int.self) ?? 0 == chunksAtSteal.count)
    }

    @Test func aRunnerWhoseLeaseWasStolenAfterItsLastChunkCannotMarkTheRunSucceeded() throws {
        let db = try TestDatabase()
        let c = try Self.prepare(db)
        let gate = Gate(chunk: Int.max, holdsFinish: true)
        let outcome = Self.startRun(db, executor: RecordingExecutor(chunks: 3, gate: gate), workers: 2)
        try #require(gate.waitUntilReached(seconds: 30), "the run did not reach finish")

        try Self.steal(c)
        gate.open()
        let report = try Self.report(outcome)

        #expect(report.outcome == .leaseLost)
        let row = try c.query("SELECT status, attempt, checkpoint->>'note' AS note, finished_at FROM job_runs").row(0)
        #expect(try row.decode("status", as: String.self) == "running")
        #expect(try row.decode("attempt", as: Int.self) == 2)
        #expect(try row.decodeIfPresent("note", as: String.self) == nil)
        #expect(try row.decodeIfPresent("finished_at", as: Date.self) == nil)
        #expect(try Self.pairs(c, "run_chunks") == ["0@1", "1@1", "2@1"])
    }
}
