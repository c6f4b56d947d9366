import Foundation
import Testing

@testable import CouponKit

/// Period arithmetic of subscription plans against known answers, without a database.
/// DST facts (zdump -v): America/New_York 2026-03-08T07:00Z (02:00 EST -> 03:00 EDT) and
/// 2026-11-01T06:00Z (02:00 EDT -> 01:00 EST).
@Suite struct BundleScheduleTests {
    static func instant(_ text: String) -> Date {
        (try? Date(text, strategy: .iso8601)) ?? .distantPast
    }

    static func iso(_ dates: [Date]) -> [String] { dates.map { $0.formatted(.iso8601) } }

    static func zone(_ id: String) -> TimeZone { TimeZone(identifier: id) ?? .gmt }

    static func schedule(
        every: Int = 1, day: BundleDeliveryDay = .anniversary, at: Int = 9 * 60, zone: String = "Asia/Shanghai"
    ) -> BundleSchedule {
        BundleSchedule(everyMonths: every, deliveryDay: day, atMinutes: at, timeZone: Self.zone(zone))
    }

    struct KnownAnswer: Sendable, CustomTestStringConvertible {
        let name: String
        let schedule: BundleSchedule
        let started: String
        let expected: [String]
        var testDescription: String { name }
    }

    static let knownAnswers: [KnownAnswer] = [
        KnownAnswer(
            name: "anniversary on the 31st clamps to each month's end and comes back (common year)",
            schedule: schedule(), started: "2026-01-31T10:00:00+08:00",
            expected: [
                "2026-01-31T01:00:00Z", "2026-02-28T01:00:00Z", "2026-03-31T01:00:00Z", "2026-04-30T01:00:00Z",
                "2026-05-31T01:00:00Z", "2026-06-30T01:00:00Z",
            ]),
        KnownAnswer(
            name: "anniversary on the 31st in a leap year reaches Feb 29",
            schedule: schedule(), started: "2027-12-31T08:00:00+08:00",
            expected: ["2027-12-31T01:00:00Z", "2028-01-31T01:00:00Z", "2028-02-29T01:00:00Z", "2028-03-31T01:00:00Z"]),
        KnownAnswer(
            name: "anniversary on the 29th: Feb 28 in a common year",
            schedule: schedule(), started: "2026-01-29T12:00:00+08:00",
            expected: ["2026-01-29T01:00:00Z", "2026-02-28T01:00:00Z", "2026-03-29T01:00:00Z"]),
        KnownAnswer(
            name: "anniversary on the 29th: Feb 29 in a leap year",
            schedule: schedule(), started: "2028-01-29T12:00:00+08:00",
            expected: ["2028-01-29T01:00:00Z", "2028-02-29T01:00:00Z", "2028-03-29T01:00:00Z"]),
        KnownAnswer(
            name: "anniversary on the 30th: Feb 28, then the 30th again",
            schedule: schedule(), started: "2026-01-30T12:00:00+08:00",
            expected: ["2026-01-30T01:00:00Z", "2026-02-28T01:00:00Z", "2026-03-30T01:00:00Z", "2026-04-30T01:00:00Z"]),
        KnownAnswer(
            name: "every_months 3 from Jan 31: quarters, clamped to Apr 30",
            schedule: schedule(every: 3), started: "2026-01-31T10:00:00+08:00",
            expected: ["2026-01-31T01:00:00Z", "2026-04-30T01:00:00Z", "2026-07-31T01:00:00Z", "2026-10-31T01:00:00Z", "2027-01-31T01:00:00Z"]),
        KnownAnswer(
            name: "every_months 3 from Nov 30 crosses the year into a leap February",
            schedule: schedule(every: 3), started: "2027-11-30T10:00:00+08:00",
            expected: ["2027-11-30T01:00:00Z", "2028-02-29T01:00:00Z", "2028-05-30T01:00:00Z"]),
        KnownAnswer(
            name: "a fixed day after the start day begins that month",
            schedule: schedule(day: .day(20)), started: "2026-01-15T10:00:00+08:00",
            expected: ["2026-01-20T01:00:00Z", "2026-02-20T01:00:00Z"]),
        KnownAnswer(
            name: "a fixed day before the start day begins the next month",
            schedule: schedule(day: .day(1)), started: "2026-01-15T10:00:00+08:00",
            expected: ["2026-02-01T01:00:00Z", "2026-03-01T01:00:00Z"]),
        KnownAnswer(
            name: "the start's day is read in the plan's zone: Jan 31 20:00Z is Feb 1 in Shanghai",
            schedule: schedule(), started: "2026-01-31T20:00:00Z",
            expected: ["2026-02-01T01:00:00Z", "2026-03-01T01:00:00Z"]),
        KnownAnswer(
            name: "the same start is Jan 31 in New York, with its own offset",
            schedule: schedule(at: 10 * 60, zone: "America/New_York"), started: "2026-01-31T20:00:00Z",
            expected: ["2026-01-31T15:00:00Z", "2026-02-28T15:00:00Z", "2026-03-31T14:00:00Z"]),
        KnownAnswer(
            name: "02:30 on the spring-forward day does not exist: delivered when the gap ends",
            schedule: schedule(day: .day(8), at: 2 * 60 + 30, zone: "America/New_York"), started: "2026-02-01T12:00:00Z",
            expected: ["2026-02-08T07:30:00Z", "2026-03-08T07:00:00Z", "2026-04-08T06:30:00Z"]),
        KnownAnswer(
            name: "01:30 on the fall-back day happens twice: delivered at the first",
            schedule: schedule(day: .day(1), at: 90, zone: "America/New_York"), started: "2026-10-01T12:00:00Z",
            expected: ["2026-10-01T05:30:00Z", "2026-11-01T05:30:00Z", "2026-12-01T06:30:00Z"]),
    ]

