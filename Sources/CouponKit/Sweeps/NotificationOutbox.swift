import Foundation
import Postgres

/// Writes ONE notification per member for a set of coupons into the `notifications` outbox, with
/// a single `INSERT … SELECT … GROUP BY member`, inside the caller's transaction (a sweep's chunk,
/// a bundle delivery), so the messages commit exactly when the coupons they speak of do.
///
/// Any job kind reuses it: the caller names a relation of coupon rows (a filtered `SELECT` from
/// `coupons`, or a CTE such as `UPDATE … RETURNING *`) and gets one row per member in it. A
/// member may get one notification per (job, slot) (UNIQUE (job, member_id, slot)), so the coupons
/// of a member must all be in one call: split work by member, never within a member.
///
/// The stored payload is `{"coupons": [{"coupon_id", "template", "title", "face_value_fen",
/// "expires_at"}, …]}`, coupons by expiry then id, `expires_at` in ISO 8601 with the job zone's
/// offset. Delivery adds the notification's `id`, `kind`, `job`, `slot`, `member_id`, `openid`
/// and every coupon's `code` (codes are never stored), see `NotificationMessage`.
public struct NotificationOutbox: Sendable {
    public let kind: NotificationKind
    public let job: String
    public let slot: Date
    public let runID: Int64
    public let sink: String
    /// For `expires_at` in the payload and for quiet hours.
    public let zone: TimeZone
    public let quietHours: QuietHours?

    public init(
        kind: NotificationKind, job: String, slot: Date, runID: Int64, sink: String, zone: TimeZone,
        quietHours: QuietHours?
    ) {
        self.kind = kind
        self.job = job
        self.slot = slot
        self.runID = runID
        self.sink = sink
        self.zone = zone
        self.quietHours = quietHours
    }

    /// What one write produced.
    public struct Written: Sendable, Equatable {
        public var notifications: Int64
        public var coupons: Int64
    }

    /// Writes the notifications for the coupons in `relation` (SQL usable after FROM, aliased
    /// `c` by this statement), whose placeholders are `$1…` of `parameters`. `with` is an optional
    /// CTE list (without the WITH keyword) the relation may name.
    public func write(
        with ctes: String? = nil, from relation: String, parameters: [any PostgresBindable], in tx: Connection
    ) throws -> Written {
        try setZone(tx)
        let insert = insert(from: relation, parameters: parameters)
        let sql =
            (ctes.map { "WITH \($0),\n" } ?? "WITH ") + "written AS (\n\(insert.sql)\nRETURNING cardinality(coupon_ids) AS coupons)\n"
            + "SELECT count(*)::bigint, coalesce(sum(coupons), 0)::bigint FROM written"
        let row = try tx.query(sql, insert.parameters).row(0)
        return Written(notifications: try row.decode(0), coupons: try row.decode(1))
    }

    /// Formats `expires_at` in the job's zone for the rest of the transaction: `to_char` with
    /// TZH:TZM writes the offset of the session zone.
    public func setZone(_ tx: Connection) throws {
        _ = try tx.query("SELECT set_config('TimeZone', $1, true)", [zone.identifier])
    }

    /// The bare `INSERT … SELECT … GROUP BY member` (no WITH, no RETURNING), for callers that
    /// compose it into a larger statement (a CTE beside the sweep's UPDATE); `parameters` are the
    /// relation's, and the statement's own follow them.
    public func insert(from relation: String, parameters: [any PostgresBindable])
        -> (sql: String, parameters: [any PostgresBindable])
    {
        let p = SQLParameterList(parameters)
        return (
            """
            INSERT INTO notifications (job, slot, run_id, kind, member_id, openid, coupon_ids, payload, sink, zone,
                                       quiet_from, quiet_until, next_try_at)
            SELECT \(p.add(job)), \(p.add(slot)), \(p.add(runID)), \(p.add(kind.rawValue)), c.member_id, m.openid,
                   array_agg(c.id ORDER BY c.expires_at, c.id),
                   jsonb_build_object('coupons', jsonb_agg(jsonb_build_object(
                       'coupon_id', c.id, 'template', c.template_key,
                       'title', coalesce(t.spec->>'title', c.template_key),
                       'face_value_fen', c.face_value_fen,
                       'expires_at', to_char(c.expires_at, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM')) ORDER BY c.expires_at, c.id)),
                   \(p.add(sink)), \(p.add(zone.identifier)), \(p.add(quietHours?.fromText))::time,
                   \(p.add(quietHours?.untilText))::time, \(p.add(slot))
            FROM \(relation) c
            JOIN coupon_templates t ON t.key = c.template_key AND t.version = c.template_version
            LEFT JOIN members m ON m.id = c.member_id
            GROUP BY c.member_id, m.openid
            """, p.values
        )
    }
}
