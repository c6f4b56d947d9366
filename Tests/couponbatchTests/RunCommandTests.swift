import Foundation
import Postgres
import TestSupport
import Testing

/// `run`, `runs`, `jobs` and `cron` as users and scripts see them.
@Suite("Run and ledger commands")
struct RunCommandTests {
    static let jobs = [
        "ok.yaml": """
        name: ok
        kind: noop
        manual_only: true
        chunks: 2
        """,
        "bad.yaml": """
        name: bad
        kind: noop
        manual_only: true
        fail: true
        """,
        "morning.yaml": """
        name: morning
        kind: noop
        schedule: "0 9 * * *"
        timezone: Asia/Shanghai
        """,
    ]

    @Test func kickingTheSameSlotTwiceIsOneRunAndTheSecondPrintsTheFirstsResult() throws {
        let fixture = try EngineFixture(jobs: Self.jobs)
        let first = try fixture.run(["run", "ok", "--at", "2026-01-05T00:00:00Z"])
        #expect(first.status == 0, "\(first.transcript)")
        #expect(
            first.stdout.hasPrefix("run 1 ok slot 2026-01-05T08:00:00+08:00 attempt 1: succeeded"), "\(first.stdout)")
        let second = try fixture.run(["run", "ok", "--at", "2026-01-05T08:00:00+08:00"])
        #expect(second.status == 0, "\(second.transcript)")
        #expect(second.stdout.hasPrefix("run 1 of ok at this slot already exists; its result:\n"), "\(second.stdout)")
        #expect(second.stdout.contains("status    succeeded"))
        let json = try fixture.run(["run", "ok", "--at", "2026-01-05T00:00:00Z", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["id"] as? Int == 1)
        #expect(object["status"] as? String == "succeeded")
        let runs = try fixture.runs()
        #expect(runs.count == 1)
        #expect(runs.first?.attempt == 1)
        #expect(runs.first?.chunkRows == 2)
    }

