/// A subscription plan (券包): what a subscriber pays and gets each period.
public struct BundlePlan: Sendable, Equatable {
    public let key: String
    public let title: String?
    /// At least 0.
    public let priceFen: Int64
    /// The coupons delivered each period; non-empty.
    public let coupons: [CouponGrant]

    public init(key: String, title: String? = nil, priceFen: Int64, coupons: [CouponGrant]) {
        self.key = key
        self.title = title
        self.priceFen = priceFen
        self.coupons = coupons
    }
}
