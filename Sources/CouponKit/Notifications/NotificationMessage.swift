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

        enum CodingKeys: String, CodingKey {
            case code, template, title
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

    enum CodingKeys: String, CodingKey {
        case id, kind, job, slot, openid, coupons
        case memberID = "member_id"
    }
}
