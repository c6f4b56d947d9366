import Foundation

/// Values a definition file gets for fields it leaves out.
public enum DefinitionDefaults {
    public static let timeZoneIdentifier = "Asia/Shanghai"

    /// Asia/Shanghai. Foundation ships the zone database, so the identifier always resolves;
    /// GMT+8 (which Shanghai has kept without daylight saving since 1991) is a fallback that
    /// cannot be reached, written only to avoid a force unwrap.
    public static let timeZone: TimeZone =
        TimeZone(identifier: timeZoneIdentifier) ?? TimeZone(secondsFromGMT: 8 * 3_600) ?? .current

    public static let startingDeadlineSeconds = 3_600
    public static let maxCatchUp = 24
    public static let retryBackoffSeconds = 60
    /// Subscribers per bundle chunk (and members per chunk of the kinds that split by member).
    public static let chunkSize = 5_000
    /// Members per issue chunk: 20,000 single-coupon packs are about a tenth of a second of the
    /// server's work on an idle machine (a 3-coupon combo about a third), well under the second a
    /// chunk transaction may take, and few enough chunks that a run's per-chunk costs (round
    /// trips, a COMMIT's WAL flush) stay small beside its writes: 50 chunks a million members.
    public static let issueChunkSize = 20_000
    /// A trigger's `within:` when left out: a day.
    public static let triggerWithinSeconds = 86_400
}

extension DefinitionDefaults {
    /// Expiring coupons per sweep chunk: about a tenth of a second of work, far below the one
    /// second a sweep transaction may take (measured in `make bench`).
    public static let sweepChunkSize = 20_000
}
