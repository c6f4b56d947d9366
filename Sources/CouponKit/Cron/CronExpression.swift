import Foundation

/// A cron schedule: five fields (minute hour day-of-month month day-of-week) or a macro such as
/// `@daily`, evaluated on the local wall-clock time of an IANA time zone.
///
/// Syntax per field: `*`, `5`, lists `1,15`, ranges `1-5`, steps `*/15`, `1-30/5`, `5/10`
/// (from 5 to the field's maximum), month names `JAN`-`DEC` and weekday names `SUN`-`SAT`
/// (case-insensitive, also in ranges). Day-of-week 0 and 7 are both Sunday. `L` in day-of-month
/// is the last day of the month. When both day fields are restricted (neither starts with `*`)
/// a day matches if either matches (Vixie cron).
///
/// DST: see `followsWallClock`.
public struct CronExpression: Sendable, Equatable, Hashable, CustomStringConvertible {
    private let source: String
    let matcher: CronMatcher

    /// Parses 5-field cron or a macro. Throws CronParseError.
    public init(_ text: String) throws(CronParseError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        self.matcher = try CronExpressionParser.parse(trimmed)
        self.source = trimmed
    }

    /// The source text as given (trimmed).
    public var description: String { source }

    /// False when no selected month has a selected day (`0 0 30 2 *`): the expression never fires.
    public var canFire: Bool { matcher.isSatisfiable }

    /// True when the hour field is restricted (does not start with "*"). Decides DST behaviour:
    /// such a job fires once per matching wall-clock time (first occurrence of a repeated time;
    /// a skipped time fires when the gap ends). Otherwise the job fires at every real instant
    /// whose local time matches (twice in a repeated hour, never in a skipped one).
    public var followsWallClock: Bool { matcher.hourRestricted }

    /// The first firing instant strictly after `date` in `zone`, or nil if none within 8 years
    /// (e.g. "0 0 30 2 *"), or if `date` or the firing lies outside the years 0-9999.
    public func next(after date: Date, in zone: TimeZone) -> Date? {
        guard let from = CronSearch.instant(date) else { return nil }
        var search = CronSearch(matcher: matcher, zone: zone)
        return search.next(after: from, notAfter: .max).map(CronSearch.date)
    }

    /// Convenience: up to `count` successive firing instants strictly after `date`.
    public func next(after date: Date, in zone: TimeZone, count: Int) -> [Date] {
        guard count > 0, var from = CronSearch.instant(date) else { return [] }
        var search = CronSearch(matcher: matcher, zone: zone)
        var result: [Date] = []
        while result.count < count, let found = search.next(after: from, notAfter: .max) {
            result.append(CronSearch.date(found))
            from = found
        }
        return result
    }

    /// Firing instants in the half-open interval (from, through], at most `limit`, oldest first.
    public func firings(after from: Date, through: Date, in zone: TimeZone, limit: Int) -> [Date] {
        guard limit > 0, var cursor = CronSearch.instant(from), through.timeIntervalSince1970.isFinite
        else { return [] }
        let end = through.timeIntervalSince1970
        guard end >= Double(cursor) else { return [] }
        let bound = end >= Double(CronSearch.supported.upperBound) ? CronSearch.supported.upperBound : Int(end.rounded(.down))
        var search = CronSearch(matcher: matcher, zone: zone)
        var result: [Date] = []
        while result.count < limit, let found = search.next(after: cursor, notAfter: bound) {
            result.append(CronSearch.date(found))
            cursor = found
        }
        return result
    }
}
