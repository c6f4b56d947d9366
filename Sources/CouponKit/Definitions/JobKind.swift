/// What a job does, as its file's `kind:` names it.
public enum JobKind: String, Sendable, CaseIterable {
    /// Issues coupons to a segment.
    case issue
    /// Does nothing but run chunks; for heartbeats and tests.
    case noop
    /// Reminds members of coupons about to expire.
    case remind
    /// Expires coupons past their validity.
    case expire
    /// Delivers the due periods of subscription bundles.
    case bundle
    /// Retention: prunes old finished runs' checkpoints and unused segment snapshots.
    case prune

    /// Whether job files of this kind load; the others are refused with "not supported yet".
    public var isSupported: Bool {
        self == .issue || self == .noop || self == .remind || self == .expire || self == .bundle || self == .prune
    }
}
