/// Whether a job's next slot may start while an earlier run of it is still going.
public enum ConcurrencyPolicy: String, Sendable, CaseIterable {
    /// The later slot waits (and may lapse past its starting deadline).
    case forbid
    case allow
}
