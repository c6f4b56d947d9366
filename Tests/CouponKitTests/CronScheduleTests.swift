import Foundation
import Testing

@testable import CouponKit

/// Calendar behaviour without DST (UTC and fixed-offset zones). Expected instants are worked
/// out by hand from the calendar (2026-01-01 is a Thursday, 2026-03-01 a Sunday).
@Suite struct CronScheduleTests {
    typealias Row = CronKnownAnswer

    static let monthEnds: [Row] = [
        Row(
            "0 0 31 * *", "UTC", after: "2026-01-31T00:00:00Z",
            [
                "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z",
                "2026-10-31T00:00:00Z", "2026-12-31T00:00:00Z",
            ],
            "the 31st is skipped in months with 30 days or fewer"),
        Row(
            "0 0 30 * *", "UTC", after: "2026-01-30T00:00:00Z",
            ["2026-03-30T00:00:00Z", "2026-04-30T00:00:00Z"], "February has no 30th"),
        Row(
            "59 23 31 12 *", "UTC", after: "2026-06-01T00:00:00Z",
            ["2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"], "last minute of the year, then the next year"),
        Row(
            "0 0 1 1 *", "UTC", after: "2026-12-31T23:59:59Z", ["2027-01-01T00:00:00Z"],
            "rolls over into the new year"),
    ]

