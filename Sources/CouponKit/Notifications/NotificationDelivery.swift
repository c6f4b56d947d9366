import Foundation
import Logging
import Postgres

/// Delivery outside `notifications deliver`: right after a sweep built its outbox, and in the
/// scheduler's background loop.
public enum NotificationDelivery {
    /// A sweep run delivers for at most this long after its chunks: well inside the run's lease
    /// (the engine heartbeats only while chunks run); the rest goes out with the scheduler's
    /// loop or `notifications deliver`.
    public static let afterRunBudgetSeconds = 10.0

    /// Delivers the sink's due notifications once a run's outbox is complete; never fails the
    /// run (the notifications are safe in the outbox either way). Returns the run's note.
    static func deliverAfterRun(sink: String, _ context: RunContext, _ connection: Connection) -> String {
        let deliverer = NotificationDeliverer(sinks: context.deployment.sinks, logger: context.logger)
        do {
            let tally = try deliverer.deliver(sink: sink, budgetSeconds: afterRunBudgetSeconds, connection)
            return "sink \(sink): \(tally.delivered) delivered, \(tally.retrying) to retry, \(tally.dead) dead"
                + (tally.deferred > 0 ? ", \(tally.deferred) waiting for quiet hours to end" : "")
        } catch {
            context.logger.info("notifications not delivered after the run", metadata: ["error": "\(error)"])
            return "notifications written; not delivered yet: \(error)"
        }
    }

    /// The scheduler's delivery loop: every `pollSeconds`, each sink's due notifications, until
    /// `stop`. `sinks` is read again each pass (job files may change).
    public static func loop(
        sinks: @escaping @Sendable () -> [String: NotificationSink], connect: @escaping @Sendable () throws -> Connection,
        stop: StopSignal, pollSeconds: Double, logger: Logger
    ) {
        var connection: Connection?
        while !stop.isRequested {
            let current = sinks()
            let deliverer = NotificationDeliverer(sinks: current, logger: logger)
            for name in current.keys.sorted() where !stop.isRequested {
                do {
                    if connection == nil || connection?.isOpen == false { connection = try connect() }
                    guard let live = connection else { continue }
                    _ = try deliverer.deliver(sink: name, budgetSeconds: pollSeconds * 4, live)
                } catch let error as PostgresError {
                    logger.info("delivery pass failed; retrying", metadata: ["sink.name": "\(name)", "error": "\(error)"])
                    connection = nil
                } catch {
                    logger.info("delivery pass failed; retrying", metadata: ["sink.name": "\(name)", "error": "\(error)"])
                }
            }
            stop.sleep(seconds: pollSeconds)
        }
    }
}
