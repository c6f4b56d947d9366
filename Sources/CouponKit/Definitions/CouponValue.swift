/// The coupon types (券种) a template can be.
public enum CouponType: String, Sendable, CaseIterable, Codable {
    /// 代金券: a fixed amount off, no minimum spend.
    case cash
    /// 满减券: spend at least X, get Y off, possibly in tiers.
    case threshold
    /// 折扣券: a percentage off, optionally capped and with a minimum spend.
    case discount
    /// 礼品券: exchanged for one item.
    case gift
    /// 次卡: several uses, each redemption consuming one.
    case punch
    /// 盲盒券: the amount off is drawn on issue from weighted choices.
    case blindbox
}

/// What a coupon is worth, with the parameters of its type. Money is in fen.
public enum CouponValue: Sendable, Equatable, Hashable {
    case cash(offFen: Int64)
    /// Tiers ordered by rising minimum spend and rising amount off.
    case threshold(tiers: [ThresholdTier])
    /// `percentOff` is 1...99.
    case discount(percentOff: Int, maxOffFen: Int64?, minSpendFen: Int64?)
    /// `valueFen` is the item's face value, counted as liability.
    case gift(sku: String, valueFen: Int64)
    /// `valueFen` is the value of one use.
    case punch(uses: Int, valueFen: Int64)
    case blindbox(choices: [BlindBoxChoice], minSpendFen: Int64?)

    public var type: CouponType {
        switch self {
        case .cash: return .cash
        case .threshold: return .threshold
        case .discount: return .discount
        case .gift: return .gift
        case .punch: return .punch
        case .blindbox: return .blindbox
        }
    }

    /// The most one coupon can be worth, for the liability reserve: the highest tier or choice,
    /// a discount's cap (0 when uncapped, as it has no fixed value), a punch card's all uses.
    public var faceValueFen: Int64 {
        switch self {
        case .cash(let offFen):
            return offFen
        case .threshold(let tiers):
            return tiers.map(\.offFen).max() ?? 0
        case .discount(_, let maxOffFen, _):
            return maxOffFen ?? 0
        case .gift(_, let valueFen):
            return valueFen
        case .punch(let uses, let valueFen):
            let (total, overflow) = valueFen.multipliedReportingOverflow(by: Int64(uses))
            return overflow ? Int64.max : total
        case .blindbox(let choices, _):
            return choices.map(\.offFen).max() ?? 0
        }
    }
}

/// One step of a threshold coupon: spend at least `minSpendFen`, get `offFen` off.
public struct ThresholdTier: Sendable, Equatable, Hashable, Encodable {
    public let minSpendFen: Int64
    public let offFen: Int64

    public init(minSpendFen: Int64, offFen: Int64) {
        self.minSpendFen = minSpendFen
        self.offFen = offFen
    }

    enum CodingKeys: String, CodingKey {
        case minSpendFen = "min_spend_fen"
        case offFen = "off_fen"
    }
}

/// One possible outcome of a blind box coupon, drawn with probability weight / total weight.
public struct BlindBoxChoice: Sendable, Equatable, Hashable, Encodable {
    public let offFen: Int64
    public let weight: Int

    public init(offFen: Int64, weight: Int) {
        self.offFen = offFen
        self.weight = weight
    }

    enum CodingKeys: String, CodingKey {
        case offFen = "off_fen"
        case weight
    }
}
