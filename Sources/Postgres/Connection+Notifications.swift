import CLibPQ
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// LISTEN/NOTIFY: a connection that listens on a channel waits for notifications on its socket
/// (poll(2) with a timeout) instead of querying in a loop.
extension Connection {
    /// One NOTIFY received.
    public struct Notification: Sendable, Equatable {
        public let channel: String
        public let payload: String
        /// The notifying backend's process id.
        public let senderPID: Int32
    }

    /// Subscribes this session to `channel` (a plain identifier; quoted here).
    public func listen(_ channel: String) throws(PostgresError) {
        let quoted = "\"" + channel.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        try executeScript("LISTEN \(quoted)")
    }

    /// Waits up to `timeoutSeconds` for notifications and returns those that arrived (empty on
    /// timeout). Returns at once with those already received. Throws `connectionLost` when the
    /// server went away, so a caller reconnects and listens again.
    public func waitForNotifications(timeoutSeconds: Double) throws(PostgresError) -> [Notification] {
        var received = try drainNotifications()
        guard received.isEmpty else { return received }
        let socket = PQsocket(handle)
        guard socket >= 0 else { throw lastError() }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(max(0, min(timeoutSeconds, 3_600)) * 1_000)
        let ready = poll(&descriptor, 1, milliseconds)
        if ready < 0, errno != EINTR {
            throw PostgresError(kind: .connectionLost, message: "waiting for notifications failed (errno \(errno))")
        }
        received = try drainNotifications()
        return received
    }

    /// Reads what the socket holds and returns the notifications parsed so far.
    private func drainNotifications() throws(PostgresError) -> [Notification] {
        guard PQconsumeInput(handle) == 1 else {
            // The socket failed or closed: whatever libpq says, this session is gone.
            throw PostgresError(kind: .connectionLost, message: lastError().message)
        }
        var notifications: [Notification] = []
        while let raw = PQnotifies(handle) {
            let notify = raw.pointee
            notifications.append(
                Notification(
                    channel: String(cString: notify.relname), payload: String(cString: notify.extra),
                    senderPID: notify.be_pid))
            PQfreemem(raw)
        }
        if PQstatus(handle) != CONNECTION_OK {
            throw PostgresError(kind: .connectionLost, message: "the connection to PostgreSQL was lost")
        }
        return notifications
    }
}
