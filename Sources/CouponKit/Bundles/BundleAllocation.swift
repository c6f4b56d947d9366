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
        // Built once: a schedule resolves its zone by name, which is slow to do per subscription.
        var schedules: [String: BundleSchedule] = [:]
        for plan in runPlan.plans { schedules[plan.key] = plan.schedule }
        var candidates: [PlannedDelivery] = []
        candidates.reserveCapacity(subscriptions.count)
        for subscription in subscriptions {
            guard let schedule = schedules[subscription.plan] else { continue }
            for due in schedule.duePeriods(subscription.terms, after: subscription.settled, through: slot) {
                candidates.append(
                    PlannedDelivery(
                        subscriptionID: subscription.id, memberID: subscription.memberID, plan: subscription.plan,
                        period: due.period, dueAt: due.dueAt, status: due.skipped ? .skipped : .delivered, coupons: 0,
                        seqBase: 0, retry: due.period <= subscription.recorded))
            }
        }
        // Oldest first for stock; ties by member and subscription, so a replay decides the same.
        candidates.sort {
            ($0.dueAt, $0.memberID, $0.subscriptionID, $0.period) < ($1.dueAt, $1.memberID, $1.subscriptionID, $1.period)
        }
        var packs: [String: (first: [String: Int64], later: [String: Int64])] = [:]
        for plan in runPlan.plans {
            func needs(_ lines: [IssuePlan.Line]) -> [String: Int64] {
                lines.reduce(into: [:]) { $0[$1.templateKey, default: 0] += Int64($1.quantity) }
            }
            packs[plan.key] = (needs(plan.lines(period: 1)), needs(plan.coupons))
        }
        var left = available
        var blocked: Set<Int64> = []
        for index in candidates.indices {
            let candidate = candidates[index]
            if blocked.contains(candidate.subscriptionID) {
                candidates[index].status = .waitingStock
                continue
            }
            guard candidate.status == .delivered, let pack = packs[candidate.plan] else { continue }
            let needed = candidate.period == 1 ? pack.first : pack.later
            let fits = needed.allSatisfy { key, count in left[key].map { $0 >= count } ?? true }
            guard fits else {
                candidates[index].status = .waitingStock
                blocked.insert(candidate.subscriptionID)
                continue
            }
            for (key, count) in needed where left[key] != nil { left[key, default: 0] -= count }
            candidates[index].coupons = Int(needed.values.reduce(0, +))
        }
        // Coupon numbers per member, in subscription and period order.
        candidates.sort { ($0.memberID, $0.subscriptionID, $0.period) < ($1.memberID, $1.subscriptionID, $1.period) }
        var nextSeq: [Int64: Int] = [:]
        for index in candidates.indices where candidates[index].status == .delivered {
            let member = candidates[index].memberID
            let base = nextSeq[member, default: 0]
            candidates[index].seqBase = base
            nextSeq[member] = base + candidates[index].coupons
            if base + candidates[index].coupons > maximumSeq { throw SeqOverflow(memberID: member) }
        }
        return candidates
    }
}
