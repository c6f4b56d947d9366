import ArgumentParser
import CouponKit
import Foundation

extension Couponbatch {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one job now, by hand.",
            discussion: """
                --at names the run's slot, so the same kick twice is one run: the second prints the \
                first's result. Without --at the slot is now.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var runner: RunnerOptions

        @Argument(help: "The job's name.")
        var job: String

        @Option(help: "The run's slot, an ISO 8601 instant (default: now).")
        var at: String?

        @Flag(help: "Show what the run would do, writing nothing.")
        var dryRun = false

        @Flag(help: "Print the result as JSON.")
        var json = false

        func validate() throws { try ISOInstant.validate(at, option: "--at") }

        func run() throws {
            let logger = global.makeLogger()
            let deployment = try global.loadDeployment()
            guard let definition = deployment.job(named: job) else {
                throw ConfigurationError(
                    "no job named \"\(job)\" in \(global.jobsDir)"
                        + (SpellingSuggestion.closest(to: job, among: deployment.jobs.map(\.name)).map { " (did you mean \"\($0)\"?)" } ?? ""))
            }
            // Without --at the database's clock names the slot (the one clock every runner shares).
            let slot = at.flatMap(ISOInstant.parse)
            let times = global.timeDisplay(deployment)
            let stop = StopSignal()
            let signals = SignalTrap(stop: stop)
            defer { signals.cancel() }
            let progress = ProgressDisplay(enabled: !json && Terminal.isInteractive(.standardError), logger: logger)
            let engine = runner.makeRunner(global: global, logger: logger, stop: stop, progress: progress.handler)
            if dryRun {
                let slot = try slot ?? SlotLedger.databaseNow(try global.connect())
                let report = try engine.dryRun(definition, slot: slot, deployment: deployment)
                RunOutput.printDryRun(report, job: definition, slot: slot, times: times, json: json)
                return
            }
            switch try engine.runManually(definition, slot: slot, deployment: deployment) {
            case .ran(let report):
                progress.finish()
                RunOutput.printReports([report], times: times, json: json)
                let ended = report.outcome == .succeeded || report.outcome == .failed || report.outcome == .retrying
                if !json, ended, let summary = try? RunQueries.summary(id: report.runID, try global.connect()) {
                    RunOutput.printSummary(summary, times: times, json: false)
                }
                let status = ExitStatus(report.outcome)
                if status != .ok { throw status }
            case .existing(let summary):
                if !json { print("run \(summary.id) of \(summary.job) at this slot already exists; its result:") }
                RunOutput.printSummary(summary, times: times, json: json)
                let status = ExitStatus(runStatus: summary.status)
                if status != .ok { throw status }
            }
        }
    }
}
