import Foundation
import Logging
import Postgres
import Synchronization

/// The long-running scheduler: sleeps until the next due slot of any job, plans and starts
/// runs, takes over runs whose lease lapsed, reloads job files when they change, and on
/// `stop` stops claiming, lets running chunks finish within a grace period, and releases leases.
public struct SchedulerLoop: Sendable {
    public let runner: Runner
    public let clock: RunnerClock
    /// Re-reads the definitions; returns nil when unchanged since the last call.
    public let reload: @Sendable () throws -> Deployment?
    /// How often to look for lapsed leases and changed files while nothing is due (seconds).
    public let pollSeconds: Double
    public let graceSeconds: Double
    let logger: Logger

    public init(
        runner: Runner, clock: RunnerClock, reload: @escaping @Sendable () throws -> Deployment?, pollSeconds: Double,
        graceSeconds: Double, logger: Logger
    ) {
        self.runner = runner
        self.clock = clock
        self.reload = reload
        self.pollSeconds = pollSeconds
        self.graceSeconds = graceSeconds
        self.logger = logger
    }

    /// Runs until `runner.stop` is requested. Returns the reports of the runs it drove.
    public func run(initial: Deployment, onReport: @escaping @Sendable (RunReport) -> Void = { _ in }) throws {
        var deployment = initial
        var control: Connection?
        let group = DispatchGroup()
        logger.info("scheduler started", metadata: ["runner.owner": "\(runner.options.identity)", "jobs": "\(deployment.jobs.count)"])
        while !runner.stop.isRequested {
            do {
                if let fresh = try reload() {
                    deployment = fresh
                    logger.info("job files changed; reloaded", metadata: ["jobs": "\(deployment.jobs.count)"])
                }
            } catch {
                logger.info("job files are invalid; keeping the previous definitions", metadata: ["error": "\(error)"])
            }
            var now = clock.now()
            do {
                if control == nil || control?.isOpen == false {
                    if control != nil { CouponMetrics.databaseReconnected() }
                    control = try runner.connect()
                }
                guard let connection = control else { continue }
                // The system clock is the database server's: runners on hosts whose clocks
                // disagree still agree on which slots are due. A driven clock (tests) is its own.
                if clock.isSystem { now = try SlotLedger.databaseNow(connection) }
                try runner.planDueSlots(deployment, now: now, connection)
                try runner.startAvailable(deployment, group: group, reports: onReport)
            } catch {
                logger.info("scheduler pass failed; retrying", metadata: ["error": "\(error)"])
                control = nil
            }
            runner.stop.sleep(seconds: sleepSeconds(deployment, now: now))
        }
        logger.info("stopping: no new runs; waiting for running chunks", metadata: ["grace.seconds": "\(graceSeconds)"])
        if group.wait(timeout: .now() + .milliseconds(Int(graceSeconds * 1000))) == .timedOut {
            logger.info("grace period over; releasing leases so other runners take the runs over")
            if let connection = try? runner.connect() { try? runner.ledger.releaseAll(connection) }
        }
        logger.info("scheduler stopped")
    }

    /// Until the next due slot of any job, but at most `pollSeconds` (lapsed leases, retries
    /// and file changes are noticed that often). No busy polling.
    func sleepSeconds(_ deployment: Deployment, now: Date) -> Double {
        var wait = pollSeconds
        for job in deployment.jobs {
            guard let schedule = job.schedule, let next = schedule.next(after: now, in: job.timeZone) else { continue }
            let simulated: Double = Swift.max(0, next.timeIntervalSince(now))
            let real: Double = simulated / clock.scale + 0.001
            wait = Swift.min(wait, real)
        }
        return max(0.01, wait)
    }
}
