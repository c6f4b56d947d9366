/// `kind: remind`: one notification per member listing that member's coupons expiring within
/// `before` after the slot, each coupon reminded at most once by the job.
public struct RemindAction: Sendable, Equatable {
    /// The window: coupons expiring in (slot, slot + before].
    public let beforeSeconds: Int
    /// Only coupons of these templates; empty is every template.
    public let templateKeys: [String]
    /// Only members of this segment; nil is everyone.
    public let segment: Segment?
    /// A sink of `sinks.yaml`.
    public let sink: String
    public let quietHours: QuietHours?
    /// Expiring coupons per chunk (one transaction), roughly: chunks are member id ranges.
    public let chunkSize: Int

    public init(
        beforeSeconds: Int, templateKeys: [String] = [], segment: Segment? = nil, sink: String,
        quietHours: QuietHours? = nil, chunkSize: Int = DefinitionDefaults.sweepChunkSize
    ) {
        self.beforeSeconds = beforeSeconds
        self.templateKeys = templateKeys
        self.segment = segment
        self.sink = sink
        self.quietHours = quietHours
        self.chunkSize = chunkSize
    }
}

/// `kind: expire`: active coupons whose validity ended at or before the slot become `expired`,
/// in short transactions; with a sink, each member is told once per sweep.
public struct ExpireAction: Sendable, Equatable {
    /// Only coupons of these templates; empty is every template.
    public let templateKeys: [String]
    /// `notify: true` with `sink:`: one "expired" notification per member per sweep.
    public let notifySink: String?
    public let quietHours: QuietHours?
    /// Expiring coupons per chunk (one transaction), roughly.
    public let chunkSize: Int

    public init(
        templateKeys: [String] = [], notifySink: String? = nil, quietHours: QuietHours? = nil,
        chunkSize: Int = DefinitionDefaults.sweepChunkSize
    ) {
        self.templateKeys = templateKeys
        self.notifySink = notifySink
        self.quietHours = quietHours
        self.chunkSize = chunkSize
    }
}
