import ArgumentParser
import CouponKit
import Foundation

extension Couponbatch {
    struct Jobs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Inspect, validate, pause and resume jobs.",
            subcommands: [List.self, Validate.self, Next.self, Pause.self, Resume.self], defaultSubcommand: List.self)

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List jobs: kind, schedule, zone, next due time, last run and its status.")

            @OptionGroup var global: GlobalOptions

            @Flag(help: "One JSON object a line.")
            var json = false

            func run() throws {
                _ = global.makeLogger()
                let deployment = try global.loadDeployment()
                let connection = try? global.connect()
                let latest = (try? connection.map(RunQueries.latestByJob)) ?? nil
                let paused = (try? connection.map(RunQueries.pausedJobs)) ?? nil
                let times = global.timeDisplay(deployment)
                var table = TextTable(header: ["JOB", "KIND", "SCHEDULE", "ZONE", "NEXT DUE", "STATE", "LAST RUN"])
                for job in deployment.jobs {
                    let next = job.schedule?.next(after: Date(), in: job.timeZone)
                    let last = latest?[job.name]
                    let state = paused?.contains(job.name) == true ? "paused" : "active"
                    if json {
                        RunOutput.printJSON(JobJSON(
                            name: job.name, kind: job.kind.rawValue, schedule: job.schedule?.description, timezone: job.timeZone.identifier,
                            next_due: next, paused: state == "paused", last_run_id: last?.id, last_run_status: last?.status))
                        continue
                    }
                    table.add([
                        job.name, job.kind.rawValue, job.schedule?.description ?? job.trigger.map { "on \($0.eventType)" } ?? "manual",
                        job.timeZone.identifier,
                        next.map { times.text($0, job: job.name) } ?? "-", state,
                        last.map { "\($0.id) \($0.status) (\(times.text($0.slot, job: job.name)))" } ?? "never",
                    ])
                }
                if !json { print(deployment.jobs.isEmpty ? "no jobs in \(global.jobsDir)" : table.render()) }
                if connection == nil && !json { print("(database unreachable: last runs and pause state not shown)") }
            }

            struct JobJSON: Encodable {
                let name: String
                let kind: String
                let schedule: String?
                let timezone: String
                /// UTC ISO 8601, like every time in JSON.
                let next_due: Date?
                let paused: Bool
                let last_run_id: Int64?
                let last_run_status: String?
            }
        }

        struct Validate: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Check job, template and plan files; print every error as FILE:LINE:COLUMN: field: message.")

            @OptionGroup var global: GlobalOptions

            @Argument(help: "Files to check (default: everything in --jobs-dir).")
            var files: [String] = []

            func run() throws {
                let deployment =
                    files.isEmpty
                    ? try DefinitionLoader.load(directory: global.jobsDir)
                    : try DefinitionLoader.validate(files: files, directory: global.jobsDir)
                print(
                    "ok: \(deployment.jobs.count) jobs, \(deployment.templates.count) templates, \(deployment.plans.count) plans")
            }
        }

        struct Next: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print a job's next due slots.")

            @OptionGroup var global: GlobalOptions

            @Argument(help: "The job's name.")
            var job: String

            @Option(help: "How many slots.")
            var count: Int = 5

            func run() throws {
                let deployment = try global.loadDeployment()
                guard let definition = deployment.job(named: job) else { throw ConfigurationError("no job named \"\(job)\"") }
                guard let schedule = definition.schedule else {
                    print("\(job) runs only by hand (manual_only: true)")
                    return
                }
                let times = global.timeDisplay(deployment)
                for slot in schedule.next(after: Date(), in: definition.timeZone, count: count) {
                    print(times.text(slot, job: job))
                }
            }
        }

        struct Pause: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Pause a job: no new slots are claimed until it is resumed (missed slots are not caught up).")

            @OptionGroup var global: GlobalOptions
            @Argument(help: "The job's name.") var job: String

            func run() throws { try setPaused(job, true, global) }
        }

        struct Resume: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Resume a paused job from the next due slot (the slots of the pause are never caught up).")

            @OptionGroup var global: GlobalOptions
            @Argument(help: "The job's name.") var job: String
            @Option(help: ArgumentHelp("Resume as of this ISO 8601 instant instead of the database's now (testing).", visibility: .hidden))
            var now: String?

            func run() throws {
                let instant = try now.map { text in
                    guard let parsed = ISOInstant.parse(text) else { throw ValidationError("--now must be an ISO 8601 instant") }
                    return parsed
                }
                try setPaused(job, false, global, now: instant)
            }
        }
    }
}

/// Pause state lives in the database so every runner sees it.
private func setPaused(_ job: String, _ paused: Bool, _ global: GlobalOptions, now: Date? = nil) throws {
    _ = global.makeLogger()
    let deployment = try global.loadDeployment()
    guard deployment.job(named: job) != nil else { throw ConfigurationError("no job named \"\(job)\"") }
    try SlotLedger().setPaused(job: job, paused, now: now, try global.connect())
    print("\(job): \(paused ? "paused" : "resumed")")
}
