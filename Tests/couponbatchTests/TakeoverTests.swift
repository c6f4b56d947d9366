import Foundation
import TestSupport
import Testing

/// A runner that dies or is stopped mid-run: the next runner resumes after the last committed
/// chunk, and the run finishes once with every chunk done once.
@Suite("Takeover of interrupted runs")
struct TakeoverTests {
    static let slot = "2026-01-05T00:00:00Z"

    @Test func aRunKilledMidwayIsTakenOverAndResumesAfterItsLastCommittedChunk() throws {
        let fixture = try EngineFixture(jobs: [
            "long.yaml": """
            name: long
            kind: noop
            manual_only: true
            chunks: 20
            sleep_ms: 200
            """
        ])
        let runArguments = ["run", "long", "--at", Self.slot, "--lease-seconds", "2", "--workers", "1"]
        let first = try fixture.start(runArguments)
        let slot = Instant.parse(Self.slot)
        // Kill -9 once some chunks (not all) have committed.
        let someCommitted = try eventually(within: 30) {
            guard let run = try fixture.run(job: "long", slot: slot) else { return false }
            return run.chunkRows >= 3
        }
        first.signal(SIGKILL)
        let killed = first.wait(seconds: 10)
        try #require(someCommitted && killed != nil, "\(first.stderrSoFar)")
        let byFirstAttempt = try fixture.committedChunks(try #require(try fixture.run(job: "long", slot: slot)).id)
        #expect(byFirstAttempt.count < 20, "the run finished before it was killed")
        #expect(byFirstAttempt.values.allSatisfy { $0 == 1 })

        // The dead runner's lease lapses (no heartbeat), then the same kick takes the run over.
        let lapsed = try eventually(within: 15) { try fixture.run(job: "long", slot: slot)?.leaseLapsed == true }
        try #require(lapsed)
        let second = try fixture.run(runArguments)
        #expect(second.status == 0, "\(second.transcript)")
        #expect(second.stdout.contains("attempt 2: succeeded"), "\(second.stdout)")

        let run = try #require(try fixture.run(job: "long", slot: slot))
        #expect(run.status == "succeeded")
        #expect(run.attempt == 2)
        #expect(run.chunkRows == 20)
        #expect(run.distinctChunks == 20)
        #expect(run.countedChunks == 20)
        let chunks = try fixture.committedChunks(run.id)
        #expect(Set(chunks.keys) == Set(0..<20))
        // What attempt 1 committed stays attempt 1's: resumed, not redone.
        for (chunk, attempt) in byFirstAttempt {
            #expect(chunks[chunk] == attempt, "chunk \(chunk) was redone")
        }
        #expect(chunks.filter { $0.value == 2 }.count == 20 - byFirstAttempt.count)
    }

    @Test func sigtermStopsAManualRunBetweenChunksReleasesItsLeaseAndExits75() throws {
        let fixture = try EngineFixture(jobs: [
            "long.yaml": """
            name: long
            kind: noop
            manual_only: true
            chunks: 20
            sleep_ms: 200
            """
        ])
        let slot = Instant.parse(Self.slot)
        let run = try fixture.start(["run", "long", "--at", Self.slot, "--workers", "1"])
        let midway = try eventually(within: 30) { (try fixture.run(job: "long", slot: slot)?.chunkRows ?? 0) >= 2 }
        try #require(midway, "\(run.stderrSoFar)")
        run.signal(SIGTERM)
        let stopped = run.wait(seconds: 20)
        #expect(stopped?.status == 75, "\(stopped?.transcript ?? "still running")")
        #expect(stopped?.stdout.contains("attempt 1: released") == true)
        let row = try #require(try fixture.run(job: "long", slot: slot))
        #expect(row.status == "running" && row.owner == nil && row.leaseLapsed)
        // The stopping runner took nothing more, not even the run it had just released.
        #expect(row.attempt == 1)
        #expect(stopped?.stdout.split(separator: "\n").count == 1, "\(stopped?.stdout ?? "")")
        // Kicked again, it resumes at once.
        let again = try fixture.run(["run", "long", "--at", Self.slot])
        #expect(again.status == 0 && again.stdout.contains("attempt 2: succeeded"), "\(again.transcript)")
        #expect(try fixture.run(job: "long", slot: slot)?.chunkRows == 20)
    }

    @Test func aSchedulerTakesOverARunWhoseRunnerWasKilledWithoutNewSlots() throws {
        let fixture = try EngineFixture(jobs: [
            "long.yaml": """
            name: long
            kind: noop
            manual_only: true
            chunks: 12
            sleep_ms: 200
            """
        ])
        let slot = Instant.parse(Self.slot)
        let first = try fixture.start(["run", "long", "--at", Self.slot, "--lease-seconds", "2", "--workers", "1"])
        let midway = try eventually(within: 30) { (try fixture.run(job: "long", slot: slot)?.chunkRows ?? 0) >= 2 }
        first.signal(SIGKILL)
        try #require(midway && first.wait(seconds: 10) != nil)

        // Nothing of this job is ever due: the scheduler finds the run only by its lapsed lease.
        let scheduler = try fixture.start(["scheduler", "--poll-seconds", "0.5", "--lease-seconds", "2"])
        let finished = try eventually(within: 30) { try fixture.run(job: "long", slot: slot)?.status == "succeeded" }
        scheduler.signal(SIGTERM)
        let stopped = scheduler.wait(seconds: 30)
        #expect(finished, "\(scheduler.stderrSoFar)")
        #expect(stopped?.status == 0)
        #expect(stopped?.stdout.contains("attempt 2: succeeded") == true, "\(stopped?.stdout ?? "")")
        let run = try #require(try fixture.run(job: "long", slot: slot))
        #expect(run.attempt == 2)
        #expect(run.chunkRows == 12)
        #expect(run.countedChunks == 12)
    }

    @Test func heartbeatsKeepTheLeaseOfARunWhoseChunksOutlastIt() throws {
        let fixture = try EngineFixture(jobs: [
            "slowchunks.yaml": """
            name: slowchunks
            kind: noop
            manual_only: true
            chunks: 2
            sleep_ms: 2500
            """
        ])
        let slot = Instant.parse(Self.slot)
        let arguments = ["run", "slowchunks", "--at", Self.slot, "--lease-seconds", "1", "--workers", "1"]
        let owner = try fixture.start(arguments)
        let started = try eventually(within: 30) { try fixture.run(job: "slowchunks", slot: slot)?.status == "running" }
        try #require(started, "\(owner.stderrSoFar)")
        // Well past the one-second lease, mid-chunk, others find the run still held.
        Thread.sleep(forTimeInterval: 1.5)
        let kick = try fixture.run(arguments)
        #expect(kick.status == 75, "\(kick.transcript)")
        #expect(
            kick.stdout.split(separator: "\n").contains { $0.hasPrefix("status ") && $0.hasSuffix(" running") },
            "\(kick.stdout)")
        let tick = try fixture.run(["tick", "--now", Self.slot, "--lease-seconds", "1"])
        #expect(tick.status == 0 && tick.stdout == "nothing due\n", "\(tick.transcript)")

        let result = owner.wait(seconds: 30)
        #expect(result?.status == 0, "\(result?.transcript ?? "still running")")
        #expect(result?.stdout.contains("attempt 1: succeeded") == true)
        let run = try #require(try fixture.run(job: "slowchunks", slot: slot))
        #expect(run.status == "succeeded")
        #expect(run.attempt == 1)
        #expect(run.chunkRows == 2)
    }

