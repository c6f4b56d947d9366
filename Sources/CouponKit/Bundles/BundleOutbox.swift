import Foundation
import Postgres

/// Where a bundle chunk's `bundle` notifications are written: one outbox row per member whose
/// periods the chunk delivers, (job, slot, member) unique as the outbox requires, composed into
/// the chunk's own statement (`BundleChunkStatement.write`), so the messages commit exactly when
/// the coupons they announce do, and a replayed or resumed chunk writes them once.
///
/// The row is built from the chunk's coupon ids, drawn before the coupons are inserted (a slice
/// per member, in coupon number order: see `BundleChunkStatement.CouponIDs`), and a payload the
/// runner already knows: the member's delivered periods with the plan's title and exclusive
/// label. The coupons' details (title, face value, expiry, code) are not copied into the payload
/// here; the deliverer reads them by id when it sends
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

    /// The `INSERT … SELECT` into `notifications` (a CTE body, without the name), one row per
    /// member with delivered periods in `layout`: its coupon ids are the slice of `ids` (an SQL
    /// bigint[] expression, the chunk's coupon ids in `layout`'s order) where its coupons are, in
    /// coupon number order. Members share payloads (same plan, period and due day), so each
    /// distinct payload is built and travels once (as json, the column's type: stored as sent).
    func insert(_ layout: BundleChunkStatement.CouponIDs, ids: String, plan runPlan: BundleRunPlan, _ p: SQLParameters)
        throws -> String
    {
        let planIndex = Dictionary(uniqueKeysWithValues: runPlan.plans.enumerated().map { ($1.key, $0) })
        /// A period as its payload lists it, by the plan's index: cheap to hash and compare.
        struct PeriodKey: Hashable {
            var plan: Int
            var period: Int
            var dueAt: Date
            var coupons: Int
        }
        // Per member (adjacent in `layout`) its first coupon's place, its coupon count and its
        // payload's number; per distinct list of periods one payload.
        var members: [Int64] = []
        var firsts: [Int64] = []
        var counts: [Int64] = []
        var payloadNumbers: [Int64] = []
        var payloadIndex: [[PeriodKey]: Int64] = [:]
        var payloads: [[PeriodKey]] = []
        let planned = layout.planned
        var index = planned.startIndex
        var periods: [PeriodKey] = []
        while index < planned.endIndex {
            let member = planned[index].memberID
            var first: Int64 = 0
            var count: Int64 = 0
            periods.removeAll(keepingCapacity: true)
            while index < planned.endIndex, planned[index].memberID == member {
                let delivery = planned[index]
                if delivery.status == .delivered {
                    if first == 0 { first = layout.firsts[index] }
                    count += Int64(delivery.coupons)
                    periods.append(
                        PeriodKey(
                            plan: planIndex[delivery.plan] ?? 0, period: delivery.period, dueAt: delivery.dueAt,
                            coupons: delivery.coupons))
                }
                index += 1
            }
            guard count > 0 else { continue }
            let number: Int64
            if let known = payloadIndex[periods] {
                number = known
            } else {
                payloads.append(periods)
                number = Int64(payloads.count)
                payloadIndex[periods] = number
            }
            members.append(member)
            firsts.append(first)
            counts.append(count)
            payloadNumbers.append(number)
        }

        // Each distinct payload, with the zone of its first period's plan.
        let zones = runPlan.plans.map { TimeZone(identifier: $0.timeZone) ?? DefinitionDefaults.timeZone }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var texts: [String] = []
        var payloadZones: [String] = []
        for keys in payloads {
            let entries = keys.map { key in
                let plan = runPlan.plans[key.plan]
                return Period(
                    plan: plan.key, title: plan.title, exclusiveLabel: plan.label, period: key.period,
                    dueAt: LocalTimeFormat.format(key.dueAt, in: zones[key.plan]), coupons: key.coupons)
            }
            texts.append(String(decoding: try encoder.encode(Payload(bundles: entries)), as: UTF8.self))
            payloadZones.append(keys.first.map { zones[$0.plan].identifier } ?? DefinitionDefaults.timeZone.identifier)
        }
        let payloadArray = "[" + texts.joined(separator: ",") + "]"

        // The member's openid is read here; an index probe per member, in member order. The
        // arrays are unnested in a select list, streamed, as the chunk's periods are
        // (`BundleChunkStatement.prepareWrite`).
        return """
            INSERT INTO notifications (job, slot, run_id, kind, member_id, openid, coupon_ids, payload, sink, zone, next_try_at)
            SELECT \(p.add(job)), \(p.add(slot)), \(p.add(runID)), \(p.add(NotificationKind.bundle.rawValue)), u.member_id, m.openid,
                   \(ids)[u.first_id : u.first_id + u.coupons - 1], b.payload, \(p.add(sink)), b.zone, \(p.add(slot))
            FROM (SELECT unnest(\(p.add(SQLIntegerArray.text(members)))::bigint[]) AS member_id,
                         unnest(\(p.add(SQLIntegerArray.text(firsts)))::int[]) AS first_id,
                         unnest(\(p.add(SQLIntegerArray.text(counts)))::int[]) AS coupons,
                         unnest(\(p.add(SQLIntegerArray.text(payloadNumbers)))::bigint[]) AS payload_no) AS u
            JOIN ROWS FROM (json_array_elements(\(p.add(payloadArray))::json), unnest(\(p.add(payloadZones))::text[]))
                WITH ORDINALITY AS b(payload, zone, payload_no) ON b.payload_no = u.payload_no
            LEFT JOIN members m ON m.id = u.member_id
            """
    }
}
