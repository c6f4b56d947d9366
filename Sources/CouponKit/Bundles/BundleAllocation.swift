import Foundation

/// A subscription as a bundle chunk reads it: its terms and the last period already settled
/// (delivered or skipped; a period waiting for stock is not settled).
struct SubscriptionRecord: Sendable, Equatable {
    var id: Int64
    var memberID: Int64
    var plan: String
    var terms: SubscriptionTerms
    var settled: Int
    /// The last period with a row at all: periods after `settled` up to it wait for stock.
    var recorded: Int = 0
    /// Covered by its plan's watermark (read without a probe): `settled` and `recorded` are
    /// the periods due by the watermark, which `BundleAllocation.decide` counts from the terms.
    var covered = false
    /// Its periods were probed (not covered, not created since the watermark).
    var probed = true
}

/// One period a chunk writes, and how.
struct PlannedDelivery: Sendable, Equatable {
    enum Status: String, Sendable {
        case delivered
        case skipped
        case waitingStock = "waiting_stock"
    }

    var subscriptionID: Int64
    var memberID: Int64
    var plan: String
    var period: Int
    var dueAt: Date
    var status: Status
    /// Coupons of the period (0 unless delivered).
    var coupons: Int
    /// The member's coupons of this run are numbered `seqBase + 1 …`; unique per (member, run).
    var seqBase: Int
    /// A row for the period exists already (it waits for stock): it is updated, not inserted.
    var retry = false
}

/// Decides, for the subscriptions of one chunk, which due periods are delivered, skipped (a
/// pause) or left waiting for stock. Pure: tested without a database.
///
/// Stock goes to periods oldest first; a bundle is delivered whole or not at all. Once one period
/// of a subscription waits, its later periods wait too, so periods are settled in order and the
/// last settled period is enough to know what is left.
enum BundleAllocation {
    /// The largest coupon number a member may get in one run (`coupons.seq` is a smallint).
    static let maximumSeq = Int(Int16.max)

    struct SeqOverflow: Error, CustomStringConvertible {
        let memberID: Int64
        var description: String {
            "member \(memberID) would get more than \(BundleAllocation.maximumSeq) bundle coupons in one run; "
                + "lower the plans' quantities"
        }
    }

