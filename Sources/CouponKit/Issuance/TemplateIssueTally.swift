import Foundation
import Postgres

/// Coupons of templates without stock, counted per chunk in `template_issued_chunks` (migration
/// 0043) rather than in the template's `template_stock` row, whose lock would make a run's chunks
/// commit one after another. The rows are folded into `template_stock.issued` when their run
/// finishes, and by `TemplateCatalogStore.syncStock` whenever the template is registered: before
/// it is given a stock, so stock checks only ever read `issued`.
enum TemplateIssueTally {
    /// Adds the run's rows to `issued` and removes them, in one statement: finishing twice (a
    /// crash between this and the run's end) adds them once.
    static func fold(runID: Int64, _ connection: Connection) throws {
        try connection.execute(
            """
            WITH folded AS (
                DELETE FROM template_issued_chunks WHERE run_id = $1 RETURNING template_key, coupons)
            UPDATE template_stock s SET issued = s.issued + f.coupons
            FROM (SELECT template_key, sum(coupons) AS coupons FROM folded GROUP BY 1) AS f
            WHERE s.key = f.template_key
            """, [runID])
    }
}
