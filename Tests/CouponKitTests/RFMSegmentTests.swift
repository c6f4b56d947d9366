import CouponKit
import Foundation
import Postgres
import TestSupport
import Testing

/// RFM quintiles on 25 hand-made members whose thresholds are worked out in the comments.
///
/// Members 1…20 last ordered `id` days (and an hour) ago, ordered `id` times, and spent
/// `(21 - id) × 100` fen; members 21…25 never ordered (0 orders, 0 fen).
///
/// Recency, worst to best: 5 × never, then 20, 19, …, 1 days. Thresholds at positions 5, 10, 15, 20:
/// never, 16, 11, 6. Scores: never → 1, 16–20 days → 2, 11–15 → 3, 6–10 → 4, 1–5 → 5.
/// Frequency, worst to best: 5 × 0, then 1…20. Thresholds: 0, 5, 10, 15. Scores: 0 → 1,
/// 1–5 → 2, 6–10 → 3, 11–15 → 4, 16–20 → 5.
/// Monetary, worst to best: 5 × 0, then 100 (id 20) … 2000 (id 1). Thresholds: 0, 500, 1000, 1500.
/// Scores: 0 → 1, ids 16–20 → 2, 11–15 → 3, 6–10 → 4, 1–5 → 5.
@Suite struct RFMSegmentTests {
    static var members: [SegmentFixtures.Member] {
        var members: [SegmentFixtures.Member] = []
        for id in Int64(1)...20 {
            let lastOrderAt = SegmentFixtures.daysAgo(Double(id) + 1.0 / 24)
            members.append(
                SegmentFixtures.Member(id: id, lastOrderAt: lastOrderAt, orderCount: id, totalSpendFen: (21 - id) * 100)
            )
        }
        for id in Int64(21)...25 {
            members.append(SegmentFixtures.Member(id: id))
        }
        return members
    }

    static func rfm(_ r: Set<Int>?, _ f: Set<Int>?, _ m: Set<Int>?) -> Segment {
        .rfm(RFMFilter(recency: r.map { $0.sorted() }, frequency: f.map { $0.sorted() }, monetary: m.map { $0.sorted() }))
    }

    static let cases: [SegmentCase] = [
        SegmentCase("recency 5 is the five most recent", rfm([5], nil, nil), [1, 2, 3, 4, 5]),
        SegmentCase("recency 2 is 16 to 20 days", rfm([2], nil, nil), [16, 17, 18, 19, 20]),
        SegmentCase("recency 1 is the members who never ordered", rfm([1], nil, nil), [21, 22, 23, 24, 25]),
        SegmentCase("frequency 5 is the most orders", rfm(nil, [5], nil), [16, 17, 18, 19, 20]),
        SegmentCase("frequency 1 is no orders", rfm(nil, [1], nil), [21, 22, 23, 24, 25]),
        SegmentCase("monetary 5 is the highest spend", rfm(nil, nil, [5]), [1, 2, 3, 4, 5]),
        SegmentCase("monetary 3 is the middle fifth", rfm(nil, nil, [3]), [11, 12, 13, 14, 15]),
        SegmentCase("recency 4 or 5 and frequency 3", rfm([4, 5], [3], nil), [6, 7, 8, 9, 10]),
        SegmentCase("champions: recency 5 and monetary 5", rfm([5], nil, [5]), [1, 2, 3, 4, 5]),
        SegmentCase("no restriction matches everyone", rfm(nil, nil, nil), Array(1...25)),
        SegmentCase("all five scores matches everyone", rfm([1, 2, 3, 4, 5], nil, nil), Array(1...25)),
        SegmentCase("recency 5 and frequency 5 is nobody here", rfm([5], [5], nil), []),
    ]

