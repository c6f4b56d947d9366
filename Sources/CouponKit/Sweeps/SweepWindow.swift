import Foundation
import Postgres

/// The coupons a sweep looks at: `active`, expiring in (after, through], of some templates, and
/// (per chunk) of a member id range. Found through `SweepIndex` (a BRIN on (expires_at,
/// member_id)): a chunk reads the block ranges whose expiries meet the window and whose member
/// ids meet its range, and rechecks each row.
struct SweepWindow: Codable, Sendable, Equatable {
    /// Exclusive; nil is unbounded (an expiry sweep that no earlier sweep bounds, `ExpirySweepBound`).
    var afterMicros: Int64?
    /// Inclusive.
    var throughMicros: Int64
    /// Empty is every template.
    var templateKeys: [String]

    var after: Date? { afterMicros.map(Self.date) }
    var through: Date { Self.date(throughMicros) }

    init(after: Date?, through: Date, templateKeys: [String]) {
        afterMicros = after.map(Self.micros)
        throughMicros = Self.micros(through)
        self.templateKeys = templateKeys
    }

    /// `c.status = 'active' AND …` over alias `c`, the member range included when given.
    func condition(_ p: SQLParameterList, members: RunPlan.Chunk?) -> String {
        var parts = ["c.status = 'active'"]
        if let members {
            parts.append("c.member_id >= \(p.add(members.lower))")
            parts.append("c.member_id < \(p.add(members.upper))")
        }
        if let after { parts.append("c.expires_at > \(p.add(after))") }
        parts.append("c.expires_at <= \(p.add(through))")
        if !templateKeys.isEmpty { parts.append("c.template_key = ANY(\(p.add(templateKeys))::text[])") }
        return parts.joined(separator: " AND ")
    }

    /// Member id ranges holding about `perChunk` of the window's coupons each. Ranges have equal
    /// width (ids are dense and coupons spread evenly enough); the longest transaction this gives
    /// is measured in `make bench`. A member's coupons are always in one chunk. Summarizes the
    /// index's new block ranges first, so that each chunk reads only its own.
    func chunks(perChunk: Int, _ connection: Connection) throws -> [RunPlan.Chunk] {
        try SweepIndex.summarizeNewRanges(connection)
        let p = SQLParameterList()
        let row = try connection.query(
            "SELECT count(*)::bigint, min(c.member_id), max(c.member_id) FROM coupons c WHERE \(condition(p, members: nil))",
            p.values
        ).row(0)
        let count: Int64 = try row.decode(0)
        guard count > 0, let lo = try row.decodeIfPresent(1, as: Int64.self), let hi = try row.decodeIfPresent(2, as: Int64.self)
        else { return [] }
        let span = hi - lo + 1
        let width = max(1, Int64((Double(span) * Double(perChunk) / Double(count)).rounded(.up)))
        return RunPlan.ranges(from: lo, to: hi + 1, size: width)
    }

    static func micros(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
    static func date(_ micros: Int64) -> Date { Date(timeIntervalSince1970: Double(micros) / 1_000_000) }
}