    @Test func aDryRunShowsThePlanAndWritesNothing() throws {
        let fixture = try EngineFixture(jobs: Self.jobs)
        let dry = try fixture.run(["run", "ok", "--at", "2026-01-05T00:00:00Z", "--dry-run"])
        #expect(dry.status == 0, "\(dry.transcript)")
        #expect(
            dry.stdout == """
                dry run of ok (noop) at 2026-01-05T08:00:00+08:00; nothing written
                chunks           2
                sleep per chunk  0 ms
                fails            no

                """)
        let json = try fixture.run(["run", "ok", "--dry-run", "--json"])
        #expect(json.stdout.hasPrefix(#"{"lines":[{"label":"chunks","value":"2"}"#), "\(json.stdout)")
        #expect(try fixture.runs().isEmpty)
        #expect(try fixture.connect().query("SELECT 1 FROM job_state").isEmpty)
    }

    @Test func jobsNextPrintsTheComingSlotsInTheJobsZone() throws {
        let fixture = try EngineFixture(jobs: Self.jobs)
        let next = try fixture.run(["jobs", "next", "morning", "--count", "3"])
        #expect(next.status == 0, "\(next.transcript)")
        let lines = next.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines.allSatisfy { $0.hasSuffix("T09:00:00+08:00") }, "\(lines)")
        #expect(lines == lines.sorted() && Set(lines).count == 3)
        let manual = try fixture.run(["jobs", "next", "ok"])
        #expect(manual.stdout == "ok runs only by hand (manual_only: true)\n")
        let unknown = try fixture.run(["jobs", "next", "nope"])
        #expect(unknown.status == 78)
    }

    @Test func twoSimultaneousKicksOfOneSlotRunItOnce() throws {
        let fixture = try EngineFixture(jobs: [
            "kick.yaml": """
            name: kick
            kind: noop
            manual_only: true
            chunks: 5
            sleep_ms: 200
            """
        ])
        let kicks = try (0..<2).map { _ in
            try fixture.start(["run", "kick", "--at", "2026-01-05T00:00:00Z", "--workers", "1"])
        }
        let results = kicks.map { $0.wait() }
        let ran = results.filter { $0.stdout.contains("attempt 1: succeeded") }
        #expect(ran.count == 1, "\(results.map(\.transcript))")
        #expect(ran.first?.status == 0)
        // The other saw the run in progress (exit 75, try again) or already finished (exit 0).
        let other = try #require(results.first { !$0.stdout.contains("attempt 1: succeeded") })
        #expect(other.status == 75 || other.status == 0, "\(other.transcript)")
        let runs = try fixture.runs()
        #expect(runs.count == 1)
        // Which kick drew the lower id from the sequence is a race; the message names the one run.
        let id = try #require(runs.first?.id)
        #expect(other.stdout.hasPrefix("run \(id) of kick at this slot already exists"), "\(other.transcript)")
        #expect(runs.first?.attempt == 1)
        #expect(runs.first?.chunkRows == 5)
    }

    @Test func runsJSONIsOneObjectALineWithTheSameKeysWhateverTheStatus() throws {
        let fixture = try EngineFixture(jobs: Self.jobs)
        #expect(try fixture.run(["run", "ok", "--at", "2026-01-05T00:00:00Z"]).status == 0)
        #expect(try fixture.run(["run", "bad", "--at", "2026-01-05T00:00:00Z"]).status == 1)
        #expect(try fixture.run(["tick", "--now", "2026-01-05T01:00:00Z"]).status == 0)
        #expect(try fixture.run(["tick", "--now", "2026-01-07T01:00:00Z"]).status == 0)
        try fixture.connect().execute(
            """
            INSERT INTO job_runs (job, slot, trigger, status, attempt, owner, lease_until, started_at) VALUES
                ('ok', '2026-01-08T00:00:00Z', 'manual', 'pending', 0, NULL, NULL, NULL),
                ('ok', '2026-01-09T00:00:00Z', 'manual', 'running', 1, 'elsewhere', now() + interval '1 minute', now())
            """)
        let result = try fixture.run(["runs", "--json", "--limit", "100"])
        #expect(result.status == 0, "\(result.transcript)")
        let lines = result.stdout.split(separator: "\n")
        let objects = try lines.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
        }
        #expect(
            Set(objects.compactMap { $0["status"] as? String })
                == ["succeeded", "failed", "skipped", "pending", "running"])
        let keys: Set<String> = [
            "id", "job", "slot", "trigger", "status", "attempt", "failures", "owner", "lease_until", "counts",
            "chunks_done", "chunks_total", "note", "error", "created_at", "started_at", "finished_at",
        ]
        for object in objects {
            #expect(Set(object.keys) == keys, "\(object)")
        }
        // Newest slot first.
        let slots = objects.compactMap { $0["slot"] as? String }
        #expect(slots == slots.sorted(by: >))
        let filtered = try fixture.run(["runs", "--json", "--status", "failed"])
        #expect(filtered.stdout.split(separator: "\n").count == 1)
        #expect(filtered.stdout.contains(#""job":"bad""#))
    }

    @Test func runsShowPrintsOneRunInFullAndAnUnknownIDExits65() throws {
        let fixture = try EngineFixture(jobs: Self.jobs)
        #expect(try fixture.run(["run", "bad", "--at", "2026-01-05T00:00:00Z"]).status == 1)
        let show = try fixture.run(["runs", "show", "1"])
        #expect(show.status == 0, "\(show.transcript)")
        for line in [
            "job       bad", "slot      2026-01-05T08:00:00+08:00", "trigger   manual", "status    failed",
            "attempt   1", "failures  1", "chunks    0/1",
            "error     chunk 0: the job is configured to fail (fail: true)",
        ] {
            #expect(show.stdout.contains(line + "\n"), "\(line) in \(show.stdout)")
        }
        // People see the job's zone (Asia/Shanghai by default) unless --tz names another; JSON stays UTC.
        let inUTC = try fixture.run(["runs", "show", "1", "--tz", "UTC"])
        #expect(inUTC.stdout.contains("slot      2026-01-05T00:00:00+00:00\n"), "\(inUTC.stdout)")
        let inNewYork = try fixture.run(["runs", "--tz", "America/New_York"])
        #expect(inNewYork.stdout.contains("2026-01-04T19:00:00-05:00"), "\(inNewYork.stdout)")
        let json = try fixture.run(["runs", "show", "1", "--json"])
        #expect(json.stdout.contains(#""slot":"2026-01-05T00:00:00Z""#), "\(json.stdout)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["id"] as? Int == 1)
        #expect(object["status"] as? String == "failed")
        let missing = try fixture.run(["runs", "show", "999"])
        #expect(missing.status == 65)
        #expect(missing.stderr == "couponbatch: no run with id 999\n")
    }

    @Test func jobsListShowsEachJobsNextDueTimeStateAndLastRun() throws {
        let fixture = try EngineFixture(jobs: Self.jobs)
        #expect(try fixture.run(["run", "morning", "--at", "2026-01-05T01:00:00Z"]).status == 0)
        #expect(try fixture.run(["jobs", "pause", "ok"]).status == 0)
        let before = Self.nextMorning(after: Date())
        let list = try fixture.run(["jobs", "list"])
        let after = Self.nextMorning(after: Date())
        #expect(list.status == 0, "\(list.transcript)")
        let rows = list.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(rows.first == ["JOB", "KIND", "SCHEDULE", "ZONE", "NEXT", "DUE", "STATE", "LAST", "RUN"])
        let morning = try #require(rows.first { $0.first == "morning" }).map(String.init)
        #expect(Array(morning.prefix(8)) == ["morning", "noop", "0", "9", "*", "*", "*", "Asia/Shanghai"])
        #expect(morning[8] == before || morning[8] == after, "next due \(morning[8])")
        #expect(Array(morning.suffix(4)) == ["active", "1", "succeeded", "(2026-01-05T09:00:00+08:00)"])
        let ok = try #require(rows.first { $0.first == "ok" }).map(String.init)
        #expect(ok == ["ok", "noop", "manual", "Asia/Shanghai", "-", "paused", "never"])
    }

    /// The next 09:00 in Shanghai after `date`, as `jobs list` prints it.
    static func nextMorning(after date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai") ?? .gmt
        let next = calendar.nextDate(after: date, matching: DateComponents(hour: 9, minute: 0), matchingPolicy: .strict)
        let day = calendar.dateComponents([.year, .month, .day], from: next ?? date)
        return String(format: "%04d-%02d-%02dT09:00:00+08:00", day.year ?? 0, day.month ?? 0, day.day ?? 0)
    }

    @Test(
        "cron next steps over daylight saving changes",
        arguments: [
            // 02:30 does not exist on 2026-03-08 in New York: that day's firing is at 03:00 EDT.
            (
                "30 2 * * *", "2026-03-07T12:00:00Z",
                ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"]
            ),
            // 01:30 happens twice on 2026-11-01: the job fires once, at the first.
            (
                "30 1 * * *", "2026-10-31T12:00:00Z",
                ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00", "2026-11-03T01:30:00-05:00"]
            ),
        ])
    func cronNextStepsOverDaylightSavingChanges(expression: String, from: String, expected: [String]) throws {
        let result = try Couponbatch.run([
            "cron", "next", expression, "--tz", "America/New_York", "--from", from, "--count", "3",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == expected.joined(separator: "\n") + "\n")
    }

    @Test func validatingABadJobFileExits78WithFileLineAndColumnOfEachError() throws {
        let fixture = try EngineFixture(jobs: [
            "bad.yaml": """
            name: bad
            kind: noop
            schedule: "61 * * * *"
            concurency: forbid
            """
        ])
        let file = fixture.jobsDir + "/bad.yaml"
        for arguments in [["jobs", "validate", file], ["jobs", "validate"]] {
            let result = try fixture.run(arguments)
            #expect(result.status == 78, "\(result.transcript)")
            #expect(result.stdout.isEmpty)
            let lines = result.stderr.replacingOccurrences(of: "couponbatch: ", with: "").split(separator: "\n")
            #expect(
                lines == [
                    "\(file):3:11: schedule: minute field \"61\": value 61 out of range 0-59",
                    "\(file):4:1: concurency: unknown field \"concurency\" (did you mean \"concurrency\"?)",
                ], "\(result.stderr)")
        }
        // The commands that run jobs refuse a bad jobs directory the same way.
        let tick = try fixture.run(["tick", "--now", "2026-01-05T00:00:00Z"])
        #expect(tick.status == 78)
        #expect(tick.stderr.contains("\(file):3:11: schedule:"))
    }

    @Test func cronNextSaysSoAndExits65WhenAnExpressionNeverFires() throws {
        let never = try Couponbatch.run(["cron", "next", "0 0 30 2 *"])
        #expect(never.status == 65, "\(never.transcript)")
        #expect(never.stdout.isEmpty)
        #expect(never.stderr.contains("never fires"))
        let leap = try Couponbatch.run(["cron", "next", "0 0 29 2 *", "--from", "2026-01-01T00:00:00Z", "--count", "1"])
        #expect(leap.stdout == "2028-02-29T00:00:00+08:00\n", "\(leap.transcript)")
    }
}
