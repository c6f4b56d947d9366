import Foundation
import Logging
import Postgres

/// The scheduler's event side: LISTENs on `couponbatch_member_events` and runs trigger batches
/// when woken, and also every `pollSeconds`, so a lost notification (or one sent while the
/// connection was down) delays an event by at most the poll interval. Each job's batches are
/// drained until a batch comes back short. Any number of loops may run against one database.
///
/// Owns one connection, used on the loop's thread only.
public struct TriggerLoop: Sendable {
    /// The channel `member_events`' insert trigger notifies.
    public static let channel = "couponbatch_member_events"

    let connect: @Sendable () throws -> Connection
    /// The current definitions (reloaded by the caller when files change).
    let deployment: @Sendable () -> Deployment
    let owner: String
    let pollSeconds: Double
    let batchSize: Int
    let stop: StopSignal
    let logger: Logger
    let segmentSandbox: SegmentSandbox?

    public init(
        connect: @escaping @Sendable () throws -> Connection, deployment: @escaping @Sendable () -> Deployment,
        owner: String, pollSeconds: Double, batchSize: Int = TriggerBatch.defaultSize, stop: StopSignal, logger: Logger,
        segmentSandbox: SegmentSandbox? = nil
    ) {
        self.segmentSandbox = segmentSandbox
        self.connect = connect
        self.deployment = deployment
        self.owner = owner
        self.pollSeconds = pollSeconds
        self.batchSize = batchSize
        self.stop = stop
        self.logger = logger
    }

    /// Runs until `stop` is requested; a batch in flight finishes (or rolls back) first.
    public func run() {
        var connection: Connection?
        var failures = 0
        while !stop.isRequested {
            do {
                if connection == nil || connection?.isOpen == false {
                    let fresh = try connect()
                    try fresh.listen(Self.channel)
                    connection = fresh
                }
                guard let connection else { continue }
                try pass(connection)
                failures = 0
                waitForEvents(connection)
            } catch let error as PostgresError where error.kind == .connectionLost || error.kind == .connectionFailed {
                failures += 1
                connection = nil
                let delay = min(pollSeconds, 0.1 * pow(2, Double(min(failures, 8))))
                logger.info("event loop lost its connection; reconnecting", metadata: ["error": "\(error)", "retry.seconds": "\(delay)"])
                stop.sleep(seconds: delay)
            } catch {
                // A batch that failed (stock contention, a template whose window closed) is retried
                // with the next pass; its events stay unconsumed.
                logger.info("trigger batch failed; retrying on the next pass", metadata: ["error": "\(error)"])
                stop.sleep(seconds: pollSeconds)
            }
        }
    }

    /// Drains every unpaused trigger job's waiting events, batch after batch.
    func pass(_ connection: Connection) throws {
        let current = deployment()
        let jobs = current.jobs.filter { $0.trigger != nil }
        guard !jobs.isEmpty else { return }
        let paused = Set(
            try connection.query("SELECT job FROM job_state WHERE paused AND job = ANY($1)", [jobs.map(\.name)]).rows.map {
                try $0.decode(0, as: String.self)
            })
        for job in jobs where !paused.contains(job.name) {
            guard let batch = TriggerBatch(
                job: job, deployment: current, owner: owner, size: batchSize, logger: logger, segmentSandbox: segmentSandbox) else {
                continue
            }
            while !stop.isRequested {
                let result = try batch.run(connection)
                if let runID = result.runID {
                    logger.info(
                        "trigger batch committed",
                        metadata: [
                            "job.name": "\(job.name)", "run.id": "\(runID)", "batch.events": "\(result.consumed)",
                            "batch.issued": "\(result.outcomes["issued"] ?? 0)",
                        ])
                }
                if result.busy || result.consumed < batchSize { break }
            }
        }
    }

    /// Sleeps until a notification, `pollSeconds`, or a stop request, whichever comes first.
    private func waitForEvents(_ connection: Connection) {
        let deadline = Date().addingTimeInterval(pollSeconds)
        while !stop.isRequested {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return }
            // In slices, so a stop request is noticed within a quarter second.
            if let notes = try? connection.waitForNotifications(timeoutSeconds: min(left, 0.25)), !notes.isEmpty { return }
            if !connection.isOpen { return }
        }
    }
}
