import Foundation

/// The runner's idea of "now" for scheduling. Production uses the database server's clock
/// (`isSystem`: callers read `SlotLedger.databaseNow`); tests and operators drive it (`tick
/// --now`, `scheduler --start-at … --time-scale …`). Leases always use the database's clock.
public struct RunnerClock: Sendable {
    private let origin: Date
    private let realOrigin: Date
    /// Simulated seconds per real second.
    public let scale: Double

    public static let system = RunnerClock(origin: nil, scale: 1)

    /// True for the undriven clock, whose time the database server tells.
    public var isSystem: Bool { isUndriven }
    private var isUndriven = false

    /// A clock that reads `origin` now and runs `scale` times faster than real time.
    public init(origin: Date?, scale: Double = 1) {
        let realNow = Date()
        self.realOrigin = realNow
        self.origin = origin ?? realNow
        self.scale = scale
        self.isUndriven = origin == nil && scale == 1
    }

    public func now() -> Date {
        origin.addingTimeInterval(Date().timeIntervalSince(realOrigin) * scale)
    }

    /// Real seconds until the clock reads `date`.
    public func realSeconds(until date: Date) -> Double {
        max(0, date.timeIntervalSince(now()) / scale)
    }
}
