import CouponKit
import Foundation
import Postgres
import TestSupport
import Testing

@Suite struct MemberListSegmentTests {
    /// Lines: 1 header, 2 "1", 3 "2", 4 blank, 5 "12a", 6 "3,4", 7 "  5  ", 8 "0", 9 "-3",
    /// 10 "99999" (no such member), 11 "2" (again), 12 "\"6\"". CRLF line ends.
    static let csv =
        ["member_id", "1", "2", "", "12a", "3,4", "  5  ", "0", "-3", "99999", "2", "\"6\""]
        .joined(separator: "\r\n") + "\r\n"

    static let expectedProblems = [
        SegmentWarning(file: "members.csv", line: 5, message: "\"12a\" is not a member id"),
        SegmentWarning(
            file: "members.csv", line: 6, message: "\"3,4\" has 2 columns; a member list has one member id a line"),
        SegmentWarning(file: "members.csv", line: 8, message: "\"0\" is not a member id"),
        SegmentWarning(file: "members.csv", line: 9, message: "\"-3\" is not a member id"),
    ]

    // MARK: Parsing, without a database

    @Test func parsingKeepsGoodIdsAndReportsEveryBadLineByNumber() {
        let file = MemberListFile(parsing: Self.csv, name: "members.csv")
        #expect(file.memberIDs == [1, 2, 5, 6, 99999])
        #expect(file.problems == Self.expectedProblems)
        #expect(file.duplicateCount == 1)
        #expect(file.problems.first?.description == "members.csv:5: \"12a\" is not a member id")
    }

    @Test func theHeaderIsOnlyRecognizedAsTheFirstNonBlankLine() {
        let file = MemberListFile(parsing: "\u{FEFF}\n\nMember_ID\n7\nmember_id\n8", name: "l.csv")
        #expect(file.memberIDs == [7, 8])
        #expect(file.problems == [SegmentWarning(file: "l.csv", line: 5, message: "\"member_id\" is not a member id")])
    }

    @Test func idsBeyondSixtyFourBitsAndSignsAreBadLines() {
        let file = MemberListFile(parsing: "+4\n9223372036854775807\n9223372036854775808\n1e3\n", name: "l.csv")
        #expect(file.memberIDs == [9_223_372_036_854_775_807])
        #expect(file.problems.map(\.line) == [1, 3, 4])
    }

    @Test func theInputErrorListsTwentyLinesAndCountsTheRest() {
        let text = (1...25).map { "bad\($0)" }.joined(separator: "\n") + "\n42\n"
        let file = MemberListFile(parsing: text, name: "big.csv")
        let resolved = ResolvedSegment(asOf: SegmentFixtures.asOf, condition: .everyone, warnings: file.problems)
        let lines = resolved.inputError?.message.split(separator: "\n").map(String.init) ?? []
        #expect(lines.first == "25 bad lines in member lists; the good lines were applied:")
        #expect(lines.count == 1 + 20 + 1)
        #expect(lines[1] == "big.csv:1: \"bad1\" is not a member id")
        #expect(lines[20] == "big.csv:20: \"bad20\" is not a member id")
        #expect(lines.last == "and 5 more")
        #expect(resolved.inputError?.category == .badInput)
    }

    @Test func theStoredFormKeepsAHundredWarningsAndCountsTheRest() {
        let file = MemberListFile(parsing: String(repeating: "x\n", count: 150), name: "x.csv")
        let resolved = ResolvedSegment(asOf: SegmentFixtures.asOf, condition: .everyone, warnings: file.problems)
        #expect(resolved.warnings.count == 100)
        #expect(resolved.omittedWarningCount == 50)
        #expect(resolved.warningCount == 150)
        #expect(resolved.inputError?.message.hasSuffix("and 130 more") == true)
    }

    // MARK: Resolving against PostgreSQL

    @Test func aListWithBadLinesResolvesWithItsGoodLinesAndReportsTheBadOnes() throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        let (directory, _) = try SegmentFixtures.writeFile("members.csv", Self.csv)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let options = SegmentResolver.Options(listDirectory: directory)
        let resolved = try SegmentFixtures.resolve(.list(path: "members.csv"), c, options: options)
        #expect(resolved.warnings == Self.expectedProblems)
        #expect(resolved.inputError?.message.contains("members.csv:17") == false)
        #expect(resolved.inputError?.message.contains("members.csv:6: \"3,4\" has 2 columns") == true)
        // 99999 is stored but is no member, so it never matches.
        #expect(try SegmentFixtures.matchingIDs(resolved, c) == [1, 2, 5, 6])
        #expect(resolved.snapshots.map(\.memberCount) == [5])
        #expect(try SegmentFixtures.count("segment_snapshots", c) == 5)
    }

    @Test func loadingTheSameListAgainReusesItsSnapshot() throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        let (directory, path) = try SegmentFixtures.writeFile("members.csv", Self.csv)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try SegmentFixtures.resolve(.list(path: path), c)
        let second = try SegmentFixtures.resolve(.list(path: path), c)
        #expect(first == second)
        // The same member set written differently (no header, other order, LF) is the same snapshot.
        let (otherDirectory, otherPath) = try SegmentFixtures.writeFile("again.csv", "99999\n6\n5\n2\n1\n")
        defer { try? FileManager.default.removeItem(atPath: otherDirectory) }
        let third = try SegmentFixtures.resolve(.list(path: otherPath), c)
        #expect(third.snapshots.map(\.id) == first.snapshots.map(\.id))
        #expect(third.warnings.isEmpty)
        #expect(try SegmentFixtures.count("segment_snapshot_sources", c) == 1)
        #expect(try SegmentFixtures.count("segment_snapshots", c) == 5)
        // A different set is a new snapshot.
        let (fourthDirectory, fourthPath) = try SegmentFixtures.writeFile("fewer.csv", "1\n")
        defer { try? FileManager.default.removeItem(atPath: fourthDirectory) }
        let fourth = try SegmentFixtures.resolve(.list(path: fourthPath), c)
        #expect(fourth.snapshots.map(\.id) != first.snapshots.map(\.id))
        #expect(try SegmentFixtures.matchingIDs(fourth, c) == [1])
        #expect(try SegmentFixtures.count("segment_snapshot_sources", c) == 2)
    }

    @Test func aMissingListFileIsAnErrorNamingTheFieldAndTheFile() throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        let error = #expect(throws: SegmentError.self) {
            try SegmentFixtures.resolve(.all([.everyone, .list(path: "no/such/list.csv")]), c)
        }
        #expect(error?.reason == .listUnreadable)
        #expect(error?.description == "segment.all[1].list: cannot read no/such/list.csv: no such file")
        #expect(try SegmentFixtures.count("segment_snapshot_sources", c) == 0)
    }

    @Test func aResumedRunFindsItsSnapshotAndNoticesWhenItIsGone() throws {
        let (db, c) = try SegmentFixtures.databaseWithMembers()
        _ = db
        let (directory, path) = try SegmentFixtures.writeFile("members.csv", "3\n4\n")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let resolved = try SegmentFixtures.resolve(.not(.list(path: path)), c)
        try resolved.verifySnapshots(connection: c)
        #expect(try SegmentFixtures.matchingIDs(resolved, c) == [1, 2, 5, 6, 7])
        try c.execute("DELETE FROM segment_snapshot_sources")
        let error = #expect(throws: SegmentError.self) { try resolved.verifySnapshots(connection: c) }
        #expect(error?.reason == .snapshotMissing)
    }
}
