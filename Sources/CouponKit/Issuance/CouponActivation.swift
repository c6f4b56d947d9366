import Foundation

/// The rule every path that makes a coupon `active` follows (issuance chunks, trigger batches,
/// bundle deliveries, a redemption's reversal): a coupon is `active` only if its validity has
/// not ended by the database's clock at that moment; otherwise it is written `expired`.
///
/// Why: an expiry sweep then only has to look at coupons expiring after the previous sweep's
/// slot (less a margin, `ExpirySweepBound`), not at every expired coupon ever issued. Without the
/// rule a catch-up run (or `run --at` a slot in the past) could leave an `active` coupon that
/// expired long before, below every later sweep's window. The database's clock, not the runner's:
/// it is the one clock every runner shares, and the one the sweep's bound is read from.
enum CouponActivation {
    /// The status for a coupon expiring at `expiresAt` (an SQL expression) that becomes usable now.
    static func status(expiresAt: String) -> String {
        "CASE WHEN \(expiresAt) > now() THEN 'active' ELSE 'expired' END"
    }
}
