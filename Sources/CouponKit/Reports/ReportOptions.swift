import Foundation

/// What a report groups its main table by.
public enum ReportDimension: String, Sendable, Codable, CaseIterable {
    /// Events per day: issued, redeemed and expired that day, with day-over-day and
    /// week-over-week changes.
    case day
    /// Coupons issued in the period, by template (with the healthy-coupon bar).
    case template
    /// Coupons issued in the period, by the job that issued them.
    case job
    /// Members of each A/B arm of runs in the period, against the job's holdout.
    case arm
    /// Redemptions in the period, by the store that redeemed them.
    case store
    /// Coupons issued in the period, by the member's segment: the tier the merchant's CRM gives
    /// (standard, silver, gold, platinum) as it is now.
    case segment
}

/// The inputs of `couponbatch report`.
public struct ReportOptions: Sendable, Equatable {
    /// First and last day of the period, inclusive, in `timeZone`; nil: the 30 days to today.
    public var from: CalendarDay?
    public var to: CalendarDay?
    public var timeZone: TimeZone
    public var by: ReportDimension
    /// Share of the outstanding face value provisioned as liability (DOMAIN.md: about 20%).
    public var reservePercent: Double
    /// A daily metric moving by more than this share (0.5 = 50%) is flagged.
    public var alertThreshold: Double
    /// The seed's healthy-coupon bar: redemption rate at least this (DOMAIN.md: 25%).
    public var healthyRedemptionRate: Double
    /// "Now" for the liability (which coupons are still outstanding); nil: the database's clock.
    public var asOf: Date?

    public init(
        from: CalendarDay? = nil, to: CalendarDay? = nil, timeZone: TimeZone = DefinitionDefaults.timeZone,
        by: ReportDimension = .day, reservePercent: Double = 20, alertThreshold: Double = 0.5,
        healthyRedemptionRate: Double = 0.25, asOf: Date? = nil
    ) {
        self.from = from
        self.to = to
        self.timeZone = timeZone
        self.by = by
        self.reservePercent = reservePercent
        self.alertThreshold = alertThreshold
        self.healthyRedemptionRate = healthyRedemptionRate
        self.asOf = asOf
    }
}
