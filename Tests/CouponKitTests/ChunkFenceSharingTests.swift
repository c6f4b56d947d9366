import CouponKit
import Foundation
import Postgres
import Synchronization
import TestSupport
import Testing

/// The chunk fence (`record_run_chunk`, migration 0042) as row locks: chunks of one run commit
/// side by side, a heartbeat does not wait for them, and a takeover waits for a chunk that has
/// passed the fence, after which no chunk of the old attempt passes it.
@Suite("Chunk fence shared by a run's chunks")
struct ChunkFenceSharingTests {
    /// What the chunk's thread ran into.
    final class Outcome: Sendable {
        let error = Mutex<(any Error)?>(nil)
    }

    static func openRun(_ c: Connection) throws -> Int64 {
        try c.query(
            """
            INSERT INTO job_runs (job, slot, trigger, status, attempt, owner, lease_until)
            VALUES ('fenced', now(), 'manual', 'running', 1, 'first', now() + interval '1 hour') RETURNING id
            """
        ).row(0).decode(0, as: Int64.self)
    }

    /// Runs `sql` in a transaction that gives up after `timeout` waiting for a lock.
    static func committed(_ c: Connection, timeout: String, _ sql: String, _ parameters: [any PostgresBindable]) throws {
        try c.transaction { tx in
            try tx.execute("SELECT set_config('lock_timeout', $1, true)", [timeout])
            _ = try tx.execute(sql, parameters)
        }
    }

    static let record = "SELECT record_run_chunk($1, $2, $3, '{\"chunks\": 1}'::jsonb)"
    static let takeOver = "UPDATE job_runs SET attempt = attempt + 1, owner = 'second' WHERE id = $1"

    @Test func aChunkWaitingForItsCommitHoldsUpNeitherOtherChunksNorHeartbeatsButHoldsUpATakeover() throws {
        let db = try TestDatabase()
        let (first, other) = (try db.connect(), try db.connect())
        let run = try Self.openRun(other)

        // A chunk past its fence, its COMMIT not yet done.
        try first.execute("BEGIN")
        try first.execute(Self.record, [run, 1, 0])

        // Another chunk of the run commits meanwhile, and the lease is extended.
        try Self.committed(other, timeout: "5s", Self.record, [run, 1, 1])
        try Self.committed(
            other, timeout: "5s", "UPDATE job_runs SET lease_until = now() + interval '2 hours' WHERE id = $1", [run])
        // A takeover must wait for the open chunk.
        var waited = false
        do {
            try Self.committed(other, timeout: "300ms", Self.takeOver, [run])
        } catch let error as PostgresError where error.code == .lockNotAvailable {
            waited = true
        }
        #expect(waited, "the takeover did not wait for a chunk that passed the fence")

        try first.execute("COMMIT")
        try Self.committed(other, timeout: "5s", Self.takeOver, [run])
        // The old attempt's next chunk is refused.
        #expect(throws: PostgresError.self) { try Self.committed(other, timeout: "5s", Self.record, [run, 1, 2]) }
        #expect(try other.query("SELECT count(*) FROM run_chunks WHERE run_id = $1", [run]).row(0).decode(0, as: Int.self) == 2)
        let counts = try other.query("SELECT (run_chunk_counts($1)->>'chunks')::int", [run]).row(0).decode(0, as: Int.self)
        #expect(counts == 2)
    }

    @Test func aChunkReachingItsFenceDuringATakeoverIsRefusedOnceTheTakeoverCommits() throws {
        let db = try TestDatabase()
        let thief = try db.connect()
        let run = try Self.openRun(thief)

        try thief.execute("BEGIN")
        #expect(try thief.execute(Self.takeOver, [run]) == 1)
        // The chunk's fence waits for the takeover (or comes after it): either way it is refused.
        let refused = DispatchSemaphore(value: 0)
        let outcome = Outcome()
        Thread.detachNewThread {
            do {
                try Self.committed(try db.connect(), timeout: "30s", Self.record, [run, 1, 0])
            } catch {
                outcome.error.withLock { $0 = error }
            }
            refused.signal()
        }
        usleep(300_000)
        try thief.execute("COMMIT")
        #expect(refused.wait(timeout: .now() + 30) == .success)
        #expect(RunLedger.isLeaseLost(try #require(outcome.error.withLock { $0 })))
        #expect(try thief.query("SELECT count(*) FROM run_chunks WHERE run_id = $1", [run]).row(0).decode(0, as: Int.self) == 0)
    }
}
