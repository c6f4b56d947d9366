import CouponKit
import Testing

/// Report arithmetic against published values.
struct ReportStatisticsTests {
    /// Wilson 95% intervals as tabulated by Newcombe (1998), table I.
    @Test(arguments: [
        (Int64(81), Int64(263), 0.2553, 0.3662),
        (Int64(15), Int64(148), 0.0624, 0.1605),
        (Int64(0), Int64(20), 0.0, 0.1611),
        (Int64(1), Int64(29), 0.0061, 0.1718),
    ])
    func wilsonIntervalMatchesNewcombe(_ successes: Int64, _ trials: Int64, _ low: Double, _ high: Double) throws {
        let interval = try #require(ReportStatistics.wilson(successes, of: trials))
        #expect(abs(interval.low - low) < 0.0001)
        #expect(abs(interval.high - high) < 0.0001)
    }

    /// Newcombe (1998) table II, method 10: 56/70 − 48/80 = 0.2000, interval 0.0524 to 0.3339.
    @Test func differenceIntervalMatchesNewcombe() throws {
        let d = try #require(ReportStatistics.difference(56, of: 70, minus: 48, of: 80))
        #expect(abs(d.difference - 0.2) < 1e-12)
        #expect(abs(d.low - 0.0524) < 0.0001)
        #expect(abs(d.high - 0.3339) < 0.0001)
    }

    @Test func emptyGroupsHaveNoRate() {
        #expect(ReportStatistics.rate(0, of: 0) == nil)
        #expect(ReportStatistics.wilson(0, of: 0) == nil)
        #expect(ReportStatistics.change(from: 0, to: 5) == nil)
        #expect(ReportStatistics.change(from: 4, to: 1) == -0.75)
    }
}

/// Percentiles from a histogram of minutes agree with `percentile_cont` over the values.
struct MinuteHistogramTests {
    @Test func percentilesInterpolateAsPercentileCont() throws {
        var histogram = MinuteHistogram()
        for minutes: Int64 in [1440, 1440, 1440, 2880, 4320] { histogram.add(minutes, count: 1) }
        #expect(histogram.percentile(0.5) == 1440)
        #expect(try abs(#require(histogram.percentile(0.9)) - 3744) < 1e-9)
        var even = MinuteHistogram()
        even.add(1, count: 1)
        even.add(2, count: 1)
        even.add(3, count: 2)
        #expect(even.percentile(0.5) == 2.5)
        #expect(even.percentile(1) == 3)
        #expect(even.percentile(0) == 1)
        #expect(MinuteHistogram().percentile(0.5) == nil)
    }
}
