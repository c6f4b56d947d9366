import ArgumentParser
import CouponKit
import Foundation

extension Couponbatch {
    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply the SQL migrations that are not applied yet, in order.")

        @OptionGroup var global: GlobalOptions

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Directory of NNNN_name.sql migrations (development). Default: COUPONBATCH_SQL_DIR, else the "
                    + "migrations built into this binary.", valueName: "dir"))
        var sqlDir: String?

        func run() throws {
            let logger = global.makeLogger()
            let directory = sqlDir ?? ProcessInfo.processInfo.environment["COUPONBATCH_SQL_DIR"]
            let migrations = try directory.map(Migration.load) ?? Migration.embedded()
            let connection = try global.connect()
            let outcome = try Migrator(migrations: migrations, logger: logger).migrate(connection)
            let role = try connection.withAdvisoryLock(Migrator.lockKey) { try SegmentSandbox.ensureRole(connection) }
            print("segment role \(SegmentSandbox.role): \(role == .created ? "created" : "checked")")
            if outcome.applied.isEmpty {
                print("migrations: up to date (\(outcome.alreadyApplied.count) applied)")
            } else {
                print(
                    "migrations: applied \(outcome.applied.map(String.init).joined(separator: ", ")); "
                        + "\(outcome.alreadyApplied.count) already applied")
            }
        }
    }
}
