import Foundation
import Postgres

/// Everything a bundle run freezes when it starts, stored in its checkpoint: a resumed run
/// delivers exactly what the first attempt would have (same plans, template versions, validity).
struct BundleRunPlan: Codable, Sendable, Equatable {
    struct Plan: Codable, Sendable, Equatable {
        var key: String
        var everyMonths: Int
        /// 0 for the anniversary, else the fixed day 1...28.
        var deliveryDay: Int
        var atMinutes: Int
        var timeZone: String
        /// The plan's title and exclusive label, for its members' `bundle` notifications.
        var title: String?
        var label: String?
        var coupons: [IssuePlan.Line]
        var welcome: [IssuePlan.Line]
        /// The plan's watermark when the run was planned; nil in plans of runs from before
        /// watermarks (their chunks probe every subscription).
        var watermark: BundleWatermark?

        var schedule: BundleSchedule {
            BundleSchedule(
                everyMonths: everyMonths, deliveryDay: deliveryDay == 0 ? .anniversary : .day(deliveryDay),
                atMinutes: atMinutes, timeZone: TimeZone(identifier: timeZone) ?? DefinitionDefaults.timeZone)
        }

        /// The lines a period delivers: the plan's coupons, and in the first period the welcome gift.
        func lines(period: Int) -> [IssuePlan.Line] { period == 1 ? coupons + welcome : coupons }
    }

    var plans: [Plan]
    /// The run's slot: periods due by it are delivered, and coupons are issued at it.
    var issuedAt: Date
    /// Where members' `bundle` notifications go; nil writes none.
    var sink: String?
    /// The snapshot horizon when the run was planned (`BundleWatermark.read`): once every chunk
    /// committed, the plans' watermarks advance to (`issuedAt`, it). Nil in older runs' plans.
    var horizon: Int64?
    /// The first unassigned transaction id then: rows created from it on were unknown to the plan.
    var freshAfter: Int64?

    func plan(_ key: String) -> Plan? { plans.first { $0.key == key } }

    /// What a chunk's first read trusts, per plan in the order of `plans`; nil for runs planned
    /// before watermarks, whose chunks probe every subscription.
    var chunkWatermarks: [BundleWatermark]? {
        horizon == nil ? nil : plans.map { $0.watermark ?? BundleWatermark.none }
    }

    var hasFiniteStock: Bool { plans.contains { ($0.coupons + $0.welcome).contains(where: \.finiteStock) } }

    /// Freezes the plans `keys` of the deployment for a run at `issuedAt`.
    static func make(
        keys: [String], deployment: Deployment, jobName: String, issuedAt: Date, sink: String? = nil, register: Bool,
        _ connection: Connection
    ) throws -> BundleRunPlan {
        var plans: [Plan] = []
        for key in keys {
            guard let plan = deployment.plans[key] else {
                throw ConfigurationError("job \(jobName): plan \(key) is not defined in plans.yaml")
            }
            func lines(_ grants: [CouponGrant]) throws -> [IssuePlan.Line] {
                try grants.map {
                    try IssueExecutor.planLine(
                        $0, deployment: deployment, owner: "plan \(key)", issuedAt: issuedAt, register: register,
                        connection)
                }
            }
            let day: Int
            switch plan.schedule.deliveryDay {
            case .anniversary: day = 0
            case .day(let fixed): day = fixed
            }
            plans.append(
                Plan(
                    key: key, everyMonths: plan.schedule.everyMonths, deliveryDay: day, atMinutes: plan.schedule.atMinutes,
                    timeZone: plan.schedule.timeZone.identifier, title: plan.title, label: plan.exclusiveLabel,
                    coupons: try lines(plan.coupons), welcome: try lines(plan.welcome)))
        }
        return BundleRunPlan(plans: plans, issuedAt: issuedAt, sink: sink)
    }
}
