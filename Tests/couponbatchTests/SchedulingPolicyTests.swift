import Foundation
import TestSupport
import Testing

/// The job file's policies as `tick` applies them: concurrency, catch-up, retry, pause, timeout.
@Suite("Scheduling policies")
struct SchedulingPolicyTests {
    static func minute(_ minute: Int, hour: Int = 0) -> Date {
        Instant.parse("2026-01-05T00:00:00Z").addingTimeInterval(Double(hour * 3600 + minute * 60))
    }

    static func tick(_ fixture: EngineFixture, _ now: String, _ extra: [String] = []) throws -> CommandResult {
        try fixture.run(["tick", "--now", now] + extra)
    }

    @Test(arguments: ["forbid", "allow"])
    func aSlotDueWhileThePreviousRunIsRunningIsSkippedOnlyUnderForbid(concurrency: String) throws {
        let fixture = try EngineFixture(jobs: [
            "busy.yaml": """
            name: busy
            kind: noop
            schedule: "* * * * *"
            timezone: UTC
            concurrency: \(concurrency)
            chunks: 15
            sleep_ms: 200
            """
        ])
        let long = try fixture.start(["tick", "--now", "2026-01-05T00:00:00Z", "--workers", "1"])
        let running = try eventually(within: 30) {
            (try fixture.run(job: "busy", slot: Self.minute(0))?.chunkRows ?? 0) >= 1
        }
        try #require(running, "\(long.stderrSoFar)")

        let next = try Self.tick(fixture, "2026-01-05T00:01:00Z", ["--workers", "1"])
        #expect(next.status == 0, "\(next.transcript)")
        let second = try #require(try fixture.run(job: "busy", slot: Self.minute(1)))
        let first = long.wait(seconds: 60)
        #expect(first?.status == 0, "\(first?.transcript ?? "tick still running")")
        if concurrency == "forbid" {
            #expect(second.status == "skipped")
            #expect(second.error == "an earlier run of the job is still running (concurrency: forbid)")
            #expect(next.stdout == "nothing due\n")
        } else {
            #expect(second.status == "succeeded")
            #expect(second.chunkRows == 15)
        }
        #expect(try fixture.run(job: "busy", slot: Self.minute(0))?.status == "succeeded")
    }

