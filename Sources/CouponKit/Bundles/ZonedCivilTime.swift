import Foundation

/// Local days and times of a zone turned into instants and back, through the cron code's zone
/// tables (Foundation's `Calendar` is slow on Linux, and this way plans and cron schedules read
/// daylight-saving gaps and repeats the same way).
enum ZonedCivilTime {
    /// The instant of `minutes` after local midnight of `day`. A local time skipped by a forward
    /// transition maps to the instant the gap ends; a repeated one to its first occurrence.
    /// `known`, a table of `zone` a caller looked up once, is used when it covers the day.
    static func instant(day: CalendarDay, minutes: Int, in zone: TimeZone, table known: CronZoneTable? = nil) -> Date {
        let local = CronCivil.days(year: day.year, month: day.month, day: day.day) * CronCivil.secondsPerDay + minutes * 60
        let table = self.table(zone, around: local, known)
        return Date(timeIntervalSince1970: Double(table.firstInstant(local: local)))
    }

    /// The local calendar day of `date` in `zone`.
    static func localDay(of date: Date, in zone: TimeZone, table known: CronZoneTable? = nil) -> CalendarDay {
        let instant = Int(date.timeIntervalSince1970.rounded(.down))
        let table = self.table(zone, around: instant, known)
        let local = instant + table.offset(at: instant)
        let civil = CronCivil.date(days: CronCivil.floorDiv(local, CronCivil.secondsPerDay))
        return CalendarDay(clampingYear: civil.year, month: civil.month, day: civil.day)
    }

    /// A table of `zone` covering two days either side of `instant`: `known` when it does.
    private static func table(_ zone: TimeZone, around instant: Int, _ known: CronZoneTable?) -> CronZoneTable {
        let day = CronCivil.secondsPerDay
        if let known, known.covers(instant - 2 * day, instant + 2 * day) { return known }
        return CronZoneTableCache.shared.table(for: zone, covering: instant - 2 * day, instant + 2 * day)
    }
}

extension CalendarDay {
    /// A day from parts already known to be a real date (from civil arithmetic); only a year
    /// outside 1...9999 is moved to the nearest end, which no validated input reaches.
    init(clampingYear year: Int, month: Int, day: Int) {
        self.year = min(max(year, 1), 9999)
        self.month = min(max(month, 1), 12)
        self.day = min(max(day, 1), CalendarDay.daysIn(month: self.month, year: self.year))
    }
}
