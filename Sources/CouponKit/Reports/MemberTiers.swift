import Foundation
import Postgres

/// How the coupon scan of a `--by segment` report finds each coupon's member tier.
///
/// Joining `members` in the scan cost 11 of its 15 s over 10M coupons: the planner estimates the
/// groups as the product of the coupons' keys and the members' tiers (3.9M, where a month has a
/// few thousand), so it hashed a million members and aggregated ten million rows in one process.
/// Instead the scan reads the tier from a map computed once by an InitPlan: one byte per member
/// id (the tier's 1-based position in `names`, 0 for no member), so the lookup is `get_byte` on
/// a few megabytes the parallel workers share, and the grouping key reads only `coupons`, whose
/// group estimate lets the planner aggregate in the workers.
///
/// The map needs member ids from 1 to a bound it can hold and at most 255 tiers; otherwise the
/// scan joins `members` as before (same figures, slower).
struct MemberTiers {
    /// Distinct tiers, sorted; a coupon's code indexes this array (1-based).
    let names: [String]
    /// The largest member id, when the map fits; nil when the scan joins `members`.
    let maxID: Int64?

    /// One byte per id, so up to 32 MB in the InitPlan (and twice that as the hex it is built from).
    static let maxMappedID: Int64 = 32_000_000

    static func load(_ tx: Connection) throws -> MemberTiers {
        let row = try tx.query(
            "SELECT coalesce(array_agg(DISTINCT tier ORDER BY tier), '{}') AS names, min(id) AS min_id, max(id) AS max_id FROM members"
        ).row(0)
        let names: [String] = try row.decode("names")
        let minID: Int64? = try row.decodeIfPresent("min_id")
        let maxID: Int64? = try row.decodeIfPresent("max_id")
        let mappable = names.count <= 255 && (minID ?? 1) >= 1 && (maxID ?? 0) <= maxMappedID
        return MemberTiers(names: names, maxID: mappable ? (maxID ?? 0) : nil)
    }

    /// The coupon's segment, `coalesce(tier, 'unknown')` of its member, as the scan's SQL;
    /// `names` and `maxID` are parameters `$names` and `$maxID`. Without the map, the scan
    /// must LEFT JOIN `members ms`.
    func segmentSQL(names: Int, maxID: Int) -> String {
        guard self.maxID != nil else { return "coalesce(ms.tier, 'unknown')" }
        // Each member's byte, preceded by a zero for every missing id since the previous one. A
        // tier missing from `names` (none can be: one snapshot) reads as no member rather than
        // dropping its byte, which would shift every later member's.
        let map = """
            (SELECT decode(string_agg(t.hex, ''), 'hex') FROM (
                 SELECT repeat('00', (m.id - coalesce(lag(m.id) OVER (ORDER BY m.id), 0) - 1)::int)
                        || lpad(to_hex(coalesce(array_position($\(names)::text[], m.tier), 0)), 2, '0') AS hex
                 FROM members m ORDER BY m.id) AS t)
            """
        return """
            coalesce(($\(names)::text[])[CASE WHEN c.member_id BETWEEN 1 AND $\(maxID)
                                              THEN get_byte(\(map), (c.member_id - 1)::int) END], 'unknown')
            """
    }

    var joinSQL: String { maxID == nil ? "LEFT JOIN members ms ON ms.id = c.member_id" : "" }

    /// The values of `$names` and `$maxID`, appended to the scan's parameters (none for the join).
    var parameters: [any PostgresBindable] { maxID.map { [names, $0] } ?? [] }
}
