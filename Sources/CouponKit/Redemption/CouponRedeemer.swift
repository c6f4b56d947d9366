import Foundation
import Postgres

/// One use to record: a coupon (its code already verified), the till's request and where it
/// came from. `at` nil means the database's clock.
public struct RedemptionAttempt: Sendable, Equatable {
    public let couponID: Int64
    public let requestID: String
    public let store: String
    public let amountFen: Int64
    public let at: Date?

    public init(couponID: Int64, requestID: String, store: String, amountFen: Int64, at: Date?) {
        self.couponID = couponID
        self.requestID = requestID
        self.store = store
        self.amountFen = amountFen
        self.at = at
    }
}

/// A recorded redemption (a row of `redemptions`), as `redeem` reports it.
public struct Redemption: Sendable, Equatable, Codable {
    public let requestID: String
    public let couponID: Int64
    public let templateKey: String
    public let store: String
    public let amountFen: Int64
    public let discountFen: Int64
    public let giftSKU: String?
    public let at: Date
    public let source: String
    public let reversedAt: Date?

    enum CodingKeys: String, CodingKey {
        case store, at, source
        case requestID = "request_id"
        case couponID = "coupon_id"
        case templateKey = "template"
        case amountFen = "amount_fen"
        case discountFen = "discount_fen"
        case giftSKU = "gift_sku"
        case reversedAt = "reversed_at"
    }
}

/// What became of one attempt.
public enum RedemptionOutcome: Sendable, Equatable {
    /// Recorded now; the coupon's state after it.
    case redeemed(Redemption, status: CouponStatus, usesLeft: Int?)
    /// The request id was recorded before, for this coupon: its first result, nothing changed.
    case replayed(Redemption)
    case refused(RedemptionRefusal)
}

/// Records redemptions inside a transaction the caller owns: locks the coupons, applies
/// `RedemptionRules` in order, and writes the redemptions and the coupons' new state with one
/// statement each, whether for one till request or a chunk of a back-filled file.
///
/// Race-safety: coupons are locked (`FOR UPDATE`, in id order, so two batches cannot deadlock)
/// before their request ids are looked up, so a second till with the same coupon waits and then
/// sees the first one's redemption (READ COMMITTED reads what committed while it waited). The
/// expiry sweep's `UPDATE … WHERE status = 'active'` waits on the same row lock and then skips a
/// coupon that is no longer active: a coupon ends redeemed or expired, never both. Two requests
/// with one request id on different coupons collide on `redemptions_request_id_key`; the caller
/// retries the transaction, which then reports the reuse.
public struct CouponRedeemer: Sendable {
    public let source: String
    public let runID: Int64?

    public init(source: String, runID: Int64? = nil) {
        self.source = source
        self.runID = runID
    }

    /// `requestsFirst` false defers the request-id lookup (a back-fill's chunks, whose ids are
    /// nearly all new): only the ids of attempts the rules refuse are looked up, since a recorded
    /// id among the attempts to redeem makes the INSERT collide on `redemptions_request_id_key`,
    /// and the caller's retry (with `requestsFirst` true) then reports it as a replay. When a
    /// refused attempt's id was recorded, the decisions are made again with every id looked up,
    /// so the outcomes are always those of looking every id up first.
    public func apply(_ attempts: [RedemptionAttempt], requestsFirst: Bool = true, in tx: Connection) throws
        -> [RedemptionOutcome]
    {
        guard !attempts.isEmpty else { return [] }
        let ids = Array(Set(attempts.map(\.couponID))).sorted()
        let locked = try tx.query(
            """
            SELECT \(RedeemableCoupon.columns), c.run_id, c.member_id, c.issued_at::text AS issued_at_text, now() AS now
            FROM coupons c JOIN coupon_templates t ON t.key = c.template_key AND t.version = c.template_version
            WHERE c.id = ANY($1::bigint[])
            ORDER BY c.id
            FOR UPDATE OF c
            """, [ids])
        var coupons: [Int64: RedeemableCoupon] = [:]
        var origins: [Int64: Origin] = [:]
        var now = Date()
        var specs: [String: TemplateSpec] = [:]  // a chunk's coupons share a few templates: decode each once
        for row in locked.rows {
            let coupon = try RedeemableCoupon(row: row, specs: &specs)
            coupons[coupon.id] = coupon
            origins[coupon.id] = Origin(
                runID: try row.decode("run_id"), memberID: try row.decode("member_id"), issuedAt: try row.decode("issued_at_text"))
            now = try row.decode("now")
        }
        if locked.isEmpty { now = try tx.query("SELECT now()").row(0).decode(0, as: Date.self) }
        let requestIDs = Set(attempts.map(\.requestID))
        var known = requestsFirst ? try Self.recorded(requestIDs, tx) : [:]
        var decided = decide(attempts, coupons: coupons, known: known, now: now)
        if !requestsFirst, !decided.refusedRequestIDs.isEmpty,
            try !Self.recorded(Set(decided.refusedRequestIDs), tx).isEmpty
        {
            // A refused attempt was recorded before: decide again with every id looked up.
            known = try Self.recorded(requestIDs, tx)
            decided = decide(attempts, coupons: coupons, known: known, now: now)
        }
        return try record(decided, origins: origins, in: tx)
    }

