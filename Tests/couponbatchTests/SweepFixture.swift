import CouponKit
import Foundation
import Postgres
import TestSupport

/// Coupons and sinks for sweep tests, beside an `IssueFixture`'s database and jobs directory.
extension IssueFixture {
    static let webhookSecret = "whsec-canary-7c1e5a2d46809f3b-do-not-print"

    /// The environment sweep and delivery commands run with.
    static var sweepEnvironment: [String: String] {
        ["COUPONBATCH_CODE_SECRET": secret, "COUPONBATCH_WEBHOOK_SECRET": webhookSecret]
    }

    func writeSinks(_ yaml: String) throws {
        try yaml.write(toFile: jobsDir + "/sinks.yaml", atomically: true, encoding: .utf8)
    }

    /// `perMember` coupons of `template` for each member of `members`, expiring at `expiresAt`
    /// (ISO 8601), straight into the table (as if issued long ago by run 0).
    func addCoupons(
        _ members: ClosedRange<Int>, template: String = "cash", title: String? = nil, expiresAt: String, perMember: Int = 1,
        status: String = "active", usesLeft: Int? = nil, faceValueFen: Int64 = 1000
    ) throws {
        let connection = try db.connect()
        try connection.execute(
            """
            INSERT INTO coupon_templates (key, version, fingerprint, type, spec, face_value_fen)
            VALUES ($1, 1, 'test', 'cash', jsonb_build_object('title', $2::text), $3)
            ON CONFLICT DO NOTHING
            """, [template, title ?? "title of \(template)", faceValueFen])
        let seqBase = try connection.query("SELECT coalesce(max(seq), 0)::int FROM coupons").row(0).decode(0, as: Int.self)
        try connection.execute(
            """
            INSERT INTO coupons (template_key, template_version, member_id, run_id, seq, status, face_value_fen,
                                 issued_at, valid_from, expires_at, uses_left)
            SELECT $1, 1, m, 0, $5 + s, $4, $6, '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z', $7::timestamptz, $8
            FROM generate_series($2::bigint, $3::bigint) m, generate_series(1, $9) s
            """,
            [template, Int64(members.lowerBound), Int64(members.upperBound), status, Int32(seqBase), faceValueFen,
             expiresAt, usesLeft.map(Int32.init), Int32(perMember)])
    }

    /// Lines of a file sink, decoded.
    func fileSinkMessages(_ path: String) throws -> [NotificationMessage] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            try JSONDecoder().decode(NotificationMessage.self, from: Data($0.utf8))
        }
    }
}

/// A remind job file.
func remindJob(
    _ name: String, before: String = "3d", sink: String = "out", extra: String = "", remind: String = ""
) -> String {
    """
    name: \(name)
    kind: remind
    manual_only: true
    timezone: Asia/Shanghai
    remind:
      before: \(before)
    \(remind.isEmpty ? "" : remind.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
    sink: \(sink)
    \(extra)
    """
}