    @Test(arguments: cases)
    func rfmScoresMatchTheQuintilesWorkedOutByHand(_ example: SegmentCase) throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try SegmentFixtures.insert(Self.members, into: c)
        let resolved = try SegmentFixtures.resolve(example.segment, c)
        #expect(try SegmentFixtures.matchingIDs(resolved, c) == example.expected)
    }

    @Test func thresholdsAreTheHandComputedQuintileBoundaries() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try SegmentFixtures.insert(Self.members, into: c)
        let thresholds = try RFMThresholds.compute(asOf: SegmentFixtures.asOf, connection: c)
        #expect(thresholds.memberCount == 25)
        #expect(thresholds.recencyDays == [nil, 16, 11, 6])
        #expect(thresholds.orderCount == [0, 5, 10, 15])
        #expect(thresholds.totalSpendFen == [0, 500, 1000, 1500])
    }

    @Test func equalValuesGetTheSameScoreAndATieAcrossABoundaryTakesTheLowerScore() throws {
        // order counts 0,0,0,0,0,0,1,2,3,4 (ids 1…10): thresholds at positions 2, 4, 6, 8 are 0, 0, 0, 2.
        // Scores: 0 → 1 (all six alike), 1 → 4, 2 → 4, 3 → 5, 4 → 5; nobody scores 2 or 3.
        let db = try TestDatabase()
        let c = try db.connect()
        let counts: [Int64] = [0, 0, 0, 0, 0, 0, 1, 2, 3, 4]
        try SegmentFixtures.insert(
            counts.enumerated().map { SegmentFixtures.Member(id: Int64($0 + 1), orderCount: $1) }, into: c)
        let expected: [(Set<Int>, [Int64])] = [
            ([1], [1, 2, 3, 4, 5, 6]), ([2, 3], []), ([4], [7, 8]), ([5], [9, 10]),
        ]
        for (scores, ids) in expected {
            let resolved = try SegmentFixtures.resolve(Self.rfm(nil, scores, nil), c)
            #expect(try SegmentFixtures.matchingIDs(resolved, c) == ids, "frequency \(scores.sorted())")
        }
    }

    @Test func anOrderExactlyAThresholdsDaysAgoScoresLikeThatThreshold() throws {
        // Member n last ordered exactly n days ago (n = 1…10). Worst to best: 10, 9, …, 1 days;
        // thresholds at positions 2, 4, 6, 8 are 9, 7, 5, 3 days. 9 days is not better than 9,
        // so: 10, 9 → 1; 8, 7 → 2; 6, 5 → 3; 4, 3 → 4; 2, 1 → 5.
        let db = try TestDatabase()
        let c = try db.connect()
        try SegmentFixtures.insert(
            (Int64(1)...10).map { SegmentFixtures.Member(id: $0, lastOrderAt: SegmentFixtures.daysAgo(Double($0))) },
            into: c)
        let expected: [(Int, [Int64])] = [(1, [9, 10]), (2, [7, 8]), (3, [5, 6]), (4, [3, 4]), (5, [1, 2])]
        for (score, ids) in expected {
            let resolved = try SegmentFixtures.resolve(Self.rfm([score], nil, nil), c)
            #expect(try SegmentFixtures.matchingIDs(resolved, c) == ids, "recency \(score)")
        }
    }

    @Test func aResumedRunKeepsTheThresholdsItStartedWithAfterMembersChange() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        try SegmentFixtures.insert(Self.members, into: c)
        let segment = Self.rfm(nil, [5], nil)
        let atStart = try SegmentFixtures.resolve(segment, c)
        try c.execute("CREATE TABLE checkpoint (segment jsonb)")
        try c.execute("INSERT INTO checkpoint VALUES ($1)", [PostgresJSON(atStart)])

        // 25 new members with 100 orders each: over all 50, the thresholds become 5, 15, 100, 100
        // and nobody scores 5 any more.
        try SegmentFixtures.insert(
            (26...50).map {
                SegmentFixtures.Member(id: Int64($0), lastOrderAt: SegmentFixtures.daysAgo(2), orderCount: 100)
            },
            into: c)
        let fresh = try SegmentFixtures.resolve(segment, c)
        #expect(try SegmentFixtures.matchingIDs(fresh, c) == [])

        let stored = try c.query("SELECT segment FROM checkpoint").row(0)
            .decode(0, as: PostgresJSON<ResolvedSegment>.self).value
        #expect(stored == atStart)
        // Old thresholds 0, 5, 10, 15: ids 16…20 and every new member (100 > 15) score 5.
        #expect(try SegmentFixtures.matchingIDs(stored, c) == [16, 17, 18, 19, 20] + (26...50).map(Int64.init))
    }

    @Test func anEmptyMembersTableGivesNoThresholdsAndEveryoneScoresOne() throws {
        let db = try TestDatabase()
        let c = try db.connect()
        let resolved = try SegmentFixtures.resolve(Self.rfm([1], [1], [1]), c)
        guard case .rfm(let rfm) = resolved.condition else {
            Issue.record("expected an rfm condition, got \(resolved.condition)")
            return
        }
        #expect(rfm.thresholds == RFMThresholds(recencyDays: [], orderCount: [], totalSpendFen: [], memberCount: 0))
        try SegmentFixtures.insert(
            [SegmentFixtures.Member(id: 1, lastOrderAt: SegmentFixtures.daysAgo(1), orderCount: 9)], into: c)
        #expect(try SegmentFixtures.matchingIDs(resolved, c) == [1])
    }
}