    @Test func catchUpPoliciesDecideWhichMissedSlotsRunAfterAGap() throws {
        func job(_ name: String, _ policy: String) -> String {
            """
            name: \(name)
            kind: noop
            schedule: "0 * * * *"
            timezone: UTC
            \(policy)
            """
        }
        let fixture = try EngineFixture(jobs: [
            "none.yaml": job("none", "catch_up: none\nstarting_deadline: 1h30m"),
            "latest.yaml": job("latest", "catch_up: latest"),
            "all.yaml": job("all", "catch_up: all\nmax_catch_up: 3"),
        ])
        let start = try Self.tick(fixture, "2026-01-05T00:00:00Z")
        #expect(start.status == 0, "\(start.transcript)")
        // Five hours with no runner, then a tick half an hour after the 05:00 slot.
        let gap = try Self.tick(fixture, "2026-01-05T05:30:00Z")
        #expect(gap.status == 0, "\(gap.transcript)")

        func outcomes(_ job: String) throws -> [String] {
            try fixture.runs(job: job).map { run in
                let hour = Int(run.slot.timeIntervalSince(Self.minute(0)) / 3600)
                return run.status == "succeeded" ? "\(hour) \(run.trigger)" : "\(hour) \(run.status)"
            }
        }
        #expect(
            try outcomes("none") == ["0 schedule", "1 skipped", "2 skipped", "3 skipped", "4 catch_up", "5 schedule"])
        #expect(
            try outcomes("latest") == ["0 schedule", "1 skipped", "2 skipped", "3 skipped", "4 skipped", "5 schedule"])
        #expect(
            try outcomes("all") == ["0 schedule", "1 skipped", "2 skipped", "3 catch_up", "4 catch_up", "5 schedule"])
        let reasons = Set(try fixture.runs().filter { $0.status == "skipped" }.map { "\($0.job): \($0.error ?? "")" })
        #expect(
            reasons == [
                "none: missed by more than starting_deadline 1h30m",
                "latest: missed; catch_up: latest runs only the newest slot",
                "all: missed; beyond max_catch_up 3",
            ])
    }

    @Test func aFailingRunIsRetriedThenFailsForGoodAndTheTickExits1() throws {
        let fixture = try EngineFixture(jobs: [
            "flaky.yaml": """
            name: flaky
            kind: noop
            schedule: "0 * * * *"
            timezone: UTC
            fail: true
            retry: {attempts: 2, backoff: 0s}
            """
        ])
        let tick = try Self.tick(fixture, "2026-01-05T00:00:00Z")
        #expect(tick.status == 1, "\(tick.transcript)")
        let lines = tick.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.contains("attempt 1: retrying") == true, "\(tick.stdout)")
        #expect(lines.last?.contains("attempt 2: failed") == true, "\(tick.stdout)")
        let run = try #require(try fixture.run(job: "flaky", slot: Self.minute(0)))
        #expect(run.status == "failed")
        #expect(run.failures == 2)
        #expect(run.attempt == 2)
        #expect(run.error == "chunk 0: the job is configured to fail (fail: true)")
        // Failed for good: the next tick leaves it alone.
        let again = try Self.tick(fixture, "2026-01-05T00:00:30Z")
        #expect(again.status == 0 && again.stdout == "nothing due\n", "\(again.transcript)")
    }

    @Test func aRetryWaitsForItsBackoff() throws {
        let fixture = try EngineFixture(jobs: [
            "flaky.yaml": """
            name: flaky
            kind: noop
            schedule: "0 * * * *"
            timezone: UTC
            fail: true
            retry: {attempts: 3, backoff: 1h}
            """
        ])
        let tick = try Self.tick(fixture, "2026-01-05T00:00:00Z")
        #expect(tick.status == 1, "\(tick.transcript)")
        #expect(tick.stdout.contains("attempt 1: retrying"))
        let again = try Self.tick(fixture, "2026-01-05T00:00:30Z")
        #expect(again.status == 0 && again.stdout == "nothing due\n", "\(again.transcript)")
        let run = try #require(try fixture.run(job: "flaky", slot: Self.minute(0)))
        #expect(run.status == "pending")
        #expect(run.failures == 1)
        #expect(run.attempt == 1)
    }

    @Test func aPausedJobClaimsNothingAndResumesWithoutCatchingUp() throws {
        let fixture = try EngineFixture(jobs: [
            "often.yaml": """
            name: often
            kind: noop
            schedule: "* * * * *"
            timezone: UTC
            catch_up: all
            """
        ])
        #expect(try Self.tick(fixture, "2026-01-05T00:00:00Z").status == 0)
        let pause = try fixture.run(["jobs", "pause", "often"])
        #expect(pause.status == 0 && pause.stdout == "often: paused\n", "\(pause.transcript)")
        for now in ["2026-01-05T00:01:00Z", "2026-01-05T00:05:00Z"] {
            let tick = try Self.tick(fixture, now)
            #expect(tick.status == 0 && tick.stdout == "nothing due\n", "\(tick.transcript)")
        }
        let list = try fixture.run(["jobs", "list"])
        #expect(list.stdout.contains("paused"), "\(list.stdout)")
        // A cursor left behind, as when no runner ticked during the pause: resuming moves it to now.
        try fixture.connect().execute("UPDATE job_state SET scheduled_through = '2026-01-05T00:00:30Z' WHERE job = 'often'")
        let resume = try fixture.run(["jobs", "resume", "often", "--now", "2026-01-05T00:05:30Z"])
        #expect(resume.status == 0 && resume.stdout == "often: resumed\n", "\(resume.transcript)")
        let tick = try Self.tick(fixture, "2026-01-05T00:06:00Z")
        #expect(tick.status == 0, "\(tick.transcript)")
        // The slots of the pause have no rows at all (catch_up: all would otherwise run them).
        #expect(try fixture.runs(job: "often").map(\.slot) == [Self.minute(0), Self.minute(6)])
        #expect(try fixture.runs(job: "often").allSatisfy { $0.status == "succeeded" })
    }

    @Test func aPausedJobDoesNotStartItsPendingRetry() throws {
        let fixture = try EngineFixture(jobs: [
            "flaky.yaml": """
            name: flaky
            kind: noop
            schedule: "0 * * * *"
            timezone: UTC
            fail: true
            retry: {attempts: 3, backoff: 1s}
            """
        ])
        #expect(try Self.tick(fixture, "2026-01-05T00:00:00Z").status == 1)
        #expect(try fixture.run(["jobs", "pause", "flaky"]).status == 0)
        Thread.sleep(forTimeInterval: 1.5)  // the backoff has passed: only the pause holds the retry back
        let paused = try Self.tick(fixture, "2026-01-05T00:00:30Z")
        #expect(paused.status == 0 && paused.stdout == "nothing due\n", "\(paused.transcript)")
        #expect(try fixture.run(job: "flaky", slot: Self.minute(0))?.failures == 1)

        #expect(try fixture.run(["jobs", "resume", "flaky"]).status == 0)
        let resumed = try Self.tick(fixture, "2026-01-05T00:00:40Z")
        #expect(resumed.stdout.contains("attempt 2: retrying"), "\(resumed.transcript)")
        #expect(try fixture.run(job: "flaky", slot: Self.minute(0))?.failures == 2)
    }

    @Test func aRunLongerThanItsTimeoutFailsAsTimedOut() throws {
        let fixture = try EngineFixture(jobs: [
            "slow.yaml": """
            name: slow
            kind: noop
            manual_only: true
            chunks: 20
            sleep_ms: 300
            timeout: 1s
            """
        ])
        let run = try fixture.run(["run", "slow", "--at", "2026-01-05T00:00:00Z", "--workers", "1"])
        #expect(run.status == 1, "\(run.transcript)")
        #expect(run.stdout.contains("attempt 1: failed"), "\(run.stdout)")
        #expect(run.stdout.contains("timed out after 1s"), "\(run.stdout)")
        let row = try #require(try fixture.run(job: "slow", slot: Self.minute(0)))
        #expect(row.status == "failed")
        #expect(row.error == "timed out after 1s")
        #expect(row.chunkRows >= 1 && row.chunkRows < 20)
    }

    @Test func aRetryOfATimedOutRunGetsTheWholeTimeoutAgain() throws {
        let fixture = try EngineFixture(jobs: [
            "slow.yaml": """
            name: slow
            kind: noop
            schedule: "0 * * * *"
            timezone: UTC
            chunks: 30
            sleep_ms: 300
            timeout: 1s
            retry: {attempts: 2, backoff: 2s}
            """
        ])
        let first = try Self.tick(fixture, "2026-01-05T00:00:00Z", ["--workers", "1"])
        #expect(first.status == 1, "\(first.transcript)")
        #expect(first.stdout.contains("attempt 1: retrying"), "\(first.stdout)")
        let afterFirst = try #require(try fixture.run(job: "slow", slot: Self.minute(0)))
        Thread.sleep(forTimeInterval: 2.5)  // the backoff

        let second = try Self.tick(fixture, "2026-01-05T00:00:30Z", ["--workers", "1"])
        #expect(second.status == 1, "\(second.transcript)")
        #expect(second.stdout.contains("attempt 2: failed"), "\(second.stdout)")
        let run = try #require(try fixture.run(job: "slow", slot: Self.minute(0)))
        #expect(run.error == "timed out after 1s")
        // The retry worked for its own second, resuming after the first attempt's chunks.
        let chunks = try fixture.committedChunks(run.id)
        #expect(chunks.values.filter { $0 == 1 }.count == afterFirst.chunkRows)
        #expect(chunks.values.filter { $0 == 2 }.count >= 1, "the retry timed out before doing anything")
    }
}
