import Foundation
import Testing

@testable import CouponKit

/// Helpers shared by the cron tests: instants written as UTC ISO 8601 text.
enum CronTestSupport {
    /// `"2026-03-08T07:00:00Z"` as a Date.
    static func instant(_ text: String) -> Date {
        guard let date = try? Date(text, strategy: .iso8601) else {
            fatalError("bad ISO 8601 instant in test: \(text)")
        }
        return date
    }

    /// A Date as UTC ISO 8601 text, e.g. `"2026-03-08T07:00:00Z"`.
    static func iso(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    static func zone(_ identifier: String) -> TimeZone {
        guard let zone = TimeZone(identifier: identifier) else {
            fatalError("unknown time zone in test: \(identifier)")
        }
        return zone
    }

    /// The next `expected.count` firings of `expression` after `after`, as UTC ISO text.
    static func firings(_ expression: String, in zone: String, after: String, count: Int) throws -> [String] {
        try CronExpression(expression)
            .next(after: instant(after), in: self.zone(zone), count: count)
            .map(iso)
    }
}

/// A table row: the next firings of an expression after an instant, written in UTC.
struct CronKnownAnswer: Sendable, CustomTestStringConvertible {
    let expression: String
    let zone: String
    let after: String
    let expected: [String]
    let why: String

    init(_ expression: String, _ zone: String, after: String, _ expected: [String], _ why: String) {
        self.expression = expression
        self.zone = zone
        self.after = after
        self.expected = expected
        self.why = why
    }

    var testDescription: String { "\"\(expression)\" in \(zone) after \(after): \(why)" }

    /// Runs the row: `next(after:in:count:)` and chained `next(after:in:)` must both give `expected`.
    func check(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let got = try CronTestSupport.firings(expression, in: zone, after: after, count: expected.count)
        #expect(got == expected, "\(why)", sourceLocation: sourceLocation)
        let cron = try CronExpression(expression)
        var chained: [String] = []
        var cursor = CronTestSupport.instant(after)
        for _ in expected {
            guard let next = cron.next(after: cursor, in: CronTestSupport.zone(zone)) else { break }
            chained.append(CronTestSupport.iso(next))
            cursor = next
        }
        #expect(chained == expected, "chained next(after:in:) disagrees: \(why)", sourceLocation: sourceLocation)
    }
}

@Suite struct CronTestSupportTests {
    @Test func isoHelpersRoundTripUTCInstants() {
        let date = CronTestSupport.instant("2026-03-08T07:00:00Z")
        #expect(date.timeIntervalSince1970 == 1_772_953_200)
        #expect(CronTestSupport.iso(date) == "2026-03-08T07:00:00Z")
    }
}
