import Foundation

/// How every command shows an instant to people: the wall time in the job's zone (or the zone an
/// operator asked for with `--tz`) with its UTC offset, `2026-12-01T09:00:00+08:00`. One type, so
/// `runs`, `jobs list`, `run --dry-run` and the console agree; JSON keeps UTC ISO 8601 instead.
public struct LocalTimeFormat: Sendable, Equatable {
    /// The zone every time is shown in, whatever the job's (`--tz`); nil: each job's own zone.
    public let override: TimeZone?

    public init(override: TimeZone? = nil) {
        self.override = override
    }

    /// The zone a time of a job with `jobZone` is shown in (a job unknown here: the default zone).
    public func zone(_ jobZone: TimeZone?) -> TimeZone {
        override ?? jobZone ?? DefinitionDefaults.timeZone
    }

    /// `2026-12-01T09:00:00+08:00` in `zone(jobZone)`.
    public func format(_ date: Date, jobZone: TimeZone?) -> String {
        Self.format(date, in: zone(jobZone))
    }

    /// `2026-12-01T09:00:00+08:00`: the wall time in `zone` and its offset at that instant.
    public static func format(_ date: Date, in zone: TimeZone) -> String {
        let offset = zone.secondsFromGMT(for: date)
        let sign = offset < 0 ? "-" : "+"
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d%@%02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0,
            c.minute ?? 0, c.second ?? 0, sign, abs(offset) / 3600, (abs(offset) % 3600) / 60)
    }
}
