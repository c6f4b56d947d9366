import CouponKit
import Foundation
import Postgres
import TestSupport
import Testing

/// Each operator against the seven members of `SegmentFixtures.members`; the expected ids are
/// read off that table by hand.
@Suite struct SegmentOperatorTests {
    static let cases: [SegmentCase] = [
        SegmentCase("everyone matches every member", .everyone, [1, 2, 3, 4, 5, 6, 7]),
        SegmentCase("tier matches only the listed tiers", .tier([.gold, .platinum]), [3, 4, 5]),
        SegmentCase("tags_any matches a tag containing a single quote", .tagsAny(["o'brien"]), [3, 4, 7]),
        SegmentCase(
            "tags_any matches any of several tags, one with double quotes", .tagsAny(["say \"hi\"", "blocked"]),
            [4, 5, 6, 7]),
        SegmentCase("tags_any does not match a prefix of a tag", .tagsAny(["o'brie"]), []),
        SegmentCase("tags_any of no tags matches nobody", .tagsAny([]), []),
        SegmentCase(
            "tags_all needs every tag, quotes and all", .tagsAll(["o'brien", "say \"hi\""]), [4, 7]),
        SegmentCase("tags_all of vip and o'brien", .tagsAll(["vip", "o'brien"]), [3, 7]),
        SegmentCase(
            "total_spend_fen min is inclusive", .totalSpendFen(BoundedRange(min: 50_000, max: nil)), [2, 3, 7]),
        SegmentCase(
            "total_spend_fen max is inclusive", .totalSpendFen(BoundedRange(min: nil, max: 49_999)), [1, 4, 5, 6]),
        SegmentCase(
            "total_spend_fen min and max are both inclusive",
            .totalSpendFen(BoundedRange(min: 50_000, max: 200_000)), [2, 3]),
        SegmentCase("order_count between 2 and 5", .orderCount(BoundedRange(min: 2, max: 5)), [2, 4, 7]),
        SegmentCase("order_count at least 1", .orderCount(BoundedRange(min: 1, max: nil)), [2, 3, 4, 6, 7]),
        SegmentCase("order_count at most 0", .orderCount(BoundedRange(min: nil, max: 0)), [1, 5]),
        SegmentCase(
            "last_order_within_days includes an order exactly N days ago and excludes never-ordered",
            .lastOrderWithinDays(30), [2, 3, 4]),
        SegmentCase(
            "dormant_days counts never-ordered members only if registered more than N days ago",
            .dormantDays(30), [1, 6, 7]),
        SegmentCase(
            "registered_within_days includes a registration exactly N days ago", .registeredWithinDays(30), [4, 5, 7]),
        SegmentCase("home_store matches the listed stores", .homeStore(["SH-001"]), [2, 5]),
        SegmentCase(
            "not home_store includes members without a home store", .not(.homeStore(["SH-001"])), [1, 3, 4, 6, 7]),
        SegmentCase(
            "not last_order_within_days includes members who never ordered", .not(.lastOrderWithinDays(30)),
            [1, 5, 6, 7]),
        SegmentCase(
            "all needs every rule", .all([.tier([.gold, .platinum]), .not(.tagsAny(["blocked"]))]), [3, 4]),
        SegmentCase(
            "any needs one rule", .any([.homeStore(["SH-003"]), .tagsAll(["say \"hi\""])]), [4, 6, 7]),
        SegmentCase("all of nothing is everyone", .all([]), [1, 2, 3, 4, 5, 6, 7]),
        SegmentCase("any of nothing is nobody", .any([]), []),
        SegmentCase("not everyone is nobody", .not(.everyone), []),
        SegmentCase(
            "a nested combination of all, any and not",
            .any([
                .all([.tier([.gold, .platinum]), .totalSpendFen(BoundedRange(min: 100_000, max: nil))]),
                .all([.dormantDays(30), .not(.homeStore(["SH-003"]))]),
            ]),
            [1, 3, 7]),
    ]

