import CLibPQ
import Foundation

/// One libpq connection.
///
/// A connection is confined to one thread at a time: it is deliberately not `Sendable`, so the
/// compiler refuses to share it between tasks. Each worker opens its own. It closes on deinit.
public final class Connection {
    let handle: OpaquePointer

    /// `host:port/database`, for logs and errors. Never includes the password.
    public let endpoint: String

    /// Statements queued by `sendWithNext`, sent in the same round trip as the next one.
    var queued: [QueuedStatement] = []

    private init(handle: OpaquePointer) {
        self.handle = handle
        self.endpoint = Connection.endpoint(of: handle)
    }

    deinit {
        PQfinish(handle)
    }

    /// Connects with a libpq URL or key=value string; nil or empty uses libpq's PG* variables.
    ///
    /// The session runs in UTC with ISO dates, so timestamps decode the same way everywhere.
    /// `user` replaces the URL's user (same server, database and password source).
    /// `settings` adds TCP keepalives and `tcp_user_timeout` (a dead peer is noticed in seconds
    /// instead of the kernel's two hours) and the session timeouts it names; values in the URL
    /// itself win over the keepalive defaults.
    public static func connect(
        url: String? = nil, applicationName: String = "couponbatch", settings: ConnectionSettings = .standard,
        user: String? = nil
    ) throws(PostgresError) -> Connection {
        let socketOptions = settings.libpqKeywords
        // `user` comes after the URL, so it wins over the URL's user (the segment sandbox's role).
        let override = user.map { [("user", $0)] } ?? []
        let keywords = socketOptions.map(\.0) + ["dbname", "fallback_application_name", "connect_timeout"] + override.map(\.0)
        let values =
            socketOptions.map(\.1) + [url ?? "", applicationName, String(settings.connectTimeoutSeconds)] + override.map(\.1)
        let handle: OpaquePointer? = withCStrings(keywords) { keywordPointers in
            withCStrings(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let handle else {
            throw PostgresError(kind: .connectionFailed, message: "cannot connect to PostgreSQL: out of memory")
        }
        if PQstatus(handle) != CONNECTION_OK {
            let reason = Connection.redacting(
                Connection.firstLine(of: String(cString: PQerrorMessage(handle))), connectionString: url ?? "")
            let where_ = Connection.endpoint(of: handle)
            PQfinish(handle)
            throw PostgresError(
                kind: .connectionFailed, message: "cannot connect to PostgreSQL at \(where_): \(reason)")
        }
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        let connection = Connection(handle: handle)
        do {
            try connection.executeScript(settings.sessionScript)
        } catch {
            // A server that goes away right after accepting the login is a failed connect.
            throw error.kind == .connectionLost
                ? PostgresError(kind: .connectionFailed, message: error.message) : error
        }
        return connection
    }

    /// A handle that can cut this connection's socket from another thread (see `SocketBreaker`).
    public var socketBreaker: SocketBreaker { SocketBreaker(descriptor: PQsocket(handle)) }

    /// True while the connection is usable.
    public var isOpen: Bool { PQstatus(handle) == CONNECTION_OK }

    /// The server process id, e.g. for `pg_terminate_backend` in tests.
    public var backendPID: Int32 { PQbackendPID(handle) }

    /// Runs one statement with `$n` parameters and returns its result.
    ///
    /// With `binaryResults`, every column comes in PostgreSQL's binary form (read it with
    /// `Row.binaryInteger`): for large reads of integers and times, where making and parsing
    /// decimal text costs the server and the client more than the rows themselves.
    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresBindable] = [], binaryResults: Bool = false)
        throws(PostgresError) -> QueryResult
    {
        let texts = parameters.map { $0.postgresText }
        if !queued.isEmpty {
            return try sendQueued(with: QueuedStatement(sql: sql, texts: texts, binaryResults: binaryResults))
        }
        let result = try withParameterPointers(texts) { pointers throws(PostgresError) in
            PQexecParams(handle, sql, Int32(texts.count), nil, pointers, nil, nil, binaryResults ? 1 : 0)
        }
        return try checked(result)
    }

