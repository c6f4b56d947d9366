import Foundation

/// The day of the month a plan delivers on.
public enum BundleDeliveryDay: Sendable, Equatable, Hashable {
    /// The day of the month the subscription started, clamped to each month's end: started on
    /// the 31st, it delivers on Feb 28 (29 in leap years), Mar 31, Apr 30, …
    case anniversary
    /// A fixed day 1...28, which every month has.
    case day(Int)
}

/// When a plan's periods fall: every `everyMonths` months on a day, at a local time, in a zone.
///
/// Pure calendar arithmetic, tested against known answers without a database. Period 1 is the
/// first delivery; period n lies `(n - 1) * everyMonths` months after it. Local times that a
/// daylight-saving jump skips deliver when the gap ends, and a repeated local time delivers at
/// its first occurrence, as wall-clock cron schedules do.
public struct BundleSchedule: Sendable, Equatable {
    /// 1...12.
    public let everyMonths: Int
    public let deliveryDay: BundleDeliveryDay
    /// Local time of delivery, minutes after midnight (0...1439).
    public let atMinutes: Int
    public let timeZone: TimeZone

    public init(
        everyMonths: Int = 1, deliveryDay: BundleDeliveryDay = .anniversary, atMinutes: Int = 9 * 60,
        timeZone: TimeZone = DefinitionDefaults.timeZone
    ) {
        self.everyMonths = everyMonths
        self.deliveryDay = deliveryDay
        self.atMinutes = atMinutes
        self.timeZone = timeZone
    }

    /// The local day the subscription started on, in the plan's zone: its anniversary day.
    public func startDay(_ startedAt: Date) -> CalendarDay {
        ZonedCivilTime.localDay(of: startedAt, in: timeZone)
    }

    /// The local day of period `period` (1-based). For a fixed day, period 1 is that day's first
    /// occurrence on or after the start day (started on the 15th with day 1: the next 1st).
    public func day(ofPeriod period: Int, startedAt: Date) -> CalendarDay {
        day(ofPeriod: period, start: startDay(startedAt))
    }

    /// `day(ofPeriod:startedAt:)` from the subscription's start day, found once by callers that
    /// walk several periods (a bundle chunk does this for every subscription).
    func day(ofPeriod period: Int, start: CalendarDay) -> CalendarDay {
        var monthIndex = start.year * 12 + (start.month - 1) + (period - 1) * everyMonths
        let wanted: Int
        switch deliveryDay {
        case .anniversary:
            wanted = start.day
        case .day(let fixed):
            wanted = fixed
            if fixed < start.day { monthIndex += 1 }
        }
        let year = monthIndex / 12
        let month = monthIndex % 12 + 1
        let day = min(wanted, CalendarDay.daysIn(month: month, year: year))
        return CalendarDay(clampingYear: year, month: month, day: day)
    }

    /// The instant period `period` is due.
    public func dueAt(period: Int, startedAt: Date) -> Date {
        ZonedCivilTime.instant(day: day(ofPeriod: period, startedAt: startedAt), minutes: atMinutes, in: timeZone)
    }

    /// The first `count` delivery instants of a subscription started at `startedAt`.
    public func deliveries(startedAt: Date, count: Int) -> [Date] {
        (1...max(1, count)).map { dueAt(period: $0, startedAt: startedAt) }
    }

    /// The periods after `settled` that are due by `slot`, oldest first, at most `limit` of them:
    /// each to deliver, or to skip when it falls inside the pause. None is past the paid term
    /// (the last paid day, or the day a cancel takes effect, in the plan's zone).
    public func duePeriods(
        _ terms: SubscriptionTerms, after settled: Int, through slot: Date, limit: Int = BundleSchedule.catchUpLimit
    ) -> [DuePeriod] {
        duePeriods(terms, after: settled, through: slot, limit: limit, zoneTable: nil)
    }

