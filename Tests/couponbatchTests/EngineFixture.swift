import Foundation
import Postgres
import TestSupport
import Testing

/// A database and a jobs directory of the test's own, and the binary run against both.
final class EngineFixture: Sendable {
    let database: TestDatabase
    let jobsDir: String

    /// `jobs` maps file names inside the jobs directory to their YAML.
    init(jobs: [String: String]) throws {
        database = try TestDatabase()
        jobsDir = FileManager.default.temporaryDirectory.appendingPathComponent("cbjobs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: jobsDir, withIntermediateDirectories: true)
        for (name, content) in jobs {
            try Data(content.utf8).write(to: URL(fileURLWithPath: jobsDir + "/" + name))
        }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: jobsDir)
    }

    /// `arguments` with this fixture's --jobs-dir and --database-url after them.
    func arguments(_ arguments: [String]) -> [String] {
        arguments + ["--jobs-dir", jobsDir, "--database-url", database.url]
    }

    func run(_ arguments: [String]) throws -> CommandResult {
        try Couponbatch.run(self.arguments(arguments))
    }

    func start(_ arguments: [String]) throws -> RunningCommand {
        try Couponbatch.start(self.arguments(arguments))
    }

    func connect() throws -> Connection { try database.connect() }

    /// Every run of `job` (all jobs when nil), by slot.
    func runs(job: String? = nil) throws -> [LedgerRun] {
        try connect().query(
            """
            SELECT r.id, r.job, r.slot, r.trigger, r.status, r.attempt, r.failures, r.owner, r.error,
                   (r.lease_until IS NOT NULL AND r.lease_until < now()) AS lease_lapsed,
                   coalesce((r.counts->>'chunks')::int, 0) AS counted_chunks,
                   (SELECT count(*) FROM run_chunks c WHERE c.run_id = r.id)::int AS chunk_rows,
                   (SELECT count(DISTINCT chunk) FROM run_chunks c WHERE c.run_id = r.id)::int AS distinct_chunks
            FROM job_runs r
            WHERE $1::text IS NULL OR r.job = $1
            ORDER BY r.job, r.slot
            """, [job]
        ).rows.map(LedgerRun.init)
    }

    /// The run of `job` at `slot`, if any.
    func run(job: String, slot: Date) throws -> LedgerRun? {
        try runs(job: job).first { $0.slot == slot }
    }

    /// chunk → attempt for the chunks `runID` has committed.
    func committedChunks(_ runID: Int64) throws -> [Int: Int] {
        var chunks: [Int: Int] = [:]
        for row in try connect().query("SELECT chunk, attempt FROM run_chunks WHERE run_id = $1", [runID]).rows {
            chunks[try row.decode("chunk")] = try row.decode("attempt")
        }
        return chunks
    }
}

/// One `job_runs` row with what the tests check about it.
struct LedgerRun: Sendable, Equatable {
    let id: Int64
    let job: String
    let slot: Date
    let trigger: String
    let status: String
    let attempt: Int
    let failures: Int
    let owner: String?
    let error: String?
    let leaseLapsed: Bool
    /// `counts.chunks` of the run.
    let countedChunks: Int
    /// Rows in `run_chunks`.
    let chunkRows: Int
    let distinctChunks: Int

    init(row: Row) throws {
        id = try row.decode("id")
        job = try row.decode("job")
        slot = try row.decode("slot")
        trigger = try row.decode("trigger")
        status = try row.decode("status")
        attempt = try row.decode("attempt")
        failures = try row.decode("failures")
        owner = try row.decodeIfPresent("owner")
        error = try row.decodeIfPresent("error")
        leaseLapsed = try row.decode("lease_lapsed")
        countedChunks = try row.decode("counted_chunks")
        chunkRows = try row.decode("chunk_rows")
        distinctChunks = try row.decode("distinct_chunks")
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

/// ISO 8601 instants for the command line, and back.
enum Instant {
    static func parse(_ text: String) -> Date {
        (try? Date(text, strategy: .iso8601)) ?? Date(timeIntervalSince1970: 0)
    }

    static func text(_ date: Date) -> String { date.formatted(.iso8601) }
}

extension CommandResult {
    /// Output for expectation messages.
    var transcript: String { "exit \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
}
