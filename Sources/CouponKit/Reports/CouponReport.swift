import Foundation

/// What `couponbatch report` shows: the merchant's three levels of numbers (DOMAIN.md 三级数据)
/// for a period, and the liability as of now. Built by `ReportQueries`; formatted by the CLI.
public struct CouponReport: Sendable, Codable {
    public var generatedAt: Date
    public var timezone: String
    /// First and last day of the period, inclusive, `YYYY-MM-DD` in `timezone`.
    public var from: String
    public var to: String
    public var by: ReportDimension
    /// Coupons issued in the period (all of them together).
    public var summary: KPIRow
    /// The main table, grouped by `by` (for `day` and `arm`, see `daily` and `arms`).
    public var rows: [KPIRow]
    public var daily: [DailyRow]
    public var templates: [KPIRow]
    public var arms: [ArmRow]
    public var liability: Liability
    public var alerts: [Alert]
    public var healthyRedemptionRate: Double
    public var alertThreshold: Double

    enum CodingKeys: String, CodingKey {
        case timezone, from, to, by, summary, rows, daily, templates, arms, liability, alerts
        case generatedAt = "generated_at"
        case healthyRedemptionRate = "healthy_redemption_rate"
        case alertThreshold = "alert_threshold"
    }
}

/// One group of coupons (a template, a job, a segment, all of them) or, for stores, of
/// redemptions. Coupon figures count coupons issued in the period, whatever happened to them
/// since; redemption figures count the unreversed uses of those coupons.
public struct KPIRow: Sendable, Codable, Equatable {
    public var key: String
    /// nil for store rows (a store redeems coupons, it does not issue them).
    public var issued: Int64?
    /// Coupons with at least one unreversed use (a punch card counts once).
    public var redeemed: Int64?
    /// Coupons whose window ended unused by the report's "now", whether or not the sweep has
    /// marked them yet.
    public var expired: Int64?
    public var redemptionRate: Double?
    public var expiryRate: Double?
    /// Hours from issue to the first use, over the redeemed coupons.
    public var medianHoursToRedeem: Double?
    public var p90HoursToRedeem: Double?
    /// Uses (a punch card's every use counts).
    public var redemptions: Int64
    /// Uses at a store other than the member's home store (members with one).
    public var crossStore: Int64
    public var discountFen: Int64
    /// Order value of the orders the coupons were used on.
    public var orderValueFen: Int64
    /// Template rows: whether the redemption rate reaches the healthy-coupon bar.
    public var healthy: Bool?

    public init(
        key: String, issued: Int64?, redeemed: Int64?, expired: Int64?, medianHoursToRedeem: Double?,
        p90HoursToRedeem: Double?, redemptions: Int64, crossStore: Int64, discountFen: Int64, orderValueFen: Int64
    ) {
        self.key = key
        self.issued = issued
        self.redeemed = redeemed
        self.expired = expired
        self.redemptionRate = issued.flatMap { issued in redeemed.flatMap { ReportStatistics.rate($0, of: issued) } }
        self.expiryRate = issued.flatMap { issued in expired.flatMap { ReportStatistics.rate($0, of: issued) } }
        self.medianHoursToRedeem = medianHoursToRedeem
        self.p90HoursToRedeem = p90HoursToRedeem
        self.redemptions = redemptions
        self.crossStore = crossStore
        self.discountFen = discountFen
        self.orderValueFen = orderValueFen
    }

    enum CodingKeys: String, CodingKey {
        case key, issued, redeemed, expired, redemptions, healthy
        case redemptionRate = "redemption_rate"
        case expiryRate = "expiry_rate"
        case medianHoursToRedeem = "median_hours_to_redeem"
        case p90HoursToRedeem = "p90_hours_to_redeem"
        case crossStore = "cross_store_redemptions"
        case discountFen = "discount_fen"
        case orderValueFen = "order_value_fen"
    }
}

/// One day of events, in the report's zone.
public struct DailyRow: Sendable, Codable, Equatable {
    public var day: String
    public var issued: Int64
    /// Uses that day (unreversed).
    public var redeemed: Int64
    /// Coupons whose window ended that day unused (by the report's "now"; see `ReportQueries.lapsed`).
    public var expired: Int64
    public var discountFen: Int64
    public var orderValueFen: Int64
    /// Per metric (`issued`, `redeemed`, `expired`): change against the day before and the
    /// same day a week before.
    public var changes: [String: Change]

    public struct Change: Sendable, Codable, Equatable {
        public var dayOverDay: Double?
        public var weekOverWeek: Double?
        public var flagged: Bool

        enum CodingKeys: String, CodingKey {
            case flagged
            case dayOverDay = "day_over_day"
            case weekOverWeek = "week_over_week"
        }
    }

    enum CodingKeys: String, CodingKey {
        case day, issued, redeemed, expired, changes
        case discountFen = "discount_fen"
        case orderValueFen = "order_value_fen"
    }

    public static let metrics = ["issued", "redeemed", "expired"]

    public func value(_ metric: String) -> Int64 {
        switch metric {
        case "issued": return issued
        case "redeemed": return redeemed
        default: return expired
        }
    }
}

/// One arm of an A/B test (a job's `variants`), members counted once each.
///
/// A holdout gets no coupon, so its redemption rate is zero by design; what compares arms with
/// the holdout is the response rate: members who redeemed a coupon of the run or placed an
/// order after it (their `last_order_at`, from the CRM import, after the run's slot).
public struct ArmRow: Sendable, Codable, Equatable {
    public var job: String
    public var arm: String
    public var holdout: Bool
    public var members: Int64
    public var redeemedMembers: Int64
    public var redemptionRate: Double?
    public var responded: Int64
    public var responseRate: Double?
    public var responseLow: Double?
    public var responseHigh: Double?
    /// Response rate minus the holdout's, with its 95% interval; nil for the holdout itself or
    /// a job without one.
    public var liftVsHoldout: Double?
    public var liftLow: Double?
    public var liftHigh: Double?

    enum CodingKeys: String, CodingKey {
        case job, arm, holdout, members, responded
        case redeemedMembers = "redeemed_members"
        case redemptionRate = "redemption_rate"
        case responseRate = "response_rate"
        case responseLow = "response_rate_low"
        case responseHigh = "response_rate_high"
        case liftVsHoldout = "lift_vs_holdout"
        case liftLow = "lift_low"
        case liftHigh = "lift_high"
    }
}

/// Outstanding face value of coupons still usable now, and the reserve provisioned for it.
public struct Liability: Sendable, Codable, Equatable {
    public var asOf: Date
    public var activeCoupons: Int64
    /// A punch card counts the uses it has left; an uncapped discount coupon counts 0.
    public var outstandingFaceValueFen: Int64
    public var reservePercent: Double
    public var reserveFen: Int64

    enum CodingKeys: String, CodingKey {
        case asOf = "as_of"
        case activeCoupons = "active_coupons"
        case outstandingFaceValueFen = "outstanding_face_value_fen"
        case reservePercent = "reserve_percent"
        case reserveFen = "reserve_fen"
    }
}

/// A daily metric that moved more than the threshold.
public struct Alert: Sendable, Codable, Equatable {
    public var day: String
    public var metric: String
    /// `day_over_day` or `week_over_week`.
    public var comparison: String
    public var change: Double
    public var message: String
}