    /// The redemptions already recorded under these request ids.
    static func recorded(_ requestIDs: Set<String>, _ tx: Connection) throws -> [String: Redemption] {
        guard !requestIDs.isEmpty else { return [:] }
        var known: [String: Redemption] = [:]
        for row in try tx.query(
            """
            SELECT r.request_id, r.coupon_id, c.template_key, r.store, r.amount_fen, r.discount_fen, r.gift_sku, r.at,
                   r.source, r.reversed_at
            FROM unnest($1::text[]) AS q(request_id)
            JOIN redemptions r ON r.request_id = q.request_id
            JOIN coupons c ON c.id = r.coupon_id
            """, [Array(requestIDs)]  // a join, not `= ANY`: 25× faster for a chunk's 5,000 ids
        ).rows {
            let redemption = try Self.redemption(row)
            known[redemption.requestID] = redemption
        }
        return known
    }

    /// The rules applied to the attempts in order, on the locked coupons.
    struct Decisions {
        var outcomes: [RedemptionOutcome] = []
        var inserts: [Redemption] = []
        var updates: [RedeemableCoupon] = []
        /// Request ids of attempts refused by the rules (not through a recorded id).
        var refusedRequestIDs: [String] = []
    }

    func decide(_ attempts: [RedemptionAttempt], coupons locked: [Int64: RedeemableCoupon], known recorded: [String: Redemption], now: Date)
        -> Decisions
    {
        var coupons = locked
        var known = recorded
        var outcomes: [RedemptionOutcome] = []
        var inserts: [Redemption] = []
        var changed: Set<Int64> = []
        var refusedRequestIDs: [String] = []
        for attempt in attempts {
            if let first = known[attempt.requestID] {
                outcomes.append(
                    first.couponID == attempt.couponID
                        ? .replayed(first)
                        : .refused(.requestIDUsedForAnotherCoupon(requestID: attempt.requestID, couponID: first.couponID)))
                continue
            }
            guard var coupon = coupons[attempt.couponID] else {
                outcomes.append(.refused(.unknownCoupon(attempt.couponID)))
                refusedRequestIDs.append(attempt.requestID)
                continue
            }
            let request = RedemptionRequest(store: attempt.store, amountFen: attempt.amountFen, at: attempt.at ?? now)
            switch RedemptionRules.decide(coupon, request) {
            case .failure(let refusal):
                outcomes.append(.refused(refusal))
                refusedRequestIDs.append(attempt.requestID)
            case .success(let decision):
                let redemption = Redemption(
                    requestID: attempt.requestID, couponID: coupon.id, templateKey: coupon.templateKey, store: attempt.store,
                    amountFen: attempt.amountFen, discountFen: decision.discountFen, giftSKU: decision.giftSKU,
                    at: request.at, source: source, reversedAt: nil)
                coupon.status = decision.newStatus
                coupon.usesLeft = decision.newUsesLeft
                coupon.redeemedAt = min(coupon.redeemedAt ?? request.at, request.at)
                coupons[coupon.id] = coupon
                changed.insert(coupon.id)
                known[attempt.requestID] = redemption
                inserts.append(redemption)
                outcomes.append(.redeemed(redemption, status: decision.newStatus, usesLeft: decision.newUsesLeft))
            }
        }
        return Decisions(
            outcomes: outcomes, inserts: inserts, updates: changed.sorted().compactMap { coupons[$0] },
            refusedRequestIDs: refusedRequestIDs)
    }

