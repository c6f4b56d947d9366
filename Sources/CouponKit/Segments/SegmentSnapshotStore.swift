import Crypto
import Foundation
import Postgres

/// A member set stored in `segment_snapshots` when a run resolved a `list:` or `sql:` segment.
public struct SegmentSnapshot: Sendable, Equatable, Hashable, Codable {
    public enum Kind: String, Sendable, Equatable, Hashable, Codable {
        case list, sql
    }

    /// `segment_snapshot_sources.id`.
    public var id: Int64
    public var kind: Kind
    /// `<kind>:sha256:<hex>` over the sorted member ids; see `SegmentSnapshotStore.fingerprint`.
    public var fingerprint: String
    /// Distinct member ids stored (ids not in members included).
    public var memberCount: Int64

    public init(id: Int64, kind: Kind, fingerprint: String, memberCount: Int64) {
        self.id = id
        self.kind = kind
        self.fingerprint = fingerprint
        self.memberCount = memberCount
    }
}

/// Stores member sets content-addressed, so that the same set is stored once however often it
/// is loaded: reloading a list file (or an SQL segment returning the same ids) is idempotent.
enum SegmentSnapshotStore {
    /// SHA-256 of the sorted distinct ids, one decimal a line (`printf '%s\n' … | sha256sum`).
    /// The set, not the file's bytes, is hashed: a list with a header, blank lines or its ids in
    /// another order is the same member set and so the same snapshot.
    static func fingerprint(kind: SegmentSnapshot.Kind, sortedMemberIDs: [Int64]) -> String {
        var hasher = SHA256()
        for id in sortedMemberIDs {
            hasher.update(data: Data("\(id)\n".utf8))
        }
        let hex = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        return "\(kind.rawValue):sha256:\(hex)"
    }

    /// Claims the fingerprint; returns nothing when a committed snapshot already has it. Two
    /// runners loading one list at once: the second waits on the first's uncommitted row, then
    /// finds it.
    static let insertSourceSQL = """
        INSERT INTO segment_snapshot_sources (kind, fingerprint, source, member_count)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (fingerprint) DO NOTHING
        RETURNING id
        """

    static let findSourceSQL = """
        SELECT id, member_count
        FROM segment_snapshot_sources
        WHERE fingerprint = $1
        """

    static let copyMembersSQL = "COPY segment_snapshots (snapshot_id, member_id) FROM STDIN"

    /// Stores `sortedMemberIDs` (ascending, distinct) unless the same set is stored already.
    ///
    /// The source row and its ids commit together, so a snapshot that can be found is complete.
    /// Needs a connection outside a transaction.
    static func store(
        sortedMemberIDs: [Int64], kind: SegmentSnapshot.Kind, source: String, connection: Connection
    ) throws -> (snapshot: SegmentSnapshot, reused: Bool) {
        let fingerprint = fingerprint(kind: kind, sortedMemberIDs: sortedMemberIDs)
        let count = Int64(sortedMemberIDs.count)
        return try connection.transaction { c in
            let inserted = try c.query(insertSourceSQL, [kind.rawValue, fingerprint, source, count])
            if let row = inserted.first {
                let id = try row.decode("id", as: Int64.self)
                try c.copyIn(copyMembersSQL) { writer in
                    for memberID in sortedMemberIDs {
                        writer.field(id)
                        writer.field(memberID)
                        try writer.endRow()
                    }
                }
                let snapshot = SegmentSnapshot(id: id, kind: kind, fingerprint: fingerprint, memberCount: count)
                return (snapshot, false)
            }
            guard let existing = try c.query(findSourceSQL, [fingerprint]).first else {
                throw PostgresError(
                    kind: .client, message: "segment snapshot \(fingerprint) vanished while being reused")
            }
            let snapshot = SegmentSnapshot(
                id: try existing.decode("id", as: Int64.self), kind: kind, fingerprint: fingerprint,
                memberCount: try existing.decode("member_count", as: Int64.self))
            return (snapshot, true)
        }
    }

    static let verifySQL = """
        SELECT id, fingerprint
        FROM segment_snapshot_sources
        WHERE id = ANY($1::bigint[])
        """

    /// Ids of `snapshots` that are gone or whose fingerprint differs from the stored one.
    static func missing(_ snapshots: [SegmentSnapshot], connection: Connection) throws(PostgresError) -> [Int64] {
        guard !snapshots.isEmpty else { return [] }
        var stored: [Int64: String] = [:]
        for row in try connection.query(verifySQL, [snapshots.map(\.id)]).rows {
            stored[try row.decode("id", as: Int64.self)] = try row.decode("fingerprint", as: String.self)
        }
        return snapshots.filter { stored[$0.id] != $0.fingerprint }.map(\.id)
    }
}
