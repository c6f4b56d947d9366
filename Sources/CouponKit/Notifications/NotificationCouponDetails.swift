import Foundation
import Postgres

/// The coupons of notifications whose payload lists none (`bundle` notifications, see
/// `BundleOutbox`), read by id from `coupons` when a batch is sent: one statement per batch.
/// What is read never changes once a coupon is issued (template and version, face value, expiry,
/// label), so the message is the same whenever it is sent.
struct NotificationCouponDetails {
    /// Each notification's coupons in `coupon_ids` order, expiry in that notification's zone.
    static func load(_ notifications: [(id: Int64, zone: TimeZone)], _ connection: Connection) throws
        -> [Int64: [NotificationMessage.Coupon]]
    {
        guard !notifications.isEmpty else { return [:] }
        let zones = Dictionary(notifications.map { ($0.id, $0.zone) }, uniquingKeysWith: { first, _ in first })
        let rows = try connection.query(
            """
            SELECT u.notification, c.id, c.template_key, coalesce(t.spec->>'title', c.template_key) AS title,
                   c.face_value_fen, c.expires_at, c.label
            FROM (SELECT n.id AS notification, x.coupon_id, x.ord
                  FROM notifications n CROSS JOIN LATERAL unnest(n.coupon_ids) WITH ORDINALITY AS x(coupon_id, ord)
                  WHERE n.id = ANY($1::bigint[])) AS u
            JOIN coupons c ON c.id = u.coupon_id
            JOIN coupon_templates t ON t.key = c.template_key AND t.version = c.template_version
            ORDER BY u.notification, u.ord
            """, [notifications.map(\.id)])
        // A batch's coupons mostly share a few expiry instants: format each once per zone.
        var expiryTexts: [String: String] = [:]
        var coupons: [Int64: [NotificationMessage.Coupon]] = [:]
        for row in rows.rows {
            let notification: Int64 = try row.decode(0)
            let zone = zones[notification] ?? DefinitionDefaults.timeZone
            let expiresAt: Date = try row.decode(5)
            let key = "\(zone.identifier) \(expiresAt.timeIntervalSince1970)"
            let expiry = expiryTexts[key] ?? LocalTimeFormat.format(expiresAt, in: zone)
            expiryTexts[key] = expiry
            coupons[notification, default: []].append(
                NotificationMessage.Coupon(
                    couponID: try row.decode(1), template: try row.decode(2), title: try row.decode(3),
                    faceValueFen: try row.decode(4), expiresAt: expiry, label: try row.decodeIfPresent(6)))
        }
        return coupons
    }
}
