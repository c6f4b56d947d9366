/// Issue coupons to every member of a segment.
public struct IssueAction: Sendable, Equatable {
    public let segment: Segment
    public let offer: IssueOffer
    /// Members per chunk (one transaction each), 100...1_000_000.
    public let chunkSize: Int

    public init(segment: Segment, offer: IssueOffer, chunkSize: Int = DefinitionDefaults.issueChunkSize) {
        self.segment = segment
        self.offer = offer
        self.chunkSize = chunkSize
    }
}

/// What each member of the segment gets.
public enum IssueOffer: Sendable, Equatable, Hashable {
    /// One combo pack (组合券): a member gets all of these or none. Non-empty, one entry a template.
    case coupons([CouponGrant])
    /// An A/B test: each member falls into one arm by weight.
    case variants([IssueVariant])

    /// Every template the offer can issue, in order of first mention.
    public var templateKeys: [String] {
        let grants: [CouponGrant]
        switch self {
        case .coupons(let coupons): grants = coupons
        case .variants(let variants): grants = variants.flatMap(\.coupons)
        }
        var keys: [String] = []
        for grant in grants where !keys.contains(grant.templateKey) {
            keys.append(grant.templateKey)
        }
        return keys
    }
}

/// One arm of an A/B test. Names are unique within a job; at most one arm is a holdout, which
/// gets no coupons and is the control group.
public struct IssueVariant: Sendable, Equatable, Hashable {
    public let name: String
    /// At least 1; an arm's share is weight / total weight.
    public let weight: Int
    public let holdout: Bool
    /// Non-empty unless `holdout`, empty if it is.
    public let coupons: [CouponGrant]

    public init(name: String, weight: Int, holdout: Bool = false, coupons: [CouponGrant] = []) {
        self.name = name
        self.weight = weight
        self.holdout = holdout
        self.coupons = coupons
    }
}
