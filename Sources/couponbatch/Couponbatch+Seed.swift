import ArgumentParser
import CouponKit
import Foundation

extension Couponbatch {
    struct Seed: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write synthetic demo and benchmark data.",
            subcommands: [Members.self])

        struct Members: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write N realistic synthetic members (ids 1…N), deterministically for a seed.")

            @OptionGroup var global: GlobalOptions

            @Option(help: "How many members (ids 1…N); existing ones are kept.")
            var count: Int

            @Option(help: "Random seed; the same seed and date give the same members.")
            var seed: UInt64 = 42

            @Option(help: ArgumentHelp("The day the data is as of (YYYY-MM-DD, UTC). Default: today.", valueName: "date"))
            var asOf: String?

            func validate() throws {
                guard count >= 1, count <= 100_000_000 else {
                    throw ValidationError("--count must be between 1 and 100000000")
                }
                if let asOf, ISODay.parse(asOf) == nil {
                    throw ValidationError("--as-of must be a date like 2026-11-23")
                }
            }

            func run() throws {
                let logger = global.makeLogger()
                let day = asOf.flatMap(ISODay.parse) ?? ISODay.startOfToday()
                let connection = try global.connect()
                let started = Date()
                let outcome = try MemberSeeder(count: count, seed: seed, asOf: day).seed(connection, logger: logger)
                let seconds = Date().timeIntervalSince(started)
                let rate = seconds > 0 ? Int(Double(outcome.written) / seconds) : 0
                print(
                    "members: wrote \(outcome.written), kept \(outcome.alreadyPresent) already present "
                        + "(\(String(format: "%.1f", seconds)) s, \(rate) members/s)")
            }
        }
    }
}

/// Whole days in UTC, for options like --as-of.
enum ISODay {
    static func parse(_ text: String) -> Date? {
        let parts = text.split(separator: "-")
        guard parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: DateComponents(year: y, month: m, day: d))
    }

    static func startOfToday() -> Date {
        let now = Date().timeIntervalSince1970
        return Date(timeIntervalSince1970: (now / 86_400).rounded(.down) * 86_400)
    }
}
