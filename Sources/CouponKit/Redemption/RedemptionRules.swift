import Foundation

/// What a till asks: use a coupon on an order of `amountFen` at `store`, at instant `at`.
public struct RedemptionRequest: Sendable, Equatable {
    public let store: String
    public let amountFen: Int64
    public let at: Date

    public init(store: String, amountFen: Int64, at: Date) {
        self.store = store
        self.amountFen = amountFen
        self.at = at
    }
}

/// What a redemption does to a coupon and the order, when the rules allow it.
public struct RedemptionDecision: Sendable, Equatable {
    public let discountFen: Int64
    /// The item a gift coupon is exchanged for.
    public let giftSKU: String?
    public let newStatus: CouponStatus
    public let newUsesLeft: Int?
}

/// Why a coupon cannot be redeemed. Every case is bad input (exit 65): the till should show
/// the message and take no coupon.
public enum RedemptionRefusal: Error, Sendable, Equatable, CustomStringConvertible, CategorizedError {
    case malformedCode(String)
    case forgedCode
    case unknownCoupon(Int64)
    case alreadyRedeemed(couponID: Int64, at: Date?)
    case usedUp(couponID: Int64)
    case notYetValid(couponID: Int64, validFrom: Date, zone: TimeZone)
    case expired(couponID: Int64, expiresAt: Date, zone: TimeZone)
    case wrongStore(couponID: Int64, store: String, stores: [String])
    case belowMinimumSpend(couponID: Int64, amountFen: Int64, minimumFen: Int64)
    case requestIDUsedForAnotherCoupon(requestID: String, couponID: Int64)

    public var category: FailureCategory { .badInput }

    /// A short stable word for scripts and reject files.
    public var reason: String {
        switch self {
        case .malformedCode: return "malformed_code"
        case .forgedCode: return "forged_code"
        case .unknownCoupon: return "unknown_coupon"
        case .alreadyRedeemed: return "already_redeemed"
        case .usedUp: return "used_up"
        case .notYetValid: return "not_yet_valid"
        case .expired: return "expired"
        case .wrongStore: return "wrong_store"
        case .belowMinimumSpend: return "below_minimum_spend"
        case .requestIDUsedForAnotherCoupon: return "request_id_reused"
        }
    }

    public var description: String {
        switch self {
        case .malformedCode(let message):
            return message
        case .forgedCode:
            return "forged code: it was not issued by this deployment"
        case .unknownCoupon(let id):
            return "coupon \(id) does not exist (the code is genuine, but no such coupon was issued here)"
        case .alreadyRedeemed(let id, let at):
            return "coupon \(id) is already redeemed" + (at.map { " (at \(ISOText.utc($0)))" } ?? "")
        case .usedUp(let id):
            return "coupon \(id) is used up: every use of the punch card has been redeemed"
        case .notYetValid(let id, let validFrom, let zone):
            return "coupon \(id) is not valid yet: valid from \(ISOText.local(validFrom, zone))"
        case .expired(let id, let expiresAt, let zone):
            return "coupon \(id) has expired: valid until \(ISOText.local(expiresAt, zone)) (exclusive)"
        case .wrongStore(let id, let store, let stores):
            return "coupon \(id) cannot be redeemed at store \(store): only at \(stores.joined(separator: ", "))"
        case .belowMinimumSpend(let id, let amount, let minimum):
            return "coupon \(id) needs a spend of at least \(minimum) fen; the order is \(amount) fen"
        case .requestIDUsedForAnotherCoupon(let requestID, let id):
            return "request id \(requestID) was already used to redeem another coupon (\(id)); use a new request id"
        }
    }
}

