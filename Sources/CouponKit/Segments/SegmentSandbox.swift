import Foundation
import Logging
import Postgres

/// Where a job file's `sql:` segment runs: a separate, short-lived connection that logs in as a
/// read-only role, never the connection that then writes the run's chunks.
///
/// The role (`couponbatch_segment_reader`) may SELECT the tables a segment reads and nothing
/// else: it is no superuser, has no `pg_signal_backend` and no server-file roles, so
/// `pg_terminate_backend` on runners, `pg_read_file` and writes are refused by the server. The
/// connection pins `search_path`, `statement_timeout` and `lock_timeout`; whatever the segment
/// sets with `set_config(…, false)` or locks with session advisory locks dies with the
/// connection when the segment's query ends.
public struct SegmentSandbox: Sendable {
    /// The read-only role `migrate` creates (or checks).
    public static let role = "couponbatch_segment_reader"

    /// Tables a segment may read. A later migration's table joins by being named here.
    public static let readableTables = [
        "members", "coupons", "coupon_templates", "template_stock", "member_events", "subscriptions", "redemptions",
    ]

    /// Connects as the read-only role with the given limits.
    public let connect: @Sendable (_ statementTimeoutMilliseconds: Int) throws -> Connection

    public init(connect: @escaping @Sendable (_ statementTimeoutMilliseconds: Int) throws -> Connection) {
        self.connect = connect
    }

    /// The sandbox for a runner's database URL: the same server and database, logged in as
    /// `role` (or as `url`'s override, for deployments that give the reader its own password).
    public static func forDatabase(url: String?, readerURL: String? = nil) -> SegmentSandbox {
        SegmentSandbox { millis in
            let idleSeconds: Int = millis / 1000 + 1
            let lockMillis: Int = Swift.min(millis, 2000)
            let settings = ConnectionSettings(
                idleInTransactionTimeoutSeconds: idleSeconds, statementTimeoutMilliseconds: millis,
                lockTimeoutMilliseconds: lockMillis, searchPath: "public")
            if let readerURL { return try Connection.connect(url: readerURL, applicationName: "couponbatch-segment", settings: settings) }
            return try Connection.connect(
                url: url, applicationName: "couponbatch-segment", settings: settings, user: role)
        }
    }

    // MARK: - The role, for `migrate`

    /// What `ensureRole` did.
    public enum RoleOutcome: Sendable, Equatable {
        case created
        case checked
    }

    /// Creates the reader role if it is missing (needs CREATEROLE) and grants it SELECT on the
    /// readable tables of this database; checks that it is no superuser and cannot signal or
    /// read server files. Throws a `ConfigurationError` saying what an administrator must run
    /// when this role may not do it.
    public static func ensureRole(_ connection: Connection) throws -> RoleOutcome {
        var outcome = RoleOutcome.checked
        let exists = try !connection.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]).isEmpty
        if !exists {
            do {
                try connection.execute("CREATE ROLE \(role) LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT")
                outcome = .created
            } catch {
                // 42710 or 23505: another migrate (of another database) created it a moment ago.
                if error.code == PostgresError.Code("42710") || error.code == .uniqueViolation {
                } else if error.code == .insufficientPrivilege {
                    let advice = "CREATE ROLE \(role) LOGIN NOSUPERUSER NOINHERIT"
                    throw ConfigurationError(
                        "the read-only role for sql: segments is missing and this database user may not create it; as an administrator run: \(advice); then run couponbatch migrate again"
                    )
                } else {
                    throw error
                }
            }
        }
        let unsafe = try connection.query(
            """
            SELECT r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolcreatedb
                   OR pg_has_role(r.oid, 'pg_signal_backend', 'USAGE')
                   OR pg_has_role(r.oid, 'pg_read_server_files', 'USAGE')
                   OR pg_has_role(r.oid, 'pg_execute_server_program', 'USAGE')
                   OR pg_has_role(r.oid, 'pg_write_all_data', 'USAGE')
            FROM pg_roles r WHERE r.rolname = $1
            """, [role]
        ).row(0).decode(0, as: Bool.self)
        if unsafe {
            let advice = "ALTER ROLE \(role) NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
            throw ConfigurationError(
                "role \(role) is too powerful for sql: segments (superuser, CREATEROLE/CREATEDB, BYPASSRLS, or a member of pg_signal_backend or a server-file role); as an administrator run: \(advice) and revoke those memberships"
            )
        }
        // Only tables the role cannot read yet: a GRANT rewrites the table's catalog row even when
        // nothing changes, and a no-op migrate should write nothing.
        let ungranted = try connection.query(
            """
            SELECT c.relname FROM pg_class c
            WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY($1)
              AND NOT has_table_privilege($2, c.oid, 'SELECT')
            """,
            [readableTables, role]
        ).rows.map { try $0.decode("relname", as: String.self) }
        do {
            for table in ungranted.sorted() {
                try connection.execute("GRANT SELECT ON TABLE public.\(table) TO \(role)")
            }
        } catch {
            guard error.code == .insufficientPrivilege else { throw error }
            let tables: String = ungranted.sorted().joined(separator: ", ")
            throw ConfigurationError(
                "cannot grant \(role) SELECT on the segment tables; as their owner run: GRANT SELECT ON \(tables) TO \(role)")
        }
        return outcome
    }
}
