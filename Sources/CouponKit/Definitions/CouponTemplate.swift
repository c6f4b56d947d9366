import Foundation

/// What a coupon is: its value, validity, limits and where it can be redeemed.
///
/// Loaded from `templates.yaml`. `fingerprint` changes whenever what a coupon is changes, so the
/// engine can give an edited template a new version while issued coupons keep theirs; `stock` and
/// `per_member` say how many are given, not what a coupon is, so changing them makes no new
/// version. The `Encodable` form is the file's (snake_case); `versionedSpec` is what a version stores.
public struct CouponTemplate: Sendable, Equatable, Encodable {
    public let key: String
    /// Display name, e.g. "满2000减300".
    public let title: String?
    public let kind: CouponValue
    public let validity: CouponValidity
    /// Days between issue and the first valid day.
    public let startDelayDays: Int
    public let timeZone: TimeZone
    /// Total coupons that may ever be issued; nil is unlimited.
    public let stock: Int64?
    /// Lifetime cap of this template's coupons per member; nil is no cap.
    public let perMemberLimit: Int?
    /// The same member gets this template again only this many days after the last one.
    public let reissueAfterDays: Int?
    /// Store ids the coupon is redeemable at; empty means every store.
    public let stores: [String]
    public let transferable: Bool
    /// Only for subscription bundles (会员专享), shown differently from public coupons.
    public let memberExclusive: Bool
    /// 16 hex digits: FNV-1a 64 of the canonical JSON (sorted keys) of the encoded template.
    public private(set) var fingerprint: String = ""

    public init(
        key: String,
        title: String? = nil,
        kind: CouponValue,
        validity: CouponValidity,
        startDelayDays: Int = 0,
        timeZone: TimeZone = DefinitionDefaults.timeZone,
        stock: Int64? = nil,
        perMemberLimit: Int? = nil,
        reissueAfterDays: Int? = nil,
        stores: [String] = [],
        transferable: Bool = false,
        memberExclusive: Bool = false
    ) {
        self.key = key
        self.title = title
        self.kind = kind
        self.validity = validity
        self.startDelayDays = startDelayDays
        self.timeZone = timeZone
        self.stock = stock
        self.perMemberLimit = perMemberLimit
        self.reissueAfterDays = reissueAfterDays
        self.stores = stores
        self.transferable = transferable
        self.memberExclusive = memberExclusive
        self.fingerprint = CouponTemplate.fingerprint(of: self)
    }

    public var type: CouponType { kind.type }

    /// See `CouponValue.faceValueFen`.
    public var faceValueFen: Int64 { kind.faceValueFen }

    /// Set in an encoder's `userInfo` to leave out the fields that make no new version.
    static let versionedOnlyKey = CodingUserInfoKey(rawValue: "couponbatch.versionedOnly")!

    /// The canonical JSON (sorted keys) of what a coupon of this template is: everything but
    /// `stock` and `per_member`. A version stores it; its hash is the fingerprint.
    public func versionedSpec() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.userInfo[Self.versionedOnlyKey] = true
        return try encoder.encode(self)
    }

    /// FNV-1a 64 over `versionedSpec`. Encoding cannot fail here: the template holds only
    /// strings, integers and booleans; should it ever, the empty input still hashes stably.
    static func fingerprint(of template: CouponTemplate) -> String {
        let bytes = (try? template.versionedSpec()) ?? Data()
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    enum CodingKeys: String, CodingKey {
        case key, title, type, validity, timezone, stock, stores, transferable
        case startDelayDays = "start_delay_days"
        case perMember = "per_member"
        case reissueAfterDays = "reissue_after_days"
        case memberExclusive = "member_exclusive"
        case offFen = "off_fen"
        case tiers
        case percentOff = "percent_off"
        case maxOffFen = "max_off_fen"
        case minSpendFen = "min_spend_fen"
        case sku
        case valueFen = "value_fen"
        case uses
        case choices
    }

    enum ValidityKeys: String, CodingKey {
        case days, from, until
    }

    /// The file's field names and shapes, absent optional fields left out.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(key, forKey: .key)
        try container.encodeIfPresent(title, forKey: .title)
        try container.encode(kind.type, forKey: .type)
        switch kind {
        case .cash(let offFen):
            try container.encode(offFen, forKey: .offFen)
        case .threshold(let tiers):
            try container.encode(tiers, forKey: .tiers)
        case .discount(let percentOff, let maxOffFen, let minSpendFen):
            try container.encode(percentOff, forKey: .percentOff)
            try container.encodeIfPresent(maxOffFen, forKey: .maxOffFen)
            try container.encodeIfPresent(minSpendFen, forKey: .minSpendFen)
        case .gift(let sku, let valueFen):
            try container.encode(sku, forKey: .sku)
            try container.encode(valueFen, forKey: .valueFen)
        case .punch(let uses, let valueFen):
            try container.encode(uses, forKey: .uses)
            try container.encode(valueFen, forKey: .valueFen)
        case .blindbox(let choices, let minSpendFen):
            try container.encode(choices, forKey: .choices)
            try container.encodeIfPresent(minSpendFen, forKey: .minSpendFen)
        }
        var validityContainer = container.nestedContainer(keyedBy: ValidityKeys.self, forKey: .validity)
        switch validity {
        case .days(let days):
            try validityContainer.encode(days, forKey: .days)
        case .window(let from, let until):
            try validityContainer.encode(from, forKey: .from)
            try validityContainer.encode(until, forKey: .until)
        }
        try container.encode(startDelayDays, forKey: .startDelayDays)
        try container.encode(timeZone.identifier, forKey: .timezone)
        if encoder.userInfo[Self.versionedOnlyKey] as? Bool != true {
            try container.encodeIfPresent(stock, forKey: .stock)
            try container.encodeIfPresent(perMemberLimit, forKey: .perMember)
        }
        try container.encodeIfPresent(reissueAfterDays, forKey: .reissueAfterDays)
        try container.encode(stores, forKey: .stores)
        try container.encode(transferable, forKey: .transferable)
        try container.encode(memberExclusive, forKey: .memberExclusive)
    }
}
