/// Everything defined under `jobs/`: the jobs, the coupon templates and the subscription plans,
/// validated together so that every reference between them resolves.
public struct Deployment: Sendable, Equatable {
    /// Sorted by name.
    public let jobs: [JobDefinition]
    /// By template key.
    public let templates: [String: CouponTemplate]
    /// By plan key.
    public let plans: [String: BundlePlan]
    /// By sink name (`sinks.yaml`).
    public let sinks: [String: NotificationSink]

    public init(
        jobs: [JobDefinition], templates: [String: CouponTemplate] = [:], plans: [String: BundlePlan] = [:],
        sinks: [String: NotificationSink] = [:]
    ) {
        self.jobs = jobs.sorted { $0.name < $1.name }
        self.templates = templates
        self.plans = plans
        self.sinks = sinks
    }

    public func job(named name: String) -> JobDefinition? {
        jobs.first { $0.name == name }
    }
}