    /// `duePeriods`, with the plan's zone table looked up once by the caller (a bundle chunk
    /// walks tens of thousands of subscriptions; the shared cache takes a lock and hashes the
    /// zone's name each time). Instants outside `zoneTable` use the cache.
    func duePeriods(
        _ terms: SubscriptionTerms, after settled: Int, through slot: Date, limit: Int = BundleSchedule.catchUpLimit,
        zoneTable: CronZoneTable?
    ) -> [DuePeriod] {
        var due: [DuePeriod] = []
        let lastDay = terms.lastDay
        var period = max(settled, 0) + 1
        let start = ZonedCivilTime.localDay(of: terms.startedAt, in: timeZone, table: zoneTable)
        while due.count < limit {
            let day = day(ofPeriod: period, start: start)
            guard day <= lastDay else { break }
            let dueAt = ZonedCivilTime.instant(day: day, minutes: atMinutes, in: timeZone, table: zoneTable)
            guard dueAt <= slot else { break }
            due.append(DuePeriod(period: period, dueAt: dueAt, skipped: terms.isPaused(at: dueAt)))
            period += 1
        }
        return due
    }

    /// How many periods of a subscription started at `startedAt` are due by `instant` (whatever
    /// its paid term: a bundle chunk asks this of subscriptions covered by a watermark, whose
    /// periods past the term were never deliverable under the same terms). Starts a period or
    /// two short of the answer, found from the months between, and steps forward: constant
    /// work however old the subscription.
    func periods(dueBy instant: Date, startedAt: Date, zoneTable: CronZoneTable? = nil) -> Int {
        let start = ZonedCivilTime.localDay(of: startedAt, in: timeZone, table: zoneTable)
        let end = ZonedCivilTime.localDay(of: instant, in: timeZone, table: zoneTable)
        let months = (end.year * 12 + end.month - 1) - (start.year * 12 + start.month - 1)
        // Period n lies at least (n - 1) * everyMonths months after the start month (one more for a
        // fixed day before the start day): with n = months / everyMonths - 1 its month is before
        // the instant's, so it is due by then.
        var count = max(0, months / everyMonths - 1)
        while ZonedCivilTime.instant(day: day(ofPeriod: count + 1, start: start), minutes: atMinutes, in: timeZone, table: zoneTable)
            <= instant
        {
            count += 1
        }
        return count
    }

    /// Periods one run settles per subscription at most; a longer backlog is finished by the
    /// next runs. Bounds the coupons one member gets in one transaction.
    public static let catchUpLimit = 60
}

/// One period of one subscription that a run settles.
public struct DuePeriod: Sendable, Equatable, CustomStringConvertible {
    /// 1-based.
    public let period: Int
    public let dueAt: Date
    /// It began inside a pause: recorded as skipped, nothing delivered.
    public let skipped: Bool

    public init(period: Int, dueAt: Date, skipped: Bool = false) {
        self.period = period
        self.dueAt = dueAt
        self.skipped = skipped
    }

    public var description: String { "\(period)@\(dueAt.timeIntervalSince1970)\(skipped ? " skipped" : "")" }
}

/// What the period arithmetic needs to know of one subscription.
public struct SubscriptionTerms: Sendable, Equatable {
    public var startedAt: Date
    /// The last day paid for, in the plan's zone.
    public var paidThrough: CalendarDay
    /// Periods due in `[start, end)` are skipped.
    public var pause: DateInterval?
    /// Set by a cancel: the paid term as it stood then. Nothing is delivered after it, even if
    /// `paidThrough` is raised later (by an import).
    public var endsOn: CalendarDay?

    public init(startedAt: Date, paidThrough: CalendarDay, pause: DateInterval? = nil, endsOn: CalendarDay? = nil) {
        self.startedAt = startedAt
        self.paidThrough = paidThrough
        self.pause = pause
        self.endsOn = endsOn
    }

    var lastDay: CalendarDay { endsOn.map { min($0, paidThrough) } ?? paidThrough }

    /// Half-open: the instant the pause ends is not paused.
    func isPaused(at instant: Date) -> Bool {
        guard let pause else { return false }
        return pause.start <= instant && instant < pause.end
    }
}

extension BundleSchedule {
    /// The start of `day` in the plan's zone (a subscription given a start date starts then).
    public func midnight(of day: CalendarDay) -> Date {
        ZonedCivilTime.instant(day: day, minutes: 0, in: timeZone)
    }
}
