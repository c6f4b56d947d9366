import Foundation

/// A subscription plan (券包): what a subscriber pays and gets each period, and when.
public struct BundlePlan: Sendable, Equatable {
    public let key: String
    public let title: String?
    /// At least 0.
    public let priceFen: Int64
    /// The paid term a purchase covers (shown by `plans list`; `paid_through` is per subscription).
    public let termMonths: Int
    /// The coupons delivered each period; non-empty.
    public let coupons: [CouponGrant]
    /// Delivered on top of `coupons` in the first period only.
    public let welcome: [CouponGrant]
    /// When periods fall: every N months on a day, at a local time, in a zone.
    public let schedule: BundleSchedule
    /// Shown on this plan's coupons in exports and notifications (e.g. "会员专享").
    public let exclusiveLabel: String?

    public init(
        key: String, title: String? = nil, priceFen: Int64, termMonths: Int = 12, coupons: [CouponGrant],
        welcome: [CouponGrant] = [], schedule: BundleSchedule = BundleSchedule(), exclusiveLabel: String? = nil
    ) {
        self.key = key
        self.title = title
        self.priceFen = priceFen
        self.termMonths = termMonths
        self.coupons = coupons
        self.welcome = welcome
        self.schedule = schedule
        self.exclusiveLabel = exclusiveLabel
    }

    /// Every template the plan delivers, in order of first mention.
    public var templateKeys: [String] {
        var keys: [String] = []
        for grant in coupons + welcome where !keys.contains(grant.templateKey) { keys.append(grant.templateKey) }
        return keys
    }
}
