import Foundation

/// Times successive `CronExpression.next(after:in:)` calls (each from the previous result),
/// for `make bench` and the `CronBench` executable.
public enum CronBenchmark {
    /// The expressions and zones timed by `run(count:)`.
    public static let cases: [(expression: String, zone: String)] = [
        ("*/5 * * * *", "Asia/Shanghai"),
        ("*/5 * * * *", "America/New_York"),
        ("0 9 1 * *", "Asia/Shanghai"),
        ("0 9 1 * *", "America/New_York"),
        ("30 2 * * *", "America/New_York"),
        ("0,30 * * * 1-5", "Australia/Lord_Howe"),
        ("0 0 1,L * MON", "Europe/London"),
    ]

    /// Runs `count` chained `next` calls per case and returns the elapsed seconds of each.
    /// Chains restart at 2026-01-01T00:00Z whenever they pass the year 2100, so far-apart
    /// schedules (monthly) stay in a realistic range of years.
    public static func run(count: Int) -> [(label: String, seconds: Double)] {
        let start = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z
        let stop = Date(timeIntervalSince1970: 4_102_444_800)  // 2100-01-01T00:00:00Z
        var results: [(label: String, seconds: Double)] = []
        for (text, zoneID) in cases {
            guard let expression = try? CronExpression(text), let zone = TimeZone(identifier: zoneID) else {
                continue
            }
            _ = expression.next(after: start, in: zone)  // warm the zone cache
            var date = start
            var fired = 0
            let clock = ContinuousClock()
            let elapsed = clock.measure {
                for _ in 0..<count {
                    if let found = expression.next(after: date, in: zone), found < stop {
                        date = found
                        fired += 1
                    } else {
                        date = start
                    }
                }
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            precondition(fired > 0, "benchmark case \(text) never fired")
            results.append((label: "\(text) in \(zoneID)", seconds: seconds))
        }
        return results
    }
}
