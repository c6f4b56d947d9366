import ArgumentParser
import CouponKit
import Foundation

extension Couponbatch {
    struct Tick: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run every due slot once, in parallel, then exit (for cron, every minute).",
            discussion: "Overlapping ticks are safe: each (job, slot) runs once however many runners ask.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var runner: RunnerOptions

        @Option(help: "Pretend it is this ISO 8601 instant (tests and operators drive time with it).")
        var now: String?

        @Option(
            help: ArgumentHelp(
                "After the tick, write this run's metrics here in node-exporter's textfile format (NAME.prom).",
                valueName: "file"))
        var metricsTextfile: String?

        func validate() throws { try ISOInstant.validate(now, option: "--now") }

        func run() throws {
            let logger = global.makeLogger()
            let deployment = try global.loadDeployment()
            if metricsTextfile != nil { MetricsBackend.bootstrap() }
            let stop = StopSignal()
            let signals = SignalTrap(stop: stop)
            defer { signals.cancel() }
            let engine = runner.makeRunner(global: global, logger: logger, stop: stop)
            // Without --now the database server's clock decides what is due, not this host's.
            let reports = try engine.tick(deployment, now: now.flatMap(ISOInstant.parse))
            RunOutput.printReports(reports, times: global.timeDisplay(deployment))
            if let metricsTextfile {
                try MetricsBackend.writeTextfile(metricsTextfile, refreshingWith: try? global.connect())
            }
            // A run left for another runner is not this tick's failure: the next tick resumes it.
            if reports.contains(where: { ExitStatus($0.outcome) == .jobFailed }) { throw ExitStatus.jobFailed }
        }
    }
}
