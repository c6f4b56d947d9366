import Foundation

/// Everything an issue run freezes when it starts, stored in its checkpoint: a resumed run
/// issues exactly what the first attempt would have (same segment snapshot, template versions,
/// validity, arms).
public struct IssuePlan: Codable, Sendable, Equatable {
    /// One coupon line of a pack: `quantity` coupons of a template version.
    public struct Line: Codable, Sendable, Equatable {
        public var templateKey: String
        public var version: Int
        public var quantity: Int
        public var faceValueFen: Int64
        /// Blind boxes: face values and weights drawn from per (run, member).
        public var blindbox: [WeightedValue]?
        public var usesLeft: Int?
        public var validFrom: Date
        public var expiresAt: Date
        public var perMemberLimit: Int?
        public var reissueAfterDays: Int?
        public var finiteStock: Bool
        /// Some of the template's coupons were issued without a cap number, so the cap and
        /// interval checks must read all of a member's coupons, not just the highest number.
        /// Absent in plans made before the flag existed: then they do.
        public var unnumberedCoupons: Bool?

        public var countsUnnumbered: Bool { unnumberedCoupons ?? true }

        /// A per-member cap or a reissue interval limits who may get this template again.
        public var isLimited: Bool { perMemberLimit != nil || reissueAfterDays != nil }
    }

    public struct WeightedValue: Codable, Sendable, Equatable {
        public var valueFen: Int64
        public var weight: Int
    }

    /// An A/B arm (or the single arm of a job without variants): a weight range of the
    /// member's hash bucket and the pack its members get (empty for a holdout).
    public struct Arm: Codable, Sendable, Equatable {
        public var name: String?
        public var bucketFrom: Int
        public var bucketTo: Int
        public var holdout: Bool
        public var lines: [Line]

        public var packSize: Int { lines.reduce(0) { $0 + $1.quantity } }
    }

    public var segment: ResolvedSegment
    public var arms: [Arm]
    public var totalWeight: Int
    /// Seed of the arm hash: a function of the job name, so a member's arm is stable across runs.
    public var armSeed: Int64
    public var issuedAt: Date
    public var warnings: [String]
    /// Members each chunk may serve, per arm (`[arm][chunk]`), allotted from stock that was set
    /// aside when the run was planned (`StockAllotment`); nil for an arm whose templates have no
    /// stock limit, and absent in plans made before allotments existed (their chunks run one
    /// after another, each limited by the stock left).
    public var allotments: [[Int64]?]?
    /// Eligible members per arm and chunk when stock was short at planning (`[arm][chunk]`), so a
    /// chunk reports how many of them its allotment left without a coupon.
    public var eligibleWhenPlanned: [[Int64]?]?
}
