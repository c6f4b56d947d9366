/// The work of a job, by kind, with that kind's own fields.
public enum JobAction: Sendable, Equatable {
    case issue(IssueAction)
    case noop(NoopAction)
    case remind(RemindAction)
    case expire(ExpireAction)
    case bundle(BundleAction)
    case prune(PruneAction)

    public var kind: JobKind {
        switch self {
        case .issue: return .issue
        case .noop: return .noop
        case .remind: return .remind
        case .expire: return .expire
        case .bundle: return .bundle
        case .prune: return .prune
        }
    }
}

/// A job that does nothing but split itself into chunks: heartbeats and tests of the runner.
public struct NoopAction: Sendable, Equatable, Hashable {
    /// Pause per chunk.
    public let sleepMilliseconds: Int
    /// 1...10000.
    public let chunks: Int
    /// The run fails after its chunks, to exercise retries.
    public let fail: Bool

    public init(sleepMilliseconds: Int = 0, chunks: Int = 1, fail: Bool = false) {
        self.sleepMilliseconds = sleepMilliseconds
        self.chunks = chunks
        self.fail = fail
    }
}
