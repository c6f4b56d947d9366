import Foundation
import Postgres

/// A coupon's state, read by primary key once its code has been verified (`codes verify`).
public struct CouponState: Sendable, Equatable {
    public let id: Int64
    public let templateKey: String
    public let memberID: Int64
    public let status: String
    public let expiresAt: Date

    /// The coupon with this id, if it exists.
    public static func find(id: Int64, _ connection: Connection) throws -> CouponState? {
        guard
            let row = try connection.query(
                "SELECT template_key, member_id, status, expires_at FROM coupons WHERE id = $1", [id]
            ).first
        else { return nil }
        return CouponState(
            id: id, templateKey: try row.decode("template_key"), memberID: try row.decode("member_id"),
            status: try row.decode("status"), expiresAt: try row.decode("expires_at"))
    }
}
