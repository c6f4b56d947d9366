import Foundation
import Postgres

/// The one backoff of the engine: which failures are worth another try, how long to wait
/// before it (capped exponential backoff with jitter), and for how long the database may stay
/// unreachable before a runner gives up.
///
/// Two budgets, because the failures differ:
/// - the connection broke or cannot be made (a restart, a failover, a network blip): retried,
///   on a new connection, until the database has been unreachable for `outageSeconds`
///   (`--db-outage-seconds`);
/// - a fresh transaction may cure it (serialization failure, deadlock, lock timeout, or a
///   kind's own `RetryableError`): retried up to `attempts` times.
/// Anything else fails at once.
public struct RetryStrategy: Sendable, Equatable {
    public var attempts: Int
    public var baseDelaySeconds: Double
    public var maxDelaySeconds: Double
    public var outageSeconds: Double

    public init(attempts: Int, baseDelaySeconds: Double, maxDelaySeconds: Double, outageSeconds: Double) {
        self.attempts = attempts
        self.baseDelaySeconds = baseDelaySeconds
        self.maxDelaySeconds = maxDelaySeconds
        self.outageSeconds = outageSeconds
    }

    public static let defaultOutageSeconds: Double = 300

    /// Chunk work and ledger statements.
    public static let database = RetryStrategy(
        attempts: 4, baseDelaySeconds: 0.2, maxDelaySeconds: 5, outageSeconds: defaultOutageSeconds)

    /// The same strategy with another outage budget.
    public func withOutage(seconds: Double) -> RetryStrategy {
        var copy = self
        copy.outageSeconds = seconds
        return copy
    }

    /// A failed run's backoff before its next try (`retry: {backoff: …}`): exponential from the
    /// job's backoff, without jitter, so the next try's time is predictable and shown.
    public static func runRetry(backoffSeconds: Int) -> RetryStrategy {
        RetryStrategy(
            attempts: Int.max, baseDelaySeconds: Double(backoffSeconds),
            maxDelaySeconds: Double(backoffSeconds) * 1024, outageSeconds: 0)
    }

    // MARK: - Classification

    /// What to do about `error`.
    public enum Verdict: Sendable, Equatable {
        /// Reconnect, then try again (while within the outage budget).
        case reconnect
        /// Try again in a fresh transaction on the same connection (up to `attempts`).
        case retry
        /// Not worth another try.
        case fail
    }

    /// Classifies by kind and SQLSTATE only (class 08, 57P01/57P02/57P03, 40001, 40P01, 55P03,
    /// a lost connection), never by message text.
    public static func verdict(for error: any Error) -> Verdict {
        if let error = error as? PostgresError {
            if error.needsNewConnection { return .reconnect }
            return error.isTransient ? .retry : .fail
        }
        if error is any RetryableError { return .retry }
        return .fail
    }

    public static func isTransient(_ error: any Error) -> Bool { verdict(for: error) != .fail }

    /// Whether try number `attempt` (1-based) that failed with `error` gets another, given
    /// when the current streak of connection failures began.
    public func shouldRetry(_ error: any Error, attempt: Int, outageSince: Date?) -> Bool {
        switch Self.verdict(for: error) {
        case .fail: return false
        case .retry: return attempt < attempts
        case .reconnect: return Date().timeIntervalSince(outageSince ?? Date()) < outageSeconds
        }
    }

    /// For callers that hold one connection and cannot reconnect (a till's `redeem`): only
    /// failures a fresh transaction on the same connection may cure get another try.
    public func shouldRetry(_ error: any Error, attempt: Int) -> Bool {
        Self.verdict(for: error) == .retry && attempt < attempts
    }

    // MARK: - Delays

    /// The ceiling of the wait before try number `attempt + 1`: `base · 2^(attempt-1)`, capped.
    public func backoff(attempt: Int) -> Double {
        min(maxDelaySeconds, baseDelaySeconds * pow(2, Double(min(max(attempt, 1), 60) - 1)))
    }

    /// The wait before try number `attempt + 1`, with jitter (half to all of the ceiling), so
    /// runners that lost the database together do not all come back in the same instant.
    public func delay(attempt: Int) -> Double {
        let ceiling = backoff(attempt: attempt)
        return Double.random(in: ceiling / 2...ceiling)
    }
}

/// An error of a job kind's own that a fresh chunk transaction may cure (e.g. stock taken by a
/// concurrent run between reading and reserving it).
public protocol RetryableError: Error {}

/// The database stayed unreachable longer than the outage budget (`--db-outage-seconds`).
public struct DatabaseOutage: CategorizedError {
    public let seconds: Double
    public let lastError: String
    public var category: FailureCategory { .temporary }
    public var description: String {
        "the database was unreachable for more than \(Int(seconds.rounded())) s (--db-outage-seconds); "
            + "last error: \(lastError)"
    }
}
