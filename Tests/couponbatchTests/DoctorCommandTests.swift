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
        #expect(line(result, "sinks").hasPrefix("ok    sinks"))
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

    @Test func anUnreachableWebhookWarnsAndAFileSinkWithoutItsDirectoryFailsWithoutPrintingSecrets() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("cbt-no-such-\(UUID().uuidString)").path
        let writable = FileManager.default.temporaryDirectory.path
        let token = "tok-canary-91d2"
        var jobs = Self.jobs
        jobs["sinks.yaml"] = """
            sinks:
              - {name: hook, type: webhook, url: "http://127.0.0.1:1/hooks/coupons?token=\(token)", secret_env: COUPONBATCH_WEBHOOK_SECRET}
              - {name: lost, type: file, path: \(missing)/out.ndjson}
              - {name: fine, type: file, path: \(writable)/cbt-out.ndjson}
            """
        let fixture = try EngineFixture(jobs: jobs)
        let webhookSecret = "whsec-canary-do-not-print-5e1"
        let result = try Couponbatch.run(
            fixture.arguments(["doctor"]),
            environment: ["COUPONBATCH_CODE_SECRET": Self.strongSecret, "COUPONBATCH_WEBHOOK_SECRET": webhookSecret])
        let sinks = line(result, "sinks")
        #expect(result.status == 1, "\(result.transcript)")
        #expect(sinks.hasPrefix("fail  sinks"), "\(result.transcript)")
        #expect(sinks.contains("hook: http://127.0.0.1:1 refused the connection"))
        #expect(sinks.contains("lost: directory \(missing) is missing or not writable"))
        #expect(sinks.contains("fine (\(writable) writable)"))
        #expect(sinks.contains("create \(missing)") && sinks.contains("check the URL"))
        for secret in [webhookSecret, token, Self.strongSecret] {
            #expect(!result.stdout.contains(secret) && !result.stderr.contains(secret))
        }

        // The webhook alone, unreachable: a warning (the outbox keeps what it cannot send), exit 0.
        try "sinks:\n  - {name: hook, type: webhook, url: \"http://127.0.0.1:1/\", secret_env: COUPONBATCH_WEBHOOK_SECRET}\n"
            .write(toFile: fixture.jobsDir + "/sinks.yaml", atomically: true, encoding: .utf8)
        let warned = try Couponbatch.run(
            fixture.arguments(["doctor"]),
            environment: ["COUPONBATCH_CODE_SECRET": Self.strongSecret, "COUPONBATCH_WEBHOOK_SECRET": webhookSecret])
        #expect(warned.status == 0, "\(warned.transcript)")
        #expect(line(warned, "sinks").hasPrefix("warn  sinks"))
        #expect(line(warned, "sinks").contains("undelivered notifications wait in the outbox"))
    }
}
