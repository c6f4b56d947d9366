import Foundation
import Logging
import Postgres

/// One thread's connection that comes back after the database went away: statements that fail
/// with a transient error are tried again (on a new connection when the old one broke) until
/// `RetryStrategy`'s budgets run out.
///
/// Confined to one thread, like the `Connection` it holds. The body given to `run` may run more
/// than once, so it must be safe to repeat (read, or write idempotently, or check first).
final class ReconnectingConnection {
    private let connect: @Sendable () throws -> Connection
    let retry: RetryStrategy
    private let logger: Logger
    private let stop: StopSignal?
    private var current: Connection?
    /// True once a connection of this link broke, so the next one counts as a reconnect.
    private var broke = false

    init(
        connect: @escaping @Sendable () throws -> Connection, retry: RetryStrategy, logger: Logger,
        stop: StopSignal? = nil, initial: Connection? = nil
    ) {
        self.connect = connect
        self.retry = retry
        self.logger = logger
        self.stop = stop
        self.current = initial
    }

    /// The open connection, or a new one (one try; `run` does the retrying).
    func open() throws -> Connection {
        if let current {
            if current.isOpen { return current }
            broke = true
        }
        current = nil
        let fresh = try connect()
        current = fresh
        if broke {
            broke = false
            CouponMetrics.databaseReconnected()
        }
        return fresh
    }

    /// Forgets the connection (it broke); the next `open` makes a new one.
    func drop() {
        if current != nil { broke = true }
        current = nil
    }

    /// Runs `body`, trying again after transient failures. Past the outage budget it throws
    /// `DatabaseOutage`; a failure not worth retrying is thrown as it came.
    @discardableResult
    func run<T>(_ body: (Connection) throws -> T) throws -> T {
        var tries = 1
        var outageSince: Date?
        while true {
            do {
                let connection = try open()
                return try body(connection)
            } catch {
                let verdict = RetryStrategy.verdict(for: error)
                if verdict == .reconnect {
                    outageSince = outageSince ?? Date()
                    drop()
                }
                let giveUp = stop?.isRequested == true && verdict == .reconnect
                guard !giveUp, retry.shouldRetry(error, attempt: tries, outageSince: outageSince) else {
                    if verdict == .reconnect {
                        throw DatabaseOutage(
                            seconds: Date().timeIntervalSince(outageSince ?? Date()), lastError: "\(error)")
                    }
                    throw error
                }
                let wait = retry.delay(attempt: tries)
                logger.info(
                    "database statement failed; trying again",
                    metadata: ["error": "\(error)", "retry.in_seconds": "\(String(format: "%.2f", wait))"])
                pause(seconds: wait)
                tries += 1
            }
        }
    }

    private func pause(seconds: Double) {
        if let stop { stop.sleep(seconds: seconds) } else { Thread.sleep(forTimeInterval: seconds) }
    }
}
