import Foundation

/// How a connection guards against a network or server that stops answering, and which session
/// limits it starts with.
///
/// Without keepalives a connection whose peer vanished (a failover, a dropped NAT entry) waits
/// for the kernel's two-hour default before it notices; `tcp_user_timeout` bounds how long sent
/// data may stay unacknowledged. The session timeouts are the server's side of the same idea:
/// `idle_in_transaction_session_timeout` ends a transaction whose client went silent, so its
/// locks do not block every other runner.
public struct ConnectionSettings: Sendable, Equatable {
    public var connectTimeoutSeconds: Int
    public var keepaliveIdleSeconds: Int
    public var keepaliveIntervalSeconds: Int
    public var keepaliveCount: Int
    public var tcpUserTimeoutSeconds: Int
    /// `idle_in_transaction_session_timeout`; nil leaves the server's setting.
    public var idleInTransactionTimeoutSeconds: Int?
    /// `statement_timeout` for the whole session; nil leaves the server's setting.
    public var statementTimeoutMilliseconds: Int?
    /// `lock_timeout` for the whole session; nil leaves the server's setting.
    public var lockTimeoutMilliseconds: Int?
    /// `search_path`, pinned for the session; nil leaves the role's default.
    public var searchPath: String?

    public init(
        connectTimeoutSeconds: Int = 10, keepaliveIdleSeconds: Int = 10, keepaliveIntervalSeconds: Int = 5,
        keepaliveCount: Int = 3, tcpUserTimeoutSeconds: Int = 30, idleInTransactionTimeoutSeconds: Int? = nil,
        statementTimeoutMilliseconds: Int? = nil, lockTimeoutMilliseconds: Int? = nil, searchPath: String? = nil
    ) {
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.keepaliveIdleSeconds = keepaliveIdleSeconds
        self.keepaliveIntervalSeconds = keepaliveIntervalSeconds
        self.keepaliveCount = keepaliveCount
        self.tcpUserTimeoutSeconds = tcpUserTimeoutSeconds
        self.idleInTransactionTimeoutSeconds = idleInTransactionTimeoutSeconds
        self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
        self.lockTimeoutMilliseconds = lockTimeoutMilliseconds
        self.searchPath = searchPath
    }

    /// Keepalives and `tcp_user_timeout` on, session limits left to the server.
    public static let standard = ConnectionSettings()

    /// libpq connection keywords, given before the URL so that the URL's own values win.
    var libpqKeywords: [(String, String)] {
        [
            ("keepalives", "1"), ("keepalives_idle", String(keepaliveIdleSeconds)),
            ("keepalives_interval", String(keepaliveIntervalSeconds)), ("keepalives_count", String(keepaliveCount)),
            ("tcp_user_timeout", String(tcpUserTimeoutSeconds * 1000)),
        ]
    }

    /// The SETs run once after connecting (one round trip). Values are integers or a quoted
    /// identifier list built here, never text from a job file.
    var sessionScript: String {
        var lines = ["SET TimeZone = 'UTC'", "SET DateStyle = 'ISO, YMD'"]
        if let seconds = idleInTransactionTimeoutSeconds {
            lines.append("SET idle_in_transaction_session_timeout = \(max(1, seconds) * 1000)")
        }
        if let millis = statementTimeoutMilliseconds { lines.append("SET statement_timeout = \(max(1, millis))") }
        if let millis = lockTimeoutMilliseconds { lines.append("SET lock_timeout = \(max(1, millis))") }
        if let searchPath {
            let quoted = searchPath.split(separator: ",").map {
                "\"" + $0.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            lines.append("SET search_path = \(quoted.joined(separator: ", "))")
        }
        return lines.joined(separator: "; ")
    }
}

/// Cuts a connection's socket from another thread, so a worker blocked on a peer that stopped
/// answering (a half-open socket, a hung server process) gets a connection error at once.
///
/// Only `shutdown(2)` is called: the descriptor stays open and owned by the connection, whose
/// next use reports the connection as lost. Call it only while the connection is known to be
/// open (a worker registers its breaker while a chunk is in flight and removes it after).
public struct SocketBreaker: Sendable {
    let descriptor: Int32

    public func breakConnection() {
        guard descriptor >= 0 else { return }
        _ = shutdown(descriptor, Int32(SHUT_RDWR))
    }
}
