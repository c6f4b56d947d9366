import Foundation
import Synchronization
import TestSupport
import Testing

/// Several runner processes — schedulers on a driven clock and cron-style ticks — against one
/// database: every (job, slot) gets exactly one row, and every run that ran did all its chunks once.
@Suite("Exactly once across runners")
struct ExactlyOnceTests {
    /// Runs last about as long as the slots are apart (a simulated minute is a real second), so
    /// runs overlap, forbid skips, and SIGTERM catches some mid-run.
    static let jobs = [
        // No policy may skip a slot of this one: catch_up all, overlapping runs allowed.
        "minutely.yaml": """
        name: minutely
        kind: noop
        schedule: "* * * * *"
        timezone: UTC
        concurrency: allow
        catch_up: all
        chunks: 3
        sleep_ms: 300
        """,
        // Skips only for concurrency: forbid.
        "even.yaml": """
        name: even
        kind: noop
        schedule: "*/2 * * * *"
        timezone: UTC
        concurrency: forbid
        catch_up: all
        chunks: 4
        sleep_ms: 700
        """,
        // Skips for concurrency: forbid or catch_up: latest.
        "third.yaml": """
        name: third
        kind: noop
        schedule: "*/3 * * * *"
        timezone: UTC
        catch_up: latest
        chunks: 3
        sleep_ms: 500
        """,
    ]

    static let chunks = ["minutely": 3, "even": 4, "third": 3]
    static let stepMinutes = ["minutely": 1, "even": 2, "third": 3]
    static let allowedSkips = [
        "minutely": [String](),
        "even": ["concurrency: forbid"],
        "third": ["concurrency: forbid", "catch_up: latest"],
    ]

    @Test func threeSchedulersAndTicksRunEverySlotExactlyOnce() throws {
        let fixture = try EngineFixture(jobs: Self.jobs)
        let start = Instant.parse("2026-01-05T00:00:00Z")
        let end = start.addingTimeInterval(20 * 60)

        // The first slot, deterministically: every job's cursor starts just before 00:00.
        let first = try fixture.run(["tick", "--now", Instant.text(start)])
        try #require(first.status == 0, "\(first.transcript)")

        // Three schedulers: one simulated minute per real second, leases short enough to lapse.
        let schedulers = try (0..<3).map { _ in
            try fixture.start([
                "scheduler", "--start-at", Instant.text(start), "--time-scale", "60", "--workers", "2",
                "--lease-seconds", "3", "--poll-seconds", "0.5", "--grace-seconds", "10",
            ])
        }
        // Meanwhile, ticks at instants around the schedulers' clocks (some behind, some ahead).
        let realStart = Date()
        let ticking = TickLoop()
        let ticker = DispatchGroup()
        ticker.enter()
        Thread.detachNewThread {
            defer { ticker.leave() }
            while !ticking.stop.load(ordering: .acquiring) {
                let simulated = Date().timeIntervalSince(realStart) * 60 + Double.random(in: -45...45)
                let now = start.addingTimeInterval(max(0, simulated))
                guard let result = try? fixture.run(["tick", "--now", Instant.text(now), "--lease-seconds", "3"])
                else { return }
                ticking.results.withLock { $0.append(result) }
            }
        }
        Thread.sleep(forTimeInterval: 12)
        for scheduler in schedulers { scheduler.signal(SIGTERM) }
        ticking.stop.store(true, ordering: .releasing)
        let stopped = schedulers.map { $0.wait(seconds: 60) }
        ticker.wait()
        for result in stopped {
            #expect(result?.status == 0, "\(result?.transcript ?? "still running 60 s after SIGTERM")")
        }
        let ticks = ticking.results.withLock { $0 }
        #expect(ticks.count >= 3)
        for tick in ticks {
            #expect(tick.status == 0, "\(tick.transcript)")
        }

        // Whatever the runners left (released runs, slots after their clocks) is finished here;
        // a second tick then finds nothing at all to do.
        let last = try fixture.run(["tick", "--now", Instant.text(end)])
        #expect(last.status == 0, "\(last.transcript)")
        let again = try fixture.run(["tick", "--now", Instant.text(end)])
        #expect(again.status == 0 && again.stdout == "nothing due\n", "\(again.transcript)")

        let runs = try fixture.runs()
        for (job, step) in Self.stepMinutes {
            let mine = runs.filter { $0.job == job }
            let expected = stride(from: 0, through: 20, by: step).map { start.addingTimeInterval(Double($0 * 60)) }
            #expect(mine.map(\.slot) == expected, "\(job): one row per cron slot from 00:00 to 00:20")
            for run in mine {
                switch run.status {
                case "succeeded":
                    let chunks = Self.chunks[job] ?? 0
                    #expect(run.chunkRows == chunks, "\(job) \(run.slot): \(run.chunkRows) chunk rows")
                    #expect(run.distinctChunks == chunks)
                    #expect(run.countedChunks == chunks, "\(job) \(run.slot): counts.chunks \(run.countedChunks)")
                    #expect(run.attempt >= 1)
                case "skipped":
                    let reason = run.error ?? ""
                    #expect(
                        Self.allowedSkips[job, default: []].contains { reason.contains($0) },
                        "\(job) \(run.slot) skipped: \(reason)")
                    #expect(run.chunkRows == 0)
                default:
                    Issue.record(
                        "\(job) \(run.slot) left \(run.status) (attempt \(run.attempt), error \(run.error ?? "-"))")
                }
            }
        }
        // The work really was shared: runs were started by more than one process.
        let owners = Set(runs.compactMap(\.owner))
        #expect(owners.count >= 2, "owners: \(owners)")
    }
}

/// What the tick loop thread shares with the test.
final class TickLoop: Sendable {
    let stop = Atomic<Bool>(false)
    let results = Mutex<[CommandResult]>([])
}
