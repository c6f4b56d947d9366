import Foundation

/// Process-wide cache of `CronZoneTable`s, one per time zone identifier, grown on demand.
///
/// Guarded by a lock (the tables themselves are immutable and shared freely). `Mutex` from
/// Synchronization would need macOS 15, while the package supports macOS 14.
final class CronZoneTableCache: @unchecked Sendable {
    static let shared = CronZoneTableCache()

    /// Tables are built with this much room around the requested range so that successive
    /// queries (each `next` starting from the previous result) rarely rebuild.
    private static let marginBefore = 2 * 366 * CronCivil.secondsPerDay
    private static let marginAfter = 25 * 366 * CronCivil.secondsPerDay
    /// An existing table is widened (rather than replaced) while it stays under this span.
    private static let maximumSpan = 150 * 366 * CronCivil.secondsPerDay

    private let lock = NSLock()
    private var tables: [String: CronZoneTable] = [:]

    /// A table for `zone` covering instants `lower...upper`.
    func table(for zone: TimeZone, covering lower: Int, _ upper: Int) -> CronZoneTable {
        let key = zone.identifier
        lock.lock()
        defer { lock.unlock() }
        let existing = tables[key]
        if let existing, existing.covers(lower, upper) {
            return existing
        }
        var start = lower - Self.marginBefore
        var end = upper + Self.marginAfter
        if let existing, max(end, existing.end) - min(start, existing.start) <= Self.maximumSpan {
            start = min(start, existing.start)
            end = max(end, existing.end)
        }
        let table = CronZoneTable(zone: zone, start: start, end: end)
        tables[key] = table
        return table
    }
}