    @Test(arguments: cases)
    func operatorMatchesTheMembersDerivedByHand(_ example: SegmentCase) throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        let resolved = try SegmentFixtures.resolve(example.segment, c)
        #expect(try SegmentFixtures.matchingIDs(resolved, c) == example.expected)
        #expect(try resolved.count(connection: c) == example.expected.count)
        #expect(try resolved.sample(connection: c, limit: 2) == Array(example.expected.prefix(2)))
        // The predicate is never NULL, so it also works in a select list or under NOT.
        let (predicate, parameters) = resolved.predicate()
        let nulls = try c.query("SELECT count(*) FROM members AS m WHERE (\(predicate)) IS NULL", parameters)
        #expect(try nulls.row(0).decode(0, as: Int.self) == 0)
        // The text is self-contained: put right after NOT, it negates the whole segment.
        let others = try c.query("SELECT count(*) FROM members AS m WHERE NOT \(predicate)", parameters)
        #expect(try others.row(0).decode(0, as: Int.self) == SegmentFixtures.members.count - example.expected.count)
    }

    @Test func amongMembersWhoOrderedDormantDaysIsExactlyNotLastOrderWithinDays() throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        let ordered = Segment.orderCount(BoundedRange(min: 1, max: nil))
        for days in [0, 1, 3, 30, 31, 90, 91] {
            let dormant = try SegmentFixtures.matchingIDs(
                SegmentFixtures.resolve(.all([ordered, .dormantDays(days)]), c), c)
            let notRecent = try SegmentFixtures.matchingIDs(
                SegmentFixtures.resolve(.all([ordered, .not(.lastOrderWithinDays(days))]), c), c)
            #expect(dormant == notRecent, "days \(days)")
        }
    }

    @Test func predicateComposesWithAChunkIdRangeAfterTheCallersParameters() throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        let resolved = try SegmentFixtures.resolve(.all([.tagsAny(["o'brien"]), .lastOrderWithinDays(30)]), c)
        let (predicate, parameters) = resolved.predicate(alias: "mem", firstParameter: 3)
        let sql =
            "SELECT mem.id FROM members AS mem WHERE mem.id >= $1 AND mem.id < $2 AND \(predicate) ORDER BY mem.id"
        let ids = try c.query(sql, [Int64(1), Int64(4)] + parameters).rows.map { try $0.decode(0, as: Int64.self) }
        // o'brien: 3, 4, 7; ordered within 30 days: 2, 3, 4; chunk [1, 4): 1, 2, 3.
        #expect(ids == [3])
    }

    @Test func aTagThatLooksLikeSQLIsMatchedAsDataAndNeverReachesTheSQLText() throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        let evil = "x'); drop table members; --"
        try SegmentFixtures.insert([SegmentFixtures.Member(id: 8, tags: [evil])], into: c)
        let resolved = try SegmentFixtures.resolve(.any([.tagsAny([evil]), .homeStore([evil]), .tagsAll([evil])]), c)
        let (predicate, _) = resolved.predicate()
        #expect(!predicate.contains(evil))
        #expect(!predicate.lowercased().contains("drop"))
        #expect(try SegmentFixtures.matchingIDs(resolved, c) == [8])
        #expect(try SegmentFixtures.count("members", c) == 8)
    }

    @Test func invalidRulesAreRefusedNamingTheirField() throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        let cases: [(Segment, String)] = [
            (.all([.everyone, .lastOrderWithinDays(-1)]), "segment.all[1].last_order_within_days"),
            (.not(.totalSpendFen(BoundedRange(min: 10, max: 5))), "segment.not.total_spend_fen"),
            (.rfm(RFMFilter(recency: [6], frequency: nil, monetary: nil)), "segment.rfm.recency"),
            (.any([.rfm(RFMFilter(recency: nil, frequency: [], monetary: nil))]), "segment.any[0].rfm.frequency"),
        ]
        for (segment, field) in cases {
            let error = #expect(throws: SegmentError.self) { try SegmentFixtures.resolve(segment, c) }
            #expect(error?.field == field)
            #expect(error?.reason == .invalidRule)
            #expect(error?.category == .configuration)
        }
    }
}
