import CLibPQ

/// Isolation levels for `Connection.transaction`.
public enum IsolationLevel: String, Sendable {
    case readCommitted = "READ COMMITTED"
    case repeatableRead = "REPEATABLE READ"
    case serializable = "SERIALIZABLE"
}

extension Connection {
    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it throws.
    ///
    /// `pipelined`: BEGIN goes with the transaction's first statement, and statements `body`
    /// queued last (`sendWithNext`) go with COMMIT, each in one round trip. A statement queued
    /// for COMMIT that fails makes the COMMIT throw and the transaction roll back.
    @discardableResult
    public func transaction<T>(
        isolation: IsolationLevel = .readCommitted, readOnly: Bool = false, pipelined: Bool = false,
        _ body: (Connection) throws -> T
    ) throws -> T {
        let begin = "BEGIN ISOLATION LEVEL \(isolation.rawValue)\(readOnly ? " READ ONLY" : "")"
        if pipelined {
            sendWithNext(begin)
        } else {
            try execute(begin)
        }
        let value: T
        do {
            value = try body(self)
        } catch {
            rollbackQuietly()
            throw error
        }
        do {
            try execute("COMMIT")
        } catch {
            rollbackQuietly()
            throw error
        }
        return value
    }

    /// Runs `body` inside a savepoint of the current transaction: released on return, rolled
    /// back to on throw, so the outer transaction carries on.
    @discardableResult
    public func savepoint<T>(_ name: String = "couponbatch_sp", _ body: (Connection) throws -> T) throws -> T {
        precondition(name.allSatisfy { $0.isLetter || $0 == "_" || $0.isNumber }, "savepoint names are identifiers")
        try execute("SAVEPOINT \(name)")
        do {
            let value = try body(self)
            try execute("RELEASE SAVEPOINT \(name)")
            return value
        } catch {
            _ = try? execute("ROLLBACK TO SAVEPOINT \(name)")
            throw error
        }
    }

    /// True while a transaction block is open on this connection.
    public var inTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    private func rollbackQuietly() {
        discardQueued()
        guard isOpen, PQtransactionStatus(handle) != PQTRANS_IDLE else { return }
        _ = try? execute("ROLLBACK")
    }

    // MARK: - Advisory locks

    /// Holds a session-level advisory lock for the duration of `body`, waiting for it if needed.
    public func withAdvisoryLock<T>(_ key: Int64, _ body: () throws -> T) throws -> T {
        try execute("SELECT pg_advisory_lock($1)", [key])
        defer { _ = try? execute("SELECT pg_advisory_unlock($1)", [key]) }
        return try body()
    }

    /// Takes a session-level advisory lock if it is free; false if another session holds it.
    public func tryAdvisoryLock(_ key: Int64) throws(PostgresError) -> Bool {
        try query("SELECT pg_try_advisory_lock($1)", [key]).row(0).decode(0, as: Bool.self)
    }

    public func advisoryUnlock(_ key: Int64) throws(PostgresError) {
        try execute("SELECT pg_advisory_unlock($1)", [key])
    }

    /// Takes a transaction-level advisory lock, released at COMMIT or ROLLBACK.
    public func advisoryTransactionLock(_ key: Int64) throws(PostgresError) {
        try execute("SELECT pg_advisory_xact_lock($1)", [key])
    }
}
