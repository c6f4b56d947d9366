import ArgumentParser
import CouponKit
import Foundation

extension Couponbatch {
    struct Cron: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Explore cron expressions.", subcommands: [Next.self])

        struct Next: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Print the next firing instants of a cron expression, one ISO 8601 time a line.")

            @Argument(help: "A 5-field cron expression or @hourly, @daily, @weekly, @monthly, @yearly.")
            var expression: String

            @Option(help: "IANA time zone the expression is read in.")
            var tz: String = "Asia/Shanghai"

            @Option(help: "Print instants strictly after this ISO 8601 instant (default: now).")
            var from: String?

            @Option(help: "How many instants to print.")
            var count: Int = 5

            func validate() throws {
                try ISOInstant.validate(from, option: "--from")
                guard TimeZone(identifier: tz) != nil else { throw ValidationError("unknown time zone \"\(tz)\"") }
                guard (1...100_000).contains(count) else { throw ValidationError("--count must be between 1 and 100000") }
            }

            func run() throws {
                let cron: CronExpression
                do {
                    cron = try CronExpression(expression)
                } catch {
                    throw ValidationError("bad cron expression: \(error.message)")
                }
                guard cron.canFire else {
                    throw InputError("\(expression): never fires: no selected month has a selected day (e.g. 30 February)")
                }
                guard let zone = TimeZone(identifier: tz) else { return }
                let start = from.flatMap(ISOInstant.parse) ?? Date()
                for instant in cron.next(after: start, in: zone, count: count) {
                    print(LocalTimeFormat.format(instant, in: zone))
                }
            }
        }
    }
}
