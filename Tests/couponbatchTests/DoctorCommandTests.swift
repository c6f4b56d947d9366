import Foundation
import Postgres
import TestSupport
import Testing

/// `couponbatch doctor` as an operator reads it: one line a check, exit 1 when one fails.
@Suite("doctor")
struct DoctorCommandTests {
    static let jobs = ["ok.yaml": "name: ok\nkind: noop\nmanual_only: true\n"]
    static let strongSecret = "q0Vb7Jx2kR9mZp4Lw8Ns1Td6Hy3Fc5Ge0Ua7Qi2Ko9E="

    func doctor(_ fixture: EngineFixture, secret: String) throws -> CommandResult {
        try Couponbatch.run(
            fixture.arguments(["doctor"]),
            environment: ["COUPONBATCH_CODE_SECRET": secret, "COUPONBATCH_CODE_SECRET_FILE": ""])
    }

    func line(_ result: CommandResult, _ name: String) -> String {
        result.stdout.split(separator: "\n").first { $0.dropFirst(6).hasPrefix(name + " ") }.map(String.init) ?? ""
    }

    @Test func aHealthyInstallationPassesEveryCheckAndExits0() throws {
        let fixture = try EngineFixture(jobs: Self.jobs)
        let result = try doctor(fixture, secret: Self.strongSecret)
        #expect(result.status == 0, "\(result.transcript)")
        #expect(line(result, "database").hasPrefix("ok    database"))
        #expect(line(result, "migrations").hasPrefix("ok "))
        #expect(line(result, "job files").contains("1 jobs"))
        #expect(line(result, "code secret").hasPrefix("ok "))
        #expect(line(result, "clock").hasPrefix("ok "))
        #expect(line(result, "stuck runs").hasPrefix("ok "))
        #expect(!result.stdout.contains(Self.strongSecret))
    }

    @Test func aWeakSecretPendingMigrationsAndAStuckRunAreReportedWithWhatToDo() throws {
        let fixture = try EngineFixture(jobs: Self.jobs)
        let connection = try fixture.connect()
        try connection.execute("DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)")
        try connection.execute(
            """
            INSERT INTO job_runs (job, slot, trigger, status, attempt, owner, lease_until, started_at)
            VALUES ('ok', now() - interval '1 hour', 'manual', 'running', 1, 'dead-host', now() - interval '5 minutes', now())
            """)
        let weak = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        let result = try doctor(fixture, secret: weak)
        #expect(result.status == 1, "\(result.transcript)")
        #expect(line(result, "migrations").hasPrefix("fail"))
        #expect(line(result, "migrations").contains("run couponbatch migrate"))
        #expect(line(result, "code secret").hasPrefix("fail"))
        #expect(line(result, "code secret").contains("only 1 distinct"))
        #expect(line(result, "stuck runs").hasPrefix("warn"))
        #expect(line(result, "stuck runs").contains("(ok, 3"))
        #expect(!result.stdout.contains(weak) && !result.stderr.contains(weak))
    }

    @Test func anUnreachableDatabaseFailsButTheFileChecksStillReport() throws {
        let fixture = try EngineFixture(jobs: Self.jobs)
        let result = try Couponbatch.run(
            ["doctor", "--jobs-dir", fixture.jobsDir, "--database-url", "postgresql://nobody@127.0.0.1:1/none"],
            environment: ["COUPONBATCH_CODE_SECRET": Self.strongSecret])
        #expect(result.status == 1)
        #expect(line(result, "database").hasPrefix("fail"))
        #expect(line(result, "job files").hasPrefix("ok "))
        #expect(line(result, "code secret").hasPrefix("ok "))
    }
}
