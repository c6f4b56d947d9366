/// A coupon code cannot be made.
public enum CouponCodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The id is outside ``CouponCodec/couponIDRange`` (`1 ... 2^48 - 1`).
    case couponIDOutOfRange(Int64)

    public var description: String {
        switch self {
        case .couponIDOutOfRange(let couponID):
            "cannot make a coupon code for coupon id \(couponID): codes support ids "
                + "\(CouponCodec.couponIDRange.lowerBound) to \(CouponCodec.couponIDRange.upperBound) (2^48 - 1)"
        }
    }
}
