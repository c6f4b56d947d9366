import Foundation
import Testing

@testable import CouponKit

/// Compares the calendar search with a brute-force reference: walk real time minute by minute,
/// read the local time with Foundation's Calendar, and apply the DST rules literally. The
/// reference's matching is written as a Swift predicate, independent of the cron parser.
struct CronReferenceCase: Sendable, CustomTestStringConvertible {
    let expression: String
    let matches: @Sendable (DateComponents) -> Bool

    var testDescription: String { "\"\(expression)\"" }
}

@Suite struct CronReferenceTests {
    static let cases: [CronReferenceCase] = [
        CronReferenceCase(expression: "30 2 * * *") { $0.hour == 2 && $0.minute == 30 },
        CronReferenceCase(expression: "0,30 2 * * *") { $0.hour == 2 && $0.minute! % 30 == 0 },
        CronReferenceCase(expression: "* 1 * * *") { $0.hour == 1 },
        CronReferenceCase(expression: "*/20 1-3 * * *") { (1...3).contains($0.hour!) && $0.minute! % 20 == 0 },
        CronReferenceCase(expression: "45 0,1,2,3 * * *") { $0.hour! <= 3 && $0.minute == 45 },
        CronReferenceCase(expression: "0 0 * * *") { $0.hour == 0 && $0.minute == 0 },
        CronReferenceCase(expression: "30 * * * *") { $0.minute == 30 },
        CronReferenceCase(expression: "*/15 * * * *") { $0.minute! % 15 == 0 },
        CronReferenceCase(expression: "5 */2 * * *") { $0.hour! % 2 == 0 && $0.minute == 5 },
        CronReferenceCase(expression: "0 * * * SUN") { $0.minute == 0 && $0.weekday == 1 },
        CronReferenceCase(expression: "10 2 1,L * MON") { c in
            c.hour == 2 && c.minute == 10 && (c.day == 1 || c.weekday == 2 || c.day == lastDay(c))
        },
    ]

    /// Windows of about three days around each 2026 transition (2018 for Sao Paulo), plus one
    /// window in a zone without DST.
    static let windows: [(zone: String, start: String)] = [
        ("America/New_York", "2026-03-07T00:00:00Z"), ("America/New_York", "2026-10-31T00:00:00Z"),
        ("Europe/London", "2026-03-28T00:00:00Z"), ("Europe/London", "2026-10-24T00:00:00Z"),
        ("Australia/Lord_Howe", "2026-04-03T00:00:00Z"), ("Australia/Lord_Howe", "2026-10-02T00:00:00Z"),
        ("Pacific/Chatham", "2026-04-03T00:00:00Z"), ("Pacific/Chatham", "2026-09-25T00:00:00Z"),
        ("America/St_Johns", "2026-03-07T00:00:00Z"), ("America/St_Johns", "2026-10-31T00:00:00Z"),
        ("America/Sao_Paulo", "2018-02-16T00:00:00Z"), ("America/Sao_Paulo", "2018-11-02T00:00:00Z"),
        ("Asia/Shanghai", "2026-03-07T00:00:00Z"),
    ]

    static func lastDay(_ c: DateComponents) -> Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let date = calendar.date(from: DateComponents(year: c.year, month: c.month, day: 1))!
        return calendar.range(of: .day, in: .month, for: date)!.count
    }

    /// The reference answer for `(start, end]`. Assumes offsets and transitions on whole minutes.
    static func reference(
        _ row: CronReferenceCase, zone: TimeZone, start: Date, end: Date
    ) -> [Date] {
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        // Read from the text itself, independently of the parser: the hour field is restricted
        // unless it starts with "*" (@hourly is the only macro with an unrestricted hour).
        let fields = row.expression.split(whereSeparator: \.isWhitespace)
        let wallClock =
            row.expression.hasPrefix("@")
            ? row.expression.lowercased() != "@hourly" : !(fields.count > 1 && fields[1].hasPrefix("*"))
        // Local wall-clock times are tracked as "local seconds": the local date-time read as UTC.
        func localSeconds(_ date: Date) -> Int {
            Int(date.timeIntervalSince1970) + zone.secondsFromGMT(for: date)
        }
        func components(local: Int) -> DateComponents {
            utc.dateComponents(
                [.year, .month, .day, .hour, .minute, .weekday], from: Date(timeIntervalSince1970: Double(local)))
        }
        var firings: [Date] = []
        // Local times seen so far, starting a day before the window so that the first pass of a
        // repeated hour is known even when the window starts in its second pass.
        var seen = Set<Int>()
        var instant = start.addingTimeInterval(-86_400)
        var previousLocal = localSeconds(instant)
        while instant <= end {
            instant = instant.addingTimeInterval(60)
            let local = localSeconds(instant)
            let parts = components(local: local)
            var fires = false
            if wallClock {
                // Skipped local minutes (forward jump) fire now if any of them matches.
                var skipped = previousLocal + 60
                while skipped < local {
                    if row.matches(components(local: skipped)) { fires = true }
                    skipped += 60
                }
                if row.matches(parts) && !seen.contains(local) { fires = true }
            } else {
                fires = row.matches(parts)
            }
            seen.insert(local)
            previousLocal = local
            if fires && instant > start && instant <= end {
                firings.append(instant)
            }
        }
        return firings
    }

    @Test(arguments: cases)
    func calendarSearchMatchesBruteForceAroundTransitions(_ row: CronReferenceCase) throws {
        let cron = try CronExpression(row.expression)
        for window in Self.windows {
            let zone = CronTestSupport.zone(window.zone)
            let start = CronTestSupport.instant(window.start)
            let end = start.addingTimeInterval(3 * 86_400)
            let expected = Self.reference(row, zone: zone, start: start, end: end)
            let got = cron.firings(after: start, through: end, in: zone, limit: 10_000)
            #expect(!expected.isEmpty || row.expression.hasPrefix("10 2"))
            #expect(
                got.map(CronTestSupport.iso) == expected.map(CronTestSupport.iso),
                "\(row.expression) in \(window.zone) from \(window.start)")
        }
    }

    @Test func concurrentCallersAgreeWithSequentialResults() async throws {
        let zones = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Shanghai", "Pacific/Chatham"]
        let cron = try CronExpression("*/7 1-3 * * *")
        let start = CronTestSupport.instant("2026-01-01T00:00:00Z")
        // Far-apart start years force the shared zone cache to grow and be replaced concurrently.
        let offsets: [Double] = [0, 40, 120, -80, 300].map { $0 * 365.25 * 86_400 }
        let sequential = zones.flatMap { zone in
            offsets.map { cron.next(after: start.addingTimeInterval($0), in: CronTestSupport.zone(zone), count: 200) }
        }
        let concurrent = await withTaskGroup(of: (Int, [Date]).self) { group in
            for (z, zone) in zones.enumerated() {
                for (o, offset) in offsets.enumerated() {
                    group.addTask {
                        (z * offsets.count + o, cron.next(after: start.addingTimeInterval(offset), in: CronTestSupport.zone(zone), count: 200))
                    }
                }
            }
            var results = [[Date]](repeating: [], count: zones.count * offsets.count)
            for await (index, dates) in group {
                results[index] = dates
            }
            return results
        }
        #expect(concurrent == sequential)
        #expect(sequential.allSatisfy { $0.count == 200 })
    }
}
