import Foundation
import Logging
import Postgres

// TEMPORARY stub until the segment compiler lands.
public struct ResolvedSegment: Sendable, Equatable, Codable {
    public var warnings: [String] = []
    public var warningCount: Int { warnings.count }
    public func predicate(alias: String, firstParameter: Int) -> (sql: String, parameters: [any PostgresBindable]) {
        ("TRUE", [])
    }
    public func count(connection: Connection) throws -> Int {
        try connection.query("SELECT count(*) FROM members").row(0).decode(0, as: Int.self)
    }
}
public enum SegmentResolver {
    public static func resolve(_ segment: Segment, asOf: Date, connection: Connection, logger: Logger?) throws -> ResolvedSegment {
        ResolvedSegment()
    }
}
