import Foundation
import Postgres

/// Keeps pruning from deleting a segment snapshot that a run is planning with.
///
/// A run finds a stored snapshot (by fingerprint) while it plans and names it in the plan it then
/// saves; until that commit, nothing in the database says the snapshot is in use. Planning holds
/// this lock shared; pruning a snapshot holds it exclusively for its transaction, so it sees every
/// plan that found a snapshot, and a plan that starts later finds the snapshot gone and stores the
/// member set anew.
enum PlanningLock {
    /// "cbplanlk" in ASCII.
    static let key: Int64 = 0x6362_706C_616E_6C6B

    static func whilePlanning<T>(_ connection: Connection, _ body: () throws -> T) throws -> T {
        try connection.execute("SELECT pg_advisory_lock_shared($1)", [key])
        defer { _ = try? connection.execute("SELECT pg_advisory_unlock_shared($1)", [key]) }
        return try body()
    }

    /// Exclusive, until the transaction ends.
    static func exclude(in transaction: Connection) throws {
        try transaction.advisoryTransactionLock(key)
    }
}