    /// Runs one statement and returns the number of rows it affected.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [any PostgresBindable] = []) throws(PostgresError) -> Int {
        try query(sql, parameters).affectedRows
    }

    /// Runs a script of several statements with the simple query protocol (no parameters).
    public func executeScript(_ sql: String) throws(PostgresError) {
        try sendQueued()
        try checked(PQexec(handle, sql))
    }

    /// Streams the rows of a query one at a time (libpq single-row mode), in bounded memory.
    public func forEachRow(
        _ sql: String, _ parameters: [any PostgresBindable] = [], _ body: (Row) throws -> Void
    ) throws {
        try sendQueued()
        let texts = parameters.map { $0.postgresText }
        let sent = try withParameterPointers(texts) { pointers throws(PostgresError) in
            PQsendQueryParams(handle, sql, Int32(texts.count), nil, pointers, nil, nil, 0)
        }
        guard sent == 1 else { throw lastError() }
        PQsetSingleRowMode(handle)
        var failure: (any Error)?
        while let raw = PQgetResult(handle) {
            let result = QueryResult(raw)
            if failure != nil { continue }  // drain the rest after a failure in `body`
            switch PQresultStatus(raw) {
            case PGRES_SINGLE_TUPLE:
                do { try body(result.row(0)) } catch {
                    failure = error
                    _ = PQrequestCancel(handle)
                }
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
                break
            default:
                failure = error(from: raw)
            }
        }
        if let failure { throw failure }
    }

    // MARK: - Results and errors

    @discardableResult
    func checked(_ raw: OpaquePointer?) throws(PostgresError) -> QueryResult {
        guard let raw else { throw lastError() }
        let result = QueryResult(raw)
        switch PQresultStatus(raw) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_COPY_IN, PGRES_COPY_OUT:
            return result
        default:
            throw error(from: raw)
        }
    }

    func error(from raw: OpaquePointer) -> PostgresError {
        func field(_ code: Character) -> String? {
            guard let pointer = PQresultErrorField(raw, Int32(code.asciiValue ?? 0)) else { return nil }
            return String(cString: pointer)
        }
        let sqlstate = field("C")
        let primary = field("M") ?? Connection.firstLine(of: String(cString: PQresultErrorMessage(raw)))
        let lost = PQstatus(handle) != CONNECTION_OK
        return PostgresError(
            kind: lost ? .connectionLost : .server,
            code: sqlstate.map(PostgresError.Code.init),
            message: primary.isEmpty ? "the connection to PostgreSQL was lost" : primary,
            detail: field("D"), hint: field("H"), table: field("t"), column: field("c"),
            constraint: field("n"))
    }

    func lastError() -> PostgresError {
        let message = Connection.firstLine(of: String(cString: PQerrorMessage(handle)))
        let lost = PQstatus(handle) != CONNECTION_OK
        return PostgresError(
            kind: lost ? .connectionLost : .client,
            message: message.isEmpty ? "the connection to PostgreSQL was lost" : message)
    }

    // MARK: - Helpers

    static func firstLine(of text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        // libpq prefixes "connection to server at "h", port p failed: "; keep the reason.
        if let range = line.range(of: " failed: ") { return String(line[range.upperBound...]) }
        return line.trimmingCharacters(in: .whitespaces)
    }

    /// libpq quotes the part of a connection string it could not parse, which may be the
    /// password: any quoted text taken from the connection string, and the password itself, are
    /// cut from the message.
    static func redacting(_ message: String, connectionString: String) -> String {
        guard !connectionString.isEmpty else { return message }
        var text = message
        var secrets: [String] = []
        if let scheme = connectionString.range(of: "://"),
            let at = connectionString[scheme.upperBound...].firstIndex(of: "@")
        {
            let userInfo = connectionString[scheme.upperBound..<at]
            if let colon = userInfo.firstIndex(of: ":") { secrets.append(String(userInfo[userInfo.index(after: colon)...])) }
        }
        if let key = connectionString.range(of: "password=") {
            secrets.append(String(connectionString[key.upperBound...].prefix { !$0.isWhitespace }))
        }
        for secret in secrets where !secret.isEmpty {
            text = text.replacingOccurrences(of: secret, with: "<redacted>")
        }
        // Quoted fragments of the connection string itself.
        let parts = text.split(separator: "\"", omittingEmptySubsequences: false)
        if parts.count >= 3 {
            text = parts.enumerated().map { index, part in
                index % 2 == 1 && connectionString.contains(part) && part.count > 2 ? "<redacted>" : String(part)
            }.joined(separator: "\"")
        }
        return text
    }

    static func endpoint(of handle: OpaquePointer) -> String {
        func text(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
            pointer.map { String(cString: $0) } ?? ""
        }
        var host = text(PQhost(handle))
        if host.isEmpty || host.hasPrefix("/") { host = host.isEmpty ? "localhost" : "socket \(host)" }
        let port = text(PQport(handle))
        let database = text(PQdb(handle))
        return "\(host):\(port.isEmpty ? "5432" : port), database \"\(database)\""
    }

    func withParameterPointers<R>(
        _ texts: [String?], _ body: ([UnsafePointer<CChar>?]) throws(PostgresError) -> R
    ) throws(PostgresError) -> R {
        var storage: [UnsafeMutablePointer<CChar>?] = []
        storage.reserveCapacity(texts.count)
        defer { storage.forEach { free($0) } }
        for (index, text) in texts.enumerated() {
            guard let text else { storage.append(nil); continue }
            if text.utf8.contains(0) {
                throw PostgresError(
                    kind: .client,
                    message: "parameter $\(index + 1) contains a NUL byte, which PostgreSQL text cannot store")
            }
            storage.append(strdup(text))
        }
        return try body(storage.map { UnsafePointer($0) })
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let pointers = strings.map { strdup($0) }
    defer { pointers.forEach { free($0) } }
    return body(pointers.map { UnsafePointer($0) } + [nil])
}
