import Foundation

/// One notification as a sink receives it (a line of the file sink, an element of a webhook's
/// `{"notifications": [...]}`). `id` is the receiver's idempotency key: delivery is at least once.
public struct NotificationMessage: Codable, Sendable, Equatable {
    public struct Coupon: Codable, Sendable, Equatable {
        /// The coupon's code, computed when delivered (codes are never stored).
        public var code: String?
        public var couponID: Int64
        public var template: String
        public var title: String
        public var faceValueFen: Int64
        /// ISO 8601 with the job zone's offset.
        public var expiresAt: String
        /// The plan's exclusive label on a bundle's coupons (会员专享); absent on other coupons.
        public var label: String?

        public init(
            code: String? = nil, couponID: Int64, template: String, title: String, faceValueFen: Int64, expiresAt: String,
            label: String? = nil
        ) {
            self.code = code
            self.couponID = couponID
            self.template = template
            self.title = title
            self.faceValueFen = faceValueFen
            self.expiresAt = expiresAt
            self.label = label
        }

        enum CodingKeys: String, CodingKey {
            case code, template, title, label
            case couponID = "coupon_id"
            case faceValueFen = "face_value_fen"
            case expiresAt = "expires_at"
        }
    }

    public var id: Int64
    public var kind: String
    public var job: String
    /// The sweep's slot, ISO 8601 in the job's zone.
    public var slot: String
    public var memberID: Int64
    public var openid: String?
    public var coupons: [Coupon]
    /// `bundle` notifications: the subscription periods delivered, in the order of `coupons`
    /// (the first period's `coupons` coupons come first, and so on); absent for other kinds.
    public var bundles: [Bundle]?

    /// One delivered subscription period.
    public struct Bundle: Codable, Sendable, Equatable {
        public var plan: String
        public var title: String?
        public var exclusiveLabel: String?
        public var period: Int
        /// ISO 8601 with the offset of the plan's zone.
        public var dueAt: String
        /// How many of the message's coupons are this period's.
        public var coupons: Int

        enum CodingKeys: String, CodingKey {
            case plan, title, period, coupons
            case exclusiveLabel = "exclusive_label"
            case dueAt = "due_at"
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, job, slot, openid, coupons, bundles
        case memberID = "member_id"
    }

    /// The stored payload: the coupons without codes (sweeps), or the periods delivered, whose
    /// coupons are read by id when sent (bundles, see `BundleOutbox`).
    struct StoredPayload: Codable {
        var coupons: [Coupon]?
        var bundles: [Bundle]?
    }
}