    @Test func sigtermStopsTheSchedulerBetweenChunksReleasesTheLeaseAndAnotherRunnerFinishes() throws {
        let fixture = try EngineFixture(jobs: [
            "nightly.yaml": """
            name: nightly
            kind: noop
            schedule: "0 0 * * *"
            timezone: UTC
            chunks: 30
            sleep_ms: 200
            """
        ])
        let slot = Instant.parse(Self.slot)
        // Ten seconds after midnight: the first pass finds the 00:00 slot due and starts it.
        let scheduler = try fixture.start([
            "scheduler", "--start-at", "2026-01-05T00:00:10Z", "--workers", "1", "--lease-seconds", "30",
            "--grace-seconds", "20",
        ])
        let midway = try eventually(within: 30) { (try fixture.run(job: "nightly", slot: slot)?.chunkRows ?? 0) >= 3 }
        try #require(midway, "\(scheduler.stderrSoFar)")
        scheduler.signal(SIGTERM)
        let stopped = scheduler.wait(seconds: 20)
        #expect(stopped?.status == 0, "\(stopped?.transcript ?? "still running 20 s after SIGTERM")")
        #expect(stopped?.stdout.contains("attempt 1: released") == true, "\(stopped?.stdout ?? "")")

        // Released, not finished: still running, no owner, lease already lapsed (not 30 s away).
        let released = try #require(try fixture.run(job: "nightly", slot: slot))
        #expect(released.status == "running")
        #expect(released.owner == nil)
        #expect(released.leaseLapsed)
        #expect(released.chunkRows < 30)
        let byFirstAttempt = try fixture.committedChunks(released.id)

        // Another runner takes it over at once and does only the rest.
        let tick = try fixture.run(["tick", "--now", "2026-01-05T00:00:30Z"])
        #expect(tick.status == 0, "\(tick.transcript)")
        let run = try #require(try fixture.run(job: "nightly", slot: slot))
        #expect(run.status == "succeeded")
        #expect(run.attempt == 2)
        #expect(run.chunkRows == 30)
        #expect(run.countedChunks == 30)
        let chunks = try fixture.committedChunks(run.id)
        for (chunk, attempt) in byFirstAttempt {
            #expect(chunks[chunk] == attempt, "chunk \(chunk) was redone")
        }
    }
}
