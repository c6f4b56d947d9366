import Foundation
import Testing

@testable import CouponKit

@Suite struct CronCivilTests {
    @Test(arguments: [
        (1970, 1, 1, 0), (2000, 3, 1, 11_017), (2026, 3, 8, 20_520), (1969, 12, 31, -1),
        (1900, 3, 1, -25_508), (1, 1, 1, -719_162), (9999, 12, 31, 2_932_896),
    ])
    func dayNumbersMatchKnownDates(_ year: Int, _ month: Int, _ day: Int, _ days: Int) {
        #expect(CronCivil.days(year: year, month: month, day: day) == days)
        let back = CronCivil.date(days: days)
        #expect(back.year == year && back.month == month && back.day == day)
    }

    @Test func dayNumbersRoundTripAndStayContiguous() {
        var expected = CronCivil.days(year: 1600, month: 1, day: 1)
        for year in 1600...2400 {
            for month in 1...12 {
                for day in 1...CronCivil.daysInMonth(year: year, month: month) {
                    #expect(CronCivil.days(year: year, month: month, day: day) == expected)
                    expected += 1
                }
            }
        }
        for days in stride(from: -800_000, through: 800_000, by: 997) {
            let d = CronCivil.date(days: days)
            #expect(CronCivil.days(year: d.year, month: d.month, day: d.day) == days)
        }
    }

    @Test(arguments: [
        (2026, 1, 1, 4), (2026, 3, 1, 0), (2026, 3, 2, 1), (1970, 1, 1, 4), (1969, 12, 28, 0), (2028, 2, 29, 2),
    ])
    func weekdaysCountFromSunday(_ year: Int, _ month: Int, _ day: Int, _ weekday: Int) {
        #expect(CronCivil.weekday(days: CronCivil.days(year: year, month: month, day: day)) == weekday)
    }

    @Test func leapYearsFollowGregorianRules() {
        #expect(CronCivil.isLeapYear(2028))
        #expect(CronCivil.isLeapYear(2000))
        #expect(!CronCivil.isLeapYear(2100))
        #expect(!CronCivil.isLeapYear(2026))
        #expect(CronCivil.daysInMonth(year: 2028, month: 2) == 29)
        #expect(CronCivil.daysInMonth(year: 2100, month: 2) == 28)
        #expect(CronCivil.daysInMonth(year: 2026, month: 4) == 30)
    }

    @Test func floorDivisionRoundsTowardsNegativeInfinity() {
        #expect(CronCivil.floorDiv(7, 60) == 0)
        #expect(CronCivil.floorDiv(-1, 60) == -1)
        #expect(CronCivil.floorDiv(-60, 60) == -1)
        #expect(CronCivil.floorDiv(-61, 60) == -2)
    }
}
