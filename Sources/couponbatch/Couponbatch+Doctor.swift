import ArgumentParser
import CouponKit
import Foundation
import Postgres

extension Couponbatch {
    struct Doctor: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the installation: database, migrations, privileges, job files, secret, clock, stuck runs, sinks.",
            discussion: "One line a check: ok, warn or fail, and what to do. Exits 1 when any check fails.")

        @OptionGroup var global: GlobalOptions

        func run() throws {
            _ = global.makeLogger()
            let url = global.resolvedDatabaseURL
            let checks = CouponKit.Doctor(
                connect: { try Connection.connect(url: url) }, jobsDir: global.jobsDir,
                extraChecks: [SinkReachability.check]
            ).run()
            let width = (checks.map(\.name.count).max() ?? 0) + 2
            for check in checks {
                var line = check.level.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)
                line += check.name.padding(toLength: width, withPad: " ", startingAt: 0) + check.detail
                if let action = check.action, check.level != .ok { line += " — " + action }
                print(line)
            }
            if checks.contains(where: { $0.level == .fail }) { throw ExitStatus.jobFailed }
        }
    }
}
