/// What the scheduler does with slots missed while nothing was running, bounded by `maxCatchUp`.
public enum CatchUpPolicy: String, Sendable, CaseIterable {
    /// Missed slots are skipped.
    case none
    /// Only the most recent missed slot runs.
    case latest
    /// Every missed slot runs, oldest first.
    case all
}