/// The rules of 核销 for each coupon type, without a database: tested on their own, applied by
/// `CouponRedeemer` to coupons it has locked.
///
/// - The coupon must be `active` (a punch card with uses left stays active).
/// - `[validFrom, expiresAt)` must contain the moment of use; a bound coupon only at its stores.
/// - cash: its amount off, never more than the order. threshold: the best tier the order
///   reaches. discount: the percentage of the order (rounded down to the fen), at most the cap,
///   with its minimum spend. gift: the item, counted at its value. punch: one use at its value;
///   `used_up` when none is left. blind box: its drawn value, never more than the order, with
///   its minimum spend.
public enum RedemptionRules {
    public static func decide(_ coupon: RedeemableCoupon, _ request: RedemptionRequest) -> Result<
        RedemptionDecision, RedemptionRefusal
    > {
        switch coupon.status {
        case .redeemed: return .failure(.alreadyRedeemed(couponID: coupon.id, at: coupon.redeemedAt))
        case .usedUp: return .failure(.usedUp(couponID: coupon.id))
        // Marked expired by the sweep: final, even for a use an offline till dated earlier, so a
        // coupon is never both expired and redeemed (a person settles such a row from the reject file).
        case .expired: return .failure(.expired(couponID: coupon.id, expiresAt: coupon.expiresAt, zone: coupon.timeZone))
        case .active: break
        }
        guard request.at >= coupon.validFrom else {
            return .failure(.notYetValid(couponID: coupon.id, validFrom: coupon.validFrom, zone: coupon.timeZone))
        }
        guard request.at < coupon.expiresAt else {
            return .failure(.expired(couponID: coupon.id, expiresAt: coupon.expiresAt, zone: coupon.timeZone))
        }
        guard coupon.stores.isEmpty || coupon.stores.contains(request.store) else {
            return .failure(.wrongStore(couponID: coupon.id, store: request.store, stores: coupon.stores))
        }
        let amount = request.amountFen
        func below(_ minimum: Int64?) -> RedemptionRefusal? {
            guard let minimum, amount < minimum else { return nil }
            return .belowMinimumSpend(couponID: coupon.id, amountFen: amount, minimumFen: minimum)
        }
        var discount: Int64
        var sku: String?
        var status = CouponStatus.redeemed
        var usesLeft = coupon.usesLeft
        switch coupon.value {
        case .cash(let offFen):
            discount = min(offFen, amount)
        case .threshold(let tiers):
            guard let best = tiers.filter({ $0.minSpendFen <= amount }).max(by: { $0.offFen < $1.offFen }) else {
                return .failure(below(tiers.map(\.minSpendFen).min() ?? 0) ?? .belowMinimumSpend(
                    couponID: coupon.id, amountFen: amount, minimumFen: 0))
            }
            discount = min(best.offFen, amount)
        case .discount(let percentOff, let maxOffFen, let minSpendFen):
            if let refusal = below(minSpendFen) { return .failure(refusal) }
            let (product, overflow) = amount.multipliedReportingOverflow(by: Int64(percentOff))
            discount = overflow ? amount / 100 * Int64(percentOff) : product / 100
            if let maxOffFen { discount = min(discount, maxOffFen) }
        case .gift(let giftSKU, let valueFen):
            discount = valueFen
            sku = giftSKU
        case .punch(let uses, let valueFen):
            let left = coupon.usesLeft ?? uses
            guard left > 0 else { return .failure(.usedUp(couponID: coupon.id)) }
            discount = valueFen
            usesLeft = left - 1
            status = left - 1 == 0 ? .usedUp : .active
        case .blindbox(_, let minSpendFen):
            if let refusal = below(minSpendFen) { return .failure(refusal) }
            discount = min(coupon.faceValueFen, amount)
        }
        return .success(RedemptionDecision(discountFen: discount, giftSKU: sku, newStatus: status, newUsesLeft: usesLeft))
    }
}

/// Instants in messages: UTC for the record, local (with the zone's name) where a window ends.
enum ISOText {
    static func utc(_ date: Date) -> String { date.formatted(.iso8601) }

    static func local(_ date: Date, _ zone: TimeZone) -> String {
        let offset = zone.secondsFromGMT(for: date)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d%@%02d:%02d %@", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0,
            c.minute ?? 0, c.second ?? 0, offset < 0 ? "-" : "+", abs(offset) / 3600, (abs(offset) % 3600) / 60,
            zone.identifier)
    }
}
