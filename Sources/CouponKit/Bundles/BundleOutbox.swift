import Foundation
import Postgres

/// Where a bundle chunk's `bundle` notifications are written: one outbox row per member whose
/// periods the chunk delivers, (job, slot, member) unique as the outbox requires, composed into
/// the chunk's own statement (`BundleChunkStatement.write`), so the messages commit exactly when
/// the coupons they announce do, and a replayed or resumed chunk writes them once.
///
/// The row is built from the coupon insert's `RETURNING` (grouped by member: the ids, in coupon
/// number order) and a payload the runner already knows: the member's delivered periods with the
/// plan's title and exclusive label. The coupons' details (title, face value, expiry, code) are
/// not copied into the payload here; the deliverer reads them by id when it sends
/// (`NotificationCouponDetails`), as it computes codes then. Copying them cost more than the
/// coupons' own insert (a `jsonb_build_object` per coupon), and they never change once issued.
///
/// Stored payload: `{"bundles": [{"plan", "title", "exclusive_label", "period", "due_at",
/// "coupons"}, …]}`, periods in coupon number order (the message's coupons follow it: the first
/// `coupons` of them are the first period's, and so on). The row's zone is the zone of the plan
/// of the member's first period: its `due_at` and its coupons' expiry are written in it.
struct BundleOutbox: Sendable {
    let job: String
    let slot: Date
    let runID: Int64
    let sink: String

    /// The outbox of a run whose job has a sink; nil writes none.
    init?(_ runPlan: BundleRunPlan, _ context: RunContext) {
        guard let sink = runPlan.sink else { return nil }
        job = context.job.name
        slot = context.run.slot
        runID = context.run.id
        self.sink = sink
    }

    /// One period as a member's notification lists it.
    struct Period: Encodable, Hashable {
        var plan: String
        var title: String?
        var exclusiveLabel: String?
        var period: Int
        /// ISO 8601 with the offset of the plan's zone.
        var dueAt: String
        var coupons: Int

        enum CodingKeys: String, CodingKey {
            case plan, title, period, coupons
            case exclusiveLabel = "exclusive_label"
            case dueAt = "due_at"
        }
    }

    private struct Payload: Encodable {
        var bundles: [Period]
    }

    /// The `INSERT … SELECT … GROUP BY member` into `notifications` (a CTE body, without the
    /// name), over `coupons`: a relation of the chunk's new coupons with `id`, `member_id` and
    /// `seq`. `delivered` are the chunk's delivered periods; a member's are listed in subscription
    /// and period order (coupon number order). Members share payloads (same plan, period and due day), so each
    /// distinct payload travels and is parsed once.
    func insert(coupons: String, delivered unordered: [PlannedDelivery], plan runPlan: BundleRunPlan, _ p: SQLParameters)
        throws -> String
    {
        // A member's periods must be adjacent (one outbox row each); `decide` returns them so, and
        // this keeps it true whatever the caller passes.
        let delivered = unordered.sorted {
            ($0.memberID, $0.subscriptionID, $0.period) < ($1.memberID, $1.subscriptionID, $1.period)
        }
        var plans: [String: (plan: BundleRunPlan.Plan, zone: TimeZone)] = [:]
        for plan in runPlan.plans {
            plans[plan.key] = (plan, TimeZone(identifier: plan.timeZone) ?? DefinitionDefaults.timeZone)
        }
        var dueTexts: [String: String] = [:]
        func period(_ delivery: PlannedDelivery) -> (Period, zone: String) {
            let entry = plans[delivery.plan]
            let zone = entry?.zone ?? DefinitionDefaults.timeZone
            let key = "\(delivery.plan) \(delivery.dueAt.timeIntervalSince1970)"
            let due = dueTexts[key] ?? LocalTimeFormat.format(delivery.dueAt, in: zone)
            dueTexts[key] = due
            return (
                Period(
                    plan: delivery.plan, title: entry?.plan.title, exclusiveLabel: entry?.plan.label, period: delivery.period,
                    dueAt: due, coupons: delivery.coupons), zone.identifier
            )
        }

        // Per member its periods; per distinct list of periods one payload.
        var members: [Int64] = []
        var payloadNumbers: [Int64] = []
        var payloadIndex: [[Period]: Int64] = [:]
        var payloads: [[Period]] = []
        var zones: [String] = []
        var start = delivered.startIndex
        while start < delivered.endIndex {
            let member = delivered[start].memberID
            var end = start
            var periods: [Period] = []
            var zone: String?
            while end < delivered.endIndex, delivered[end].memberID == member {
                let (entry, periodZone) = period(delivered[end])
                periods.append(entry)
                zone = zone ?? periodZone
                end += 1
            }
            let number: Int64
            if let known = payloadIndex[periods] {
                number = known
            } else {
                payloads.append(periods)
                zones.append(zone ?? DefinitionDefaults.timeZone.identifier)
                number = Int64(payloads.count)
                payloadIndex[periods] = number
            }
            members.append(member)
            payloadNumbers.append(number)
            start = end
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let texts = try payloads.map { String(decoding: try encoder.encode(Payload(bundles: $0)), as: UTF8.self) }
        let payloadArray = "[" + texts.joined(separator: ",") + "]"

        return """
            INSERT INTO notifications (job, slot, run_id, kind, member_id, openid, coupon_ids, payload, sink, zone, next_try_at)
            SELECT \(p.add(job)), \(p.add(slot)), \(p.add(runID)), \(p.add(NotificationKind.bundle.rawValue)), g.member_id, m.openid,
                   g.ids, b.payload, \(p.add(sink)), b.zone, \(p.add(slot))
            FROM (SELECT member_id, array_agg(id ORDER BY seq) AS ids FROM \(coupons) GROUP BY member_id) AS g
            JOIN unnest(\(p.add(SQLIntegerArray.text(members)))::bigint[], \(p.add(SQLIntegerArray.text(payloadNumbers)))::bigint[])
                AS u(member_id, payload_no) ON u.member_id = g.member_id
            JOIN ROWS FROM (jsonb_array_elements(\(p.add(payloadArray))::jsonb), unnest(\(p.add(zones))::text[]))
                WITH ORDINALITY AS b(payload, zone, payload_no) ON b.payload_no = u.payload_no
            LEFT JOIN members m ON m.id = g.member_id
            """
    }
}
