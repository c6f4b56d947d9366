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
                "Directory of NNNN_name.sql migrations. Default: COUPONBATCH_SQL_DIR, else ./sql.", valueName: "dir"))
        var sqlDir: String?

        func run() throws {
            let logger = global.makeLogger()
            let directory = sqlDir ?? ProcessInfo.processInfo.environment["COUPONBATCH_SQL_DIR"] ?? "sql"
            let migrations = try Migration.load(directory: directory)
            let connection = try global.connect()
            let outcome = try Migrator(migrations: migrations, logger: logger).migrate(connection)
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
