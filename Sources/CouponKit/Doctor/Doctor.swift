import Foundation
import Postgres

/// `couponbatch doctor`: the checks an operator runs after installing or when something is off.
/// Each check stands alone: a database that does not answer still lets the file and secret
/// checks report. Nothing here writes.
public struct Doctor: Sendable {
    public let connect: @Sendable () throws -> Connection
    public let jobsDir: String
    public let environment: [String: String]
    /// Checks other features add (sinks reachable, once sinks exist); run after the built-in ones.
    public let extraChecks: [@Sendable (Deployment?, Connection?) -> DoctorCheck]

    public init(
        connect: @escaping @Sendable () throws -> Connection, jobsDir: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        extraChecks: [@Sendable (Deployment?, Connection?) -> DoctorCheck] = []
    ) {
        self.connect = connect
        self.jobsDir = jobsDir
        self.environment = environment
        self.extraChecks = extraChecks
    }

    /// Skew between this host's clock and the database's that is worth a warning, and a failure.
    /// Every runner schedules by the database's clock, but `run` without --at, `jobs list` and logs
    /// use this host's.
    public static let skewWarnSeconds = 1.0
    public static let skewFailSeconds = 60.0

    public func run() -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        var connection: Connection?
        do {
            let live = try connect()
            connection = live
            checks.append(try Self.databaseVersion(live))
        } catch {
            checks.append(
                DoctorCheck(
                    "database", .fail, "unreachable: \(error)",
                    action: "check --database-url, DATABASE_URL or PG* variables, and that the server runs"))
        }
        if let connection {
            checks.append(Self.guarded("migrations") { try Self.migrations(connection) })
            checks.append(Self.guarded("privileges") { try Self.privileges(connection) })
        }
        var deployment: Deployment?
        do {
            let loaded = try DefinitionLoader.load(directory: jobsDir)
            deployment = loaded
            checks.append(
                DoctorCheck(
                    "job files", .ok,
                    "\(loaded.jobs.count) jobs, \(loaded.templates.count) templates, \(loaded.plans.count) plans in \(jobsDir)"))
        } catch {
            let first = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
            checks.append(
                DoctorCheck("job files", .fail, first, action: "run couponbatch jobs validate and fix every line it prints"))
        }
        checks.append(CodeSecretStrength.check(environment))
        if let connection {
            checks.append(Self.guarded("clock") { try Self.clockSkew(connection) })
            checks.append(Self.guarded("stuck runs") { try Self.stuckRuns(connection) })
        }
        for extra in extraChecks { checks.append(extra(deployment, connection)) }
        return checks
    }

    static func guarded(_ name: String, _ check: () throws -> DoctorCheck) -> DoctorCheck {
        do {
            return try check()
        } catch {
            return DoctorCheck(name, .fail, "could not check: \(error)")
        }
    }

    static func databaseVersion(_ connection: Connection) throws -> DoctorCheck {
        let row = try connection.query(
            "SELECT current_setting('server_version') AS version, current_setting('server_version_num')::int AS number"
        ).row(0)
        let version: String = try row.decode("version")
        let number: Int = try row.decode("number")
        if number < 130_000 {
            return DoctorCheck("database", .fail, "PostgreSQL \(version)", action: "upgrade to PostgreSQL 13 or newer")
        }
        return DoctorCheck("database", .ok, "PostgreSQL \(version)")
    }

    static func migrations(_ connection: Connection) throws -> DoctorCheck {
        let migrations = try Migration.embedded()
        let status = try MigrationStatus.read(migrations, connection)
        if !status.changed.isEmpty {
            return DoctorCheck(
                "migrations", .fail, "applied migrations \(status.changed) differ from this build's",
                action: "a migration file was edited after it was applied; restore it and add a new migration")
        }
        if !status.pending.isEmpty {
            return DoctorCheck(
                "migrations", .fail, "\(status.pending.count) pending: \(status.pending.map(String.init).joined(separator: ", "))",
                action: "run couponbatch migrate")
        }
        if !status.unknown.isEmpty {
            return DoctorCheck(
                "migrations", .warn, "the database has migrations this build does not know: \(status.unknown)",
                action: "upgrade this couponbatch to the version that migrated the database")
        }
        return DoctorCheck("migrations", .ok, "\(migrations.count) applied, none pending")
    }

    /// The tables a runner writes, and the rights it needs on them.
    static let requiredPrivileges: [(table: String, rights: String)] = [
        ("job_runs", "SELECT,INSERT,UPDATE"), ("run_chunks", "SELECT,INSERT"), ("job_state", "SELECT,INSERT,UPDATE"),
        ("coupons", "SELECT,INSERT,UPDATE"), ("template_stock", "SELECT,INSERT,UPDATE"), ("members", "SELECT"),
    ]

    static func privileges(_ connection: Connection) throws -> DoctorCheck {
        let role = try connection.query(
            "SELECT current_user AS name, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user"
        ).row(0)
        let name: String = try role.decode("name")
        var missing: [String] = []
        for (table, rights) in requiredPrivileges {
            let present = try connection.query(
                "SELECT to_regclass($1) IS NOT NULL AND has_table_privilege(current_user, $1, $2) AS granted", [table, rights]
            ).row(0).decode("granted", as: Bool.self)
            if !present { missing.append("\(rights) on \(table)") }
        }
        if !missing.isEmpty {
            return DoctorCheck(
                "privileges", .fail, "role \(name) lacks \(missing.joined(separator: "; "))",
                action: "GRANT them to \(name), or run as the role that ran migrate")
        }
        if try role.decode("superuser", as: Bool.self) {
            return DoctorCheck(
                "privileges", .warn, "role \(name) is a superuser",
                action: "run with a role that owns only couponbatch's tables; keep the superuser for migrate")
        }
        return DoctorCheck("privileges", .ok, "role \(name) can read and write couponbatch's tables")
    }

    static func clockSkew(_ connection: Connection) throws -> DoctorCheck {
        let before = Date()
        let databaseNow: Date = try connection.query("SELECT clock_timestamp() AS now").row(0).decode("now")
        let after = Date()
        let local = before.addingTimeInterval(after.timeIntervalSince(before) / 2)
        let skew = databaseNow.timeIntervalSince(local)
        let text = String(format: "%+.3f s (database minus this host)", skew)
        if abs(skew) >= skewFailSeconds {
            return DoctorCheck("clock", .fail, text, action: "run NTP (chrony or systemd-timesyncd) on this host and the database's")
        }
        if abs(skew) >= skewWarnSeconds {
            return DoctorCheck("clock", .warn, text, action: "check NTP on this host and the database's")
        }
        return DoctorCheck("clock", .ok, text)
    }

    static func stuckRuns(_ connection: Connection) throws -> DoctorCheck {
        let rows = try connection.query(
            """
            SELECT id, job, extract(epoch FROM now() - lease_until)::bigint AS overdue_seconds
            FROM job_runs
            WHERE status = 'running' AND lease_until < now()
            ORDER BY lease_until
            LIMIT 10
            """
        ).rows
        if rows.isEmpty { return DoctorCheck("stuck runs", .ok, "no running run is past its lease") }
        let listed = try rows.map { row in
            "run \(try row.decode("id", as: Int64.self)) (\(try row.decode("job", as: String.self)), "
                + "\(try row.decode("overdue_seconds", as: Int64.self)) s past its lease)"
        }
        return DoctorCheck(
            "stuck runs", .warn, listed.joined(separator: ", "),
            action: "their runner died; a running scheduler or the next tick takes them over (couponbatch tick)")
    }
}
