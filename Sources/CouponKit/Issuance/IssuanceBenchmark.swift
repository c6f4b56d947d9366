import Foundation

/// The issuance cases `make bench` measures: the templates merchants use (per-member caps,
/// stock, combos, A/B arms), each beside a floor, one plain `INSERT … SELECT` that writes the
/// same rows into the same table and indexes, measured in the same run on a fresh database.
public enum IssuanceBenchmark {
    /// What a case's floor statement writes.
    public enum Floor: String, Sendable, CaseIterable {
        /// One coupon per member, no cap number.
        case plain
        /// One coupon per member, numbered in the per-member cap index (`cap_seq`).
        case capped
        /// Three numbered coupons per member.
        case combo
        /// One numbered coupon per member with its A/B arm, drawn as the product draws it.
        case arms

        /// The statement: everything the product writes, nothing it checks.
        public var sql: String {
            let columns = """
                INSERT INTO coupons (template_key, template_version, member_id, run_id, seq, arm, face_value_fen, issued_at,
                                     valid_from, expires_at, cap_seq)
                """
            switch self {
            case .plain:
                return """
                    \(columns)
                    SELECT 'bench-a', 1, m.id, 0, 1, NULL, 1000, now(), now(), now() + interval '7 days', NULL FROM members m
                    """
            case .capped:
                return """
                    \(columns)
                    SELECT 'bench-a', 1, m.id, 0, 1, NULL, 1000, now(), now(), now() + interval '7 days', 1 FROM members m
                    """
            case .combo:
                return """
                    \(columns)
                    SELECT l.key, 1, m.id, 0, l.seq, NULL, l.face, now(), now(), now() + interval '7 days', 1
                    FROM members m CROSS JOIN (VALUES ('bench-a', 1, 1000), ('bench-b', 2, 2000), ('bench-c', 3, 800)) AS l(key, seq, face)
                    """
            case .arms:
                return """
                    \(columns)
                    SELECT 'bench-' || a.arm, 1, m.id, 0, 1, a.arm, 1000, now(), now(), now() + interval '7 days', 1
                    FROM members m
                    CROSS JOIN LATERAL (SELECT (ARRAY['a', 'b', 'c'])[1 + mod(abs(hashtextextended(m.id::text, 42)), 3)] AS arm) AS a
                    """
            }
        }
    }

    /// One measured configuration.
    public struct Case: Sendable {
        public let label: String
        /// `--workers` (nil: the command's default).
        public let workers: Int?
        public let floor: Floor
        /// The ratio to the floor the issue asks for.
        public let goal: Double
        public let templates: String
        public let job: String
        /// Coupons the run must have written, to check that it did the work.
        public let expectedCoupons: Int
    }

    static let job = "bench-issue"

    /// The job file: everyone in the segment, the given coupon lines (YAML list items).
    static func jobFile(_ offer: String) -> String {
        """
        name: \(job)
        kind: issue
        manual_only: true
        segment: everyone
        \(offer)
        """
    }

    static func template(_ key: String, _ extra: String = "", off: Int = 1000) -> String {
        "  - {key: \(key), type: cash, off_fen: \(off), validity: {days: 7}\(extra)}"
    }

    /// The cases for `members` members; `workers` lists the worker counts to try each with.
    public static func cases(members: Int, workers: [Int?] = [nil, 1]) -> [Case] {
        let single = jobFile("coupons:\n  - {template: bench-a}")
        let capped = ", per_member: 1"
        var shapes: [(String, Floor, Double, String, String, Int)] = [
            ("unlimited", .plain, 1.1, template("bench-a"), single, members),
            ("stock only (2× demand)", .plain, 1.3, template("bench-a", ", stock: \(2 * members)"), single, members),
            ("per_member: 1", .capped, 1.25, template("bench-a", capped), single, members),
            (
                "per_member: 1 + stock (2× demand)", .capped, 1.3, template("bench-a", "\(capped), stock: \(2 * members)"),
                single, members
            ),
            (
                "combo of 3, per_member: 1 each", .combo, 1.3,
                [template("bench-a", capped), template("bench-b", capped, off: 2000), template("bench-c", capped, off: 800)]
                    .joined(separator: "\n"),
                jobFile("coupons:\n  - {template: bench-a}\n  - {template: bench-b}\n  - {template: bench-c}"), 3 * members
            ),
            (
                "A/B, 3 arms, per_member: 1", .arms, 1.3,
                ["a", "b", "c"].map { template("bench-\($0)", capped) }.joined(separator: "\n"),
                jobFile(
                    """
                    variants:
                      - {name: a, weight: 1, coupons: [{template: bench-a}]}
                      - {name: b, weight: 1, coupons: [{template: bench-b}]}
                      - {name: c, weight: 1, coupons: [{template: bench-c}]}
                    """), members
            ),
        ]
        var result: [Case] = []
        for (label, floor, goal, templates, job, coupons) in shapes {
            for count in workers {
                result.append(
                    Case(
                        label: label + (count.map { ", --workers \($0)" } ?? ""), workers: count, floor: floor,
                        goal: count == nil ? goal : max(goal, 1.3), templates: "templates:\n" + templates, job: job,
                        expectedCoupons: coupons))
            }
        }
        shapes.removeAll()
        result.append(
            Case(
                label: "per_member: 1 + stock (half the demand)", workers: nil, floor: .capped, goal: 1.5,
                templates: "templates:\n" + template("bench-a", "\(capped), stock: \(members / 2)"), job: single,
                expectedCoupons: members / 2))
        return result
    }

    /// Turns (a floor and a run each) measured for `benchCase`: `repeats`, and more where one pair
    /// says least. With one worker a run's ratio sits near its goal and moved 0.2–0.3 from one
    /// pair to the next on an idle machine, so those rows get 5 (the combo, whose runs take three
    /// times as long and moved least, 3); the rows after a big earlier run get 3 (each
    /// measurement first resets the 10M-row table, which is what costs there).
    public static func turns(for benchCase: Case, repeats: Int, big: Bool) -> Int {
        let most =
            big ? 3 : benchCase.workers == 1 ? (benchCase.floor == .combo ? 3 : 5) : 1
        return max(1, repeats, most)
    }

    /// The cases repeated on a `coupons` table that an earlier big run left large.
    public static func afterBigRunCases(members: Int) -> [Case] {
        cases(members: members, workers: [nil]).filter { [.plain, .capped].contains($0.floor) && !$0.label.contains("half") }
    }

    /// Fills `coupons` with `runs` earlier runs of a capped template to every member (run ids
    /// far above any the bench creates), as a merchant's table looks after months of campaigns.
    public static func earlierRunsSQL(runs: Int) -> String {
        """
        INSERT INTO coupons (template_key, template_version, member_id, run_id, seq, face_value_fen, issued_at, valid_from,
                             expires_at, cap_seq)
        SELECT 'earlier-' || r, 1, m.id, \(earlierRunBase) + r, 1, 500, now() - interval '30 days', now() - interval '30 days',
               now() - interval '23 days', 1
        FROM generate_series(1, \(runs)) AS r CROSS JOIN members m
        """
    }

    /// Earlier runs' coupons carry run ids from here on; everything below is the bench's own.
    public static let earlierRunBase: Int64 = 1_000_000_000

    /// Removes what a measurement wrote, keeping the earlier runs' coupons.
    public static let resetSQL = [
        "DELETE FROM coupons WHERE run_id < \(earlierRunBase)",
        "TRUNCATE issue_holdouts, run_chunks, job_runs, job_state, template_stock, template_issued_chunks, coupon_templates",
    ]
}
