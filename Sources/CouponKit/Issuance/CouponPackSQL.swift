import Foundation
import Postgres

/// Parameters of a statement being built, numbered `$1, $2, …` in the order they are added.
final class SQLParameters {
    var values: [any PostgresBindable] = []

    func add(_ value: any PostgresBindable) -> String {
        values.append(value)
        return "$\(values.count)"
    }
}

/// SQL pieces shared by the statements that write coupons (issue and bundle chunks).
enum CouponPackSQL {
    /// A blind box's face value drawn deterministically from `salt` (an SQL bigint expression of
    /// the run and the coupon's seq) and the member: a resumed run draws the same values.
    static func blindboxDraw(_ choices: [IssuePlan.WeightedValue], member: String, salt: String, _ p: SQLParameters)
        -> String
    {
        var cumulative: [Int64] = []
        var total: Int64 = 0
        for choice in choices {
            total += Int64(choice.weight)
            cumulative.append(total)
        }
        let draw = "mod(abs(hashint8extended(\(member), \(salt))), \(p.add(total)))"
        return """
            (SELECT b.v FROM unnest(\(p.add(choices.map(\.valueFen)))::bigint[], \
            \(p.add(cumulative))::bigint[]) AS b(v, c) WHERE b.c > \(draw) ORDER BY b.c LIMIT 1)
            """
    }
}
