import CouponKit
import Foundation
import Postgres
import TestSupport
import Testing

/// Hand-made members and helpers shared by the segment tests.
enum SegmentFixtures {
    /// The run's reference instant: 2026-06-01T00:00:00Z.
    static let asOf = Date(timeIntervalSince1970: 1_780_272_000)

    static func daysAgo(_ days: Double) -> Date {
        asOf.addingTimeInterval(-days * 86_400)
    }

    struct Member {
        var id: Int64
        var tier = "standard"
        var tags: [String] = []
        var registeredAt = SegmentFixtures.daysAgo(400)
        var lastOrderAt: Date? = nil
        var orderCount: Int64 = 0
        var totalSpendFen: Int64 = 0
        var homeStore: String? = nil
    }

    /// The seven members of the operator tests; the expected answers in the tests are read off
    /// this table by hand.
    ///
    /// | id | tier     | tags                          | registered | last order | orders | spend fen | store  |
    /// |----|----------|-------------------------------|------------|------------|--------|-----------|--------|
    /// | 1  | standard | –                             | 400 d ago  | never      | 0      | 0         | NULL   |
    /// | 2  | silver   | vip                           | 400 d ago  | 3 d ago    | 5      | 50 000    | SH-001 |
    /// | 3  | gold     | vip, o'brien                  | 200 d ago  | 30 d ago   | 12     | 200 000   | SH-002 |
    /// | 4  | platinum | say "hi", o'brien             | 10 d ago   | 1 d ago    | 2      | 1 000     | NULL   |
    /// | 5  | gold     | blocked                       | 5 d ago    | never      | 0      | 0         | SH-001 |
    /// | 6  | standard | vip, blocked                  | 800 d ago  | 90 d ago   | 1      | 49 999    | SH-003 |
    /// | 7  | silver   | o'brien, say "hi", vip        | 30 d ago   | 31 d ago   | 3      | 200 001   | SH-002 |
    static let members: [Member] = [
        Member(id: 1),
        Member(
            id: 2, tier: "silver", tags: ["vip"], lastOrderAt: daysAgo(3), orderCount: 5, totalSpendFen: 50_000,
            homeStore: "SH-001"),
        Member(
            id: 3, tier: "gold", tags: ["vip", "o'brien"], registeredAt: daysAgo(200), lastOrderAt: daysAgo(30),
            orderCount: 12, totalSpendFen: 200_000, homeStore: "SH-002"),
        Member(
            id: 4, tier: "platinum", tags: ["say \"hi\"", "o'brien"], registeredAt: daysAgo(10),
            lastOrderAt: daysAgo(1), orderCount: 2, totalSpendFen: 1_000),
        Member(id: 5, tier: "gold", tags: ["blocked"], registeredAt: daysAgo(5), homeStore: "SH-001"),
        Member(
            id: 6, tags: ["vip", "blocked"], registeredAt: daysAgo(800), lastOrderAt: daysAgo(90), orderCount: 1,
            totalSpendFen: 49_999, homeStore: "SH-003"),
        Member(
            id: 7, tier: "silver", tags: ["o'brien", "say \"hi\"", "vip"], registeredAt: daysAgo(30),
            lastOrderAt: daysAgo(31), orderCount: 3, totalSpendFen: 200_001, homeStore: "SH-002"),
    ]

    static let insertSQL = """
        INSERT INTO members (id, tier, tags, registered_at, last_order_at, order_count, total_spend_fen, home_store)
        VALUES ($1, $2, $3::text[], $4, $5, $6, $7, $8)
        """

    static func insert(_ members: [Member], into connection: Connection) throws {
        for member in members {
            try connection.execute(
                insertSQL,
                [
                    member.id, member.tier, member.tags, member.registeredAt, member.lastOrderAt, member.orderCount,
                    member.totalSpendFen, member.homeStore,
                ])
        }
    }

    /// A fresh database with the seven operator-test members.
    static func databaseWithMembers() throws -> (TestDatabase, Connection) {
        let db = try TestDatabase()
        let connection = try db.connect()
        try insert(members, into: connection)
        return (db, connection)
    }

    /// Ids matched by `resolved`, ascending, as a chunk query would see them.
    static func matchingIDs(_ resolved: ResolvedSegment, _ connection: Connection) throws -> [Int64] {
        let (predicate, parameters) = resolved.predicate(alias: "m", firstParameter: 1)
        return try connection.query("SELECT m.id FROM members AS m WHERE \(predicate) ORDER BY m.id", parameters)
            .rows.map { try $0.decode(0, as: Int64.self) }
    }

    static func resolve(
        _ segment: Segment, _ connection: Connection, options: SegmentResolver.Options = SegmentResolver.Options()
    ) throws -> ResolvedSegment {
        try SegmentResolver.resolve(segment, asOf: asOf, connection: connection, options: options)
    }

    /// Every member row as text: equal before and after means nothing changed.
    static func membersDigest(_ connection: Connection) throws -> String {
        try connection.query("SELECT coalesce(md5(string_agg(m::text, '|' ORDER BY m.id)), '') FROM members AS m")
            .row(0).decode(0, as: String.self)
    }

    static func count(_ table: String, _ connection: Connection) throws -> Int {
        try connection.query("SELECT count(*) FROM \(table)").row(0).decode(0, as: Int.self)
    }

    /// A temporary directory with one file; removed by the caller.
    static func writeFile(_ name: String, _ contents: String) throws -> (directory: String, path: String) {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("segment-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/" + name
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        return (directory, path)
    }
}

/// One row of a table of known answers, named for the test report.
struct SegmentCase: Sendable, CustomTestStringConvertible {
    let name: String
    let segment: Segment
    let expected: [Int64]

    init(_ name: String, _ segment: Segment, _ expected: [Int64]) {
        self.name = name
        self.segment = segment
        self.expected = expected
    }

    var testDescription: String { name }
}
