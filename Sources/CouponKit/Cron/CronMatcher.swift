/// The parsed fields of a cron expression as bit sets, and the search for the next matching
/// local (wall-clock) minute.
///
/// Local times are counted in seconds since 1970-01-01T00:00 *local*, i.e. civil date-time
/// arithmetic with no time zone attached.
struct CronMatcher: Sendable, Hashable {
    /// Bit n set = minute n (0-59).
    let minutes: UInt64
    /// Bit n set = hour n (0-23).
    let hours: UInt32
    /// Bit n set = day n of the month (1-31).
    let daysOfMonth: UInt32
    /// `L` was given: the last day of each month matches.
    let lastDayOfMonth: Bool
    /// Bit n set = month n (1-12).
    let months: UInt16
    /// Bit n set = weekday n (0 = Sunday ... 6 = Saturday).
    let daysOfWeek: UInt8
    /// The hour field does not start with `*`: the job follows the wall clock across DST changes.
    let hourRestricted: Bool
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool
    /// The weekday bits repeated over 64 positions: bit k set when weekday k % 7 is selected.
    private let weekdayPattern: UInt64
    /// False when no selected month has a selected day (e.g. `0 0 30 2 *`): nothing ever fires.
    let isSatisfiable: Bool

    init(
        minutes: UInt64, hours: UInt32, daysOfMonth: UInt32, lastDayOfMonth: Bool,
        months: UInt16, daysOfWeek: UInt8,
        hourRestricted: Bool, dayOfMonthRestricted: Bool, dayOfWeekRestricted: Bool
    ) {
        self.minutes = minutes
        self.hours = hours
        self.daysOfMonth = daysOfMonth
        self.lastDayOfMonth = lastDayOfMonth
        self.months = months
        self.daysOfWeek = daysOfWeek
        self.hourRestricted = hourRestricted
        self.dayOfMonthRestricted = dayOfMonthRestricted
        self.dayOfWeekRestricted = dayOfWeekRestricted
        var pattern: UInt64 = 0
        for k in 0..<64 where daysOfWeek & (1 << UInt8(k % 7)) != 0 {
            pattern |= 1 << UInt64(k)
        }
        self.weekdayPattern = pattern
        if dayOfMonthRestricted && dayOfWeekRestricted {
            // Either day field may match, and every month has every weekday.
            self.isSatisfiable = true
        } else {
            // Both day fields must match. Every (month, day) pair falls on every weekday in some
            // year, so it is enough that some selected month has some selected day.
            var satisfiable = false
            for month in 1...12 where months & (1 << UInt16(month)) != 0 {
                let longest = month == 2 ? 29 : CronCivil.daysInMonth(year: 2001, month: month)
                let valid: UInt32 = (UInt32(1) << UInt32(longest + 1)) &- 2
                if lastDayOfMonth || daysOfMonth & valid != 0 {
                    satisfiable = true
                }
            }
            self.isSatisfiable = satisfiable
        }
    }

    /// Lowest set bit at or above `index`, if any.
    @inline(__always)
    private static func nextBit<T: FixedWidthInteger>(_ bits: T, from index: Int) -> Int? {
        guard index < T.bitWidth else { return nil }
        let shifted = bits >> T(index)
        return shifted == 0 ? nil : index + shifted.trailingZeroBitCount
    }

    /// The days (bit n = day n) of the given month on which the expression fires, applying
    /// Vixie cron's rule: if both day fields are restricted either may match, otherwise both must.
    @inline(__always)
    func matchingDays(year: Int, month: Int) -> UInt32 {
        let length = CronCivil.daysInMonth(year: year, month: month)
        let valid: UInt32 = (UInt32(1) << UInt32(length + 1)) &- 2
        var byDayOfMonth = daysOfMonth & valid
        if lastDayOfMonth {
            byDayOfMonth |= 1 << UInt32(length)
        }
        let firstWeekday = CronCivil.weekday(days: CronCivil.days(year: year, month: month, day: 1))
        // Bit d of the result = weekday (firstWeekday + d - 1) selected.
        let byDayOfWeek = UInt32(truncatingIfNeeded: (weekdayPattern << 1) >> UInt64(firstWeekday)) & valid
        if dayOfMonthRestricted && dayOfWeekRestricted {
            return byDayOfMonth | byDayOfWeek
        }
        return byDayOfMonth & byDayOfWeek
    }

    /// Whether a local date-time (minute precision) matches all fields.
    func matches(year: Int, month: Int, day: Int, hour: Int, minute: Int) -> Bool {
        months & (1 << UInt16(month)) != 0
            && matchingDays(year: year, month: month) & (1 << UInt32(day)) != 0
            && hours & (1 << UInt32(hour)) != 0
            && minutes & (1 << UInt64(minute)) != 0
    }

    /// The first matching local minute strictly after `local`, in local seconds, or nil if it
    /// would be later than `limit`. Skips whole months, days and hours that cannot match.
    func nextLocal(after local: Int, notAfter limit: Int) -> Int? {
        let limitMinute = CronCivil.floorDiv(limit, 60)
        let startMinute = CronCivil.floorDiv(local, 60) + 1
        guard startMinute <= limitMinute else { return nil }
        let startDay = CronCivil.floorDiv(startMinute, 1440)
        let minuteOfDay = startMinute - startDay * 1440
        var (year, month, day) = CronCivil.date(days: startDay)
        var hour = minuteOfDay / 60
        var minute = minuteOfDay % 60
        var maskYear = Int.min
        var maskMonth = 0
        var dayMask: UInt32 = 0

        while true {
            if months & (1 << UInt16(month)) == 0 {
                if let next = Self.nextBit(months, from: month + 1) {
                    month = next
                } else {
                    year += 1
                    month = months.trailingZeroBitCount
                }
                day = 1
                hour = 0
                minute = 0
                if CronCivil.days(year: year, month: month, day: 1) * 1440 > limitMinute {
                    return nil
                }
            }
            if year != maskYear || month != maskMonth {
                dayMask = matchingDays(year: year, month: month)
                maskYear = year
                maskMonth = month
            }
            guard let nextDay = Self.nextBit(dayMask, from: day) else {
                // Nothing left this month: go to the first moment of the next month.
                month += 1
                if month > 12 {
                    month = 1
                    year += 1
                }
                day = 1
                hour = 0
                minute = 0
                if CronCivil.days(year: year, month: month, day: 1) * 1440 > limitMinute {
                    return nil
                }
                continue
            }
            if nextDay != day {
                day = nextDay
                hour = 0
                minute = 0
            }
            guard let nextHour = Self.nextBit(hours, from: hour) else {
                day += 1
                hour = 0
                minute = 0
                continue
            }
            if nextHour != hour {
                hour = nextHour
                minute = 0
            }
            guard let nextMinute = Self.nextBit(minutes, from: minute) else {
                hour += 1
                minute = 0
                continue
            }
            let result = CronCivil.days(year: year, month: month, day: day) * 1440 + hour * 60 + nextMinute
            return result <= limitMinute ? result * 60 : nil
        }
    }
}
