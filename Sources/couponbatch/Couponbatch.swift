import ArgumentParser
import CouponKit
import Foundation

/// The root command. `main()` maps errors to sysexits in one place (ExitStatus.swift).
@main
struct Couponbatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "couponbatch",
        abstract: "Issue, remind, expire and bundle coupons in bulk, on a schedule, exactly once.",
        discussion: """
            Run it from cron (`* * * * * couponbatch tick`), as a daemon (`couponbatch scheduler`), \
            or by hand (`couponbatch run JOB`). PostgreSQL is the only system of record: give it with \
            --database-url, DATABASE_URL, or libpq's PG* variables.
            """,
        version: CouponbatchVersion.current,
        subcommands: [
            Migrate.self, Seed.self, Jobs.self, Cron.self, Run.self, Tick.self, Scheduler.self, Runs.self, SegmentCommand.self, Codes.self,
            Coupons.self, Notifications.self, Members.self, Redeem.self, Redemptions.self, Report.self, Events.self,
            Plans.self, Subscriptions.self, Bench.self, Doctor.self, Prune.self, Version.self,
        ]
    )

    static func main() {
        PeakMemoryReport.installIfAsked()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            terminate(withFailure: error)
        }
    }
}
