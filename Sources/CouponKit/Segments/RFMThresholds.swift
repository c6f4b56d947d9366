import Foundation
import Postgres

/// Quintile boundaries of recency, frequency and monetary value over all members, computed once
/// per run so that every chunk (and a resumed run) scores members the same way.
///
/// The rule, the same for each of the three values:
/// - The values are recency = whole days since the last order as of the run's `asOf`
///   (`floor((asOf - last_order_at) / 24 h)`; a member who never ordered has the worst recency
///   there is), frequency = `order_count`, monetary = `total_spend_fen`.
/// - Sort all members from the worst value to the best (recency: most days first, never-ordered
///   before everyone; frequency and monetary: smallest first). The four thresholds t1…t4 are the
///   values at positions ⌈k·n/5⌉ for k = 1…4 (PostgreSQL's `percentile_disc(k/5)`).
/// - A member's score is 1 + the number of thresholds its value is strictly better than. So
///   5 is best (most recent, most frequent, highest spend), 1 is worst, and equal values always
///   get the same score: a group of equal values that straddles a boundary takes the lower
///   score (if half the members never ordered, they all score 1 for recency and nobody scores 2).
/// - With no members at all there are no thresholds and everyone scores 1.
public struct RFMThresholds: Sendable, Equatable, Hashable, Codable {
    /// Days since the last order at t1…t4; nil where the threshold is "never ordered".
    public var recencyDays: [Int64?]
    /// Order counts at t1…t4.
    public var orderCount: [Int64]
    /// Total spend in fen at t1…t4.
    public var totalSpendFen: [Int64]
    /// How many members the thresholds were computed over.
    public var memberCount: Int64

    public init(recencyDays: [Int64?], orderCount: [Int64], totalSpendFen: [Int64], memberCount: Int64) {
        self.recencyDays = recencyDays
        self.orderCount = orderCount
        self.totalSpendFen = totalSpendFen
        self.memberCount = memberCount
    }

    /// Stands for "never ordered" in the recency sort, after every real number of days.
    static let neverOrderedDays = Int64.max

    /// One pass over members; the recency days count from `$1`, the run's `asOf`.
    static let computeSQL = """
        WITH member_values AS (
            SELECT
                CASE
                    WHEN last_order_at IS NULL THEN \(neverOrderedDays)
                    ELSE floor(
                        (extract(epoch FROM $1::timestamptz) - extract(epoch FROM last_order_at)) / 86400
                    )::bigint
                END AS recency_days,
                order_count::bigint AS order_count,
                total_spend_fen
            FROM members
        )
        SELECT
            count(*) AS member_count,
            percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY recency_days DESC) AS recency_days,
            percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY order_count) AS order_count,
            percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY total_spend_fen) AS total_spend_fen
        FROM member_values
        """

    /// Computes the thresholds over all members as of `asOf`.
    public static func compute(asOf: Date, connection: Connection) throws(PostgresError) -> RFMThresholds {
        let row = try connection.query(computeSQL, [asOf]).row(0)
        let recency = try row.decodeIfPresent("recency_days", as: [Int64].self) ?? []
        return RFMThresholds(
            recencyDays: recency.map { $0 == neverOrderedDays ? nil : $0 },
            orderCount: try row.decodeIfPresent("order_count", as: [Int64].self) ?? [],
            totalSpendFen: try row.decodeIfPresent("total_spend_fen", as: [Int64].self) ?? [],
            memberCount: try row.decode("member_count", as: Int64.self))
    }
}

/// An `rfm:` rule with its thresholds: which quintile scores (1...5) are allowed per dimension.
public struct RFMCondition: Sendable, Equatable, Hashable, Codable {
    public var thresholds: RFMThresholds
    /// Allowed recency scores, ascending; nil = any.
    public var recency: [Int]?
    /// Allowed frequency scores, ascending; nil = any.
    public var frequency: [Int]?
    /// Allowed monetary scores, ascending; nil = any.
    public var monetary: [Int]?

    public init(thresholds: RFMThresholds, recency: [Int]?, frequency: [Int]?, monetary: [Int]?) {
        self.thresholds = thresholds
        self.recency = recency
        self.frequency = frequency
        self.monetary = monetary
    }
}
