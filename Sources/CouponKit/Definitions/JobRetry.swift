/// How often a failed run of a job is tried again.
public struct JobRetry: Sendable, Equatable, Hashable {
    /// Total tries including the first; 1 means no retry.
    public let attempts: Int
    /// Wait before the next try.
    public let backoffSeconds: Int

    public static let none = JobRetry(attempts: 1, backoffSeconds: DefinitionDefaults.retryBackoffSeconds)

    public init(attempts: Int, backoffSeconds: Int = DefinitionDefaults.retryBackoffSeconds) {
        self.attempts = attempts
        self.backoffSeconds = backoffSeconds
    }
}