    @Test(arguments: knownAnswers)
    func deliveryInstantsMatchKnownAnswers(_ row: KnownAnswer) {
        let deliveries = row.schedule.deliveries(startedAt: Self.instant(row.started), count: row.expected.count)
        #expect(Self.iso(deliveries) == row.expected)
    }

    // MARK: Due periods

    /// Started Jan 31 2026 (Shanghai), paid through Jan 30 2027: twelve periods.
    static let started = instant("2026-01-31T10:00:00+08:00")
    static let yearly = SubscriptionTerms(startedAt: started, paidThrough: CalendarDay("2027-01-30") ?? CalendarDay(clampingYear: 1, month: 1, day: 1))

    static func day(_ text: String) -> CalendarDay { CalendarDay(text) ?? CalendarDay(clampingYear: 1, month: 1, day: 1) }

    /// A watermark's count of periods due by an instant (constant work, from the months between)
    /// is the count a walk from period 1 finds, for every known answer's schedule and start, at
    /// instants on, just before and between delivery instants, over several years.
    @Test(arguments: knownAnswers)
    func periodsDueByAnInstantMatchAWalkFromTheFirstPeriod(_ row: KnownAnswer) {
        let started = Self.instant(row.started)
        let terms = SubscriptionTerms(startedAt: started, paidThrough: Self.day("2099-12-31"))
        var probes: [Date] = [started.addingTimeInterval(-86_400), started]
        for period in 1...40 {
            let due = row.schedule.dueAt(period: period, startedAt: started)
            probes += [due.addingTimeInterval(-1), due, due.addingTimeInterval(1), due.addingTimeInterval(13 * 86_400)]
        }
        for instant in probes {
            let walked = row.schedule.duePeriods(terms, after: 0, through: instant, limit: 1_000).count
            #expect(row.schedule.periods(dueBy: instant, startedAt: started) == walked, "\(row.name) at \(instant)")
        }
    }

    @Test func catchUpAfterThreeMonthsWithoutARunnerDeliversEachMissedPeriodOnceOldestFirst() {
        let due = Self.schedule().duePeriods(Self.yearly, after: 1, through: Self.instant("2026-05-15T00:00:00Z"))
        #expect(due.map(\.period) == [2, 3, 4])
        #expect(Self.iso(due.map(\.dueAt)) == ["2026-02-28T01:00:00Z", "2026-03-31T01:00:00Z", "2026-04-30T01:00:00Z"])
        #expect(due.allSatisfy { !$0.skipped })
        // Once settled through 4, nothing more is due by the same slot.
        #expect(Self.schedule().duePeriods(Self.yearly, after: 4, through: Self.instant("2026-05-15T00:00:00Z")).isEmpty)
    }

    @Test func aPeriodIsDueExactlyAtItsInstantNotASecondBefore() {
        let at = Self.instant("2026-02-28T01:00:00Z")
        #expect(Self.schedule().duePeriods(Self.yearly, after: 1, through: at).map(\.period) == [2])
        #expect(Self.schedule().duePeriods(Self.yearly, after: 1, through: at.addingTimeInterval(-1)).isEmpty)
    }