    static let leapDays: [Row] = [
        Row(
            "0 0 29 2 *", "UTC", after: "2026-01-01T00:00:00Z",
            ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"], "February 29th only exists in leap years"),
        Row(
            "0 0 29 2 *", "UTC", after: "2096-03-01T00:00:00Z", ["2104-02-29T00:00:00Z"],
            "2100 is not a leap year, so the next leap day is 8 years away"),
        Row(
            "0 12 29 2 *", "UTC", after: "1895-01-01T00:00:00Z",
            ["1896-02-29T12:00:00Z", "1904-02-29T12:00:00Z"], "before 1970 too, and 1900 is not a leap year"),
    ]

    static let lastDay: [Row] = [
        Row(
            "0 0 L * *", "UTC", after: "2028-01-31T00:00:00Z",
            ["2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z", "2028-04-30T00:00:00Z"], "L in a leap February is the 29th"),
        Row(
            "0 0 L 2 *", "UTC", after: "2026-01-01T00:00:00Z",
            ["2026-02-28T00:00:00Z", "2027-02-28T00:00:00Z", "2028-02-29T00:00:00Z"],
            "L in February is the 28th, or the 29th in leap years"),
        Row(
            "0 0 1,L * *", "UTC", after: "2026-02-01T00:00:00Z",
            ["2026-02-28T00:00:00Z", "2026-03-01T00:00:00Z", "2026-03-31T00:00:00Z", "2026-04-01T00:00:00Z"],
            "L combines with other days in a list"),
    ]

    static let dayRule: [Row] = [
        Row(
            "0 0 1 * MON", "UTC", after: "2026-02-28T12:00:00Z",
            [
                "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", "2026-03-09T00:00:00Z", "2026-03-16T00:00:00Z",
                "2026-03-23T00:00:00Z", "2026-03-30T00:00:00Z", "2026-04-01T00:00:00Z", "2026-04-06T00:00:00Z",
            ],
            "both day fields restricted: the 1st OR any Monday"),
        Row(
            "0 0 * * MON", "UTC", after: "2026-02-28T12:00:00Z",
            [
                "2026-03-02T00:00:00Z", "2026-03-09T00:00:00Z", "2026-03-16T00:00:00Z", "2026-03-23T00:00:00Z",
                "2026-03-30T00:00:00Z", "2026-04-06T00:00:00Z",
            ],
            "day-of-month unrestricted: Mondays only"),
        Row(
            "0 0 1 * *", "UTC", after: "2026-02-28T12:00:00Z",
            ["2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"], "day-of-week unrestricted: the 1st only"),
        Row(
            "0 0 */10 * MON", "UTC", after: "2026-01-01T00:00:00Z",
            [
                "2026-05-11T00:00:00Z", "2026-06-01T00:00:00Z", "2026-08-31T00:00:00Z", "2026-09-21T00:00:00Z",
                "2026-12-21T00:00:00Z",
            ],
            "a day-of-month starting with * is unrestricted: 1st/11th/21st/31st AND Monday"),
        Row(
            "0 0 1-7 * 1", "UTC", after: "2026-02-28T12:00:00Z",
            [
                "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z",
                "2026-03-05T00:00:00Z", "2026-03-06T00:00:00Z", "2026-03-07T00:00:00Z", "2026-03-09T00:00:00Z",
                "2026-03-16T00:00:00Z", "2026-03-23T00:00:00Z", "2026-03-30T00:00:00Z", "2026-04-01T00:00:00Z",
            ],
            "Vixie rule: days 1-7 OR Mondays, not 'the first Monday'"),
        Row(
            "0 0 L * FRI", "UTC", after: "2026-02-28T12:00:00Z",
            [
                "2026-03-06T00:00:00Z", "2026-03-13T00:00:00Z", "2026-03-20T00:00:00Z", "2026-03-27T00:00:00Z",
                "2026-03-31T00:00:00Z", "2026-04-03T00:00:00Z",
            ],
            "L counts as restricted: last day OR Fridays"),
        Row(
            "0 0 30 2 MON", "UTC", after: "2026-03-01T00:00:00Z",
            [
                "2027-02-01T00:00:00Z", "2027-02-08T00:00:00Z", "2027-02-15T00:00:00Z", "2027-02-22T00:00:00Z",
                "2028-02-07T00:00:00Z",
            ],
            "an impossible day-of-month is rescued by the weekday: Mondays in February"),
    ]

    static let namesAndSteps: [Row] = [
        Row(
            "0 12 * JAN,JUL SAT", "UTC", after: "2026-01-01T00:00:00Z",
            [
                "2026-01-03T12:00:00Z", "2026-01-10T12:00:00Z", "2026-01-17T12:00:00Z", "2026-01-24T12:00:00Z",
                "2026-01-31T12:00:00Z", "2026-07-04T12:00:00Z", "2026-07-11T12:00:00Z",
            ],
            "month and weekday names"),
        Row(
            "30 8 * * mon-fri", "UTC", after: "2026-03-06T09:00:00Z",
            ["2026-03-09T08:30:00Z", "2026-03-10T08:30:00Z"], "lower-case weekday range skips the weekend"),
        Row(
            "*/15 * * * *", "UTC", after: "2026-01-01T00:07:00Z",
            ["2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z", "2026-01-01T01:00:00Z"],
            "*/15 is every quarter hour"),
        Row(
            "1-30/10 * * * *", "UTC", after: "2026-01-01T00:00:00Z",
            ["2026-01-01T00:01:00Z", "2026-01-01T00:11:00Z", "2026-01-01T00:21:00Z", "2026-01-01T01:01:00Z"],
            "a stepped range"),
        Row(
            "5/20 */6 * * *", "UTC", after: "2026-01-01T00:00:00Z",
            ["2026-01-01T00:05:00Z", "2026-01-01T00:25:00Z", "2026-01-01T00:45:00Z", "2026-01-01T06:05:00Z"],
            "5/20 runs from 5 to the end of the field"),
        Row(
            "* * * * *", "UTC", after: "2026-01-01T00:00:30Z",
            ["2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"], "every minute, on the minute"),
        Row(
            "0 0 * * 5-7", "UTC", after: "2026-03-01T00:00:00Z",
            ["2026-03-06T00:00:00Z", "2026-03-07T00:00:00Z", "2026-03-08T00:00:00Z"], "a range ending on 7 includes Sunday"),
    ]

    static let macros: [Row] = [
        Row("@weekly", "UTC", after: "2026-03-01T00:00:00Z", ["2026-03-08T00:00:00Z"], "Sundays at midnight"),
        Row(
            "@monthly", "UTC", after: "2026-01-15T00:00:00Z", ["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"],
            "first of the month"),
        Row("@yearly", "UTC", after: "2026-01-01T00:00:00Z", ["2027-01-01T00:00:00Z"], "January 1st"),
        Row("@annually", "UTC", after: "2026-06-01T00:00:00Z", ["2027-01-01T00:00:00Z"], "same as @yearly"),
        Row(
            "@hourly", "UTC", after: "2026-01-01T00:30:00Z", ["2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"],
            "top of each hour"),
        Row("@midnight", "UTC", after: "2026-01-01T00:00:00Z", ["2026-01-02T00:00:00Z"], "same as @daily"),
        Row("@daily", "Asia/Shanghai", after: "2026-01-01T00:00:00Z", ["2026-01-01T16:00:00Z"], "midnight in UTC+8"),
    ]

    static let zonesWithoutDST: [Row] = [
        Row(
            "0 9 1 * *", "Asia/Shanghai", after: "2026-01-01T00:00:00Z",
            ["2026-01-01T01:00:00Z", "2026-02-01T01:00:00Z", "2026-03-01T01:00:00Z"], "09:00 UTC+8 is 01:00Z"),
        Row(
            "30 2 * * *", "Asia/Shanghai", after: "2026-03-08T00:00:00Z",
            ["2026-03-08T18:30:00Z", "2026-03-09T18:30:00Z"], "no DST: 02:30 every day, even on US DST day"),
        Row(
            "30 1 * * *", "Asia/Shanghai", after: "2026-10-31T00:00:00Z",
            ["2026-10-31T17:30:00Z", "2026-11-01T17:30:00Z"], "no DST: 01:30 fires once a day"),
        Row(
            "0 0 * * *", "Asia/Kolkata", after: "2026-01-01T00:00:00Z",
            ["2026-01-01T18:30:00Z", "2026-01-02T18:30:00Z"], "half-hour offset UTC+5:30"),
        Row(
            "0 0 1 * *", "Asia/Shanghai", after: "2026-01-31T15:59:59Z",
            ["2026-01-31T16:00:00Z"], "local day and month differ from UTC near midnight"),
    ]

    @Test(arguments: monthEnds) func monthEndsSkipShortMonths(_ row: Row) throws { try row.check() }
    @Test(arguments: leapDays) func leapDayFiresOnlyInLeapYears(_ row: Row) throws { try row.check() }
    @Test(arguments: lastDay) func lastDayOfMonthFollowsMonthLength(_ row: Row) throws { try row.check() }
    @Test(arguments: dayRule) func dayFieldsCombineByVixieRule(_ row: Row) throws { try row.check() }
    @Test(arguments: namesAndSteps) func namesAndStepsSelectTheRightTimes(_ row: Row) throws { try row.check() }
    @Test(arguments: macros) func macrosFireLikeTheirExpansion(_ row: Row) throws { try row.check() }
    @Test(arguments: zonesWithoutDST) func zonesWithoutDSTFireAtFixedOffset(_ row: Row) throws { try row.check() }

    @Test(arguments: ["0 0 * * 0", "0 0 * * 7", "0 0 * * SUN", "0 0 * * sun", "@weekly"])
    func zeroAndSevenAreBothSunday(_ text: String) throws {
        let got = try CronTestSupport.firings(text, in: "UTC", after: "2026-03-01T00:00:00Z", count: 3)
        #expect(got == ["2026-03-08T00:00:00Z", "2026-03-15T00:00:00Z", "2026-03-22T00:00:00Z"])
    }

    @Test(arguments: ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "* * 31 2,4 *", "0 0 30,31 FEB *"])
    func impossibleExpressionsReturnNil(_ text: String) throws {
        let cron = try CronExpression(text)
        for zone in ["UTC", "America/New_York", "Australia/Lord_Howe"] {
            #expect(cron.next(after: CronTestSupport.instant("2026-01-01T00:00:00Z"), in: CronTestSupport.zone(zone)) == nil)
        }
        #expect(cron.next(after: .now, in: .gmt, count: 3).isEmpty)
    }

