import Foundation
import Postgres

/// Reading and re-driving the outbox for `notifications list | retry`.
public enum NotificationQueries {
    public enum Status: String, Sendable, CaseIterable {
        case pending, delivered, dead
    }

    /// One outbox row, as listed.
    public struct Summary: Sendable, Codable, Equatable {
        public var id: Int64
        public var job: String
        public var slot: Date
        public var kind: String
        public var memberID: Int64
        public var coupons: Int
        public var sink: String
        public var status: String
        public var attempts: Int
        public var nextTryAt: Date
        public var lastError: String?
        public var deliveredAt: Date?

        enum CodingKeys: String, CodingKey {
            case id, job, slot, kind, coupons, sink, status, attempts
            case memberID = "member_id"
            case nextTryAt = "next_try_at"
            case lastError = "last_error"
            case deliveredAt = "delivered_at"
        }
    }

    /// Newest first: by id, so that the primary key read backwards gives the order (no index
    /// of its own, which every write and every delivery would pay for).
    public static func list(status: Status?, job: String?, limit: Int, _ connection: Connection) throws -> [Summary] {
        try connection.query(
            """
            SELECT id, job, slot, kind, member_id, cardinality(coupon_ids) AS coupons, sink, status, attempts,
                   next_try_at, last_error, delivered_at
            FROM notifications
            WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR job = $2)
            ORDER BY id DESC
            LIMIT $3
            """, [status?.rawValue, job, limit]
        ).rows.map { row in
            Summary(
                id: try row.decode("id"), job: try row.decode("job"), slot: try row.decode("slot"), kind: try row.decode("kind"),
                memberID: try row.decode("member_id"), coupons: try row.decode("coupons"), sink: try row.decode("sink"),
                status: try row.decode("status"), attempts: try row.decode("attempts"), nextTryAt: try row.decode("next_try_at"),
                lastError: try row.decodeIfPresent("last_error"), deliveredAt: try row.decodeIfPresent("delivered_at"))
        }
    }

    /// Counts by status (for summaries).
    public static func counts(job: String?, _ connection: Connection) throws -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for row in try connection.query(
            "SELECT status, count(*)::bigint FROM notifications WHERE $1::text IS NULL OR job = $1 GROUP BY 1", [job]
        ).rows {
            counts[try row.decode(0, as: String.self)] = try row.decode(1, as: Int64.self)
        }
        return counts
    }

    /// Pending notifications of these sinks: those that failed at least once (to retry), and the rest.
    /// One another deliverer is sending right now (claimed, lease not lapsed) has not failed: it is
    /// counted with the rest, so a deliverer finishing beside a busy one does not report failures.
    public static func pending(sinks: [String], _ connection: Connection) throws -> (retrying: Int64, waiting: Int64) {
        let row = try connection.query(
            """
            SELECT count(*) FILTER (WHERE NOT in_flight AND attempts > 0)::bigint,
                   count(*) FILTER (WHERE in_flight OR attempts = 0)::bigint
            FROM (SELECT attempts, claim IS NOT NULL AND lease_until > now() AS in_flight
                  FROM notifications WHERE status = 'pending' AND sink = ANY($1::text[])) AS pending
            """, [sinks]
        ).row(0)
        return (try row.decode(0), try row.decode(1))
    }

    /// Sends dead notifications (all, or one by id) again: pending now, attempts from zero.
    /// A pending one named by id is made due now. Delivered ones are left alone. Returns how many.
    public static func retry(deadOnly: Bool, id: Int64?, _ connection: Connection) throws -> Int {
        try connection.execute(
            """
            UPDATE notifications
            SET status = 'pending', attempts = 0, next_try_at = now(), claim = NULL, lease_until = NULL
            WHERE ($1::bigint IS NULL OR id = $1)
              AND (CASE WHEN $2 THEN status = 'dead' ELSE status IN ('dead', 'pending') END)
            """, [id, deadOnly])
    }
}
