import Foundation
import Postgres

/// A run this runner holds the lease of, at one attempt (its fencing token).
public struct ClaimedRun: Sendable, Equatable {
    public let id: Int64
    public let job: String
    public let slot: Date
    public let trigger: RunTrigger
    public let attempt: Int
    public let failures: Int
    public let startedAt: Date
    public let checkpointJSON: String

    init(row: Row) throws {
        id = try row.decode("id")
        job = try row.decode("job")
        slot = try row.decode("slot")
        trigger = RunTrigger(rawValue: try row.decode("trigger", as: String.self)) ?? .manual
        attempt = try row.decode("attempt")
        failures = try row.decode("failures")
        startedAt = try row.decodeIfPresent("started_at") ?? Date()
        checkpointJSON = try row.decode("checkpoint")
    }
}

public enum RunTrigger: String, Sendable, Codable, CaseIterable {
    case schedule
    case manual
    case catchUp = "catch_up"
    /// A batch of member events consumed by a trigger job.
    case event
}

public enum RunStatus: String, Sendable, Codable, CaseIterable {
    case pending, running, succeeded, failed, skipped, cancelled

    public var isFinished: Bool { self == .succeeded || self == .failed || self == .skipped || self == .cancelled }
}

extension ClaimedRun {
    /// A run that is not in the ledger (dry runs).
    init(id: Int64, job: String, slot: Date, trigger: RunTrigger, attempt: Int) {
        self.id = id
        self.job = job
        self.slot = slot
        self.trigger = trigger
        self.attempt = attempt
        self.failures = 0
        self.startedAt = Date()
        self.checkpointJSON = "{}"
    }
}