    @Test func possibleButRareExpressionGivesUpAfterEightYears() throws {
        // Feb 29th that is also a Sunday (day-of-week "*/7" = Sunday, unrestricted, so both must match).
        let cron = try CronExpression("0 0 29 2 */7")
        let utc = CronTestSupport.zone("UTC")
        #expect(cron.next(after: CronTestSupport.instant("2026-01-01T00:00:00Z"), in: utc).map(CronTestSupport.iso) == "2032-02-29T00:00:00Z")
        // The next one after 2032 is 2060-02-29, more than 8 years away.
        #expect(cron.next(after: CronTestSupport.instant("2033-01-01T00:00:00Z"), in: utc) == nil)
    }

    @Test func firingExactlyAtStartIsNotReturned() throws {
        let cron = try CronExpression("0 0 * * *")
        let midnight = CronTestSupport.instant("2026-01-01T00:00:00Z")
        let utc = CronTestSupport.zone("UTC")
        #expect(cron.next(after: midnight, in: utc).map(CronTestSupport.iso) == "2026-01-02T00:00:00Z")
        #expect(cron.next(after: midnight.addingTimeInterval(-0.001), in: utc) == midnight)
        #expect(cron.next(after: midnight.addingTimeInterval(0.001), in: utc).map(CronTestSupport.iso) == "2026-01-02T00:00:00Z")
        #expect(cron.next(after: midnight.addingTimeInterval(-1), in: utc) == midnight)
    }

