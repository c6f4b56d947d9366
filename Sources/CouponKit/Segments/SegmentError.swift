/// A segment that cannot be resolved, naming the job field it came from (`segment.all[1].sql`).
///
/// Callers branch on `reason`; `description` is what a person reads:
/// `segment.sql: segment SQL must only read; …`. Bad lines of a member list are not errors of
/// this kind: they are `SegmentWarning`s, because the good lines are still applied.
public struct SegmentError: CategorizedError, Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        /// A rule's value is unusable: negative days, a quintile score outside 1...5, min > max.
        case invalidRule
        /// A `list:` file cannot be read.
        case listUnreadable
        /// A `sql:` segment tried to write (or is not a query at all); nothing was changed.
        case sqlWriteRefused
        /// A `sql:` segment's first column is not an integer member id.
        case sqlNotMemberIDs
        /// A `sql:` segment ran longer than its statement timeout.
        case sqlTimedOut
        /// PostgreSQL refused a `sql:` segment for another reason (syntax, unknown column, …).
        case sqlRejected
        /// A stored run refers to a snapshot that no longer exists (or changed).
        case snapshotMissing
    }

    /// The job field, e.g. `segment.any[0].list`.
    public let field: String
    public let reason: Reason
    public let message: String

    public init(field: String, reason: Reason, message: String) {
        self.field = field
        self.reason = reason
        self.message = message
    }

    /// A slow query is a failed run, not a broken job file; everything else is configuration
    /// that a person has to change before the job can run.
    public var category: FailureCategory {
        reason == .sqlTimedOut ? .jobFailed : .configuration
    }

    public var description: String { "\(field): \(message)" }
}
