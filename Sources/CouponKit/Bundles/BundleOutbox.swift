import Foundation
import Postgres

/// Where a delivered period's `bundle` notification is written: the one place, called by every
/// bundle chunk in the same transaction as the period's coupons and `bundle_deliveries` row.
///
/// NOT WIRED YET: the `notifications` outbox is built by the sweeps issue (remind/expire and
/// sinks), which has not landed. Once it has, this function inserts one `kind = 'bundle'`
/// notification per delivered period into it, (job, slot, member) unique as the outbox requires,
/// with the plan's `exclusive_label` and the period's coupon ids (`coupons` WHERE run_id = the
/// run AND member_id = the member). Until then it writes nothing, and says so in the run's note.
enum BundleOutbox {
    /// Whether `enqueue` writes anything yet; reported by `finish` so no one mistakes it for done.
    static let isWired = false

    static func enqueue(_ delivered: [PlannedDelivery], plan: BundleRunPlan, _ context: RunContext, in tx: Connection)
        throws
    {
        // Intentionally empty until the notifications outbox exists (see the type's comment).
    }
}
