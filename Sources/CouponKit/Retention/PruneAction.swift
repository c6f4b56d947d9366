/// A `kind: prune` job: retention for the ledger's bulky parts.
public struct PruneAction: Sendable, Equatable, Hashable {
    /// Finished runs and unused segment snapshots older than this are pruned.
    public let olderThanSeconds: Int
    /// Runs per batch (one transaction each).
    public let batchSize: Int

    public static let defaultOlderThanSeconds = 90 * 86_400
    public static let defaultBatchSize = 500

    public init(olderThanSeconds: Int = defaultOlderThanSeconds, batchSize: Int = defaultBatchSize) {
        self.olderThanSeconds = olderThanSeconds
        self.batchSize = batchSize
    }
}
