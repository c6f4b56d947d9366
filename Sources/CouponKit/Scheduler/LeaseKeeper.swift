import Foundation
import Logging
import Postgres

/// Keeps a run's lease alive while the run makes progress, on a connection of its own.
///
/// Liveness means progress: a chunk that has been in flight for a whole lease length (a worker
/// blocked on a half-open socket or a hung server process) stops the heartbeat, so the lease
/// lapses and another runner takes the run over; the stuck sockets are cut so the workers wake
/// up, and whatever they still try to commit is refused by the (run id, attempt) fence. A
/// heartbeat that fails because the database is away reconnects on its next beat.
struct LeaseKeeper: Sendable {
    let ledger: RunLedger
    let connect: @Sendable () throws -> Connection
    let logger: Logger

    /// A started keeper; `stop()` ends it and waits for its thread.
    final class Handle: Sendable {
        fileprivate let finished = DispatchSemaphore(value: 0)
        fileprivate let stopped = DispatchSemaphore(value: 0)

        func stop() {
            finished.signal()
            stopped.wait()
        }
    }

    var intervalSeconds: Double { max(0.2, Double(ledger.leaseSeconds) / 3) }

    func start(_ run: ClaimedRun, state: RunState) -> Handle {
        let handle = Handle()
        let interval = intervalSeconds
        WorkerThread.start { [self] in
            defer { handle.stopped.signal() }
            var connection: Connection?
            while handle.finished.wait(timeout: .now() + .milliseconds(Int(interval * 1000))) == .timedOut {
                if let stuck = stalledChunk(state) {
                    let message = "a chunk made no progress for \(stuck) s; lease given up for another runner"
                    logger.info("run stalled; another runner will take it over", metadata: ["error": "\(message)"])
                    state.withLock { shared in
                        shared.stalled = message
                        for flight in shared.inFlight.values { flight.breaker.breakConnection() }
                    }
                    return
                }
                do {
                    if connection?.isOpen != true { connection = try connect() }
                    guard let live = connection else { continue }
                    if try !ledger.heartbeat(run, live) {
                        state.withLock { $0.lost = true }
                        return
                    }
                } catch {
                    logger.info("heartbeat failed; will reconnect", metadata: ["error": "\(error)"])
                    connection = nil
                }
            }
        }
        return handle
    }

    /// How long a chunk may be in flight before the run counts as stuck: a lease length, but
    /// at least 5 s, so a busy machine with a test's one-second lease does not give runs away.
    var stallSeconds: Double { Double(Swift.max(ledger.leaseSeconds, 5)) }

    /// Seconds the oldest in-flight chunk has run, when that is `stallSeconds` or more.
    private func stalledChunk(_ state: RunState) -> Int? {
        let oldest = state.withLock { $0.inFlight.values.map(\.since).min() }
        guard let oldest else { return nil }
        let age = Date().timeIntervalSince(oldest)
        return age >= stallSeconds ? Int(age) : nil
    }
}
