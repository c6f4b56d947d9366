import Foundation
import Postgres
import TestSupport
import Testing

/// Retention: `prune` and `kind: prune` remove what no run needs and keep the ledger's rows and counts.
@Suite("Retention")
struct PruneTests {
    static let jobs = [
        "work.yaml": "name: work\nkind: noop\nmanual_only: true\nchunks: 3\n",
        "pruner.yaml": "name: pruner\nkind: prune\nmanual_only: true\nolder_than: 90d\nbatch_size: 1\n",
    ]

    func snapshot(_ fingerprint: String, ageDays: Int, _ connection: Connection) throws -> Int64 {
        let id: Int64 = try connection.query(
            """
            INSERT INTO segment_snapshot_sources (kind, fingerprint, source, member_count, created_at)
            VALUES ('list', $1, 'members.csv', 2, now() - make_interval(days => $2)) RETURNING id
            """, [fingerprint, ageDays]
        ).row(0).decode("id")
        try connection.execute("INSERT INTO segment_snapshots (snapshot_id, member_id) VALUES ($1, 1), ($1, 2)", [id])
        return id
    }

    @Test func pruneDropsOldCheckpointsAndUnusedSnapshotsButKeepsRunsCountsAndSnapshotsAPlanNames() throws {
        let fixture = try EngineFixture(jobs: Self.jobs)
        #expect(try fixture.run(["run", "work", "--at", "2026-01-05T00:00:00Z"]).status == 0)
        #expect(try fixture.run(["run", "work", "--at", "2026-01-06T00:00:00Z"]).status == 0)
        let connection = try fixture.connect()
        try connection.execute("UPDATE job_runs SET finished_at = now() - interval '100 days' WHERE id = 1")
        let unused = try snapshot("list:sha256:" + String(repeating: "a", count: 64), ageDays: 120, connection)
        let named = "list:sha256:" + String(repeating: "b", count: 64)
        let inUse = try snapshot(named, ageDays: 120, connection)
        // An open run whose plan names the second snapshot (as an issue run's payload does).
        try connection.execute(
            """
            INSERT INTO job_runs (job, slot, trigger, status, attempt, lease_until, checkpoint)
            VALUES ('work', now(), 'manual', 'running', 1, now() + interval '1 hour',
                    jsonb_build_object('plan', jsonb_build_object('chunks', '[]'::jsonb, 'payload', $1::text)))
            """, ["{\"segment\":{\"snapshot\":{\"fingerprint\":\"\(named)\"}}}"])

        let pruned = try fixture.run(["prune", "--older-than", "90d", "--batch-size", "1"])
        #expect(pruned.status == 0, "\(pruned.transcript)")
        #expect(pruned.stdout.contains("1 run checkpoints, 3 chunk rows, 1 segment snapshots (2 member rows); 1 snapshots kept"), "\(pruned.stdout)")

        let runs = try connection.query(
            """
            SELECT id, checkpoint ? 'plan' AS has_plan, counts->>'chunks' AS chunks,
                   (SELECT count(*) FROM run_chunks c WHERE c.run_id = r.id)::int AS chunk_rows
            FROM job_runs r WHERE job = 'work' AND status = 'succeeded' ORDER BY id
            """
        ).rows
        #expect(try runs.map { try $0.decode("has_plan", as: Bool.self) } == [false, true])
        #expect(try runs.map { try $0.decode("chunk_rows", as: Int.self) } == [0, 3])
        #expect(try runs.map { try $0.decode("chunks", as: String.self) } == ["3", "3"])
        let show = try fixture.run(["runs", "show", "1"])
        #expect(show.stdout.contains("chunks    3/3\n"), "\(show.stdout)")
        let sources = try connection.query("SELECT id FROM segment_snapshot_sources ORDER BY id").rows
            .map { try $0.decode("id", as: Int64.self) }
        #expect(sources == [inUse])
        #expect(!sources.contains(unused))
        let members = try connection.query("SELECT count(*)::int AS n FROM segment_snapshots").row(0).decode("n", as: Int.self)
        #expect(members == 2)

        // Nothing left to do: a second prune changes nothing.
        let again = try fixture.run(["prune", "--older-than", "90d"])
        #expect(again.stdout.contains("0 run checkpoints, 0 chunk rows, 0 segment snapshots"), "\(again.stdout)")

        // The job kind does the same as a run of its own, batch by batch.
        try connection.execute("UPDATE job_runs SET finished_at = now() - interval '100 days' WHERE id = 2")
        let job = try fixture.run(["run", "pruner", "--at", "2026-02-01T00:00:00Z", "--json"])
        #expect(job.status == 0, "\(job.transcript)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(job.stdout.utf8)) as? [String: Any])
        let counts = try #require(report["counts"] as? [String: Any])
        #expect(counts["checkpoints_pruned"] as? Int == 1)
        #expect(counts["chunk_rows_deleted"] as? Int == 3)
        #expect(counts["snapshots_kept"] as? Int == 1)
    }
}
