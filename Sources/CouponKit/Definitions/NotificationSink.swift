import Foundation

/// Where notifications go, as `sinks.yaml` defines it.
public struct NotificationSink: Sendable, Equatable {
    public enum Destination: Sendable, Equatable {
        /// POST `{"notifications": [...]}`, signed with the secret (see `WebhookSignature`).
        case webhook(url: URL, secret: SecretSource, timeoutSeconds: Int)
        /// Appends one JSON object a line, fsync'ed per batch. Relative paths are read from the
        /// working directory.
        case file(path: String)
        /// One JSON object a line on standard output, for trying things.
        case stdout
    }

    /// Where a webhook's secret comes from; the secret itself is read only when delivering.
    public enum SecretSource: Sendable, Equatable {
        case environment(String)
        case file(String)
    }

    public let name: String
    public let destination: Destination
    /// Notifications per POST or per fsync.
    public let batchSize: Int
    /// Sends before a notification is `dead`.
    public let maxAttempts: Int
    /// The first retry's delay; each later one doubles, up to `maxBackoffSeconds`, with jitter.
    public let backoffSeconds: Int
    public let maxBackoffSeconds: Int

    public init(
        name: String, destination: Destination, batchSize: Int = 500, maxAttempts: Int = 10, backoffSeconds: Int = 1,
        maxBackoffSeconds: Int = 600
    ) {
        self.name = name
        self.destination = destination
        self.batchSize = batchSize
        self.maxAttempts = maxAttempts
        self.backoffSeconds = backoffSeconds
        self.maxBackoffSeconds = maxBackoffSeconds
    }

    public var typeName: String {
        switch destination {
        case .webhook: return "webhook"
        case .file: return "file"
        case .stdout: return "stdout"
        }
    }
}
