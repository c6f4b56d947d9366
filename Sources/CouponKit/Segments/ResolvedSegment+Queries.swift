import Postgres

extension ResolvedSegment {
    /// How many members the segment matches now (`couponbatch segment count JOB`).
    public func count(connection: Connection) throws(PostgresError) -> Int {
        let (predicate, parameters) = predicate(alias: "m", firstParameter: 1)
        let sql = """
            SELECT count(*)
            FROM members AS m
            WHERE \(predicate)
            """
        return try connection.query(sql, parameters).row(0).decode(0, as: Int.self)
    }

    /// A few matching member ids, the lowest first, so that the same segment shows the same sample.
    public func sample(connection: Connection, limit: Int = 5) throws(PostgresError) -> [Int64] {
        let (predicate, parameters) = predicate(alias: "m", firstParameter: 1)
        let sql = """
            SELECT m.id
            FROM members AS m
            WHERE \(predicate)
            ORDER BY m.id
            LIMIT $\(parameters.count + 1)::bigint
            """
        return try connection.query(sql, parameters + [Int64(max(0, limit))]).rows.map { row throws(PostgresError) in
            try row.decode(0, as: Int64.self)
        }
    }

    /// Checks that every snapshot this segment reads is still stored as it was resolved.
    ///
    /// A resumed run calls this before its next chunk: a deleted snapshot would otherwise make the
    /// predicate silently match nobody.
    public func verifySnapshots(connection: Connection) throws {
        let missing = try SegmentSnapshotStore.missing(snapshots, connection: connection)
        guard missing.isEmpty else {
            throw SegmentError(
                field: "segment", reason: .snapshotMissing,
                message: "segment snapshot \(missing.map(String.init).joined(separator: ", ")) is no longer stored; "
                    + "the run cannot resume with the members it started with")
        }
    }
}