    /// Writes the redemptions and the coupons' new state, one statement each.
    func record(_ decided: Decisions, origins: [Int64: Origin], in tx: Connection) throws -> [RedemptionOutcome] {
        let inserts = decided.inserts
        guard !inserts.isEmpty else { return decided.outcomes }
        try tx.execute(
            """
            INSERT INTO redemptions (request_id, coupon_id, store, amount_fen, discount_fen, gift_sku, at, source, run_id,
                                     template_key, coupon_run_id, member_id, coupon_issued_at)
            SELECT r.request_id, r.coupon_id, r.store, r.amount_fen, r.discount_fen, nullif(r.gift_sku, ''), r.at, $8, $9,
                   r.template_key, r.coupon_run_id, r.member_id, r.coupon_issued_at
            FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::timestamptz[],
                        $10::text[], $11::bigint[], $12::bigint[], $13::timestamptz[])
                AS r(request_id, coupon_id, store, amount_fen, discount_fen, gift_sku, at, template_key, coupon_run_id, member_id,
                     coupon_issued_at)
            """,
            [
                inserts.map(\.requestID), inserts.map(\.couponID), inserts.map(\.store), inserts.map(\.amountFen),
                inserts.map(\.discountFen), inserts.map { $0.giftSKU ?? "" }, inserts.map { $0.at.postgresText ?? "" },
                source, runID, inserts.map(\.templateKey), inserts.map { origins[$0.couponID]?.runID ?? 0 },
                inserts.map { origins[$0.couponID]?.memberID ?? 0 }, inserts.map { origins[$0.couponID]?.issuedAt ?? "" },
            ])
        let updates = decided.updates
        try tx.execute(
            """
            UPDATE coupons c
            SET status = u.status, uses_left = nullif(u.uses_left, -1), redeemed_at = u.redeemed_at
            FROM unnest($1::bigint[], $2::text[], $3::int[], $4::timestamptz[]) AS u(id, status, uses_left, redeemed_at)
            WHERE c.id = u.id
            """,
            [
                updates.map(\.id), updates.map(\.status.rawValue), updates.map { Int32($0.usesLeft ?? -1) },
                updates.map { $0.redeemedAt?.postgresText ?? "" },
            ])
        return decided.outcomes
    }

    /// What a redemption row copies from its coupon for reports (sql/0031); `issuedAt` as the
    /// server wrote it, so the copy is exact to the microsecond.
    struct Origin {
        let runID: Int64
        let memberID: Int64
        let issuedAt: String
    }

    static func redemption(_ row: Row) throws -> Redemption {
        Redemption(
            requestID: try row.decode("request_id"), couponID: try row.decode("coupon_id"),
            templateKey: try row.decode("template_key"), store: try row.decode("store"),
            amountFen: try row.decode("amount_fen"), discountFen: try row.decode("discount_fen"),
            giftSKU: try row.decodeIfPresent("gift_sku"), at: try row.decode("at"), source: try row.decode("source"),
            reversedAt: try row.decodeIfPresent("reversed_at"))
    }
}

extension CouponRedeemer {
    /// The coupon id of a code, checked with the code secret only: a forged or mistyped code is
    /// refused before the database is touched.
    public static func couponID(of code: String, _ codec: CouponCodec) -> Result<Int64, RedemptionRefusal> {
        switch codec.verify(code) {
        case .valid(let couponID, _): return .success(couponID)
        case .malformed(let message): return .failure(.malformedCode(message))
        case .forged: return .failure(.forgedCode)
        }
    }

    /// One till request in a transaction of its own, retried when a concurrent request with the
    /// same request id won the race (the retry then reports that request's result or the reuse).
    public func redeem(_ attempt: RedemptionAttempt, _ connection: Connection, retry: RetryStrategy = .database) throws
        -> RedemptionOutcome
    {
        var tries = 0
        while true {
            tries += 1
            do {
                return try connection.transaction { tx in try apply([attempt], in: tx)[0] }
            } catch let error as PostgresError where error.code == .uniqueViolation && tries < retry.attempts {
                continue
            } catch {
                guard retry.shouldRetry(error, attempt: tries) else { throw error }
                Thread.sleep(forTimeInterval: retry.delay(attempt: tries))
            }
        }
    }
}
