import Foundation

/// Finds firing instants of a `CronMatcher` in a time zone, applying the DST rules:
///
/// * Hour field starting with `*` (the job follows real time): fires at every instant whose local
///   time matches, so twice in a repeated hour and never in a skipped one.
/// * Restricted hour field (the job follows the wall clock): every matching local time fires once,
///   at its first occurrence; a local time skipped by a forward transition fires when the gap
///   ends, and several such times collapse into that one instant.
///
/// Instants are whole seconds since 1970-01-01T00:00Z. Keeps the zone table between calls, so a
/// run of successive searches takes the cache lock only when the table must grow.
struct CronSearch {
    /// How far ahead a single search looks: 8 years, so every `29 2` date has a next occurrence
    /// (leap days can be 8 years apart, e.g. 2096 and 2104).
    static let horizon = 2923 * CronCivil.secondsPerDay
    /// 0000-01-01T00:00:00Z ... 9999-12-31T23:59:59Z (proleptic Gregorian), which includes
    /// `Date.distantPast` and `Date.distantFuture`.
    static let supported = -62_167_219_200...253_402_300_799
    private static let margin = 2 * CronCivil.secondsPerDay

    let matcher: CronMatcher
    let zone: TimeZone
    private var table: CronZoneTable?

    init(matcher: CronMatcher, zone: TimeZone) {
        self.matcher = matcher
        self.zone = zone
    }

    /// Whole seconds of a date (rounded down), or nil outside the supported years.
    static func instant(_ date: Date) -> Int? {
        let t = date.timeIntervalSince1970
        guard t.isFinite, t >= Double(supported.lowerBound), t < Double(supported.upperBound) + 1 else {
            return nil
        }
        return Int(t.rounded(.down))
    }

    static func date(_ instant: Int) -> Date {
        Date(timeIntervalSince1970: Double(instant))
    }

    /// The first firing strictly after `u` and no later than `bound` (both instants), or nil.
    /// A whole-second `u` works for fractional dates too: firings are whole seconds, and for a
    /// whole `f`, `f > t` exactly when `f > floor(t)`.
    mutating func next(after u: Int, notAfter bound: Int) -> Int? {
        let bound = min(bound, Self.supported.upperBound)
        guard matcher.isSatisfiable, u < bound else { return nil }
        let lower = u - Self.margin
        let upper = min(u + Self.horizon, bound) + Self.margin
        let table: CronZoneTable
        if let current = self.table, current.covers(lower, upper) {
            table = current
        } else {
            table = CronZoneTableCache.shared.table(for: zone, covering: lower, upper)
            self.table = table
        }
        let segment = table.segment(containing: u)
        let local = u + table.offsets[segment]
        let localLimit = min(local + Self.horizon, bound + Self.margin)
        let found =
            matcher.hourRestricted
            ? nextWallClock(after: u, local: local, localLimit: localLimit, table: table)
            : nextRealTime(after: u, segment: segment, localLimit: localLimit, table: table)
        guard let found, found <= bound else { return nil }
        return found
    }

    /// Wall-clock jobs: the first matching local time whose first occurrence (or gap end) is
    /// after `u`. Local times up to `local` all occurred at or before `u`; later ones can too
    /// when `u` lies in the second pass of a repeated hour, hence the loop.
    private func nextWallClock(after u: Int, local: Int, localLimit: Int, table: CronZoneTable) -> Int? {
        var cursor = local
        while let candidate = matcher.nextLocal(after: cursor, notAfter: localLimit) {
            let instant = table.firstInstant(local: candidate)
            if instant > u {
                return instant
            }
            cursor = candidate
        }
        return nil
    }

    /// Real-time jobs: walk the constant-offset segments from the one containing `u`; inside a
    /// segment local time is a shifted copy of real time.
    private func nextRealTime(after u: Int, segment: Int, localLimit: Int, table: CronZoneTable) -> Int? {
        var segment = segment
        var cursor = u
        while true {
            let offset = table.offsets[segment]
            let isLast = segment == table.transitions.count
            let segmentEnd = isLast ? table.end : table.transitions[segment]
            let segmentLimit = min(localLimit, segmentEnd - 1 + offset)
            if let candidate = matcher.nextLocal(after: cursor + offset, notAfter: segmentLimit) {
                return candidate - offset
            }
            if isLast || segmentLimit == localLimit {
                return nil
            }
            cursor = segmentEnd - 1
            segment += 1
        }
    }
}
