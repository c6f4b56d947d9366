/// A trigger job's `trigger:`: which member events issue its coupons, and which of them count.
public struct EventTrigger: Sendable, Equatable, Hashable {
    /// The `member_events.type` it reacts to (`payment`, `level_change`, `points_exchange`, …).
    public let eventType: String
    /// `where: {amount_fen: {min, max}}`: events outside it (or with no amount) are `filtered`.
    public let amountFen: BoundedRange?
    /// Events that occurred longer ago than this when a batch sees them are skipped as `too_old`.
    public let withinSeconds: Int

    public init(eventType: String, amountFen: BoundedRange? = nil, withinSeconds: Int = DefinitionDefaults.triggerWithinSeconds) {
        self.eventType = eventType
        self.amountFen = amountFen
        self.withinSeconds = withinSeconds
    }
}
