/// The outcome of ``CouponCodec/verify(_:)``.
public enum CodeVerification: Sendable, Equatable {
    /// An authentic code: read coupon `couponID` by primary key. `keyVersion` is the key version
    /// the code was made with (older than the current one after a rotation).
    case valid(couponID: Int64, keyVersion: UInt8)
    /// Not shaped like a code (wrong length, a character that is not in the alphabet, empty).
    /// The message says what is wrong and is safe to show to the person who typed the code.
    case malformed(String)
    /// Shaped like a code but not one this service issued: the tag does not match, or the key
    /// version is unknown to the keyring (never issued, or its secret has been retired).
    case forged

    /// The coupon id of a valid code, else nil.
    public var couponID: Int64? {
        if case .valid(let couponID, _) = self { couponID } else { nil }
    }
}
