import Foundation
import Postgres

/// Everything a report needs from `coupons`, read in one parallel scan: the coupons counted
/// per group of what tells them apart for the report (template, run, arm, status, segment, the
/// day each was issued and would lapse, whether it is still usable, minutes to its first use).
/// A 10M-coupon month comes back as a few thousand groups, from which `ReportQueries` adds up
/// the cohorts, the days, the liability and which runs had A/B arms.
///
/// One scan, not one per section: each section's own GROUP BY re-read the whole table (five
/// scans). The day and flags go into one bigint (`facts`) because each grouping column costs
/// a hash per row, and because the planner estimates groups from the columns an expression
/// reads: with the times as separate keys it expected one group per coupon and gave up on the
/// parallel plan.
struct CouponFacts {
    struct Group {
        var templateKey: String
        var templateVersion: Int32
        var runID: Int64
        var arm: String?
        var status: String
        /// The member's tier (segment reports only).
        var segment: String?
        var usesLeft: Int64?
        /// A punch card's face value (its group's coupons share it); nil for other coupons.
        var punchFaceFen: Int64?
        /// 1-based day among `Calendar.days`; 0 before the first, `days.count + 1` after the last.
        var issuedDay: Int
        var expiresDay: Int
        /// Its window ends after the report's "now".
        var expiresAfterNow: Bool
        /// Not the first coupon of its member's pack (seq > 1).
        var later: Bool
        /// Whole minutes from issue to first use; nil while unused.
        var minutesToRedeem: Int64?
        var coupons: Int64
        var faceValueFen: Int64

        /// Lapsed unused by "now": marked expired by the sweep, or active past its window.
        var lapsed: Bool {
            minutesToRedeem == nil && (status == "expired" || (status == "active" && !expiresAfterNow))
        }

        /// Still usable at "now": what the liability counts.
        var outstanding: Bool { status == "active" && expiresAfterNow }
    }

    /// The report's days in its zone (from a week before the period) and the instants they
    /// start at, followed by the instant the period ends.
    struct Calendar {
        let days: [String]
        /// timestamptz text, `days.count + 1` of them.
        let bounds: [String]
        /// Radix of the day fields in `facts`: a day bucket is 0…days.count + 1.
        var radix: Int64 { Int64(days.count) + 2 }
    }

    /// Minutes are offset so that a coupon never used (0) and a use before issue (negative
    /// minutes, only from inconsistent data) both fit the unsigned field.
    static let minutesOffset: Int64 = 1 << 30

    /// The period plus its look-back week may span at most this many days: `facts` keeps two
    /// day fields, two flags and the minutes in 63 bits.
    static let maxDays = 16_000

    /// Groups of coupons issued or lapsing between `period.lookbackStart` and `period.end`,
    /// still usable at `period.now`, or issued by `runIDs` (the period's runs, for the arms).
    static func scan(
        _ period: ReportQueries.Period, _ calendar: Calendar, runIDs: [Int64], segments: Bool, _ tx: Connection
    ) throws -> [Group] {
        guard calendar.days.count <= maxDays else {
            throw InputError("a report spans at most \(maxDays) days (with the week before it); choose a shorter period")
        }
        let tiers = segments ? try MemberTiers.load(tx) : nil
        let segment = tiers?.segmentSQL(names: 8, maxID: 9) ?? "NULL::text"
        let joins = tiers?.joinSQL ?? ""
        let rows = try tx.query(
            """
            SELECT c.template_key, c.template_version, c.run_id, c.arm, c.status, c.uses_left,
                   CASE WHEN c.uses_left IS NOT NULL THEN c.face_value_fen END AS punch_face_fen,
                   \(segment) AS segment,
                   ((coalesce(\(ReportQueries.minutesToRedeem) + $6 + 1, 0) * 4
                     + CASE WHEN c.seq > 1 THEN 2 ELSE 0 END + CASE WHEN c.expires_at > $3 THEN 1 ELSE 0 END) * $5
                    + width_bucket(c.issued_at, $4::timestamptz[])) * $5
                   + width_bucket(c.expires_at, $4::timestamptz[]) AS facts,
                   count(*) AS coupons, sum(c.face_value_fen)::bigint AS face_value_fen
            FROM coupons c \(joins)
            WHERE (c.issued_at >= $1 AND c.issued_at < $2) OR (c.expires_at >= $1 AND c.expires_at < $2)
               OR (c.status = 'active' AND c.expires_at > $3) OR c.run_id = ANY($7::bigint[])
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
            """,
            [
                period.lookbackStart, period.end, period.now, calendar.bounds, calendar.radix, minutesOffset, runIDs,
            ] + (tiers?.parameters ?? []))
        return try rows.rows.map { row in
            var facts: Int64 = try row.decode("facts")
            let expiresDay = Int(facts % calendar.radix)
            facts /= calendar.radix
            let issuedDay = Int(facts % calendar.radix)
            facts /= calendar.radix
            let expiresAfterNow = facts % 2 == 1
            let later = (facts / 2) % 2 == 1
            let minutes = facts / 4
            return Group(
                templateKey: try row.decode("template_key"), templateVersion: try row.decode("template_version"),
                runID: try row.decode("run_id"), arm: try row.decodeIfPresent("arm"), status: try row.decode("status"),
                segment: try row.decodeIfPresent("segment"), usesLeft: try row.decodeIfPresent("uses_left"),
                punchFaceFen: try row.decodeIfPresent("punch_face_fen"), issuedDay: issuedDay, expiresDay: expiresDay,
                expiresAfterNow: expiresAfterNow, later: later, minutesToRedeem: minutes == 0 ? nil : minutes - minutesOffset - 1,
                coupons: try row.decode("coupons"), faceValueFen: try row.decode("face_value_fen"))
        }
    }
}
