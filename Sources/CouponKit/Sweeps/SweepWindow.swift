import Foundation
import Postgres

/// The coupons a sweep looks at: `active`, expiring in (after, through], of some templates, and
/// (per chunk) of a member id range. Found through `coupons_active_expiry_member`
/// (expires_at, member_id) WHERE status = 'active': the plan lists the window's distinct expiry
/// instants (few: validity ends at the end of a day), and a chunk probes the index once per
/// instant for its member range. With too many instants a chunk scans the window's index range.
struct SweepWindow: Codable, Sendable, Equatable {
    /// Exclusive; nil is unbounded (expiry sweeps).
    var afterMicros: Int64?
    /// Inclusive.
    var throughMicros: Int64
    /// Empty is every template.
    var templateKeys: [String]
    /// The distinct expiry instants in the window when the plan was made (nil: too many to list).
    var instantsMicros: [Int64]?

    /// Above this many distinct instants a chunk scans the window instead of probing each.
    static let instantLimit = 2_000

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
        if members != nil, let instants = instantsMicros {
            parts.append("c.expires_at = ANY(\(p.add(instants.map(Self.date).map { $0.postgresText ?? "" }))::timestamptz[])")
        }
        if !templateKeys.isEmpty { parts.append("c.template_key = ANY(\(p.add(templateKeys))::text[])") }
        return parts.joined(separator: " AND ")
    }

    /// Lists the window's distinct expiry instants with a loose index scan (one index probe each),
    /// up to `instantLimit`; more leaves the list out.
    mutating func listInstants(_ connection: Connection) throws {
        let p = SQLParameterList()
        let lower = after.map { "c.expires_at > \(p.add($0))" } ?? "TRUE"
        let upper = "c.expires_at <= \(p.add(through))"
        let limit = p.add(Int64(Self.instantLimit + 1))
        let rows = try connection.query(
            """
            WITH RECURSIVE instants AS (
                (SELECT c.expires_at FROM coupons c WHERE c.status = 'active' AND \(lower) AND \(upper)
                 ORDER BY c.expires_at LIMIT 1)
                UNION ALL
                SELECT (SELECT c.expires_at FROM coupons c
                        WHERE c.status = 'active' AND c.expires_at > i.expires_at AND \(upper)
                        ORDER BY c.expires_at LIMIT 1)
                FROM instants i WHERE i.expires_at IS NOT NULL
            )
            SELECT expires_at FROM instants WHERE expires_at IS NOT NULL LIMIT \(limit)
            """, p.values)
        instantsMicros = rows.count > Self.instantLimit ? nil : try rows.rows.map { Self.micros(try $0.decode(0, as: Date.self)) }
    }

    /// Member id ranges holding about `perChunk` of the window's coupons each. Ranges have equal
    /// width (ids are dense and coupons spread evenly enough); the longest transaction this gives
    /// is measured in `make bench`. A member's coupons are always in one chunk.
    func chunks(perChunk: Int, _ connection: Connection) throws -> [RunPlan.Chunk] {
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
