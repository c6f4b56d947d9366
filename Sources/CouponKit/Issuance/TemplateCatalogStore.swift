import Foundation
import Postgres

/// Records the templates a run uses: each (key, content) gets a version, and each key a stock
/// row. Editing a template in templates.yaml therefore creates a new version at the next run,
/// while coupons issued earlier keep theirs.
public enum TemplateCatalogStore {
    /// The version of `template`'s current content, creating it if new.
    public static func register(_ template: CouponTemplate, _ connection: Connection) throws -> Int {
        try connection.transaction { tx in
            try tx.advisoryTransactionLock(RunLedger.lockKey("template:\(template.key)"))
            let spec = String(decoding: try template.versionedSpec(), as: UTF8.self)
            if let version = try existingVersion(template, spec: spec, tx) {
                try syncStock(template, tx)
                return version
            }
            let version = try tx.query(
                """
                INSERT INTO coupon_templates (key, version, fingerprint, type, spec, face_value_fen)
                SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4::jsonb, $5
                FROM coupon_templates WHERE key = $1
                RETURNING version
                """, [template.key, template.fingerprint, template.type.rawValue, spec, template.faceValueFen]
            ).row(0).decode("version", as: Int.self)
            try syncStock(template, tx)
            return version
        }
    }

    /// The version with `template`'s content. Versions made before `stock` and `per_member` left
    /// the fingerprint are found by their spec without those two fields, and take the new
    /// fingerprint, so an upgrade makes no new versions.
    private static func existingVersion(_ template: CouponTemplate, spec: String, _ tx: Connection) throws -> Int? {
        if let row = try tx.query(
            "SELECT version FROM coupon_templates WHERE key = $1 AND fingerprint = $2", [template.key, template.fingerprint]
        ).first {
            return try row.decode("version", as: Int.self)
        }
        return try tx.query(
            """
            UPDATE coupon_templates SET fingerprint = $3
            WHERE key = $1 AND version = (
                SELECT max(version) FROM coupon_templates WHERE key = $1 AND spec - 'stock' - 'per_member' = $2::jsonb)
            RETURNING version
            """, [template.key, spec, template.fingerprint]
        ).first?.decode("version", as: Int.self)
    }

    /// Stock follows the definition; lowering it below what was issued stops further issuance.
    /// A template without per-member limits issues unnumbered coupons, which the limit checks
    /// must then count if a limit is added later (`has_unnumbered`).
    ///
    /// Chunks of runs that found the template without stock count their coupons in rows of their
    /// own (`TemplateIssueTally`), holding its stock row FOR KEY SHARE until they commit. Before
    /// giving it a stock, the row is locked FOR UPDATE, which waits for those chunks; the next
    /// statement (a fresh snapshot, which sees their rows) folds every row into `issued`, so the
    /// stock is checked against all that was issued, and chunks that come later find the stock.
    static func syncStock(_ template: CouponTemplate, _ tx: Connection) throws {
        let unnumbered = template.perMemberLimit == nil && template.reissueAfterDays == nil
        if template.stock != nil {
            _ = try tx.query("SELECT 1 FROM template_stock WHERE key = $1 FOR UPDATE", [template.key])
        }
        try tx.execute(
            """
            WITH folded AS (
                DELETE FROM template_issued_chunks WHERE template_key = $1 RETURNING coupons)
            INSERT INTO template_stock (key, stock, has_unnumbered, issued)
            SELECT $1, $2, $3, coalesce(sum(coupons), 0) FROM folded
            ON CONFLICT (key) DO UPDATE
                SET issued = template_stock.issued + EXCLUDED.issued,
                    stock = CASE WHEN EXCLUDED.stock IS NULL THEN NULL
                                 ELSE greatest(EXCLUDED.stock, template_stock.issued + EXCLUDED.issued) END,
                    has_unnumbered = template_stock.has_unnumbered OR EXCLUDED.has_unnumbered
                WHERE template_stock.stock IS DISTINCT FROM EXCLUDED.stock
                   OR (EXCLUDED.has_unnumbered AND NOT template_stock.has_unnumbered)
                   OR EXCLUDED.issued > 0
            """, [template.key, template.stock, unnumbered])
    }

    /// Whether coupons of `key` may have been issued without a cap number.
    static func hasUnnumberedCoupons(_ key: String, _ connection: Connection) throws -> Bool {
        try connection.query("SELECT has_unnumbered FROM template_stock WHERE key = $1", [key]).first?
            .decode("has_unnumbered", as: Bool.self) ?? false
    }

    /// The version `register` would give, without writing (dry runs).
    public static func versionIfRegistered(_ template: CouponTemplate, _ connection: Connection) throws -> Int {
        let spec = String(decoding: try template.versionedSpec(), as: UTF8.self)
        return try connection.query(
            """
            SELECT coalesce(max(version) FILTER (WHERE fingerprint = $2),
                            max(version) FILTER (WHERE spec - 'stock' - 'per_member' = $3::jsonb),
                            max(version) + 1, 1) AS version
            FROM coupon_templates WHERE key = $1
            """, [template.key, template.fingerprint, spec]
        ).row(0).decode("version", as: Int.self)
    }

    /// Stock left for `template` once its definition's stock is synced (nil: unlimited), without
    /// writing: a dry run before the template's first run, or after its stock was edited.
    public static func availableOnceSynced(_ template: CouponTemplate, _ connection: Connection) throws -> Int64? {
        guard let stock = template.stock else { return nil }
        let issued =
            try connection.query("SELECT issued FROM template_stock WHERE key = $1", [template.key]).first?
            .decode("issued", as: Int64.self) ?? 0
        return max(stock, issued) - issued
    }

    /// Stock left for a key (nil: unlimited, or not issued yet and unlimited).
    public static func available(_ key: String, _ connection: Connection) throws -> Int64? {
        guard let row = try connection.query("SELECT stock, issued FROM template_stock WHERE key = $1", [key]).first else {
            return nil
        }
        guard let stock = try row.decodeIfPresent("stock", as: Int64.self) else { return nil }
        return stock - (try row.decode("issued", as: Int64.self))
    }
}
