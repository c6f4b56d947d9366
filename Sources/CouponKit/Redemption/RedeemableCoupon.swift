import Foundation
import Postgres

/// A coupon as redemption sees it: its state and what its template says it is worth.
public struct RedeemableCoupon: Sendable, Equatable {
    public let id: Int64
    public let templateKey: String
    public var status: CouponStatus
    public let validFrom: Date
    public let expiresAt: Date
    /// The drawn value of a blind box; a template's face value otherwise.
    public let faceValueFen: Int64
    public var usesLeft: Int?
    public var redeemedAt: Date?
    public let value: CouponValue
    /// Store ids the coupon may be redeemed at; empty: every store.
    public let stores: [String]
    /// The template's zone, for saying when a window opens or ends.
    public let timeZone: TimeZone

    public init(
        id: Int64, templateKey: String, status: CouponStatus, validFrom: Date, expiresAt: Date, faceValueFen: Int64,
        usesLeft: Int?, redeemedAt: Date?, value: CouponValue, stores: [String], timeZone: TimeZone
    ) {
        self.id = id
        self.templateKey = templateKey
        self.status = status
        self.validFrom = validFrom
        self.expiresAt = expiresAt
        self.faceValueFen = faceValueFen
        self.usesLeft = usesLeft
        self.redeemedAt = redeemedAt
        self.value = value
        self.stores = stores
        self.timeZone = timeZone
    }

    /// The columns `init(row:specs:)` reads; `c` is coupons, `t` its template version.
    static let columns = """
        c.id, c.template_key, c.status, c.valid_from, c.expires_at, c.face_value_fen, c.uses_left, c.redeemed_at,
        t.spec::text AS spec
        """

    /// `specs` keeps the specs decoded so far, by their text.
    init(row: Row, specs: inout [String: TemplateSpec]) throws {
        let text: String = try row.decode("spec")
        let spec = try specs[text] ?? TemplateSpec.decode(text)
        specs[text] = spec
        let statusText: String = try row.decode("status")
        guard let status = CouponStatus(rawValue: statusText) else {
            throw PostgresError(kind: .decoding, message: "coupon has unknown status \(statusText)")
        }
        self.init(
            id: try row.decode("id"), templateKey: try row.decode("template_key"), status: status,
            validFrom: try row.decode("valid_from"), expiresAt: try row.decode("expires_at"),
            faceValueFen: try row.decode("face_value_fen"), usesLeft: try row.decodeIfPresent("uses_left"),
            redeemedAt: try row.decodeIfPresent("redeemed_at"), value: spec.value, stores: spec.stores,
            timeZone: spec.timeZone)
    }
}

/// The states of a coupon (DESIGN.md).
public enum CouponStatus: String, Sendable, Codable, CaseIterable {
    case active, redeemed, expired
    case usedUp = "used_up"
}

/// The part of a stored template spec (`coupon_templates.spec`, the template as encoded by
/// `CouponTemplate`) that redemption needs.
struct TemplateSpec: Decodable {
    let type: CouponType
    let offFen: Int64?
    let tiers: [Tier]?
    let percentOff: Int?
    let maxOffFen: Int64?
    let minSpendFen: Int64?
    let sku: String?
    let valueFen: Int64?
    let uses: Int?
    let choices: [Choice]?
    let storeList: [String]?
    let timezone: String?

    struct Tier: Decodable {
        let minSpendFen: Int64
        let offFen: Int64
        enum CodingKeys: String, CodingKey {
            case minSpendFen = "min_spend_fen"
            case offFen = "off_fen"
        }
    }

    struct Choice: Decodable {
        let offFen: Int64
        let weight: Int
        enum CodingKeys: String, CodingKey {
            case offFen = "off_fen"
            case weight
        }
    }

    enum CodingKeys: String, CodingKey {
        case type, tiers, sku, uses, choices, timezone
        case offFen = "off_fen"
        case percentOff = "percent_off"
        case maxOffFen = "max_off_fen"
        case minSpendFen = "min_spend_fen"
        case valueFen = "value_fen"
        case storeList = "stores"
    }

    static func decode(_ json: String) throws -> TemplateSpec {
        do {
            return try JSONDecoder().decode(TemplateSpec.self, from: Data(json.utf8))
        } catch {
            throw PostgresError(kind: .decoding, message: "a stored template spec cannot be read: \(error)")
        }
    }

    var stores: [String] { storeList ?? [] }
    var timeZone: TimeZone { timezone.flatMap(TimeZone.init(identifier:)) ?? DefinitionDefaults.timeZone }

    var value: CouponValue {
        switch type {
        case .cash: return .cash(offFen: offFen ?? 0)
        case .threshold:
            return .threshold(tiers: (tiers ?? []).map { ThresholdTier(minSpendFen: $0.minSpendFen, offFen: $0.offFen) })
        case .discount: return .discount(percentOff: percentOff ?? 0, maxOffFen: maxOffFen, minSpendFen: minSpendFen)
        case .gift: return .gift(sku: sku ?? "", valueFen: valueFen ?? 0)
        case .punch: return .punch(uses: uses ?? 1, valueFen: valueFen ?? 0)
        case .blindbox:
            return .blindbox(
                choices: (choices ?? []).map { BlindBoxChoice(offFen: $0.offFen, weight: $0.weight) }, minSpendFen: minSpendFen)
        }
    }
}