    /// `available`: stock left per template with finite stock (absent keys are unlimited).
    static func decide(
        _ subscriptions: [SubscriptionRecord], plan runPlan: BundleRunPlan, through slot: Date,
        available: [String: Int64]
    ) throws -> [PlannedDelivery] {
        // Per plan, built once: its schedule (a schedule resolves its zone by name, which is slow
        // to do per subscription), its zone table, and what a first and a later period take.
        // Periods are then decided with array lookups by the plan's place, not dictionaries keyed
        // by strings: a chunk decides tens of thousands of them.
        let packs = runPlan.plans.map { Pack($0, slot: slot, available: available) }
        var planIndex: [String: Int] = [:]
        for (index, plan) in runPlan.plans.enumerated() where planIndex[plan.key] == nil { planIndex[plan.key] = index }
        var candidates: [PlannedDelivery] = []
        var packOf: [Int] = []  // per candidate, its plan's place in `packs`
        candidates.reserveCapacity(subscriptions.count)
        packOf.reserveCapacity(subscriptions.count)
        var lastPlan: (key: String, index: Int)?
        for subscription in subscriptions {
            let index: Int
            if let lastPlan, lastPlan.key == subscription.plan {
                index = lastPlan.index
            } else {
                guard let found = planIndex[subscription.plan] else { continue }
                index = found
                lastPlan = (subscription.plan, found)
            }
            let pack = packs[index]
            var settled = subscription.settled
            var recorded = subscription.recorded
            if subscription.covered, let through = pack.coveredThrough {
                settled = pack.schedule.periods(dueBy: through, startedAt: subscription.terms.startedAt, zoneTable: pack.zoneTable)
                recorded = settled
            }
            for due in pack.schedule.duePeriods(subscription.terms, after: settled, through: slot, zoneTable: pack.zoneTable) {
                candidates.append(
                    PlannedDelivery(
                        subscriptionID: subscription.id, memberID: subscription.memberID, plan: subscription.plan,
                        period: due.period, dueAt: due.dueAt, status: due.skipped ? .skipped : .delivered,
                        coupons: due.skipped ? 0 : (due.period == 1 ? pack.firstCoupons : pack.laterCoupons),
                        seqBase: 0, retry: due.period <= recorded))
                packOf.append(index)
            }
        }
        // Stock goes oldest first; ties by member and subscription, so a replay decides the same.
        // Without finite stock nothing waits, and the order does not matter here.
        if packs.contains(where: { !$0.firstDraws.isEmpty || !$0.laterDraws.isEmpty }) {
            var order = Array(candidates.indices)
            order.sort {
                let a = candidates[$0]
                let b = candidates[$1]
                return (a.dueAt, a.memberID, a.subscriptionID, a.period) < (b.dueAt, b.memberID, b.subscriptionID, b.period)
            }
            var left = available
            var blocked: Set<Int64> = []
            for index in order {
                let candidate = candidates[index]
                if blocked.contains(candidate.subscriptionID) {
                    candidates[index].status = .waitingStock
                    candidates[index].coupons = 0
                    continue
                }
                guard candidate.status == .delivered else { continue }
                let pack = packs[packOf[index]]
                let draws = candidate.period == 1 ? pack.firstDraws : pack.laterDraws
                let fits = draws.allSatisfy { key, count in left[key].map { $0 >= count } ?? true }
                guard fits else {
                    candidates[index].status = .waitingStock
                    candidates[index].coupons = 0
                    blocked.insert(candidate.subscriptionID)
                    continue
                }
                for (key, count) in draws { left[key, default: 0] -= count }
            }
        }
        // Coupon numbers per member, in subscription and period order. The read returns the
        // subscriptions in member order (a member's nearly always in id order) and their periods
        // come oldest first, so this sort finds them in order or nearly (Swift's sort takes one
        // pass over sorted input).
        candidates.sort { ($0.memberID, $0.subscriptionID, $0.period) < ($1.memberID, $1.subscriptionID, $1.period) }
        var member: Int64?
        var nextSeq = 0
        for index in candidates.indices where candidates[index].status == .delivered {
            if candidates[index].memberID != member {
                member = candidates[index].memberID
                nextSeq = 0
            }
            candidates[index].seqBase = nextSeq
            nextSeq += candidates[index].coupons
            if nextSeq > maximumSeq { throw SeqOverflow(memberID: candidates[index].memberID) }
        }
        return candidates
    }

    /// What `decide` needs of one plan, resolved once a chunk.
    private struct Pack {
        let schedule: BundleSchedule
        let zoneTable: CronZoneTable
        /// Coupons of a first period (with the welcome gift) and of a later one.
        let firstCoupons: Int
        let laterCoupons: Int
        /// Coupons taken per template with finite stock (a key of `available`), per kind of period.
        let firstDraws: [(key: String, count: Int64)]
        let laterDraws: [(key: String, count: Int64)]
        /// The plan's watermark: covered subscriptions have every period due by it recorded.
        let coveredThrough: Date?

        init(_ plan: BundleRunPlan.Plan, slot: Date, available: [String: Int64]) {
            schedule = plan.schedule
            coveredThrough = plan.watermark?.through
            // Covers the run's slot; a subscription's earlier instants outside it are looked up in
            // the shared cache, as before.
            let instant = Int(slot.timeIntervalSince1970.rounded(.down))
            zoneTable = CronZoneTableCache.shared.table(
                for: schedule.timeZone, covering: instant - 2 * CronCivil.secondsPerDay, instant + 2 * CronCivil.secondsPerDay)
            func draws(_ lines: [IssuePlan.Line]) -> [(key: String, count: Int64)] {
                let needs = lines.reduce(into: [String: Int64]()) { $0[$1.templateKey, default: 0] += Int64($1.quantity) }
                return needs.filter { available[$0.key] != nil }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            }
            let first = plan.lines(period: 1)
            firstCoupons = first.reduce(0) { $0 + $1.quantity }
            laterCoupons = plan.coupons.reduce(0) { $0 + $1.quantity }
            firstDraws = draws(first)
            laterDraws = draws(plan.coupons)
        }
    }
}
