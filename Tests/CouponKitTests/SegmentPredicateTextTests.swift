import CouponKit
import Foundation
import Postgres
import Testing

/// The compiled SQL text and the stored form, without a database.
@Suite struct SegmentPredicateTextTests {
    static let evil = "x'); drop table members; --"

    /// One of every resolved condition, with awkward strings wherever strings go.
    static let everyCondition = ResolvedSegment(
        asOf: Date(timeIntervalSince1970: 1_780_272_000.123_456_789),
        condition: .all([
            .everyone,
            .any([.tier(tiers: ["gold", evil]), .tagsAny(tags: [evil, "o'brien"]), .tagsAll(tags: ["say \"hi\""])]),
            .not(.homeStore(stores: [evil, "SH-'001"])),
            .totalSpendFen(min: 50_000, max: nil),
            .orderCount(min: 1, max: 9),
            .lastOrderWithinDays(days: 30),
            .dormantDays(days: 90),
            .registeredWithinDays(days: 7),
            .rfm(
                RFMCondition(
                    thresholds: RFMThresholds(
                        recencyDays: [nil, 16, 11, 6], orderCount: [0, 5, 10, 15], totalSpendFen: [0, 500, 1000, 1500],
                        memberCount: 25),
                    recency: [4, 5], frequency: nil, monetary: [1])),
            .snapshot(SegmentSnapshot(id: 42, kind: .list, fingerprint: "list:sha256:ab", memberCount: 3)),
        ]),
        warnings: [SegmentWarning(file: "members.csv", line: 17, message: "\"12a\" is not a member id")])

    static func placeholders(in sql: String) -> [Int] {
        var numbers: [Int] = []
        var rest = Substring(sql)
        while let dollar = rest.firstIndex(of: "$") {
            rest = rest[rest.index(after: dollar)...]
            let digits = rest.prefix(while: \.isNumber)
            if let number = Int(digits) { numbers.append(number) }
        }
        return numbers
    }

    @Test func noValueOfTheSegmentAppearsInTheSQLText() {
        let (sql, parameters) = Self.everyCondition.predicate()
        for value in [Self.evil, "o'brien", "say \"hi\"", "SH-'001", "gold", "50000", "30", "1500", "42"] {
            #expect(!sql.contains(value), "\(value) is in the SQL")
        }
        // The only quoted text is the fixed day length.
        #expect(!sql.replacingOccurrences(of: "interval '86400 seconds'", with: "").contains("'"))
        #expect(parameters.contains { $0.postgresText?.contains(Self.evil) == true })
    }

    @Test func parametersAreNumberedFromTheFirstParameterWithoutGaps() {
        let (sql, parameters) = Self.everyCondition.predicate(alias: "m", firstParameter: 4)
        let used = Set(Self.placeholders(in: sql))
        #expect(used == Set(4..<(4 + parameters.count)))
    }

    @Test func theRunInstantIsBoundOnceForAllDayRules() {
        let (_, parameters) = Self.everyCondition.predicate()
        let instants = parameters.compactMap { $0 as? Date }
        #expect(instants == [Self.everyCondition.asOf])
    }

    @Test func theAliasIsUsedForEveryColumn() {
        let (sql, _) = Self.everyCondition.predicate(alias: "member")
        for column in [
            "tier", "tags", "home_store", "total_spend_fen", "order_count", "last_order_at", "registered_at",
        ] {
            #expect(sql.contains("member.\(column)"))
            #expect(!sql.contains("m.\(column)"))
        }
        #expect(sql.contains("segment_snapshots.member_id = member.id"))
    }

    @Test func everyoneIsTrue() {
        #expect(ResolvedSegment(asOf: Date(), condition: .everyone).predicate().sql == "TRUE")
        #expect(ResolvedSegment(asOf: Date(), condition: .everyone).predicate().parameters.isEmpty)
    }

    @Test func theStoredFormRoundTripsLosslessly() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(Self.everyCondition)
        let decoded = try JSONDecoder().decode(ResolvedSegment.self, from: data)
        #expect(decoded == Self.everyCondition)
        #expect(try encoder.encode(decoded) == data)
        // Decoded, it compiles to the same SQL with the same parameter values.
        let (sql, parameters) = Self.everyCondition.predicate()
        let (decodedSQL, decodedParameters) = decoded.predicate()
        #expect(decodedSQL == sql)
        #expect(decodedParameters.map(\.postgresText) == parameters.map(\.postgresText))
    }

    @Test func theRunInstantIsKeptToTheMicrosecondWhateverTheDateStrategy() throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let decoded = try JSONDecoder().decode(ResolvedSegment.self, from: encoder.encode(Self.everyCondition))
        #expect(decoded.asOf == Self.everyCondition.asOf)
        #expect(decoded.asOf.timeIntervalSince1970 == 1_780_272_000.123_457)
    }

    @Test func aStoredFormFromANewerVersionIsRefused() throws {
        let data = try JSONEncoder().encode(Self.everyCondition)
        var object = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        object["formatVersion"] = 2
        let newer = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ResolvedSegment.self, from: newer) }
    }
}
