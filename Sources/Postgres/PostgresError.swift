/// An error from PostgreSQL or from this library's use of libpq.
///
/// Callers branch on `code` (the SQLSTATE) or on `kind`; the message, detail, hint, table and
/// constraint come from the server. `description` never includes parameter values or passwords,
/// only what the server chose to say about the statement.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, at the level a caller decides on.
    public enum Kind: Sendable, Equatable {
        /// The server could not be reached, or refused the login.
        case connectionFailed
        /// An established connection broke (server restart, pg_terminate_backend, network).
        case connectionLost
        /// The server raised an error for a statement (see `code`).
        case server
        /// A value could not be decoded into the requested Swift type.
        case decoding
        /// The request could not be sent as asked (a NUL byte in text, COPY misuse).
        case client
    }

    public let kind: Kind
    public let code: Code?
    public let message: String
    public var detail: String?
    public var hint: String?
    public var table: String?
    public var column: String?
    public var constraint: String?

    public init(
        kind: Kind, code: Code? = nil, message: String, detail: String? = nil, hint: String? = nil,
        table: String? = nil, column: String? = nil, constraint: String? = nil
    ) {
        self.kind = kind
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint
        self.table = table
        self.column = column
        self.constraint = constraint
    }

    /// True for failures worth retrying on a fresh connection or a fresh transaction: the
    /// connection broke or could not be made (a restart, a failover, a network blip), class 08
    /// (connection exception), 57P01/57P02/57P03 (the server shutting down or starting up),
    /// 40001 and 40P01 (serialization failure, deadlock) and 55P03 (lock_timeout). Decided by
    /// SQLSTATE only, never by the server's (translatable) message text.
    public var isTransient: Bool {
        switch kind {
        case .connectionFailed, .connectionLost: return true
        case .decoding, .client: return false
        case .server:
            guard let code else { return false }
            return code.sqlstate.hasPrefix("08") || Self.transientCodes.contains(code)
        }
    }

    /// True when the failure broke the session itself, so only a new connection can go on.
    public var needsNewConnection: Bool {
        switch kind {
        case .connectionFailed, .connectionLost: return true
        case .decoding, .client: return false
        case .server:
            guard let code else { return false }
            return code.sqlstate.hasPrefix("08") || code.sqlstate.hasPrefix("57P")
        }
    }

    static let transientCodes: Set<Code> = [
        .serializationFailure, .deadlockDetected, .lockNotAvailable, .adminShutdown, .crashShutdown,
        .cannotConnectNow,
    ]

    public var description: String {
        var text = message
        if let code { text += " (SQLSTATE \(code.sqlstate))" }
        if let constraint { text += " [constraint \(constraint)]" }
        if let hint { text += "; hint: \(hint)" }
        return text
    }
}

extension PostgresError {
    /// A SQLSTATE, with names for the ones callers branch on.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let sqlstate: String
        public init(_ sqlstate: String) { self.sqlstate = sqlstate }
        public var description: String { sqlstate }

        public static let uniqueViolation = Code("23505")
        public static let foreignKeyViolation = Code("23503")
        public static let checkViolation = Code("23514")
        public static let notNullViolation = Code("23502")
        public static let serializationFailure = Code("40001")
        public static let deadlockDetected = Code("40P01")
        public static let lockNotAvailable = Code("55P03")
        public static let objectInUse = Code("55006")
        public static let queryCanceled = Code("57014")
        public static let adminShutdown = Code("57P01")
        public static let crashShutdown = Code("57P02")
        public static let cannotConnectNow = Code("57P03")
        public static let idleInTransactionTimeout = Code("25P03")
        public static let diskFull = Code("53100")
        public static let insufficientPrivilege = Code("42501")
        public static let readOnlySQLTransaction = Code("25006")
        public static let invalidTextRepresentation = Code("22P02")
        public static let badCopyFileFormat = Code("22P04")
        public static let undefinedTable = Code("42P01")
        public static let duplicateDatabase = Code("42P04")
        public static let invalidCatalogName = Code("3D000")
        public static let raiseException = Code("P0001")
    }
}
