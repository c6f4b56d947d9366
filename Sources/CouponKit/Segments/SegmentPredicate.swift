import Foundation
import Postgres

extension ResolvedSegment {
    /// The segment as one boolean SQL expression over `members AS <alias>`, with its values as
    /// parameters numbered from `$firstParameter`.
    ///
    /// Meant to be ANDed into a chunk's query, after the caller's own parameters:
    /// `WHERE m.id >= $1 AND m.id < $2 AND <sql>` with `firstParameter: 3`. No value of the
    /// segment (tags, stores, tiers, thresholds, the instant) is ever spliced into the text, so the
    /// text is safe whatever the job file says and the same for every chunk. Every parameter
    /// carries a cast, so the expression fits any statement without type inference surprises.
    ///
    /// The expression is never NULL: members with NULL `last_order_at` or `home_store` evaluate
    /// to FALSE for the rules that read them, and `not` is `IS NOT TRUE`, so `not: {home_store:
    /// [X]}` includes members without a home store.
    ///
    /// Day rules count in whole 24-hour days back from `asOf` (not calendar days of a time zone):
    /// - `last_order_within_days: N`: the last order is at or after `asOf - N days`.
    /// - `dormant_days: N`: no order since before `asOf - N days`; a member who never ordered is
    ///   dormant only if registered before `asOf - N days` too (a new member who has not ordered
    ///   yet is new, not churning). So among members who ordered, `dormant_days: N` is exactly
    ///   `not: {last_order_within_days: N}`.
    /// - `registered_within_days: N`: registered at or after `asOf - N days`.
    /// Ranges (`total_spend_fen`, `order_count`) are inclusive at both ends.
    ///
    /// The text is `TRUE`, `FALSE` or wrapped in parentheses, so it can stand next to any operator.
    public func predicate(alias: String = "m", firstParameter: Int = 1) -> (
        sql: String, parameters: [any PostgresBindable]
    ) {
        precondition(
            !alias.isEmpty && alias.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
                && alias != "segment_snapshots",
            "the members alias must be a plain SQL identifier")
        precondition(firstParameter >= 1, "parameters are numbered from $1")
        var builder = SegmentPredicateBuilder(alias: alias, asOf: asOf, firstParameter: firstParameter)
        let sql = builder.expression(for: condition, depth: 0)
        return (SegmentPredicateBuilder.isSelfContained(sql) ? sql : "(\(sql))", builder.parameters)
    }
}

/// Compiles `ResolvedCondition`s to SQL, collecting parameters as it goes.
struct SegmentPredicateBuilder {
    let alias: String
    let asOf: Date
    let firstParameter: Int
    private(set) var parameters: [any PostgresBindable] = []
    /// `asOf` is bound once and shared by every day rule.
    private var asOfPlaceholder: String?

    init(alias: String, asOf: Date, firstParameter: Int) {
        self.alias = alias
        self.asOf = asOf
        self.firstParameter = firstParameter
    }

    /// Adds a parameter; returns its placeholder with a cast, e.g. `$3::text[]`.
    mutating func bind(_ value: any PostgresBindable, as type: String) -> String {
        parameters.append(value)
        return "$\(firstParameter + parameters.count - 1)::\(type)"
    }

    /// `asOf - days × 24 h`. A pure-seconds interval, so the session's time zone and its
    /// daylight saving changes cannot move the boundary.
    mutating func daysBeforeAsOf(_ days: Int64) -> String {
        if asOfPlaceholder == nil { asOfPlaceholder = bind(asOf, as: "timestamptz") }
        let asOf = asOfPlaceholder ?? ""
        return "(\(asOf) - \(bind(days, as: "bigint")) * interval '86400 seconds')"
    }

    mutating func expression(for condition: ResolvedCondition, depth: Int) -> String {
        let m = alias
        switch condition {
        case .everyone:
            return "TRUE"
        case .all(let conditions):
            return junction(conditions, with: "AND", empty: "TRUE", depth: depth)
        case .any(let conditions):
            return junction(conditions, with: "OR", empty: "FALSE", depth: depth)
        case .not(let inner):
            return "((\(expression(for: inner, depth: depth + 1))) IS NOT TRUE)"
        case .tier(let tiers):
            return "\(m).tier = ANY(\(bind(tiers, as: "text[]")))"
        case .tagsAny(let tags):
            return "\(m).tags && \(bind(tags, as: "text[]"))"
        case .tagsAll(let tags):
            return "\(m).tags @> \(bind(tags, as: "text[]"))"
        case .totalSpendFen(let min, let max):
            return range("\(m).total_spend_fen", min: min, max: max)
        case .orderCount(let min, let max):
            return range("\(m).order_count", min: min, max: max)
        case .lastOrderWithinDays(let days):
            return "(\(m).last_order_at IS NOT NULL AND \(m).last_order_at >= \(daysBeforeAsOf(Int64(days))))"
        case .dormantDays(let days):
            // registered_at is NOT NULL, so members who never ordered compare their registration.
            return "coalesce(\(m).last_order_at, \(m).registered_at) < \(daysBeforeAsOf(Int64(days)))"
        case .registeredWithinDays(let days):
            return "\(m).registered_at >= \(daysBeforeAsOf(Int64(days)))"
        case .homeStore(let stores):
            return "coalesce(\(m).home_store = ANY(\(bind(stores, as: "text[]"))), FALSE)"
        case .rfm(let rfm):
            return rfmExpression(rfm, depth: depth)
        case .snapshot(let snapshot):
            return """
                EXISTS (SELECT 1 FROM segment_snapshots WHERE segment_snapshots.snapshot_id = \
                \(bind(snapshot.id, as: "bigint")) AND segment_snapshots.member_id = \(m).id)
                """
        }
    }

