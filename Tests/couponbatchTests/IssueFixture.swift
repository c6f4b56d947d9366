import Foundation
import Postgres
import TestSupport

/// A deployment of its own for an issuance test: a database cloned from the migrated template,
/// and a jobs directory holding `templates.yaml` and the test's job files. Runs go through the
/// built binary, the way an operator runs them.
final class IssueFixture {
    /// A code secret easy to find in any output it must never appear in.
    static let secret = "canary-SECRET-9f3b7c1e5a2d4680-do-not-print"
    static let slot = "2026-11-23T02:00:00Z"

    let db: TestDatabase
    let jobsDir: String
    private let connection: Connection

    init(templates: String, jobs: [String] = []) throws {
        db = try TestDatabase()
        jobsDir = FileManager.default.temporaryDirectory.appendingPathComponent("cbt-jobs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: jobsDir, withIntermediateDirectories: true)
        connection = try db.connect()
        try writeTemplates(templates)
        for job in jobs { try addJob(job) }
    }

    deinit { try? FileManager.default.removeItem(atPath: jobsDir) }

    /// Replaces templates.yaml (as an operator edits it between runs).
    func writeTemplates(_ yaml: String) throws {
        try yaml.write(toFile: jobsDir + "/templates.yaml", atomically: true, encoding: .utf8)
    }

    /// Writes a job file named after the job's `name:`.
    func addJob(_ yaml: String) throws {
        guard let line = yaml.split(separator: "\n").first(where: { $0.hasPrefix("name:") }) else {
            throw TestSetupError("a job needs a name: line")
        }
        let name = line.dropFirst("name:".count).trimmingCharacters(in: .whitespaces)
        try yaml.write(toFile: jobsDir + "/\(name).yaml", atomically: true, encoding: .utf8)
    }

    /// Members `ids` with the given attributes (registered long ago, no orders).
    func addMembers(_ ids: ClosedRange<Int>, tier: String = "standard", openid: String? = nil) throws {
        try connection.execute(
            """
            INSERT INTO members (id, tier, registered_at, openid)
            SELECT g, $3, '2025-01-01T00:00:00Z', $4 FROM generate_series($1::bigint, $2::bigint) g
            """, [Int64(ids.lowerBound), Int64(ids.upperBound), tier, openid])
    }

    var baseArguments: [String] { ["--jobs-dir", jobsDir, "--database-url", db.url] }

    /// `couponbatch run JOB --at SLOT …`.
    func run(
        _ job: String, at slot: String = IssueFixture.slot, _ extra: [String] = [], environment: [String: String] = [:]
    )
        throws -> CommandResult
    {
        try Couponbatch.run(["run", job, "--at", slot] + extra + baseArguments, environment: environment)
    }

    func start(
        _ job: String, at slot: String = IssueFixture.slot, _ extra: [String] = [], environment: [String: String] = [:]
    )
        throws -> RunningCommand
    {
        try Couponbatch.start(["run", job, "--at", slot] + extra + baseArguments, environment: environment)
    }

    /// Any other command against this deployment (`coupons export`, `codes verify`, …).
    func command(_ arguments: [String], environment: [String: String] = ["COUPONBATCH_CODE_SECRET": secret])
        throws -> CommandResult
    {
        try Couponbatch.run(arguments + baseArguments, environment: environment)
    }

    // MARK: Reading the database

    func int(_ sql: String, _ parameters: [any PostgresBindable] = []) throws -> Int64 {
        try connection.query(sql, parameters).row(0).decodeIfPresent(0, as: Int64.self) ?? 0
    }

    func text(_ sql: String, _ parameters: [any PostgresBindable] = []) throws -> String? {
        try connection.query(sql, parameters).row(0).decodeIfPresent(0, as: String.self)
    }

    func ints(_ sql: String, _ parameters: [any PostgresBindable] = []) throws -> [Int64] {
        try connection.query(sql, parameters).rows.map { try $0.decode(0, as: Int64.self) }
    }

    /// Rows as `column -> text` dictionaries, for checks across several columns.
    func rows(_ sql: String, _ parameters: [any PostgresBindable] = []) throws -> [[String: String]] {
        let result = try connection.query(sql, parameters)
        let names = result.columnNames
        return result.rows.map { row in
            var values: [String: String] = [:]
            for (index, name) in names.enumerated() { values[name] = row.text(index) }
            return values
        }
    }

    /// The run of `job` at `slot`: (id, status, counts).
    func runRecord(_ job: String, at slot: String = IssueFixture.slot) throws -> (
        id: Int64, status: String, counts: [String: Int64]
    )? {
        guard
            let row = try connection.query(
                """
                SELECT id, status,
                       (CASE WHEN status IN ('pending', 'running') THEN run_chunk_counts(id) ELSE counts END)::text AS counts
                FROM job_runs WHERE job = $1 AND slot = $2::timestamptz
                """,
                [job, slot]
            ).first
        else { return nil }
        let countsText: String = try row.decode("counts")
        let counts = try JSONDecoder().decode([String: Int64].self, from: Data(countsText.utf8))
        return (try row.decode("id"), try row.decode("status"), counts)
    }

    /// Coupons each member holds of `template` (members without any are absent).
    func couponsPerMember(template: String) throws -> [Int64: Int64] {
        var counts: [Int64: Int64] = [:]
        for row in try connection.query(
            "SELECT member_id, count(*) FROM coupons WHERE template_key = $1 GROUP BY member_id", [template]
        ).rows {
            counts[try row.decode(0, as: Int64.self)] = try row.decode(1, as: Int64.self)
        }
        return counts
    }
}

/// A minimal issue job file.
func issueJob(_ name: String, segment: String = "everyone", chunkSize: Int = 100, _ offer: String) -> String {
    """
    name: \(name)
    kind: issue
    manual_only: true
    timezone: Asia/Shanghai
    segment: \(segment)
    chunk_size: \(chunkSize)
    \(offer)
    """
}
