import Foundation
import Postgres

/// Member events as couponbatch itself writes and reads them (`events add`, `events list`).
/// The merchant's systems write the same table with the same INSERT (sql/0060_member_events.sql).
public enum MemberEventStore {
    /// One event to record.
    public struct NewEvent: Sendable, Equatable {
        public var externalID: String
        public var memberID: Int64
        public var type: String
        public var amountFen: Int64?
        /// nil: now, by the database's clock.
        public var occurredAt: Date?

        public init(externalID: String, memberID: Int64, type: String, amountFen: Int64? = nil, occurredAt: Date? = nil) {
            self.externalID = externalID
            self.memberID = memberID
            self.type = type
            self.amountFen = amountFen
            self.occurredAt = occurredAt
        }
    }

    /// The statement merchants use too: a resent event (same external id) changes nothing.
    static let insert = """
        INSERT INTO member_events (external_id, member_id, type, amount_fen, occurred_at)
        VALUES ($1, $2, $3, $4, coalesce($5::timestamptz, now()))
        ON CONFLICT (external_id) DO NOTHING
        RETURNING id
        """

    /// Records the event; returns its id, or nil when its external id was already recorded.
    public static func add(_ event: NewEvent, _ connection: Connection) throws -> Int64? {
        guard MemberEventType.isValid(event.type) else {
            throw InputError("event type \"\(event.type)\" must be lowercase letters, digits, - or _ (e.g. payment)")
        }
        return try connection.query(
            insert, [event.externalID, event.memberID, event.type, event.amountFen, event.occurredAt]
        ).first?.decode(0, as: Int64.self)
    }

    /// One event with what each trigger job did with it.
    public struct Listed: Sendable, Equatable, Codable {
        public var id: Int64
        public var externalID: String
        public var memberID: Int64
        public var type: String
        public var amountFen: Int64?
        public var receivedAt: Date
        /// The trigger job, its outcome and the coupons it issued; nil job: no trigger job took it yet.
        public var job: String?
        public var outcome: String?
        public var runID: Int64?
        public var coupons: Int64
    }

    /// Newest events first, one line per (event, job outcome); `status` is an outcome name or
    /// `pending` (no job has taken the event yet).
    public static func list(type: String?, status: String?, limit: Int, _ connection: Connection) throws -> [Listed] {
        let rows = try connection.query(
            """
            SELECT e.id, e.external_id, e.member_id, e.type, e.amount_fen, e.received_at, o.job, o.outcome, o.run_id,
                   (SELECT count(*) FROM coupons c WHERE c.member_id = e.member_id AND c.run_id = o.run_id
                                                     AND c.event_id = e.id) AS coupons
            FROM member_events e
            LEFT JOIN trigger_outcomes o ON o.event_id = e.id
            WHERE ($1::text IS NULL OR e.type = $1)
              AND ($2::text IS NULL OR o.outcome = $2 OR ($2 = 'pending' AND o.outcome IS NULL))
            ORDER BY e.id DESC, o.job
            LIMIT $3
            """, [type, status, Int64(limit)])
        return try rows.rows.map { row in
            Listed(
                id: try row.decode("id"), externalID: try row.decode("external_id"), memberID: try row.decode("member_id"),
                type: try row.decode("type"), amountFen: try row.decodeIfPresent("amount_fen"),
                receivedAt: try row.decode("received_at"), job: try row.decodeIfPresent("job"),
                outcome: try row.decodeIfPresent("outcome"), runID: try row.decodeIfPresent("run_id"),
                coupons: try row.decode("coupons"))
        }
    }
}
