/// Some coupons of one template, given together (to a member by a job, or in a bundle period).
public struct CouponGrant: Sendable, Equatable, Hashable {
    /// A key of `templates.yaml`, checked to exist when loaded.
    public let templateKey: String
    /// At least 1.
    public let quantity: Int

    public init(templateKey: String, quantity: Int = 1) {
        self.templateKey = templateKey
        self.quantity = quantity
    }
}
