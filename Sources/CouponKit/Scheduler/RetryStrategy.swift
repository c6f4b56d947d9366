import Foundation
import Postgres

/// How a chunk transaction is retried: a few attempts with exponential backoff and jitter, for
/// failures that a fresh transaction can cure (serialization failures, deadlocks, lost
/// connections). Anything else fails the chunk at once.
public struct RetryStrategy: Sendable {
    public var attempts: Int
    public var baseDelaySeconds: Double
    public var maxDelaySeconds: Double

    public static let chunk = RetryStrategy(attempts: 4, baseDelaySeconds: 0.2, maxDelaySeconds: 5)

    public func shouldRetry(_ error: any Error, attempt: Int) -> Bool {
        guard attempt < attempts else { return false }
        if error is any RetryableError { return true }
        if let error = error as? PostgresError { return error.isTransient }
        return false
    }

    /// Delay before retry number `attempt` (1-based), with full jitter.
    public func delay(attempt: Int) -> Double {
        let ceiling = min(maxDelaySeconds, baseDelaySeconds * pow(2, Double(attempt - 1)))
        return Double.random(in: ceiling / 2...ceiling)
    }
}

/// An error of a job kind's own that a fresh chunk transaction may cure (e.g. stock taken by a
/// concurrent run between reading and reserving it).
public protocol RetryableError: Error {}
