import Foundation

/// The arithmetic of report figures: rates, intervals and changes, kept apart from SQL so that
/// the formulas are tested on known answers.
public enum ReportStatistics {
    /// z for a two-sided 95% interval.
    public static let z95 = 1.959_963_984_540_054

    /// `part / whole`, nil when `whole` is zero.
    public static func rate(_ part: Int64, of whole: Int64) -> Double? {
        whole > 0 ? Double(part) / Double(whole) : nil
    }

    /// The Wilson score interval of a proportion (95%): unlike the normal approximation it stays
    /// inside [0, 1] and is sensible for small arms and rates near 0 or 1.
    public static func wilson(_ successes: Int64, of trials: Int64, z: Double = z95) -> (low: Double, high: Double)? {
        guard trials > 0 else { return nil }
        let n = Double(trials)
        let p = Double(successes) / n
        let z2 = z * z
        let centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        let half = z * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot() / (1 + z2 / n)
        return (max(0, centre - half), min(1, centre + half))
    }

    /// The difference of two proportions `a - b` with Newcombe's 95% interval (from the two
    /// Wilson intervals; method 10 of Newcombe 1998), which behaves where the Wald interval
    /// does not (a holdout with no conversions at all).
    public static func difference(
        _ aSuccesses: Int64, of aTrials: Int64, minus bSuccesses: Int64, of bTrials: Int64
    ) -> (difference: Double, low: Double, high: Double)? {
        guard let a = wilson(aSuccesses, of: aTrials), let b = wilson(bSuccesses, of: bTrials) else { return nil }
        let p1 = Double(aSuccesses) / Double(aTrials)
        let p2 = Double(bSuccesses) / Double(bTrials)
        let d = p1 - p2
        let low = d - ((p1 - a.low) * (p1 - a.low) + (b.high - p2) * (b.high - p2)).squareRoot()
        let high = d + ((a.high - p1) * (a.high - p1) + (p2 - b.low) * (p2 - b.low)).squareRoot()
        return (d, low, high)
    }

    /// Relative change from `previous` to `current`; nil when there is nothing to compare with.
    public static func change(from previous: Int64, to current: Int64) -> Double? {
        previous > 0 ? Double(current - previous) / Double(previous) : nil
    }

}

/// How many coupons were first used after each whole number of minutes: percentiles of the time
/// to redemption without sorting a row per coupon.
public struct MinuteHistogram: Sendable, Equatable {
    public private(set) var counts: [Int64: Int64] = [:]

    public init() {}

    public mutating func add(_ minutes: Int64, count: Int64) { counts[minutes, default: 0] += count }

    public mutating func add(_ other: MinuteHistogram) {
        for (minutes, count) in other.counts { add(minutes, count: count) }
    }

    /// The value at quantile `q` (0…1), interpolated between neighbouring values as
    /// PostgreSQL's `percentile_cont` does; nil when empty.
    public func percentile(_ q: Double) -> Double? {
        let total = counts.values.reduce(0, +)
        guard total > 0 else { return nil }
        let position = q * Double(total - 1)
        let lowerRank = Int64(position.rounded(.down))
        let fraction = position - Double(lowerRank)
        var lower: Int64?
        var upper: Int64?
        var seen: Int64 = 0
        for minutes in counts.keys.sorted() {
            seen += counts[minutes] ?? 0
            if lower == nil, seen > lowerRank { lower = minutes }
            if seen > lowerRank + 1 || (seen > lowerRank && lowerRank + 1 >= total) {
                upper = minutes
                break
            }
        }
        guard let lower else { return nil }
        let high = upper ?? lower
        return Double(lower) + Double(high - lower) * fraction
    }
}