    @Test func nothingIsDeliveredPastPaidThrough() {
        let due = Self.schedule().duePeriods(Self.yearly, after: 0, through: Self.instant("2030-01-01T00:00:00Z"))
        #expect(due.count == 12)
        #expect(due.last?.dueAt == Self.instant("2026-12-31T01:00:00Z"))
        // Paid through the day of a delivery includes it; through the day before does not.
        var terms = Self.yearly
        terms.paidThrough = Self.day("2026-03-31")
        #expect(Self.schedule().duePeriods(terms, after: 0, through: Self.instant("2030-01-01T00:00:00Z")).count == 3)
        terms.paidThrough = Self.day("2026-03-30")
        #expect(Self.schedule().duePeriods(terms, after: 0, through: Self.instant("2030-01-01T00:00:00Z")).count == 2)
    }

    @Test func aRenewalMakesTheNextPeriodsDue() {
        var terms = Self.yearly
        terms.paidThrough = Self.day("2026-03-30")
        let slot = Self.instant("2026-05-01T00:00:00Z")
        #expect(Self.schedule().duePeriods(terms, after: 2, through: slot).isEmpty)
        terms.paidThrough = Self.day("2026-04-30")
        #expect(Self.schedule().duePeriods(terms, after: 2, through: slot).map(\.period) == [3, 4])
    }

    @Test func aCancelMidPeriodKeepsThePaidTermAndNoImportExtendsIt() {
        // Cancelled on Mar 15 while paid through Apr 29: Mar 31 still comes, Apr 30 does not.
        var terms = Self.yearly
        terms.paidThrough = Self.day("2026-04-29")
        terms.endsOn = terms.paidThrough
        let slot = Self.instant("2026-12-01T00:00:00Z")
        #expect(Self.schedule().duePeriods(terms, after: 2, through: slot).map(\.period) == [3])
        terms.paidThrough = Self.day("2026-12-31")
        #expect(Self.schedule().duePeriods(terms, after: 2, through: slot).map(\.period) == [3])
    }

    @Test func periodsThatStartInsideAPauseAreSkippedAndTheOthersDelivered() {
        var terms = Self.yearly
        // Paused Mar 15 until May 1 (Shanghai): the Mar 31 and Apr 30 periods fall inside.
        terms.pause = DateInterval(start: Self.instant("2026-03-15T00:00:00+08:00"), end: Self.instant("2026-05-01T00:00:00+08:00"))
        let due = Self.schedule().duePeriods(terms, after: 1, through: Self.instant("2026-06-01T00:00:00Z"))
        #expect(due.map(\.period) == [2, 3, 4, 5])
        #expect(due.map(\.skipped) == [false, true, true, false])
    }

    @Test func aResumeBeforeTheNextBoundaryDeliversThatPeriod() {
        var terms = Self.yearly
        // Paused Mar 15 until May 1, resumed Apr 10: only Mar 31 is skipped.
        terms.pause = DateInterval(start: Self.instant("2026-03-15T00:00:00+08:00"), end: Self.instant("2026-04-10T12:00:00+08:00"))
        let due = Self.schedule().duePeriods(terms, after: 2, through: Self.instant("2026-06-01T00:00:00Z"))
        #expect(due.map(\.period) == [3, 4, 5])
        #expect(due.map(\.skipped) == [true, false, false])
    }

    @Test func aPauseEndingExactlyAtADeliveryDeliversItAndOneStartingThereSkipsIt() {
        let boundary = Self.instant("2026-03-31T01:00:00Z")
        var terms = Self.yearly
        terms.pause = DateInterval(start: Self.instant("2026-03-01T00:00:00Z"), end: boundary)
        #expect(Self.schedule().duePeriods(terms, after: 2, through: boundary).map(\.skipped) == [false])
        terms.pause = DateInterval(start: boundary, end: Self.instant("2026-04-05T00:00:00Z"))
        #expect(Self.schedule().duePeriods(terms, after: 2, through: boundary).map(\.skipped) == [true])
    }

    @Test func oneRunSettlesAtMostTheCatchUpLimitPerSubscription() {
        let terms = SubscriptionTerms(startedAt: Self.instant("2000-01-01T00:00:00Z"), paidThrough: Self.day("2099-12-31"))
        let due = Self.schedule().duePeriods(terms, after: 0, through: Self.instant("2026-01-01T00:00:00Z"))
        #expect(due.count == BundleSchedule.catchUpLimit)
        #expect(due.map(\.period) == Array(1...BundleSchedule.catchUpLimit))
    }
}
