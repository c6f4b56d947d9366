import Foundation
import TestSupport
import Testing

/// The scheduler daemon picks up changed job files and keeps working through bad ones.
@Suite("Scheduler reloads job files")
struct SchedulerReloadTests {
    @Test func aJobFileAddedWhileTheSchedulerRunsIsScheduledAndABrokenOneIsIgnored() throws {
        let fixture = try EngineFixture(jobs: [
            "first.yaml": """
            name: first
            kind: noop
            schedule: "0 0 1 1 *"
            timezone: UTC
            """
        ])
        // One simulated minute per real second.
        let scheduler = try fixture.start([
            "scheduler", "--start-at", "2026-01-05T00:00:30Z", "--time-scale", "60", "--poll-seconds", "0.5",
        ])
        Thread.sleep(forTimeInterval: 1)
        let broken = fixture.jobsDir + "/broken.yaml"
        try Data("name: broken\nkind: noop\nschedule: \"every minute\"\n".utf8).write(to: URL(fileURLWithPath: broken))
        let refused = eventually(within: 20) {
            scheduler.stderrSoFar.contains("job files are invalid; keeping the previous definitions")
        }
        #expect(refused, "\(scheduler.stderrSoFar)")
        try FileManager.default.removeItem(atPath: broken)
        try Data(
            """
            name: added
            kind: noop
            schedule: "* * * * *"
            timezone: UTC
            """.utf8
        ).write(to: URL(fileURLWithPath: fixture.jobsDir + "/added.yaml"))

        let scheduled = try eventually(within: 30) {
            try fixture.runs(job: "added").filter { $0.status == "succeeded" }.count >= 2
        }
        scheduler.signal(SIGTERM)
        let stopped = scheduler.wait(seconds: 30)
        #expect(scheduled, "\(scheduler.stderrSoFar)")
        #expect(stopped?.status == 0, "\(stopped?.transcript ?? "still running")")
        #expect(stopped?.stderr.contains("job files changed; reloaded") == true)
        #expect(try fixture.runs(job: "broken").isEmpty)
        // Whole minutes only, each once.
        let slots = try fixture.runs(job: "added").map(\.slot)
        #expect(slots.allSatisfy { Int($0.timeIntervalSince1970) % 60 == 0 })
        #expect(Set(slots).count == slots.count)
    }
}