    private mutating func junction(_ conditions: [ResolvedCondition], with word: String, empty: String, depth: Int)
        -> String
    {
        guard !conditions.isEmpty else { return empty }
        if conditions.count == 1 { return expression(for: conditions[0], depth: depth) }
        let indent = String(repeating: "    ", count: depth + 1)
        var parts: [String] = []
        for condition in conditions {
            parts.append(expression(for: condition, depth: depth + 1))
        }
        let closing = String(repeating: "    ", count: depth)
        return "(\n\(indent)" + parts.joined(separator: "\n\(indent)\(word) ") + "\n\(closing))"
    }

    private mutating func range(_ column: String, min: Int64?, max: Int64?) -> String {
        var parts: [String] = []
        if let min { parts.append("\(column) >= \(bind(min, as: "bigint"))") }
        if let max { parts.append("\(column) <= \(bind(max, as: "bigint"))") }
        return parts.isEmpty ? "TRUE" : "(" + parts.joined(separator: " AND ") + ")"
    }

    /// `(1 + [value better than t1] + … + [value better than t4]) = ANY(allowed)` per dimension;
    /// see `RFMThresholds` for the rule.
    private mutating func rfmExpression(_ rfm: RFMCondition, depth: Int) -> String {
        let m = alias
        var dimensions: [String] = []
        let restricted = [rfm.recency, rfm.frequency, rfm.monetary].compactMap { $0 }.count
        // Several dimensions are ANDed one level deeper.
        let dimensionDepth = restricted > 1 ? depth + 1 : depth
        if let allowed = rfm.recency {
            var terms: [String] = []
            for threshold in rfm.thresholds.recencyDays {
                if let days = threshold {
                    // floor((asOf - last_order_at) / 24 h) < days  ⇔  last_order_at > asOf - days × 24 h
                    terms.append(
                        "(\(m).last_order_at IS NOT NULL AND \(m).last_order_at > \(daysBeforeAsOf(days)))::int")
                } else {
                    terms.append("(\(m).last_order_at IS NOT NULL)::int")
                }
            }
            dimensions.append(score(terms, allowed: allowed, depth: dimensionDepth))
        }
        if let allowed = rfm.frequency {
            let terms = rfm.thresholds.orderCount.map { "(\(m).order_count > \(bind($0, as: "bigint")))::int" }
            dimensions.append(score(terms, allowed: allowed, depth: dimensionDepth))
        }
        if let allowed = rfm.monetary {
            let terms = rfm.thresholds.totalSpendFen.map { "(\(m).total_spend_fen > \(bind($0, as: "bigint")))::int" }
            dimensions.append(score(terms, allowed: allowed, depth: dimensionDepth))
        }
        guard !dimensions.isEmpty else { return "TRUE" }
        if dimensions.count == 1 { return dimensions[0] }
        let indent = String(repeating: "    ", count: depth + 1)
        return "(\n\(indent)" + dimensions.joined(separator: "\n\(indent)AND ")
            + "\n\(String(repeating: "    ", count: depth)))"
    }

    private mutating func score(_ terms: [String], allowed: [Int], depth: Int) -> String {
        let indent = String(repeating: "    ", count: depth + 1)
        let sum = (["1"] + terms).joined(separator: "\n\(indent)+ ")
        return "(\n\(indent)\(sum)\n\(String(repeating: "    ", count: depth))) = ANY(\(bind(allowed, as: "int[]")))"
    }

    /// True for `TRUE`, `FALSE` and text that one pair of parentheses encloses entirely.
    /// (The only quoted text the builder writes, `'86400 seconds'`, holds no parentheses.)
    static func isSelfContained(_ sql: String) -> Bool {
        if sql == "TRUE" || sql == "FALSE" { return true }
        guard sql.first == "(" else { return false }
        var depth = 0
        for (offset, character) in sql.enumerated() {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if depth == 0 { return offset == sql.count - 1 }
        }
        return false
    }
}
