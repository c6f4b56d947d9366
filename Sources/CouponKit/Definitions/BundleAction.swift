/// Deliver the due periods of subscriptions (`kind: bundle`).
public struct BundleAction: Sendable, Equatable {
    /// The plans whose subscriptions this job serves; nil is every plan of the deployment.
    public let plans: [String]?
    /// Members per chunk (one transaction each), 100...1_000_000.
    public let chunkSize: Int
    /// A sink of `sinks.yaml`: each member whose periods a run delivers gets one `bundle`
    /// notification through it; nil writes none.
    public let sink: String?

    public init(plans: [String]? = nil, chunkSize: Int = DefinitionDefaults.chunkSize, sink: String? = nil) {
        self.plans = plans
        self.chunkSize = chunkSize
        self.sink = sink
    }

    /// The plan keys served, given the deployment's plans, sorted.
    public func planKeys(in deployment: Deployment) -> [String] {
        (plans ?? Array(deployment.plans.keys)).sorted()
    }
}