    @Test func firingsUseHalfOpenIntervalAndLimit() throws {
        let cron = try CronExpression("0 * * * *")
        let utc = CronTestSupport.zone("UTC")
        let from = CronTestSupport.instant("2026-01-01T00:00:00Z")
        let through = CronTestSupport.instant("2026-01-01T03:00:00Z")
        #expect(
            cron.firings(after: from, through: through, in: utc, limit: 10).map(CronTestSupport.iso)
                == ["2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z"])
        #expect(
            cron.firings(after: from, through: through, in: utc, limit: 2).map(CronTestSupport.iso)
                == ["2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"])
        #expect(cron.firings(after: from, through: through.addingTimeInterval(-0.5), in: utc, limit: 10).count == 2)
        #expect(cron.firings(after: from, through: through, in: utc, limit: 0).isEmpty)
        #expect(cron.firings(after: through, through: from, in: utc, limit: 10).isEmpty)
        #expect(cron.firings(after: from, through: from, in: utc, limit: 10).isEmpty)
    }

    @Test func firingsAgreeWithSuccessiveNextOverAMonthOfDST() throws {
        let zone = CronTestSupport.zone("America/New_York")
        let from = CronTestSupport.instant("2026-02-20T00:00:00Z")
        let through = CronTestSupport.instant("2026-03-20T00:00:00Z")
        for text in ["*/7 2 * * *", "*/7 * * * *", "0 0 1,L * MON"] {
            let cron = try CronExpression(text)
            let firings = cron.firings(after: from, through: through, in: zone, limit: 100_000)
            var expected: [Date] = []
            var cursor = from
            while let next = cron.next(after: cursor, in: zone), next <= through {
                expected.append(next)
                cursor = next
            }
            #expect(!firings.isEmpty)
            #expect(firings == expected, "\(text)")
            #expect(cron.next(after: from, in: zone, count: firings.count) == firings, "\(text)")
        }
    }

    @Test func nextWithCountHandlesZeroAndNegative() throws {
        let cron = try CronExpression("@hourly")
        #expect(cron.next(after: .now, in: .gmt, count: 0).isEmpty)
        #expect(cron.next(after: .now, in: .gmt, count: -3).isEmpty)
        #expect(cron.next(after: .now, in: .gmt, count: 24).count == 24)
    }

    @Test func fixedOffsetTimeZonesWork() throws {
        let cron = try CronExpression("0 0 * * *")
        let start = CronTestSupport.instant("2026-01-01T12:00:00Z")
        let plus = try #require(TimeZone(secondsFromGMT: 5 * 3600 + 45 * 60))
        let minus = try #require(TimeZone(secondsFromGMT: -(9 * 3600 + 30 * 60)))
        #expect(cron.next(after: start, in: plus).map(CronTestSupport.iso) == "2026-01-01T18:15:00Z")
        #expect(cron.next(after: start, in: minus).map(CronTestSupport.iso) == "2026-01-02T09:30:00Z")
    }

    @Test func datesBeyondYear9999OrNotFiniteGiveNilButDistantPastAndFutureWork() throws {
        let cron = try CronExpression("0 0 * * *")
        let utc = CronTestSupport.zone("UTC")
        #expect(cron.next(after: CronTestSupport.instant("9999-12-31T12:00:00Z"), in: utc) == nil)
        #expect(cron.next(after: Date(timeIntervalSince1970: .infinity), in: utc) == nil)
        #expect(cron.next(after: Date(timeIntervalSince1970: .nan), in: utc) == nil)
        // Date.distantPast and .distantFuture are UTC midnights (0000-12-30 proleptic Gregorian and 4001-01-01).
        #expect(cron.next(after: .distantFuture, in: utc) == Date.distantFuture.addingTimeInterval(86_400))
        #expect(cron.next(after: .distantPast, in: utc) == Date.distantPast.addingTimeInterval(86_400))
    }
}
