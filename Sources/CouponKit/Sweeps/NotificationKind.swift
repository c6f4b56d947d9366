/// What a notification tells its member; the receiver branches on it (`kind` in the payload).
public enum NotificationKind: String, Sendable, Codable, CaseIterable {
    /// Coupons expiring soon (a `remind` job).
    case remind
    /// Coupons that just expired (an `expire` job with `notify: true`).
    case expired
    /// A subscription period's coupons (`bundle` jobs).
    case bundle
}
