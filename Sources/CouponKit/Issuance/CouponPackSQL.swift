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

/// The coupons of a pack as parallel arrays, one element a coupon, for one `unnest` whose
/// columns are `CouponLineArrays.columns`: what issue and bundle chunks both insert.
struct CouponLineArrays {
    static let columns = "key, version, seq, face, valid_from, expires_at, uses_left"

    private(set) var keys: [String] = []
    private(set) var versions: [Int32] = []
    private(set) var seqs: [Int32] = []
    private(set) var faces: [Int64] = []
    private(set) var froms: [String] = []
    private(set) var expiries: [String] = []
    /// -1 for none (arrays of optionals are not bindable).
    private(set) var uses: [Int32] = []

    var count: Int { keys.count }

    mutating func append(_ line: IssuePlan.Line, seq: Int32) {
        keys.append(line.templateKey)
        versions.append(Int32(line.version))
        seqs.append(seq)
        faces.append(line.faceValueFen)
        froms.append(line.validFrom.postgresText ?? "")
        expiries.append(line.expiresAt.postgresText ?? "")
        uses.append(Int32(line.usesLeft ?? -1))
    }

    /// The arrays as `unnest` arguments, in the order of `columns`.
    func unnestArguments(_ p: SQLParameters) -> String {
        """
        \(p.add(keys))::text[], \(p.add(versions))::int[], \(p.add(seqs))::int[], \(p.add(faces))::bigint[], \
        \(p.add(froms))::timestamptz[], \(p.add(expiries))::timestamptz[], \(p.add(uses))::int[]
        """
    }
}

/// Integer arrays as PostgreSQL array text (`{1,2,3}`), written byte by byte: a bundle chunk
/// sends several arrays of tens of thousands of numbers, and going through one `String` per
/// element cost more than the server's work on them.
struct SQLIntegerArray {
    static func text(_ values: some Collection<Int64>) -> String {
        var array = SQLIntegerArray(capacity: values.count)
        for value in values { array.append(value) }
        return array.text
    }

    /// Built element by element, for callers that fill several arrays in one pass over their rows.
    private var bytes: [UInt8] = [UInt8(ascii: "{")]

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity * 8 + 2) }

    /// The first value appended, and whether every value since equals it.
    private(set) var first: Int64?
    private(set) var uniform = true

    /// The one value every element has (nil when empty or when they differ).
    var single: Int64? { uniform ? first : nil }

    mutating func append(_ value: Int64) {
        if let first { uniform = uniform && value == first } else { first = value }
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        // Digits written in place from the last: reversing a slice of `bytes` retained and
        // released its storage for every value (a tenth of a bundle chunk's statement building).
        var magnitude = value.magnitude
        var digits = 1
        var rest = magnitude / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        var index = bytes.count - 1
        repeat {
            bytes[index] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
            magnitude /= 10
            index -= 1
        } while magnitude > 0
    }

    mutating func append(_ value: Int) { append(Int64(value)) }

    var text: String { String(decoding: bytes + [UInt8(ascii: "}")], as: UTF8.self) }
}
