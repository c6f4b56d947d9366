import Crypto
import Foundation
import Logging
import Postgres

/// One numbered SQL file of `sql/`.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String
    /// The file it came from, e.g. `0001_members.sql`.
    public let fileName: String

    public init(version: Int, name: String, sql: String, fileName: String? = nil) {
        self.version = version
        self.name = name
        self.sql = sql
        self.fileName = fileName ?? "\(version)_\(name).sql"
    }

    /// SHA-256 of the file's bytes, hex: an applied migration must never change.
    public var checksum: String {
        SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The migrations compiled into this build (sql/*.sql at build time), in version order: the
    /// binary migrates from any directory.
    public static func embedded() throws(ConfigurationError) -> [Migration] {
        try parse(embeddedFiles, origin: "(built in)")
    }

    /// Reads `NNNN_name.sql` files of a directory, in version order (`--sql-dir`, for development).
    public static func load(directory: String) throws(ConfigurationError) -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw ConfigurationError("cannot read migrations directory \(directory): \(error.localizedDescription)")
        }
        var files: [(fileName: String, sql: String)] = []
        for file in names.sorted() where file.hasSuffix(".sql") {
            guard let data = FileManager.default.contents(atPath: "\(directory)/\(file)") else {
                throw ConfigurationError("\(directory)/\(file): cannot read the file")
            }
            files.append((file, String(decoding: data, as: UTF8.self)))
        }
        return try parse(files, origin: directory)
    }

    static func parse(_ files: [(fileName: String, sql: String)], origin directory: String) throws(ConfigurationError)
        -> [Migration]
    {
        var migrations: [Migration] = []
        for (file, sql) in files {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else {
                throw ConfigurationError("\(directory)/\(file): migration files are named NNNN_name.sql")
            }
            let migration = Migration(
                version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql, fileName: file)
            if let twin = migrations.first(where: { $0.version == version }) {
                throw ConfigurationError("\(directory)/\(file): version \(version) is also used by \(twin.name)")
            }
            migrations.append(migration)
        }
        guard !migrations.isEmpty else { throw ConfigurationError("no migrations (NNNN_name.sql) in \(directory)") }
        return migrations.sorted { $0.version < $1.version }
    }
}

/// Applies migrations in order, each in its own transaction, recorded with a checksum.
///
/// Concurrent migrators are serialized by an advisory lock, so two `migrate` at once leave one
/// applied set; running it again is a no-op.
public struct Migrator {
    /// Advisory lock key for migrations ("cbmigrat" in ASCII). `migrate` also holds it while it
    /// grants the segment role, since concurrent GRANTs on one table fail with "tuple concurrently
    /// updated".
    public static let lockKey: Int64 = 0x6362_6D69_6772_6174

    public let migrations: [Migration]
    let logger: Logger

    public init(migrations: [Migration], logger: Logger) {
        self.migrations = migrations
        self.logger = logger
    }

    public struct Outcome: Sendable, Equatable {
        public var applied: [Int] = []
        public var alreadyApplied: [Int] = []
    }

    public func migrate(_ connection: Connection) throws -> Outcome {
        try connection.withAdvisoryLock(Self.lockKey) {
            try connection.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer PRIMARY KEY,
                    name       text NOT NULL,
                    checksum   text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """)
            let rows = try connection.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
            var applied: [Int: (name: String, checksum: String)] = [:]
            for row in rows.rows {
                applied[try row.decode("version", as: Int.self)] = (
                    try row.decode("name"), try row.decode("checksum")
                )
            }
            var outcome = Outcome()
            for migration in migrations {
                if let record = applied[migration.version] {
                    guard record.checksum == migration.checksum else {
                        throw ConfigurationError(
                            "migration \(migration.fileName) was changed after it was applied "
                                + "(checksum \(record.checksum.prefix(12)) in the database, "
                                + "\(migration.checksum.prefix(12)) on disk); add a new migration instead of editing it")
                    }
                    outcome.alreadyApplied.append(migration.version)
                    continue
                }
                try connection.transaction { tx in
                    try tx.executeScript(migration.sql)
                    try tx.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                        [migration.version, migration.name, migration.checksum])
                }
                logger.info(
                    "applied migration", metadata: ["migration.version": "\(migration.version)", "migration.name": "\(migration.name)"])
                outcome.applied.append(migration.version)
            }
            let known = Set(migrations.map(\.version))
            for version in applied.keys.sorted() where !known.contains(version) {
                logger.info(
                    "the database has a migration this build does not know; is an older couponbatch running?",
                    metadata: ["migration.version": "\(version)"])
            }
            return outcome
        }
    }
}
