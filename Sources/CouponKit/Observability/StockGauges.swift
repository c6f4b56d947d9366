import Foundation
import Postgres

/// Stock is a fact of the database, not of this process: it is read when metrics are rendered
/// (a scrape of /metrics, a textfile written by `tick`), so every runner reports the same value.
public enum StockGauges {
    static let remainingSQL = """
        SELECT key, stock - issued AS remaining
        FROM template_stock
        WHERE stock IS NOT NULL
        ORDER BY key
        """

    /// Records `couponbatch_stock_remaining` for every template with a finite stock.
    public static func refresh(_ connection: Connection) throws {
        for row in try connection.query(remainingSQL).rows {
            CouponMetrics.stockRemaining(template: try row.decode("key"), remaining: try row.decode("remaining"))
        }
    }
}
