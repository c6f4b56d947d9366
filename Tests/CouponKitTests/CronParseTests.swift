import Foundation
import Testing

@testable import CouponKit

/// Bits helper: a set of values as a bit mask.
private func mask<T: FixedWidthInteger>(_ values: [Int]) -> T {
    values.reduce(T.zero) { $0 | (T(1) << T($1)) }
}

struct CronFieldCase: Sendable, CustomTestStringConvertible {
    let expression: String
    let minutes: [Int]
    let hours: [Int]
    let days: [Int]
    let months: [Int]
    let weekdays: [Int]

    var testDescription: String { "\"\(expression)\"" }
}

@Suite struct CronParseTests {
    static let all = (
        minutes: Array(0...59), hours: Array(0...23), days: Array(1...31), months: Array(1...12),
        weekdays: Array(0...6)
    )

    static let fieldCases: [CronFieldCase] = [
        CronFieldCase(
            expression: "*/15 * * * *", minutes: [0, 15, 30, 45], hours: all.hours, days: all.days,
            months: all.months, weekdays: all.weekdays),
        CronFieldCase(
            expression: "1-30/10 0-23/6 * * *", minutes: [1, 11, 21], hours: [0, 6, 12, 18], days: all.days,
            months: all.months, weekdays: all.weekdays),
        CronFieldCase(
            expression: "5/20 5/10 5/10 5/3 1/2", minutes: [5, 25, 45], hours: [5, 15], days: [5, 15, 25],
            months: [5, 8, 11], weekdays: [1, 3, 5]),
        CronFieldCase(
            expression: "0,30 9-17 1,15 JAN,jul,Dec MON-FRI", minutes: [0, 30], hours: Array(9...17), days: [1, 15],
            months: [1, 7, 12], weekdays: [1, 2, 3, 4, 5]),
        CronFieldCase(
            expression: "0 0 * feb-APR sun", minutes: [0], hours: [0], days: all.days, months: [2, 3, 4],
            weekdays: [0]),
        CronFieldCase(
            expression: "0 0 * * 7", minutes: [0], hours: [0], days: all.days, months: all.months, weekdays: [0]),
        CronFieldCase(
            expression: "0 0 * * 5-7", minutes: [0], hours: [0], days: all.days, months: all.months,
            weekdays: [0, 5, 6]),
        CronFieldCase(
            expression: "0 0 * * FRI-SUN", minutes: [0], hours: [0], days: all.days, months: all.months,
            weekdays: [0, 5, 6]),
        CronFieldCase(
            expression: "0 0 * * */2", minutes: [0], hours: [0], days: all.days, months: all.months,
            weekdays: [0, 2, 4, 6]),
        CronFieldCase(
            expression: "0 0 * * 0-7", minutes: [0], hours: [0], days: all.days, months: all.months,
            weekdays: all.weekdays),
        CronFieldCase(
            expression: "59 23 31 12 6", minutes: [59], hours: [23], days: [31], months: [12], weekdays: [6]),
        CronFieldCase(
            expression: "\t0   12\t* *  *\n", minutes: [0], hours: [12], days: all.days, months: all.months,
            weekdays: all.weekdays),
    ]

    @Test(arguments: fieldCases)
    func fieldsSelectTheDocumentedValues(_ row: CronFieldCase) throws {
        let matcher = try CronExpression(row.expression).matcher
        #expect(matcher.minutes == mask(row.minutes))
        #expect(matcher.hours == mask(row.hours))
        #expect(matcher.daysOfMonth == mask(row.days))
        #expect(matcher.months == mask(row.months))
        #expect(matcher.daysOfWeek == mask(row.weekdays))
    }

    @Test func lastDayMarkerCombinesWithAList() throws {
        let matcher = try CronExpression("0 0 1,L * *").matcher
        #expect(matcher.lastDayOfMonth)
        #expect(matcher.daysOfMonth == mask([1]))
        #expect(matcher.dayOfMonthRestricted)
        #expect(try CronExpression("0 0 l * *").matcher.lastDayOfMonth)
        #expect(try !CronExpression("0 0 1 * *").matcher.lastDayOfMonth)
    }

    @Test(arguments: [
        ("@yearly", "0 0 1 1 *"), ("@annually", "0 0 1 1 *"), ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"), ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"), ("@DAILY", "0 0 * * *"),
    ])
    func macrosExpandToTheirFiveFieldForm(_ macro: String, _ expansion: String) throws {
        let parsed = try CronExpression(macro)
        #expect(parsed.matcher == (try CronExpression(expansion)).matcher)
        #expect(parsed.description == macro)
        let zone = CronTestSupport.zone("Europe/London")
        let start = CronTestSupport.instant("2026-01-01T00:00:00Z")
        #expect(
            parsed.next(after: start, in: zone, count: 5) == (try CronExpression(expansion)).next(after: start, in: zone, count: 5))
    }

    @Test(arguments: [
        ("30 2 * * *", true), ("0 0-23 * * *", true), ("0 9,17 * * MON-FRI", true), ("@daily", true),
        ("@weekly", true), ("*/5 * * * *", false), ("0 */2 * * *", false), ("0 * * * *", false),
        ("@hourly", false), ("0 *,3 * * *", false),
    ])
    func followsWallClockOnlyWhenHourFieldDoesNotStartWithStar(_ text: String, _ expected: Bool) throws {
        #expect(try CronExpression(text).followsWallClock == expected)
    }

    @Test func descriptionIsTheTrimmedSourceText() throws {
        #expect(try CronExpression("  0  9 * * MON-FRI \n").description == "0  9 * * MON-FRI")
        #expect(try "\(CronExpression("@hourly"))" == "@hourly")
    }

    @Test func equalityAndHashingFollowTheTrimmedSourceText() throws {
        let a = try CronExpression("0 0 * * *")
        let b = try CronExpression(" 0 0 * * *\t")
        let c = try CronExpression("@daily")
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a != c, "different text is a different expression, even with the same schedule")
        #expect(Set([a, b, c]).count == 2)
    }

    @Test func dayRestrictionFollowsTheLeadingStar() throws {
        let both = try CronExpression("0 0 1 * MON").matcher
        #expect(both.dayOfMonthRestricted && both.dayOfWeekRestricted)
        let stepped = try CronExpression("0 0 */10 * MON").matcher
        #expect(!stepped.dayOfMonthRestricted && stepped.dayOfWeekRestricted)
        let last = try CronExpression("0 0 L * 1").matcher
        #expect(last.dayOfMonthRestricted && last.dayOfWeekRestricted)
    }

    @Test func impossibleDayAndMonthCombinationIsRecognised() throws {
        #expect(try !CronExpression("0 0 30 2 *").matcher.isSatisfiable)
        #expect(try !CronExpression("0 0 31 4,6,9,11 *").matcher.isSatisfiable)
        #expect(try CronExpression("0 0 29 2 *").matcher.isSatisfiable)
        #expect(try CronExpression("0 0 L 2 *").matcher.isSatisfiable)
        #expect(try CronExpression("0 0 30 2 MON").matcher.isSatisfiable, "either day field may match")
    }
}
