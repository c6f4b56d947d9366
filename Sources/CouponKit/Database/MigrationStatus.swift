import Foundation
import Postgres

/// How the database's applied migrations compare with this build's: what `/readyz` and `doctor`
/// check before trusting the schema.
public struct MigrationStatus: Sendable, Equatable {
    /// Versions this build has and the database has not applied.
    public var pending: [Int]
    /// Applied versions whose recorded checksum differs from this build's file.
    public var changed: [Int]
    /// Applied versions this build does not know (a newer couponbatch migrated the database).
    public var unknown: [Int]

    public var isCurrent: Bool { pending.isEmpty && changed.isEmpty }

    /// Reads `schema_migrations` (a database never migrated has every version pending).
    public static func read(_ migrations: [Migration], _ connection: Connection) throws -> MigrationStatus {
        let exists = try connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present").row(0)
            .decode("present", as: Bool.self)
        var applied: [Int: String] = [:]
        if exists {
            for row in try connection.query("SELECT version, checksum FROM schema_migrations").rows {
                applied[try row.decode("version", as: Int.self)] = try row.decode("checksum", as: String.self)
            }
        }
        let known = Set(migrations.map(\.version))
        return MigrationStatus(
            pending: migrations.filter { applied[$0.version] == nil }.map(\.version),
            changed: migrations.filter { migration in
                applied[migration.version].map { $0 != migration.checksum } ?? false
            }.map(\.version),
            unknown: applied.keys.filter { !known.contains($0) }.sorted())
    }
}
