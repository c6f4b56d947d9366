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
    public static let chunkSize = 5_000
}

extension DefinitionDefaults {
    /// Expiring coupons per sweep chunk: about a tenth of a second of work, far below the one
    /// second a sweep transaction may take (measured in `make bench`).
    public static let sweepChunkSize = 20_000
}
