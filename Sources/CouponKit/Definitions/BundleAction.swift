/// Deliver the due periods of subscriptions (`kind: bundle`).
public struct BundleAction: Sendable, Equatable {
    /// The plans whose subscriptions this job serves; nil is every plan of the deployment.
    public let plans: [String]?
    /// Members per chunk (one transaction each), 100...1_000_000.
    public let chunkSize: Int

    public init(plans: [String]? = nil, chunkSize: Int = DefinitionDefaults.chunkSize) {
        self.plans = plans
        self.chunkSize = chunkSize
    }

    /// The plan keys served, given the deployment's plans, sorted.
    public func planKeys(in deployment: Deployment) -> [String] {
        (plans ?? Array(deployment.plans.keys)).sorted()
    }
}
