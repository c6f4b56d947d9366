import Foundation

/// How one run ended, as far as this runner saw it.
public struct RunReport: Sendable, Equatable {
    public enum Outcome: String, Sendable, Equatable {
        /// Every chunk committed.
        case succeeded
        /// The run failed for good.
        case failed
        /// The run failed and will be retried after its backoff.
        case retrying
        /// This runner stopped (shutdown) and gave the lease up; another runner resumes it.
        case released
        /// Another runner took the run over; this runner committed nothing more.
        case leaseLost = "lease_lost"
    }

    public let runID: Int64
    public let job: String
    public let slot: Date
    public let attempt: Int
    public let outcome: Outcome
    public let counts: RunCounts
    public let note: String?
    public let error: String?
    public let seconds: Double
}

/// Progress of a run, for live progress bars and periodic log lines.
public struct RunProgress: Sendable {
    public let runID: Int64
    public let job: String
    public let chunksDone: Int
    public let chunksTotal: Int
    public let counts: RunCounts
    public let elapsedSeconds: Double
}

public typealias ProgressHandler = @Sendable (RunProgress) -> Void
