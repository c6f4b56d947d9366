import Foundation
import Postgres

/// `redeem --reverse R`: a refund of request R.
///
/// The redemption row stays (marked reversed, skipped by reports); the coupon gets its use
/// back: `active` again while its window is open (a punch card one use more), `expired` when
/// the refund comes after the window closed, since it can no longer be used. Reversing again
/// finds the row already reversed and changes nothing.
public enum RedemptionReversal {
    public enum Outcome: Sendable, Equatable {
        /// Reversed now; the coupon's state after it.
        case reversed(Redemption, status: CouponStatus, usesLeft: Int?)
        /// Reversed before, at `reversedAt`.
        case alreadyReversed(Redemption)
    }

    public static func reverse(requestID: String, _ connection: Connection) throws -> Outcome {
        try connection.transaction { tx in
            guard
                let couponID = try tx.query("SELECT coupon_id FROM redemptions WHERE request_id = $1", [requestID]).first?
                    .decode("coupon_id", as: Int64.self)
            else {
                throw InputError("no redemption with request id \(requestID)")
            }
            // The coupon first, as redeem locks it: a refund and a new use of the coupon queue up.
            try tx.execute("SELECT 1 FROM coupons WHERE id = $1 FOR UPDATE", [couponID])
            let reversed = try tx.query(
                "UPDATE redemptions SET reversed_at = now() WHERE request_id = $1 AND reversed_at IS NULL RETURNING id",
                [requestID])
            let select = """
                SELECT r.request_id, r.coupon_id, c.template_key, r.store, r.amount_fen, r.discount_fen, r.gift_sku, r.at,
                       r.source, r.reversed_at, c.status, c.uses_left
                FROM redemptions r JOIN coupons c ON c.id = r.coupon_id WHERE r.request_id = $1
                """
            guard !reversed.isEmpty else {
                return .alreadyReversed(try CouponRedeemer.redemption(try tx.query(select, [requestID]).row(0)))
            }
            try tx.execute(
                """
                UPDATE coupons c
                SET uses_left = CASE WHEN c.uses_left IS NOT NULL THEN c.uses_left + 1 END,
                    status = CASE WHEN c.expires_at > now() THEN 'active' ELSE 'expired' END,
                    redeemed_at = (SELECT min(r.at) FROM redemptions r WHERE r.coupon_id = c.id AND r.reversed_at IS NULL)
                WHERE c.id = $1
                """, [couponID])
            let row = try tx.query(select, [requestID]).row(0)
            return .reversed(
                try CouponRedeemer.redemption(row),
                status: CouponStatus(rawValue: try row.decode("status")) ?? .active,
                usesLeft: try row.decodeIfPresent("uses_left"))
        }
    }
}
